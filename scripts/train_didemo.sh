#!/usr/bin/env bash
# DiDeMo paragraph-to-video retrieval (all descriptions of a video joined), 64 words, 64 frames.
#   DATA_ROOT: folder with train_data.json, val_data.json, test_data.json
#   FRAMES:    frames folder from preprocess/extract_frames.py (default $DATA_ROOT/frames)
# The recipe follows HEAD (docs/recipe.md); other settings (GPUs, nodes, CLIP weights, head): see
# scripts/launch.sh. Extra flags pass through and win,
# e.g. `HEAD=meanP scripts/train_didemo.sh --epochs 1`.
set -euo pipefail
source "$(dirname "$0")/launch.sh"
require_env DATA_ROOT
FRAMES="${FRAMES:-$DATA_ROOT/frames}"
recipe 64 64 1e-5 0.1 8  # CLIP4Clip's DiDeMo: 64 words, 64 frames, 8 GPUs; X-Pool has none: its defaults
launch --do_train --datatype didemo --data_path "$DATA_ROOT" --features_path "$FRAMES" \
  "${RECIPE[@]}" "$@"
