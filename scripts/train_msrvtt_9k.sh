#!/usr/bin/env bash
# MSR-VTT, 9k training videos (180k pairs per epoch), evaluated on 1k-A (no validation split).
#   DATA_ROOT: folder with MSRVTT_data.json, MSRVTT_train.9k.csv, MSRVTT_JSFUSION_test.csv
#   FRAMES:    frames folder from preprocess/extract_frames.py (default $DATA_ROOT/frames)
# The recipe follows HEAD (docs/recipe.md); other settings (GPUs, nodes, CLIP weights, head): see
# scripts/launch.sh. Extra flags pass through and win,
# e.g. `HEAD=meanP scripts/train_msrvtt_9k.sh --epochs 1`.
set -euo pipefail
source "$(dirname "$0")/launch.sh"
require_env DATA_ROOT
FRAMES="${FRAMES:-$DATA_ROOT/frames}"
recipe 32 12 3e-5 0.03333333333333333 4  # X-Pool's MSR-VTT 9k: new parameters at 3e-5
launch --do_train --datatype msrvtt --msrvtt_split 9k --data_path "$DATA_ROOT" --features_path "$FRAMES" \
  "${RECIPE[@]}" "$@"
