#!/usr/bin/env bash
# Eval-only: evaluates a checkpoint of this repository on a dataset's test split.
#   INIT_MODEL: checkpoint_best.pt / checkpoint_last.pt of a run
#   DATATYPE:   msrvtt | lsmdc | vatex | msvd | didemo
#   DATA_ROOT:  the dataset's annotation folder; FRAMES: frames folder (default $DATA_ROOT/frames)
# The model and what it sees (head, CLIP, frames, words, frame sampling and order, precision) come
# from the checkpoint's config; a frame or word flag passed through is an override, logged and
# recorded in the evaluation's config.json and metrics.json. Other flags pass through, e.g.
# `INIT_MODEL=runs/x/checkpoint_best.pt DATATYPE=msrvtt DATA_ROOT=/data/msrvtt scripts/eval.sh
# --msrvtt_split 9k --dual_softmax --save_sim`. Other settings: scripts/launch.sh.
set -euo pipefail
CLIP_CHECKPOINT="${CLIP_CHECKPOINT-}"  # not needed: the checkpoint holds every weight
source "$(dirname "$0")/launch.sh"
require_env INIT_MODEL DATATYPE DATA_ROOT
MODEL_ARGS=()
CHECK_SPLITS=test
FRAMES="${FRAMES:-$DATA_ROOT/frames}"
OUTPUT_DIR="${OUTPUT_DIR:-$(dirname "$INIT_MODEL")/eval_${DATATYPE}}"
launch --do_eval --init_model "$INIT_MODEL" --datatype "$DATATYPE" --data_path "$DATA_ROOT" \
  --features_path "$FRAMES" "$@"
