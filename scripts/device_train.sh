#!/usr/bin/env bash
# The shipped model's GPU stage as ONE device command (under 10 minutes on the H200/H100 machine):
# the standard database on every core, the shipped model fine-tuned with 8-view augmentation on the GPU
# (config/train_device.yaml), its export, and its ONNX accuracy on the split; the files land in $OUT.
#
# The device machine has torch, onnx, onnxruntime and h5py but not klampt or trimesh: carry them as wheels
# (docs/learning.md, "Training on the device machine"):
#   run(command="bash scripts/device_train.sh", carry=[".whl"], timeout_s=600)
# Smoke test on a CPU (tiny database, one epoch): OBJECTS=12 EPOCHS=1 DEVICE=cpu bash scripts/device_train.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${OUT:-out/device_train}
OBJECTS=${OBJECTS:-650}
EPOCHS=${EPOCHS:-12}
DEVICE=${DEVICE:-cuda}
WORKERS=${WORKERS:-$(nproc)}
PY=${PY:-python3}
DATA=${DATA:-datasets/std}
RUN=${RUN:-runs/device}
mkdir -p "$OUT"

if ! "$PY" -c "import klampt, trimesh" 2>/dev/null; then
    ls .whl/klampt-*.whl .whl/trimesh-*.whl > /dev/null  # fails, naming the missing wheels, if not carried
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
gp() { "$PY" -m grasp_planner.cli "$@"; }
stamp() { echo "[device_train $(date +%T)] $*"; }

stamp "database: procedural:$OBJECTS on $WORKERS workers -> $DATA"
gp generate --objects "procedural:$OBJECTS" --out "$DATA" --workers "$WORKERS" --seed 0 --no-progress
stamp "training: $EPOCHS epochs on $DEVICE from models/grasp_cnn.onnx -> $RUN"
gp train --data "$DATA" --out "$RUN" --config config/train_device.yaml --init-weights models/grasp_cnn.onnx \
    --epochs "$EPOCHS" --device "$DEVICE"
stamp "export and parity -> $OUT"
gp export "$RUN" --out "$OUT/grasp_cnn.onnx" --check
"$PY" benchmarks/eval_model_accuracy.py --data "$DATA" --model "$OUT/grasp_cnn.json" --out "$OUT/accuracy.json"
cp "$RUN/metrics.json" "$RUN/curves.png" "$OUT/"
stamp "done: $(ls "$OUT" | tr '\n' ' ')"
