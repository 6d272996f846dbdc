#!/usr/bin/env bash
# DiDeMo paragraph-to-video retrieval (all descriptions of a video joined), 64 words, 64 frames.
#   DATA_ROOT: folder with train_data.json, val_data.json, test_data.json
#   FRAMES:    frames folder from preprocess/extract_frames.py (default $DATA_ROOT/frames)
# Other settings (GPUs, nodes, CLIP weights, head): see scripts/launch.sh. Extra flags pass through,
# e.g. `HEAD=meanP scripts/train_didemo.sh --epochs 1`.
set -euo pipefail
source "$(dirname "$0")/launch.sh"
require_env DATA_ROOT
FRAMES="${FRAMES:-$DATA_ROOT/frames}"
launch --do_train --datatype didemo --data_path "$DATA_ROOT" --features_path "$FRAMES" \
  --max_words 64 --max_frames 64 --batch_size 64 --epochs 5 --lr 1e-4 --coef_lr 1e-3 "$@"
