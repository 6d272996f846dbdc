#!/usr/bin/env bash
# MSVD: 1,200 train / 100 val / 670 test videos, about 40 captions each (multi-caption).
#   DATA_ROOT: folder with train_list.txt, val_list.txt, test_list.txt, raw-captions.pkl
#   FRAMES:    frames folder from preprocess/extract_frames.py (default $DATA_ROOT/frames)
# The recipe follows HEAD (docs/recipe.md); other settings (GPUs, nodes, CLIP weights, head): see
# scripts/launch.sh. Extra flags pass through and win,
# e.g. `HEAD=meanP scripts/train_msvd.sh --epochs 1`.
set -euo pipefail
source "$(dirname "$0")/launch.sh"
require_env DATA_ROOT
FRAMES="${FRAMES:-$DATA_ROOT/frames}"
recipe 32 12 1e-5 0.1 4  # X-Pool's MSVD: new parameters at 1e-5
launch --do_train --datatype msvd --data_path "$DATA_ROOT" --features_path "$FRAMES" \
  "${RECIPE[@]}" "$@"
