"""One name per concept: the glossary's table decides the spelling, every notebook's prose follows it."""
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "notebooks" / "00_glossary.md"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
KATAKANA = "ァ-ヺー"
REQUIRED = ["query", "key", "value", "head", "layer", "[CLS]", "[SEP]", "WordPiece", "SentencePiece", "MeCab",
            "entropy", "rollout", "norm-based attention", "probing", "SDPA", "eager"]


def glossary() -> list[dict]:
    """Rows of the glossary's main table: ``{"use", "english", "avoid": [...], "meaning"}``."""
    rows = []
    for line in GLOSSARY.read_text().splitlines():
        cols = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cols) == 4 and cols[0] not in ("使う表記", "---") and not set(cols[0]) <= {"-"}:
            rows.append({"use": cols[0], "english": cols[1], "avoid": re.findall(r"`([^`]+)`", cols[2]),
                         "meaning": cols[3]})
    return rows


def prose(markdown: str) -> str:
    """The running text of a markdown cell: code, math, link targets, HTML tags and URLs removed."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    text = re.sub(r"`[^`\n]*`", " ", text)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"\$[^$\n]*\$", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"<[^>\n]+>", " ", text)
    return re.sub(r"https?://\S+", " ", text)


def variant_pattern(variant: str) -> re.Pattern:
    """A variant matches as a whole word: Latin ones case-sensitively between non-letters,
    katakana ones not inside a longer katakana word."""
    core = re.escape(variant)
    if re.fullmatch(r"[\x00-\x7f]+", variant):
        return re.compile(rf"(?<![A-Za-z0-9_\[]){core}(?![A-Za-z0-9_\]])")
    if re.fullmatch(rf"[{KATAKANA}]+", variant):
        return re.compile(rf"(?<![{KATAKANA}]){core}(?![{KATAKANA}])")
    return re.compile(core)


def off_glossary(nb, rows) -> list[str]:
    """Every use of a non-preferred variant in the notebook's markdown, as readable lines."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        text = prose(cell.source)
        for row in rows:
            for variant in row["avoid"]:
                for m in variant_pattern(variant).finditer(text):
                    context = text[max(0, m.start() - 15):m.end() + 15].replace("\n", " ")
                    found.append(f"cell {i}: {variant!r} → {row['use']!r}: …{context}…")
    return found


def test_glossary_covers_the_series_core_terms():
    english = " ".join(r["english"] for r in glossary()).lower()
    missing = [t for t in REQUIRED if t.lower() not in english]
    assert not missing, missing


def test_glossary_rows_are_complete_and_unambiguous():
    rows = glossary()
    assert len(rows) >= 20
    preferred = [r["use"] for r in rows]
    assert len(set(preferred)) == len(preferred), "a term is defined twice"
    for r in rows:
        assert r["avoid"] and r["meaning"], r["use"]
        assert r["use"] not in r["avoid"]
        for other in preferred:  # a variant must never be another row's preferred name
            assert other not in r["avoid"], (r["use"], other)


def test_the_checker_finds_a_planted_variant_and_ignores_code_math_and_longer_words():
    rows = glossary()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("クエリとキーの内積。`クエリ` はコード、$Key$ は数式、キーボードは別の単語、WordPiece はよい。"),
        nbformat.v4.new_markdown_cell("行 = query、列 = key。ロールアウトを計算する。"),
        nbformat.v4.new_code_cell("クエリ = 1  # code cells are not prose"),
    ])
    hits = off_glossary(nb, rows)
    assert [h.split(":")[0] for h in hits] == ["cell 0", "cell 0", "cell 1"]
    assert "'クエリ' → 'query'" in hits[0] and "'キー' → 'key'" in hits[1] and "'ロールアウト'" in hits[2]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_prose_uses_the_glossary_names(path):
    hits = off_glossary(nbformat.read(path, as_version=4), glossary())
    assert not hits, f"{path.name}: {len(hits)} off-glossary terms\n" + "\n".join(hits)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_links_the_glossary(path):
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
    assert "00_glossary.md" in text, f"{path.name} never points the reader to the glossary"
