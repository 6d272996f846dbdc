#!/usr/bin/env bash
# GPU check: the three benchmarks at real sizes on one GPU, in under 5 minutes, nothing downloaded.
#   1. ViT-B/32 (random init) training step, bf16 autocast, 32 clips x 12 frames x 224 px per step,
#      through the real loader (frames on disk) and training loop: clips/s, data wait, MFU;
#   2. evaluation scoring at MSR-VTT (1,000 x 1,000) and VATEX (15,000 x 1,500) sizes;
#   3. `torchrun` with one GPU: a few steps of main_task_retrieval.py on the synthetic dataset.
# Results: one JSON file, $OUT/gpu_check.json (or bench/gpu_check.json without $OUT).
# The machine needs PyTorch; open_clip_torch, ftfy and wcwidth come as wheels in .whl/ when it
# lacks them (`make gpu-wheels` downloads them here).
set -euo pipefail
cd "$(dirname "$0")/.."
RESULTS_DIR="${OUT:-bench}"
WORK="$(mktemp -d)"
PY="${PYTHON:-python3}"
if [ -d .whl ] && ls .whl/*.whl > /dev/null 2>&1; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$WORK/site" .whl/*.whl
  export PYTHONPATH="$WORK/site:${PYTHONPATH:-}"
fi
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$WORK/gpu.txt"
WORKERS=$(( $(nproc) > 2 ? $(nproc) - 2 : 1 ))

"$PY" -m bench.train_step --model ViT-B-32 --precision bf16 --batch_size 32 --frames 12 --steps 30 --warmup 5 \
  --workers "$WORKERS" --device cuda --workdir "$WORK/train_step" --json | tail -n 1 > "$WORK/train_step.json"
"$PY" -m bench.eval_similarity --sizes msrvtt,vatex --device cuda --json | tail -n 1 > "$WORK/eval_similarity.json"

"$PY" -m preprocess.make_synthetic_dataset --output_dir "$WORK/synthetic" --train_videos 256 --val_videos 0 \
  --test_pairs 32 --captions_per_video 2 --size 224 --seconds 13 --fps 2
"$PY" -m preprocess.extract_frames --video_dir "$WORK/synthetic/videos" --output_dir "$WORK/frames" \
  --short_side 224 --workers "$WORKERS"
start=$(date +%s.%N)
"$PY" -m torch.distributed.run --standalone --nproc_per_node 1 main_task_retrieval.py --do_train \
  --data_path "$WORK/synthetic/annotations" --features_path "$WORK/frames" --output_dir "$WORK/torchrun" \
  --pretrained_clip_name ViT-B-32 --sim_header dllfa --precision bf16 --max_frames 12 --batch_size 32 \
  --epochs 1 --num_thread_reader "$WORKERS" --batch_size_val 64 2>&1 | grep -v "it/s\]$" | tail -n 12 \
  | tee "$WORK/torchrun.log"
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
