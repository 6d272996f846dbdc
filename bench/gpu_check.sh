#!/usr/bin/env bash
# GPU check: the three benchmarks at real sizes on one GPU, in under 5 minutes, nothing downloaded.
#   1. ViT-B/32 (random init) training step, bf16 autocast, 32 clips x 12 frames x 224 px per step,
#      through the real loader (frames on disk) and training loop: clips/s, data wait, MFU;
#   2. evaluation scoring at MSR-VTT (1,000 x 1,000) and VATEX (15,000 x 1,500) sizes;
#   3. `torchrun` with one GPU: a few steps of main_task_retrieval.py on the synthetic dataset.
# Results: one JSON file, $OUT/gpu_check.json (or bench/gpu_check.json without $OUT).
# The machine needs PyTorch; open_clip_torch, ftfy and wcwidth come as wheels in .whl/ when it
# lacks them (`make gpu-wheels` downloads them here).
# GPU_CHECK_SMOKE=1 runs the same steps on the CPU at toy sizes (tests/test_gpu_check.py), so that
# the script is known to work before GPU time is spent on it.
set -euo pipefail
cd "$(dirname "$0")/.."
RESULTS_DIR="${OUT:-bench}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
PY="${PYTHON:-python3}"
if [ -d .whl ] && ls .whl/*.whl > /dev/null 2>&1; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$WORK/site" .whl/*.whl
  export PYTHONPATH="$WORK/site:${PYTHONPATH:-}"
fi
export PYTHONUNBUFFERED=1
WORKERS=$(( $(nproc) > 2 ? $(nproc) - 2 : 1 ))
if [ "${GPU_CHECK_SMOKE:-0}" = 1 ]; then
  DEVICE=cpu MODEL=tiny PRECISION=fp32 BATCH=8 FRAMES=4 STEPS=2 WARMUP=1 SIZES=small HEADS=dllfa
  NAIVE_LIMIT_MB=0  # the fast path only
  VIDEOS=24 TEST_VIDEOS=8 SIZE=32 EVENT_SECONDS=2
  echo "CPU smoke run (GPU_CHECK_SMOKE=1)" > "$WORK/gpu.txt"
else
  DEVICE=cuda MODEL=ViT-B-32 PRECISION=bf16 BATCH=32 FRAMES=12 STEPS=30 WARMUP=5 SIZES=msrvtt,vatex
  HEADS=meanP,seqTransf,xpool,dllfa VIDEOS=256 TEST_VIDEOS=64 SIZE=224 EVENT_SECONDS=4
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$WORK/gpu.txt"
fi
cat "$WORK/gpu.txt"

"$PY" -m bench.train_step --model "$MODEL" --precision "$PRECISION" --batch_size "$BATCH" --frames "$FRAMES" \
  --steps "$STEPS" --warmup "$WARMUP" --workers "$WORKERS" --device "$DEVICE" --workdir "$WORK/train_step" --json \
  | tail -n 1 > "$WORK/train_step.json"
"$PY" -m bench.eval_similarity --sizes "$SIZES" --heads "$HEADS" --device "$DEVICE" ${NAIVE_LIMIT_MB:+--naive_limit_mb "$NAIVE_LIMIT_MB"} --json | tail -n 1 \
  > "$WORK/eval_similarity.json"

"$PY" -m preprocess.make_synthetic_dataset --output_dir "$WORK/synthetic" --train_videos "$VIDEOS" --val_videos 0 \
  --test_videos "$TEST_VIDEOS" --captions_per_video 2 --size "$SIZE" --event_seconds "$EVENT_SECONDS" --min_events 3 \
  --max_events 3 --fps 2
"$PY" -m preprocess.extract_frames --video_dir "$WORK/synthetic/videos" --output_dir "$WORK/frames" \
  --short_side "$SIZE" --workers "$WORKERS"
start=$(date +%s.%N)
"$PY" -m torch.distributed.run --standalone --nproc_per_node 1 main_task_retrieval.py --do_train --device "$DEVICE" \
  --data_path "$WORK/synthetic/annotations" --features_path "$WORK/frames" --output_dir "$WORK/torchrun" \
  --pretrained_clip_name "$MODEL" --sim_header dllfa --precision "$PRECISION" --max_frames "$FRAMES" \
  --batch_size "$BATCH" --epochs 1 --num_thread_reader "$WORKERS" --batch_size_val 64 2>&1 \
  | grep -v "it/s\]$" | tail -n 12 | tee "$WORK/torchrun.log"
end=$(date +%s.%N)

"$PY" - "$WORK" "$RESULTS_DIR/gpu_check.json" "$start" "$end" <<'PYTHON'
import json, os, sys
work, target, start, end = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
load = lambda name: json.load(open(os.path.join(work, name)))
run = os.path.join(work, "torchrun")
result = {
    "gpu": open(os.path.join(work, "gpu.txt")).read().strip(),
    "train_step": load("train_step.json"),
    "eval_similarity": load("eval_similarity.json"),
    "torchrun": {"seconds": round(end - start, 1), "metrics": json.load(open(os.path.join(run, "metrics.json"))),
                 "steps": sum(1 for _ in open(os.path.join(run, "train_steps.jsonl"))),
                 "log_tail": open(os.path.join(work, "torchrun.log")).read().splitlines()[-6:]},
}
os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
json.dump(result, open(target, "w"), indent=2)
print(f"wrote {target}")
PYTHON
