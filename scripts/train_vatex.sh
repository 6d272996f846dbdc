#!/usr/bin/env bash
# VATEX (HGR split): 25,991 train, 1,500 validation, 1,500 test videos x 10 English captions.
#   DATA_ROOT: folder with vatex_training_v1.0.json, vatex_validation_v1.0.json, train_list.txt, val_list.txt, test_list.txt
#   FRAMES:    frames folder from preprocess/extract_frames.py (default $DATA_ROOT/frames)
# The recipe follows HEAD (docs/recipe.md); other settings (GPUs, nodes, CLIP weights, head): see
# scripts/launch.sh. Extra flags pass through and win,
# e.g. `HEAD=meanP scripts/train_vatex.sh --epochs 1`.
set -euo pipefail
source "$(dirname "$0")/launch.sh"
require_env DATA_ROOT
FRAMES="${FRAMES:-$DATA_ROOT/frames}"
recipe 32 12 1e-5 0.1 4  # no published recipe for VATEX: CLIP4Clip's MSR-VTT (4 GPUs), and X-Pool's defaults
launch --do_train --datatype vatex --data_path "$DATA_ROOT" --features_path "$FRAMES" \
  "${RECIPE[@]}" "$@"
