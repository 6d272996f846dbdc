#!/usr/bin/env bash
# LSMDC: training clips, validation for model selection, 1,000-clip public test.
#   DATA_ROOT: folder with LSMDC16_annos_training.csv, LSMDC16_annos_val.csv, LSMDC16_challenge_1000_publictect.csv
#   FRAMES:    frames folder from preprocess/extract_frames.py (default $DATA_ROOT/frames)
# The recipe follows HEAD (docs/recipe.md); other settings (GPUs, nodes, CLIP weights, head): see
# scripts/launch.sh. Extra flags pass through and win,
# e.g. `HEAD=meanP scripts/train_lsmdc.sh --epochs 1`.
set -euo pipefail
source "$(dirname "$0")/launch.sh"
require_env DATA_ROOT
FRAMES="${FRAMES:-$DATA_ROOT/frames}"
recipe 32 12 1e-5 0.1 4  # X-Pool's LSMDC: new parameters at 1e-5
launch --do_train --datatype lsmdc --data_path "$DATA_ROOT" --features_path "$FRAMES" \
  "${RECIPE[@]}" "$@"
