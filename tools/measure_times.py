"""Measure how long each notebook takes to run top to bottom, and write the figures where readers see them.

Usage:
    python tools/measure_times.py                 # measure every notebook, update docs/teaching.md and headers
    python tools/measure_times.py --dry-run       # measure and print only

Each notebook runs once in a fresh kernel (a copy, offline: HF_HUB_OFFLINE=1), the wall-clock seconds
are rounded up, and then written into
  - the run-time table of docs/teaching.md (rows ``| [0N](...) | seconds | ...``), and
  - the notebook's 「この回で学ぶこと」 cell (``全セルの実行: 約 N 秒``),
so that tests/test_learning_path.py can check that the two agree.
"""
from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
TEACHING = ROOT / "docs" / "teaching.md"
HEADER_TIME = re.compile(r"(全セルの実行[^0-9\n—]*?)(\d+|—)(\s*秒)")


def run_seconds(path: Path) -> int:
    """Wall-clock seconds (rounded up) of one top-to-bottom run in a fresh kernel, outputs discarded."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    # run in the notebook's folder, so relative paths resolve as in the repository; the file is not written
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return math.ceil(time.perf_counter() - start)


def update_teaching(times: dict[str, int]) -> None:
    text = TEACHING.read_text()
    for nb, sec in times.items():
        text = re.sub(rf"^(\|\s*\[?{nb}[^|]*\|\s*)(?:\d+|—)(\s*\|)", rf"\g<1>{sec}\g<2>", text, flags=re.M)
    TEACHING.write_text(text)


def update_header(path: Path, seconds: int) -> bool:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells[:4]:
        if cell.cell_type == "markdown" and "## この回で学ぶこと" in cell.source and HEADER_TIME.search(cell.source):
            cell.source = HEADER_TIME.sub(rf"\g<1>{seconds}\g<3>", cell.source, count=1)
            nbformat.write(nb, path)
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--record", metavar="NN=SECONDS", nargs="*", default=[],
                        help="write times measured elsewhere (e.g. the nbconvert run that produced the committed outputs)")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    times = {}
    if args.record:
        times = {k: int(v) for k, v in (r.split("=") for r in args.record)}
        paths = [p for p in paths if p.name[:2] in times]
    for path in paths:
        if path.name[:2] not in times:
            times[path.name[:2]] = run_seconds(path)
        print(f"{path.name}: {times[path.name[:2]]} s", flush=True)
    if not args.dry_run:
        update_teaching(times)
        for path in paths:
            if not update_header(path, times[path.name[:2]]):
                print(f"{path.name}: no 「この回で学ぶこと」 cell with 全セルの実行 … 秒 to update", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
