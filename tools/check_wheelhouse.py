"""Check a wheelhouse made by `make wheelhouse`: one wheel per pin, a CPU-only torch, our own wheel.

Usage: python tools/check_wheelhouse.py wheelhouse/

Exits non-zero, saying what is missing, when the folder could not install
`requirements.txt` with pip's index switched off.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def normalise(name: str) -> str:
    """PEP 503 name: lower case, runs of ``-_.`` become one ``_`` (as in wheel file names)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def pins(requirements: Path) -> dict[str, str]:
    """``name -> version`` for every ``name==version`` line (environment markers are ignored)."""
    found = {}
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].split(";", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            found[normalise(name.split("[", 1)[0])] = version.strip()
    return found


def wheels(folder: Path) -> dict[str, list[str]]:
    """``name -> [versions]`` of the wheels in ``folder``."""
    found: dict[str, list[str]] = {}
    for whl in folder.glob("*.whl"):
        name, version = whl.name.split("-")[:2]
        found.setdefault(normalise(name), []).append(version)
    return found


def problems(folder: Path, requirements: Path = ROOT / "requirements.txt") -> list[str]:
    """Everything that would stop an offline install from ``folder``; empty when it is complete."""
    have = wheels(folder)
    out = []
    for name, version in pins(requirements).items():
        versions = [v.split("+", 1)[0] for v in have.get(name, [])]
        if version not in versions:
            out.append(f"no wheel for {name}=={version} (have: {have.get(name) or 'none'})")
    if "attn_utils" not in have:
        out.append("no wheel of this package (attn_utils); run: pip wheel --no-deps -w wheelhouse .")
    if sys.platform.startswith("linux"):
        cuda = sorted(n for n in have if n.startswith("nvidia_"))
        gpu_torch = [v for v in have.get("torch", []) if "+cpu" not in v]
        if cuda or gpu_torch:
            out.append(f"torch is the CUDA build (torch {gpu_torch}, {len(cuda)} nvidia-* wheels); "
                       "rebuild with a CPU index: make wheelhouse TORCH_INDEX=https://download.pytorch.org/whl/cpu")
    return out


def main(argv: list[str]) -> int:
    folder = Path(argv[1] if len(argv) > 1 else "wheelhouse")
    found = problems(folder)
    files = list(folder.glob("*.whl"))
    size = sum(f.stat().st_size for f in files) / 1e6
    for line in found:
        print("wheelhouse:", line, file=sys.stderr)
    if not found:
        print(f"wheelhouse: {len(files)} wheels, {size:.0f} MB in {folder}/ — complete for requirements.txt; "
              f"install with: make setup WHEELHOUSE={folder}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
