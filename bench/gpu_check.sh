#!/usr/bin/env bash
# The GPU check (bench/gpu_check.py): on one GPU, in under 10 minutes, the launcher's clip4clip recipe
# under torchrun, bf16 and fp16 AMP steps, evaluation, the step split into data / forward+backward /
# optimizer, peak memory and MFU; one table, and gpu_check.json in $OUT (else bench/).
#   bash bench/gpu_check.sh          # on the GPU machine, from a clone
#   bash bench/gpu_check.sh --dry    # CPU, toy size: the check itself works (tests/test_gpu_check.py)
# The machine needs PyTorch; open_clip_torch, ftfy and wcwidth come as wheels in .whl/ when it lacks
# them (`make gpu-wheels` downloads them on a machine with internet; copy .whl/ along).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
SITE="$(mktemp -d)"
trap 'rm -rf "$SITE"' EXIT
if ls .whl/*.whl > /dev/null 2>&1; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$SITE" .whl/*.whl
  export PYTHONPATH="$SITE:${PYTHONPATH:-}"
elif ! "$PY" -c "import open_clip" > /dev/null 2>&1; then
  echo "gpu_check: open_clip is not importable by $PY and .whl/ holds no wheels: run \`make gpu-wheels\` where there is internet and copy .whl/ into $(pwd)" >&2
  exit 2
fi
"$PY" -m bench.gpu_check "$@"
