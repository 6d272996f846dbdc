# Shared by the dataset launchers: runs main_task_retrieval.py under torchrun.
# Environment (all optional except where a launcher says otherwise):
#   PYTHON           python to use (default: .venv/bin/python of this repository, else python3)
#   DEVICE           cuda (default: stops with one line and exit status 2 when no CUDA device is usable,
#                    saying why) or cpu (on purpose: processes on the CPU over gloo)
#   GPUS_PER_NODE    processes per node (default: number of usable GPUs; 1 with DEVICE=cpu)
#   NNODES           nodes (default 1); NODE_RANK (default 0)
#   MASTER_ADDR      rendezvous host (default 127.0.0.1); MASTER_PORT (default 29500)
#   CLIP_CHECKPOINT  CLIP weights: an open_clip pretrained tag of CLIP_NAME (default openai: OpenAI's weights,
#                    downloaded once into ~/.cache/clip, docs/clip_weights.md) or a file (.pt / .safetensors);
#                    set but empty: none, e.g. for eval.sh, whose --init_model holds all the weights
#   CACHE_DIR        where tags are downloaded to (--cache_dir; default ~/.cache/clip, or $XDG_CACHE_HOME/clip)
#   CLIP_NAME        CLIP architecture (default ViT-B/32)
#   HEAD             --sim_header (default dllfa)
#   OUTPUT_DIR       where the run writes (default runs/<launcher name>_<head>)
#   CHECK_DATASET    1 (default): `python -m scripts.check_dataset` reads the annotations and frames folder first
#                    and stops the launch (exit status 2) when a listed video has no frames; 0: skip the check
#                    (the driver then skips such videos with a count, --on_missing skip)
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$([ -x "$REPO/.venv/bin/python" ] && echo "$REPO/.venv/bin/python" || echo python3)}"
DEVICE="${DEVICE:-cuda}"
case "$DEVICE" in
  cuda) USABLE_GPUS=$(cd "$REPO" && "$PYTHON" -m scripts.cuda_check) || exit $? ;;
  cpu) USABLE_GPUS=1 ;;
  *) echo "error: DEVICE must be cuda or cpu, got '$DEVICE'" >&2; exit 2 ;;
esac
GPUS_PER_NODE="${GPUS_PER_NODE:-$USABLE_GPUS}"
NNODES="${NNODES:-1}"
NODE_RANK="${NODE_RANK:-0}"
MASTER_ADDR="${MASTER_ADDR:-127.0.0.1}"
MASTER_PORT="${MASTER_PORT:-29500}"
CLIP_CHECKPOINT="${CLIP_CHECKPOINT-openai}"
CLIP_NAME="${CLIP_NAME:-ViT-B/32}"
HEAD="${HEAD:-dllfa}"
# the model a launcher trains; eval.sh empties it: the checkpoint's config says which model it is
MODEL_ARGS=(--pretrained_clip_name "$CLIP_NAME" --sim_header "$HEAD")
LAUNCHER="$(basename "$0" .sh)"
OUTPUT_DIR="${OUTPUT_DIR:-$REPO/runs/${LAUNCHER}_${HEAD}}"

# recipe WORDS FRAMES XPOOL_LR XPOOL_CLIP_COEF GPUS: the published recipe of $HEAD for the dataset
# (docs/recipe.md) into the array RECIPE, which a launcher passes before its extra flags.
# meanP, seqTransf, dllfa: CLIP4Clip's (ArrowLuo/CLIP4Clip README.md:96-179): BertAdam on fp16 CLIP,
#   embeddings frozen, global batch 128, 5 epochs, lr 1e-4, CLIP at 1e-4 x 1e-3, WORDS tokens,
#   FRAMES frames from the first to the last, and CLIP's gradient / GPUS, the GPU count of the
#   published command (--nproc_per_node: 4 for MSR-VTT, MSVD, LSMDC; 8 for DiDeMo), which its
#   gather gives whatever number of GPUs runs it here (--reference_gpus).
# xpool: X-Pool's (layer6ai-labs/xpool README.md:73-76, config/all_config.py:18-46): its AdamW,
#   batch 32, 5 epochs, new parameters at XPOOL_LR, CLIP at 1e-6 (XPOOL_LR x XPOOL_CLIP_COEF),
#   77 tokens (its tokenizer's limit), the middle frame of FRAMES equal segments.
recipe() {
  if [ "$HEAD" = xpool ]; then
    RECIPE=(--optimizer xpool --batch_size 32 --epochs 5 --lr "$3" --coef_lr "$4" --max_words 77
            --max_frames "$2" --slice_framepos uniform)
  else
    RECIPE=(--optimizer clip4clip --freeze_layer_num 0 --batch_size 128 --epochs 5 --lr 1e-4 --coef_lr 1e-3
            --max_words "$1" --max_frames "$2" --slice_framepos linspace --reference_gpus "$5")
  fi
}

require_env() {
  for name in "$@"; do
    if [ -z "${!name:-}" ]; then echo "error: set $name (see the comments at the top of $0)" >&2; exit 2; fi
  done
}

# launch ARGS...: torchrun over all nodes, with the model flags shared by every dataset. The dataset
# is checked first (CHECK_SPLITS: the splits to check, default all), then a tag in CLIP_CHECKPOINT is
# fetched, once per node and before torchrun, so that missing frames or a download problem (offline,
# say) is a short message and exit status 2 (`python -m preprocess.download_clip`'s one line) instead
# of a torchrun failure report.
launch() {
  local cache=(${CACHE_DIR:+--cache_dir "$CACHE_DIR"})
  if [ "${CHECK_DATASET:-1}" != 0 ]; then
    PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -m scripts.check_dataset ${CHECK_SPLITS:+--splits "$CHECK_SPLITS"} \
      "$@" || exit $?
  fi
  if [ -n "$CLIP_CHECKPOINT" ]; then
    PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -m preprocess.download_clip "$CLIP_NAME" "$CLIP_CHECKPOINT" \
      "${cache[@]}" >/dev/null || exit $?
  fi
  set -x
  "$PYTHON" -m torch.distributed.run \
    --nnodes "$NNODES" --node_rank "$NODE_RANK" --nproc_per_node "$GPUS_PER_NODE" \
    --rdzv_backend c10d --rdzv_endpoint "$MASTER_ADDR:$MASTER_PORT" --rdzv_id "${LAUNCHER}_${HEAD}" \
    "$REPO/main_task_retrieval.py" \
    "${MODEL_ARGS[@]}" ${CLIP_CHECKPOINT:+--clip_checkpoint "$CLIP_CHECKPOINT"} \
    "${cache[@]}" --device "$DEVICE" --output_dir "$OUTPUT_DIR" "$@"
}
