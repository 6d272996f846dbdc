#!/usr/bin/env bash
# `make ablations`: every head and DLLFA ablation of scripts/demo_heads.py on the pixel demo over
# the training seeds of `make demo-seeds` (scripts/demo_seeds.sh, the same data and settings as
# `make demo`), and on the feature-level benchmark at CLIP's width (the results of `make
# feature-bench`, which trains every one of these heads over its own three seeds; run here only when
# they are missing), then one table, $ABLATIONS_DIR/ablations.md (docs/demo.md), every number a mean ±
# standard deviation over the seeds, with the commands and their wall times.
# Settings (environment): ABLATIONS_DIR (runs/ablations), ABLATION_HEADS (those heads),
# DEMO_SEEDS ("42 7 1"), FEATURE_LEVEL_RESULTS (runs/feature_level/results: the .json of `make
# feature-bench`), FEATURE_LEVEL_ARGS (arguments of the feature benchmark when it has to run; tests
# pass tiny sizes), the demo's DEMO_* sizes, PYTHON (.venv/bin/python).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
ABLATIONS_DIR="${ABLATIONS_DIR:-runs/ablations}"
ABLATION_HEADS="${ABLATION_HEADS:-meanP seqTransf xpool dllfa dllfa_no_temporal dllfa_frame dllfa_token dllfa_token_plain dllfa_fixed_fusion dllfa_shared_order}"
FEATURE_LEVEL_RESULTS="${FEATURE_LEVEL_RESULTS:-runs/feature_level/results}"
FEATURE_LEVEL_ARGS="${FEATURE_LEVEL_ARGS:-}"
mkdir -p "$ABLATIONS_DIR"

start=$SECONDS
SEEDS_DIR="$ABLATIONS_DIR" DEMO_HEADS="$ABLATION_HEADS" PYTHON="$PYTHON" bash scripts/demo_seeds.sh
pixel_seconds=$((SECONDS - start))

if [ ! -f "$FEATURE_LEVEL_RESULTS.json" ]; then
  # shellcheck disable=SC2086  # the extra arguments are words
  "$PYTHON" -m bench.feature_level --output "$FEATURE_LEVEL_RESULTS" $FEATURE_LEVEL_ARGS
fi

# shellcheck disable=SC2086  # heads are words
"$PYTHON" -m scripts.ablations_report --runs "$ABLATIONS_DIR" --feature_results "$FEATURE_LEVEL_RESULTS.json" \
  --heads $ABLATION_HEADS --pixel_seconds "$pixel_seconds"
