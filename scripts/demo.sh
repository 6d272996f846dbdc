#!/usr/bin/env bash
# The embedded default: no GPU, no downloads. Generates the synthetic multi-event dataset (MSR-VTT
# format), extracts frames, trains a tiny CLIP from scratch with each head, evaluates, prints
# one table and writes $DEMO_DIR/summary.{md,json} and the figures in $DEMO_IMG.
# Settings (environment):
#   DEMO_DIR (runs/demo), DEMO_IMG ($DEMO_DIR/img; `make docs` copies runs/demo/img into img/),
#   DEMO_HEADS ("dllfa meanP seqTransf"; names of scripts/demo_heads.py, e.g. dllfa_frame),
#   DEMO_EPOCHS (30), DEMO_TRAIN_VIDEOS (2000), DEMO_VAL_VIDEOS (40), DEMO_TEST_VIDEOS (100),
#   DEMO_PARTIAL_SHARE (0.2: the share of each training video's captions that describe one event, in
#   steps of 0.1 with 10 captions per video; docs/demo.md says why 0.2), DEMO_SEED (42: the training
#   seed; the data is always generated with seed 0), DEMO_DATA ($DEMO_DIR/data: the generated videos
#   and frames; runs that share it generate them once), DEMO_DATA_ONLY (1: generate the data, train nothing),
#   PYTHON (.venv/bin/python).
# The sizes exist so that tests/test_demo.py can run the same path in seconds.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
DEMO_DIR="${DEMO_DIR:-runs/demo}"
DEMO_IMG="${DEMO_IMG:-$DEMO_DIR/img}"
DEMO_HEADS="${DEMO_HEADS:-dllfa meanP seqTransf}"
DEMO_EPOCHS="${DEMO_EPOCHS:-30}"
DEMO_TRAIN_VIDEOS="${DEMO_TRAIN_VIDEOS:-2000}"
DEMO_VAL_VIDEOS="${DEMO_VAL_VIDEOS:-40}"
DEMO_TEST_VIDEOS="${DEMO_TEST_VIDEOS:-100}"
DEMO_PARTIAL_SHARE="${DEMO_PARTIAL_SHARE:-0.2}"
DEMO_SEED="${DEMO_SEED:-42}"
DATA="${DEMO_DATA:-$DEMO_DIR/data}"
for head in $DEMO_HEADS; do "$PYTHON" -m scripts.demo_heads "$head" > /dev/null; done  # unknown names fail here, before any training

# 2 or 3 events of 3 s each: at most 9 frames at 1 fps, all of them taken (--max_frames 9), so the
# model inputs of twins are exactly each other's reversal or event swap.
"$PYTHON" -m preprocess.make_synthetic_dataset --output_dir "$DATA/synthetic" --train_videos "$DEMO_TRAIN_VIDEOS" \
  --val_videos "$DEMO_VAL_VIDEOS" --test_videos "$DEMO_TEST_VIDEOS" --captions_per_video 10 --size 32 \
  --event_seconds 3 --min_events 2 --max_events 3 --fps 4 --seed 0 --partial_share "$DEMO_PARTIAL_SHARE"
"$PYTHON" -m preprocess.extract_frames --video_dir "$DATA/synthetic/videos" --output_dir "$DATA/frames" \
  --fps 1 --short_side 32 --workers 2
if [ "${DEMO_DATA_ONLY:-0}" = 1 ]; then exit 0; fi

# Why these settings (docs/demo.md): twin families in one batch; the temporal encoder sees each
# frame minus its video's mean (the tiny CLIP's frames of one video are nearly the same vector); 32
# words hold the longest caption; one loading process (on 2 cores a DataLoader worker competes with
# the compute threads).
mkdir -p "$DEMO_DIR"
: > "$DEMO_DIR/wall_seconds.txt"
for head in $DEMO_HEADS; do
  rm -rf "${DEMO_DIR:?}/$head"
  start=$SECONDS
  # shellcheck disable=SC2046  # the head's flags are words
  "$PYTHON" main_task_retrieval.py --do_train --output_dir "$DEMO_DIR/$head" --seed "$DEMO_SEED" \
    --datatype msrvtt --msrvtt_split full --data_path "$DATA/synthetic/annotations" --features_path "$DATA/frames" \
    --pretrained_clip_name tiny $("$PYTHON" -m scripts.demo_heads "$head") --cross_num_hidden_layers 1 \
    --max_frames 9 --max_words 32 --train_captions one --twin_batches --temporal_centering \
    --batch_size 32 --epochs "$DEMO_EPOCHS" --lr 1e-3 --coef_lr 1 \
    --num_thread_reader 0 --batch_size_val 200
  echo "$head $((SECONDS - start))" >> "$DEMO_DIR/wall_seconds.txt"
  echo "demo: $head trained and evaluated in $((SECONDS - start)) s"
done

"$PYTHON" -m scripts.demo_report --runs "$DEMO_DIR" --heads $DEMO_HEADS --img "$DEMO_IMG"
