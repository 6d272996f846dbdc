#!/usr/bin/env bash
# VATEX (HGR split): 25,991 train, 1,500 validation, 1,500 test videos x 10 English captions.
#   DATA_ROOT: folder with vatex_training_v1.0.json, vatex_validation_v1.0.json, train_list.txt, val_list.txt, test_list.txt
#   FRAMES:    frames folder from preprocess/extract_frames.py (default $DATA_ROOT/frames)
# Other settings (GPUs, nodes, CLIP weights, head): see scripts/launch.sh. Extra flags pass through,
# e.g. `HEAD=meanP scripts/train_vatex.sh --epochs 1`.
set -euo pipefail
source "$(dirname "$0")/launch.sh"
require_env DATA_ROOT
FRAMES="${FRAMES:-$DATA_ROOT/frames}"
launch --do_train --datatype vatex --data_path "$DATA_ROOT" --features_path "$FRAMES" \
  --max_words 32 --max_frames 12 --batch_size 128 --epochs 5 --lr 1e-4 --coef_lr 1e-3 "$@"
