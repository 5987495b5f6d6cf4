"""Regenerate the README figures under docs/img/ (only when asked: `make figures`).

Notebooks never write into docs/; running or reading them leaves the
repository untouched. This script draws the same figure as notebook 02,
section 4 (chased -> dog / cat for every layer and head), with whichever
model `au.load_model("bert-base-uncased")` gives here (the real model online,
the bundled MiniLM offline; the caption says which).

Usage: python tools/figures.py [output_dir]   (default: docs/img)
"""
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import attn_utils as au  # noqa: E402


def chased_dog_cat(out_dir: Path) -> Path:
    lm = au.load_model("bert-base-uncased")
    att = au.extract(lm, "The dog chased the cat")
    fig, axes = plt.subplots(1, 2, figsize=(14, 4.2), layout="constrained")
    au.plot_grid(att.pair("chased", "dog"), title="chased → dog", ax=axes[0], vmax=1)
    au.plot_grid(att.pair("chased", "cat"), title="chased → cat", ax=axes[1], vmax=1)
    fig.suptitle(att.caption, fontsize=9)
    path = out_dir / "chased_dog_cat.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "docs" / "img"
    out.mkdir(parents=True, exist_ok=True)
    print("wrote", chased_dog_cat(out))
