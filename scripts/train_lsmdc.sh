#!/usr/bin/env bash
# LSMDC: training clips, validation for model selection, 1,000-clip public test.
#   DATA_ROOT: folder with LSMDC16_annos_training.csv, LSMDC16_annos_val.csv, LSMDC16_challenge_1000_publictect.csv
#   FRAMES:    frames folder from preprocess/extract_frames.py (default $DATA_ROOT/frames)
# Other settings (GPUs, nodes, CLIP weights, head): see scripts/launch.sh. Extra flags pass through,
# e.g. `HEAD=meanP scripts/train_lsmdc.sh --epochs 1`.
set -euo pipefail
source "$(dirname "$0")/launch.sh"
require_env DATA_ROOT
FRAMES="${FRAMES:-$DATA_ROOT/frames}"
launch --do_train --datatype lsmdc --data_path "$DATA_ROOT" --features_path "$FRAMES" \
  --max_words 32 --max_frames 12 --batch_size 128 --epochs 5 --lr 1e-4 --coef_lr 1e-3 "$@"
