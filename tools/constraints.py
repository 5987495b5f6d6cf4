"""Write the pip constraints of a test environment (``make test-oldest`` / ``make test-colab``).

``oldest``: every lower bound in pyproject.toml (``name>=X`` -> ``name==X``, for the
dependencies and every extra), followed by ``constraints/oldest.txt``, which pins
only what pyproject does not name (transitive packages such as tokenizers). A new
dependency added to pyproject with a ``>=`` bound is therefore tested at its floor
with no further edit. ``colab``: ``constraints/colab.txt`` as written.

Usage: python tools/constraints.py oldest|colab > constraints.txt
       python tools/constraints.py --check oldest|colab constraints.txt   (in the built environment:
       every pinned package that pyproject names is installed, at the pinned version)
"""
from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Floors that cannot be installed here, with the version tested in their place and why. Nothing
#: else may differ from pyproject's bound (tests/test_repo.py checks this list is all there is).
STAND_INS = {
    # transformers 5 itself requires torch >= 2.6, the floor we state so that Colab keeps its own torch;
    # the only torch this machine can install without a multi-GB CUDA download is the 2.13.0 CPU build.
    "torch": "2.13.0",
}
REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*?)\s*(?:;.*)?$")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def floors(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    """name -> lower bound for every ``>=`` requirement in pyproject (dependencies and extras)."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    reqs = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    out: dict[str, str] = {}
    for req in reqs:
        m = REQ.match(req)
        if not m:
            raise SystemExit(f"cannot read the requirement {req!r} in pyproject.toml")
        name, spec = _norm(m.group(1)), m.group(2)
        low = re.search(r">=\s*([^,\s]+)", spec)
        if low is None:
            raise SystemExit(f"{req!r} in pyproject.toml has no '>=' lower bound: add one, it is what make test-oldest installs")
        if name in out and out[name] != low.group(1):
            raise SystemExit(f"{name} has two lower bounds in pyproject.toml: {out[name]} and {low.group(1)}")
        out[name] = low.group(1)
    return out


def pinned(path: Path) -> dict[str, str]:
    """name -> version for the ``name==version`` lines of a constraints file."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            out[_norm(name)] = version.strip()
    return out


def main(which: str) -> str:
    extra = ROOT / "constraints" / f"{which}.txt"
    if not extra.is_file():
        raise SystemExit(f"no constraints/{which}.txt; choose one of: "
                         + ", ".join(p.stem for p in sorted((ROOT / "constraints").glob("*.txt"))))
    lines = []
    if which == "oldest":
        lows = floors()
        clash = sorted(set(lows) & set(pinned(extra)))
        if clash:
            raise SystemExit(f"constraints/oldest.txt pins {clash}, which pyproject.toml already bounds: "
                             "change the bound in pyproject.toml instead")
        lines.append("# the lower bounds of pyproject.toml")
        lines += [f"{name}=={STAND_INS.get(name, version)}" for name, version in lows.items()]
    lines.append(f"# constraints/{which}.txt")
    lines.append(extra.read_text(encoding="utf-8"))
    return "\n".join(lines)


def check(which: str, path: Path) -> None:
    """Fail unless every package pyproject names is installed at the version the constraints pin."""
    from importlib.metadata import PackageNotFoundError, version

    wanted = pinned(path)
    named = floors() if which == "oldest" else wanted
    bad = []
    for name in named:
        pin = wanted.get(name)
        try:
            have = version(name)
        except PackageNotFoundError:
            bad.append(f"{name}: not installed (pinned {pin})")
            continue
        if pin and have.split("+")[0] not in (pin, pin + ".0", pin + ".0.0") and have.split("+")[0] != pin:
            bad.append(f"{name}: {have} installed, {pin} pinned")
    if bad:
        raise SystemExit("the environment does not match the constraints:\n  " + "\n  ".join(bad))
    print(f"{which}: {len(named)} pinned packages installed at their pinned versions")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--check":
        check(sys.argv[2], Path(sys.argv[3]))
    elif len(sys.argv) == 2:
        print(main(sys.argv[1]))
    else:
        raise SystemExit(__doc__)
