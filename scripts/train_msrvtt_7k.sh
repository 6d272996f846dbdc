#!/usr/bin/env bash
# MSR-VTT, 7k training videos (MSRVTT_train.7k.csv), evaluated on 1k-A.
#   DATA_ROOT: folder with MSRVTT_data.json, MSRVTT_train.7k.csv, MSRVTT_JSFUSION_test.csv
#   FRAMES:    frames folder from preprocess/extract_frames.py (default $DATA_ROOT/frames)
# The recipe follows HEAD (docs/recipe.md); other settings (GPUs, nodes, CLIP weights, head): see
# scripts/launch.sh. Extra flags pass through and win,
# e.g. `HEAD=meanP scripts/train_msrvtt_7k.sh --epochs 1`.
set -euo pipefail
source "$(dirname "$0")/launch.sh"
require_env DATA_ROOT
FRAMES="${FRAMES:-$DATA_ROOT/frames}"
recipe 32 12 1e-5 0.1 4  # X-Pool's MSR-VTT 7k: new parameters at 1e-5
launch --do_train --datatype msrvtt --msrvtt_split 7k --data_path "$DATA_ROOT" --features_path "$FRAMES" \
  "${RECIPE[@]}" "$@"
