#!/usr/bin/env bash
# The GPU path, run from the checkout: embedding encode-and-write, one epoch of retriever
# fine-tuning (full and LoRA, bf16), the intent classifier, the quantise/distil GPU parts,
# the image tower of embed_images and the copy generator of generate_copy (bf16/fp16 vs fp32);
# each figure next to its anchor measured in the same run (bench/gpu_check.py, bench/README.md).
#
#   bench/gpu_check.sh                 # CUDA when there is one, else the reduced CPU mode
#   bench/gpu_check.sh --cpu           # the reduced CPU mode (CI: tests/training/test_gpu_check.py)
#   bench/gpu_check.sh --database      # the embedding step also writes (DATABASE_URL), rolled back
#
# Set-up on a GPU machine that is not a development machine (its own Python and torch, no
# package registry): when the Python it finds cannot import the pieces the jobs need, it makes
# .gpu-venv (with the system's torch visible) and installs them from the wheels folder
# (GPU_CHECK_WHEELS, default bench/wheels: see bench/README.md for how to fill it). Python:
# $PYTHON, else .venv/bin/python, else python3. The whole run is capped at 8 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=auto
extra=()
for arg in "$@"; do
  case "$arg" in
    --cpu) mode=cpu ;;
    --cuda) mode=cuda ;;
    --database) extra+=(--database) ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

started=$(date +%s)
py="${PYTHON:-}"
if [ -z "$py" ]; then
  if [ -x .venv/bin/python ]; then py=.venv/bin/python; else py=python3; fi
fi
needs="import torch, transformers, sentence_transformers, peft"
if ! "$py" -c "$needs" 2>/dev/null; then
  wheels="${GPU_CHECK_WHEELS:-bench/wheels}"
  if ! "$py" -c "import torch" 2>/dev/null; then
    echo "gpu_check: $py has no torch; install the machine's torch first" >&2; exit 2
  fi
  if [ ! -d "$wheels" ]; then
    echo "gpu_check: $py lacks transformers/sentence-transformers/peft and there is no $wheels" >&2
    exit 2
  fi
  echo "gpu_check: set-up: .gpu-venv from $wheels (system torch)"
  "$py" -m venv --system-site-packages .gpu-venv
  .gpu-venv/bin/python -m pip install -q --no-index --find-links "$wheels" \
    sentence-transformers transformers peft tokenizers safetensors huggingface-hub
  py=.gpu-venv/bin/python
fi

if [ "$mode" = auto ]; then
  if "$py" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    mode=cuda
  else
    mode=cpu
    echo "gpu_check: no CUDA device here: the reduced CPU mode"
  fi
fi
echo "gpu_check: set-up took $(( $(date +%s) - started )) s"
exec timeout $(( 480 - ($(date +%s) - started) )) "$py" bench/gpu_check.py --mode "$mode" "${extra[@]}"
