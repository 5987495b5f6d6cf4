"""Drop execution noise from notebooks, keeping outputs so readers see results on GitHub.

Usage: python tools/scrub.py notebooks/*.ipynb
"""
import sys

import nbformat

NOISY_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime")


def scrub(path: str) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        for key in NOISY_METADATA:
            cell.metadata.pop(key, None)
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        scrub(arg)
        print("scrubbed", arg)
