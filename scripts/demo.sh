#!/usr/bin/env bash
# The embedded default: no GPU, no downloads. Generates the synthetic temporal dataset (MSR-VTT
# format), extracts frames, trains a tiny CLIP from scratch with each head, evaluates, prints
# one table and writes $DEMO_DIR/summary.{md,json} and the figures in $DEMO_IMG.
# Settings (environment):
#   DEMO_DIR (runs/demo), DEMO_IMG (img), DEMO_HEADS ("dllfa meanP"), DEMO_EPOCHS (see below),
#   DEMO_TRAIN_VIDEOS (2000), DEMO_VAL_VIDEOS (40), DEMO_TEST_PAIRS (50), PYTHON (.venv/bin/python).
# The sizes exist so that tests/test_demo.py can run the same path in seconds.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
DEMO_DIR="${DEMO_DIR:-runs/demo}"
DEMO_IMG="${DEMO_IMG:-img}"
DEMO_HEADS="${DEMO_HEADS:-dllfa meanP}"
DEMO_EPOCHS="${DEMO_EPOCHS:-20}"
DEMO_TRAIN_VIDEOS="${DEMO_TRAIN_VIDEOS:-2000}"
DEMO_VAL_VIDEOS="${DEMO_VAL_VIDEOS:-40}"
DEMO_TEST_PAIRS="${DEMO_TEST_PAIRS:-50}"
DATA="$DEMO_DIR/data"

"$PYTHON" -m preprocess.make_synthetic_dataset --output_dir "$DATA/synthetic" --train_videos "$DEMO_TRAIN_VIDEOS" \
  --val_videos "$DEMO_VAL_VIDEOS" --test_pairs "$DEMO_TEST_PAIRS" --captions_per_video 10 --size 32 --seconds 7 \
  --fps 4 --seed 0
"$PYTHON" -m preprocess.extract_frames --video_dir "$DATA/synthetic/videos" --output_dir "$DATA/frames" \
  --fps 1 --short_side 32 --workers 2

# Why these settings (README, "The demo"): twins in one batch; the temporal encoder sees each frame
# minus its video's mean (the tiny CLIP's frames of one video are nearly the same vector); 20 words
# hold the longest caption (16 cut the end of 5% of them, direction words included); one loading
# process (on 2 cores a DataLoader worker competes with the compute threads).
for head in $DEMO_HEADS; do
  rm -rf "${DEMO_DIR:?}/$head"
  "$PYTHON" main_task_retrieval.py --do_train --output_dir "$DEMO_DIR/$head" --seed 42 \
    --datatype msrvtt --msrvtt_split full --data_path "$DATA/synthetic/annotations" --features_path "$DATA/frames" \
    --pretrained_clip_name tiny --sim_header "$head" --cross_num_hidden_layers 2 \
    --max_frames 7 --max_words 20 --train_captions one --twin_batches --temporal_centering \
    --batch_size 32 --epochs "$DEMO_EPOCHS" --lr 1e-3 --coef_lr 1 \
    --num_thread_reader 0 --batch_size_val 200
done

"$PYTHON" scripts/demo_report.py --runs "$DEMO_DIR" --heads $DEMO_HEADS --img "$DEMO_IMG"
