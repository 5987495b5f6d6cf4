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
    au.use_japanese_font()  # the labels are Japanese, as in the notebook
    lm = au.load_model("bert-base-uncased")
    att = au.extract(lm, "The dog chased the cat")
    fig, axes = plt.subplots(1, 2, figsize=(14, 4.2), layout="constrained")
    for ax, word in zip(axes, ["dog", "cat"]):
        au.plot_grid(att.pair("chased", word), title=f"chased → {word} の重み (attention weight)", ax=ax, vmax=1,
                     colorbar_label="重み")
        ax.set(xlabel="ヘッド (head)", ylabel="層 (layer, 0 から数える)")
    fig.suptitle(att.caption, fontsize=9)
    path = out_dir / "chased_dog_cat.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    # the numbers the README's caption states: the red box, and what that head does over notebook 03's corpus
    layer, head, weight = au.strongest_head(att.pair("chased", "dog"))
    stats = au.head_stats(lm, au.load_corpus(), batch_size=32)
    print(f"red box on chased -> dog: layer {layer}, head {head} (0-based), weight {weight:.2f}; "
          f"over the {stats.attrs['texts']}-sentence corpus this head puts {stats.loc[(layer, head), 'prev']:.3f} "
          f"on the previous token ({lm.caption})")
    return path


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "docs" / "img"
    out.mkdir(parents=True, exist_ok=True)
    print("wrote", chased_dog_cat(out))
