"""One name per concept: the glossary's table decides the spelling, and everything a student reads follows it:
the notebooks' prose (markdown), what code cells print (stdout in the committed outputs) and the texts of
figures (titles and axis/legend labels passed in code: ``set_title``, ``suptitle``, ``title=``, ...)."""
import ast
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


#: Calls and keywords whose string arguments end up written on a figure.
FIGURE_CALLS = {"set_title", "suptitle", "title", "set_xlabel", "set_ylabel", "xlabel", "ylabel", "set_label",
                "text", "annotate", "legend", "supxlabel", "supylabel"}
FIGURE_KEYWORDS = {"title", "xlabel", "ylabel", "label", "suptitle"}


def _strings(node: ast.AST) -> list[str]:
    """The literal text of a string or f-string node (the constant parts of an f-string)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [" ".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [t for e in node.elts for t in _strings(e)]
    return []


def figure_texts(source: str) -> list[str]:
    """Strings a code cell writes on its figures: titles, axis labels, legends (arguments and keywords)."""
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    texts = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in FIGURE_CALLS:
            for arg in node.args:
                texts += _strings(arg)
        for kw in node.keywords:
            if kw.arg in FIGURE_KEYWORDS:
                texts += _strings(kw.value)
    return texts


def printed(cell) -> str:
    """What a code cell printed (stdout) in its committed outputs; library warnings (stderr) are not ours."""
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")


def student_texts(cell) -> list[tuple[str, str]]:
    """``[(where, text)]``: everything of a cell a student reads."""
    if cell.cell_type == "markdown":
        return [("", prose(cell.source))]
    if cell.cell_type != "code":
        return []
    said = re.sub(r"'[^'\n]*'", " ", printed(cell))  # quoted values ('sdpa', labels) are code, as `...` in prose
    return [("printed: ", said)] + [("figure: ", t) for t in figure_texts(cell.source)]


def off_glossary(nb, rows) -> list[str]:
    """Every use of a non-preferred variant in what the notebook shows a student, as readable lines."""
    found = []
    for i, cell in enumerate(nb.cells):
        for kind, text in student_texts(cell):
            found += _variants_in(text, rows, f"cell {i}: {kind}")
    return found


def _variants_in(text: str, rows, where: str) -> list[str]:
    found = []
    if text:
        for row in rows:
            # the series' convention: the English term in parentheses right after the Japanese one,
            # 「エントロピー (entropy)」, 「エントロピー (entropy、ヘッド平均)」, is not an off-glossary use
            said = re.sub(rf"{re.escape(row['use'])}\s*[(（][^)）\n]*[)）]", row["use"], text)
            for variant in row["avoid"]:
                for m in variant_pattern(variant).finditer(said):
                    context = said[max(0, m.start() - 15):m.end() + 15].replace("\n", " ")
                    found.append(f"{where}{variant!r} → {row['use']!r}: …{context}…")
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
        nbformat.v4.new_markdown_cell("行 = query、列 = key。ロールアウトを計算する。エントロピー (entropy) はよい。"),
        nbformat.v4.new_markdown_cell("entropy だけで書くのは不可。"),
        nbformat.v4.new_code_cell("クエリ = 1  # code cells are not prose"),
    ])
    hits = off_glossary(nb, rows)
    assert [h.split(":")[0] for h in hits] == ["cell 0", "cell 0", "cell 1", "cell 2"]
    assert "'クエリ' → 'query'" in hits[0] and "'キー' → 'key'" in hits[1] and "'ロールアウト'" in hits[2]


def test_the_checker_reads_printed_text_and_figure_titles_but_not_warnings_or_code():
    rows = glossary()
    cell = nbformat.v4.new_code_cell(
        'print("chased がいちばん注意を向けるトークン:", x)\n'
        'ax.set_title(f"単語 (ピースをまとめる), 第 {layer} 層")\n'
        'au.plot_heatmap(att, 0, 0, title="ヘッド 0")\n'
        'ピース = 3  # a variable name is code, not text\n'
        'fig.suptitle("attention の" + "重み")\n'
        'plt.plot(x, label="クエリ")')
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="chased がいちばん注意を向けるトークン: dog\n"),
                    nbformat.v4.new_output("stream", name="stderr", text="UserWarning: アテンション\n")]
    hits = off_glossary(nbformat.v4.new_notebook(cells=[cell]), rows)
    assert len(hits) == 3, hits
    assert hits[0].startswith("cell 0: printed: '注意を向け'"), hits
    assert hits[1].startswith("cell 0: figure: 'ピース'") and hits[2].startswith("cell 0: figure: 'クエリ'"), hits


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_what_a_student_reads_uses_the_glossary_names(path):
    hits = off_glossary(nbformat.read(path, as_version=4), glossary())
    assert not hits, f"{path.name}: {len(hits)} off-glossary terms\n" + "\n".join(hits)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_links_the_glossary(path):
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
    assert "00_glossary.md" in text, f"{path.name} never points the reader to the glossary"
