#!/usr/bin/env bash
# The shipped model's GPU stage on the device machine: the standard database and a fresh unseen test set on
# every core, the shipped model fine-tuned with 8-view augmentation on the GPU (config/train_device.yaml),
# its export, and the ONNX accuracy of the new and the shipped model on the same fresh objects; files in $OUT.
#
# The device machine has torch, onnx, onnxruntime and h5py but not klampt or trimesh: carry them as wheels
# (docs/learning.md, "Training on the device machine"). STEPS splits the work over two calls of at most
# 10 minutes each on one warm machine (datasets/ and runs/ stay there between calls):
#   run(command="STEPS=data bash scripts/device_train.sh", carry=[".whl"], timeout_s=420)
#   run(command="STEPS='train eval' bash scripts/device_train.sh", carry=[".whl"], timeout_s=420)
# Smoke test on a CPU (tiny databases, one epoch):
#   OBJECTS=12 TEST_OBJECTS=12 EPOCHS=1 DEVICE=cpu PY=.venv/bin/python bash scripts/device_train.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${OUT:-out/device_train}
STEPS=${STEPS:-data train eval}
OBJECTS=${OBJECTS:-650}
TEST_OBJECTS=${TEST_OBJECTS:-400}
EPOCHS=${EPOCHS:-12}
DEVICE=${DEVICE:-cuda}
WORKERS=${WORKERS:-$(nproc)}
PY=${PY:-python3}
DATA=${DATA:-datasets/std}
TEST_DATA=${TEST_DATA:-datasets/unseen_seed2}
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

if [[ " $STEPS " == *" data "* ]]; then
    stamp "databases: procedural:$OBJECTS (seed 0) -> $DATA, procedural:$TEST_OBJECTS (seed 2) -> $TEST_DATA"
    gp generate --objects "procedural:$OBJECTS" --out "$DATA" --workers "$WORKERS" --seed 0 --no-progress
    gp generate --objects "procedural:$TEST_OBJECTS" --config config/dataset_unseen_test.yaml --out "$TEST_DATA" \
        --workers "$WORKERS" --seed 2 --no-progress
fi
if [[ " $STEPS " == *" train "* ]]; then
    stamp "training: $EPOCHS epochs on $DEVICE from models/grasp_cnn.onnx -> $RUN"
    gp train --data "$DATA" --out "$RUN" --config config/train_device.yaml --init-weights models/grasp_cnn.onnx \
        --epochs "$EPOCHS" --device "$DEVICE"
    gp export "$RUN" --out "$OUT/grasp_cnn.onnx" --check
    cp "$RUN/metrics.json" "$RUN/curves.png" "$OUT/"
fi
if [[ " $STEPS " == *" eval "* ]]; then
    # the fresh objects are the clean test: the standard split's unseen part may hold objects the shipped
    # model (the starting point) trained on, since a database regenerated elsewhere can label differently
    stamp "accuracy on the fresh objects of $TEST_DATA, new and shipped model, 1 and 8 views"
    "$PY" benchmarks/eval_model_accuracy.py --data "$TEST_DATA" --all-unseen --quarter-turns 1 8 \
        --model "$OUT/grasp_cnn.json" models/grasp_cnn.json --out "$OUT/accuracy.json"
fi
stamp "done: $(ls "$OUT" | tr '\n' ' ')"
