#!/usr/bin/env bash
# `make ablations`: every head and DLLFA ablation of scripts/demo_heads.py on the pixel demo
# (scripts/demo.sh, the same data and settings as `make demo`), then on the feature-level
# benchmark at CLIP's width (`python -m bench.feature_level`, its defaults but for --output, so that
# runs/feature_level/ stays that of `make feature-bench`), then one table,
# $ABLATIONS_DIR/ablations.md (docs/demo.md), with the command and the wall time of each part.
# Settings (environment): ABLATIONS_DIR (runs/ablations), ABLATION_HEADS (all of scripts/demo_heads.py),
# FEATURE_LEVEL_ARGS (extra arguments of the feature benchmark; none by default, tests pass tiny
# sizes), the demo's DEMO_* sizes, PYTHON (.venv/bin/python).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
ABLATIONS_DIR="${ABLATIONS_DIR:-runs/ablations}"
ABLATION_HEADS="${ABLATION_HEADS:-meanP seqTransf xpool dllfa dllfa_no_temporal dllfa_frame dllfa_token}"
FEATURE_LEVEL_ARGS="${FEATURE_LEVEL_ARGS:-}"
mkdir -p "$ABLATIONS_DIR"

start=$SECONDS
DEMO_DIR="$ABLATIONS_DIR" DEMO_IMG="$ABLATIONS_DIR/img" DEMO_HEADS="$ABLATION_HEADS" PYTHON="$PYTHON" \
  bash scripts/demo.sh
pixel_seconds=$((SECONDS - start))

start=$SECONDS
# shellcheck disable=SC2086  # the extra arguments are words
"$PYTHON" -m bench.feature_level --output "$ABLATIONS_DIR/feature_level" $FEATURE_LEVEL_ARGS
feature_seconds=$((SECONDS - start))

"$PYTHON" -m scripts.ablations_report --runs "$ABLATIONS_DIR" --heads $ABLATION_HEADS \
  --pixel_seconds "$pixel_seconds" --feature_seconds "$feature_seconds"
