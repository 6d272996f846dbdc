#!/usr/bin/env bash
# MSR-VTT official split: train 6,513 / validate 497 (model selection) / test 2,990 x 20 captions.
#   DATA_ROOT: folder with MSRVTT_data.json
#   FRAMES:    frames folder from preprocess/extract_frames.py (default $DATA_ROOT/frames)
# The recipe follows HEAD (docs/recipe.md); other settings (GPUs, nodes, CLIP weights, head): see
# scripts/launch.sh. Extra flags pass through and win,
# e.g. `HEAD=meanP scripts/train_msrvtt_full.sh --epochs 1`.
set -euo pipefail
source "$(dirname "$0")/launch.sh"
require_env DATA_ROOT
FRAMES="${FRAMES:-$DATA_ROOT/frames}"
recipe 32 12 1e-5 0.1 4  # no published recipe for this split: CLIP4Clip's MSR-VTT (4 GPUs), and X-Pool's defaults
launch --do_train --datatype msrvtt --msrvtt_split full --data_path "$DATA_ROOT" --features_path "$FRAMES" \
  "${RECIPE[@]}" "$@"
