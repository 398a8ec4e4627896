#!/usr/bin/env bash
# The table-top model's GPU stage on the device machine, one prepared run of at most 10 minutes: the label
# store's training views rendered on every core (data.training_views, ~0.1 core-s a view), the shipped model
# fine-tuned on them on the GPU (config/train_table_device.yaml: soft labels, 8-view augmentation), its export,
# and the balanced accuracy of the new and the shipped model on the run's unseen table-top objects
# (benchmarks/eval_table_accuracy.py, onnxruntime); files in $OUT.
#
# The device machine has torch, onnx and onnxruntime but not klampt or trimesh: carry them as wheels
# (docs/learning.md, "Training on the device machine"); the label store travels with the working tree.
#   run(command="bash scripts/device_train.sh", carry=[".whl"], timeout_s=600)
# Smoke test on a CPU (two store batches, one epoch of a few images):
#   MAX_OBJECTS=20 EPOCHS=1 EPOCH_IMAGES=32 DEVICE=cpu PY=/work/main/.venv/bin/python bash scripts/device_train.sh
# WORLD=floating runs the earlier floating-object stage (procedural databases, config/train_device.yaml).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${OUT:-out/device_train}
WORLD=${WORLD:-table}
STEPS=${STEPS:-views train eval}
EPOCHS=${EPOCHS:-8}
DEVICE=${DEVICE:-cuda}
WORKERS=${WORKERS:-$(nproc)}
PY=${PY:-python3}
STORE=${STORE:-datasets/labels}
CACHE=${CACHE:-datasets/cache/views}
BACKGROUND=${BACKGROUND:-none}
MAX_OBJECTS=${MAX_OBJECTS:-}
EPOCH_IMAGES=${EPOCH_IMAGES:-0}
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
limit=()
[[ -n "$MAX_OBJECTS" ]] && limit=(--max-objects "$MAX_OBJECTS")

if [[ "$WORLD" == floating ]]; then
    OBJECTS=${OBJECTS:-650} TEST_OBJECTS=${TEST_OBJECTS:-400} DATA=${DATA:-datasets/std}
    TEST_DATA=${TEST_DATA:-datasets/unseen_seed2}
    stamp "floating databases: procedural:$OBJECTS -> $DATA, procedural:$TEST_OBJECTS (seed 2) -> $TEST_DATA"
    gp generate --objects "procedural:$OBJECTS" --out "$DATA" --workers "$WORKERS" --seed 0 --no-progress
    gp generate --objects "procedural:$TEST_OBJECTS" --config config/dataset_unseen_test.yaml --out "$TEST_DATA" \
        --workers "$WORKERS" --seed 2 --no-progress
    gp train --data "$DATA" --out "$RUN" --config config/train_device.yaml --init-weights models/grasp_cnn.onnx \
        --epochs "$EPOCHS" --device "$DEVICE"
    gp export "$RUN" --out "$OUT/grasp_cnn.onnx" --check
    "$PY" benchmarks/eval_model_accuracy.py --data "$TEST_DATA" --all-unseen --quarter-turns 1 8 \
        --model "$OUT/grasp_cnn.json" models/grasp_cnn.json --out "$OUT/accuracy.json"
    exit 0
fi
if [[ " $STEPS " == *" views "* ]]; then
    stamp "views of $STORE (background $BACKGROUND, and none for the shipped model) on $WORKERS processes -> $CACHE"
    "$PY" -m grasp_planner.data.training_views --store "$STORE" --cache "$CACHE" --workers "$WORKERS" \
        --background $(echo "$BACKGROUND none" | tr ' ' '\n' | sort -u) "${limit[@]}"
fi
if [[ " $STEPS " == *" train "* ]]; then
    stamp "training: $EPOCHS epochs on $DEVICE from models/grasp_cnn.onnx -> $RUN"
    gp train --store "$STORE" --cache "$CACHE" --out "$RUN" --config config/train_table_device.yaml \
        --init-weights models/grasp_cnn.onnx --epochs "$EPOCHS" --device "$DEVICE" --background "$BACKGROUND" \
        --epoch-images "$EPOCH_IMAGES" "${limit[@]}"
    gp export "$RUN" --out "$OUT/grasp_cnn.onnx" --check
    cp "$RUN/metrics.json" "$RUN/curves.png" "$RUN/split.json" "$OUT/"
fi
if [[ " $STEPS " == *" eval "* ]]; then
    stamp "balanced accuracy on the run's unseen table-top objects, new and shipped model (onnxruntime)"
    "$PY" benchmarks/eval_table_accuracy.py --store "$STORE" --cache "$CACHE" --split "$RUN/split.json" \
        --model "$OUT/grasp_cnn.json" models/grasp_cnn.json --out "$OUT/table_accuracy.json"
fi
stamp "done: $(ls "$OUT" | tr '\n' ' ')"
