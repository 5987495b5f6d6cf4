"""Every pointer in the notebooks' text leads somewhere.

"03 で", "05 の 3 節", "2 節", "§4", "演習 2", "**03_layer_comparison**": each
names a notebook (by number or file name) that exists, and a section
(a "## N." heading) or an exercise ("演習 N.") that exists in it. Checked in
markdown and in code (comments and printed strings), so a renumbered section
or a moved topic breaks a test instead of a reader's trust.
"""
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))

NUMBER = re.compile(r"(?<![\w\-.+/$])0(\d)(?![\d.])")  # "03", not 2019, 1e-05, 0.5 or $03
FILE = re.compile(r"\b(0\d_[a-z0-9_]+)")  # 02_bert_attention
SECTION = re.compile(r"(?:(?<![\w\-.])0(\d) ?の ?)?(\d+) ?節|§ ?(\d+)")  # "05 の 3 節", "2 節", "§4"
EXERCISE = re.compile(r"演習 ?(\d+)")
SECTION_HEADING = re.compile(r"^#{2,3} ?(\d+)\.", re.MULTILINE)
EXERCISE_HEADING = re.compile(r"演習 ?(\d+)[.．:：]")


def _cells(path):
    return nbformat.read(path, as_version=4).cells


def _text(cell):
    """Markdown as is; code cells without URLs (the Colab badge and pip lines name files on purpose)."""
    return re.sub(r"https?://\S+", "", cell.source)


def sections(path):
    return {int(n) for c in _cells(path) if c.cell_type == "markdown" for n in SECTION_HEADING.findall(c.source)}


def exercises(path):
    return {int(n) for c in _cells(path) for n in EXERCISE_HEADING.findall(c.source)}


def notebook_numbered(n):
    found = sorted(NOTEBOOKS.glob(f"0{n}_*"))
    return found[0] if found else None


def references(path):
    """(cell index, kind, target notebook path or None, number or None, the matched text)."""
    for i, cell in enumerate(_cells(path)):
        text = _text(cell)
        for m in NUMBER.finditer(text):
            yield i, "notebook", notebook_numbered(m.group(1)), None, m.group(0)
        for m in FILE.finditer(text):
            hits = sorted(NOTEBOOKS.glob(m.group(1) + ".*"))
            yield i, "notebook", hits[0] if hits else None, None, m.group(0)
        for m in SECTION.finditer(text):
            if m.group(3):
                yield i, "section", path, int(m.group(3)), m.group(0)
            elif m.group(1):
                yield i, "section", notebook_numbered(m.group(1)), int(m.group(2)), m.group(0)
            else:
                yield i, "section", path, int(m.group(2)), m.group(0)
        for m in EXERCISE.finditer(text):
            yield i, "exercise", path, int(m.group(1)), m.group(0)


def test_there_are_references_to_check():
    kinds = {kind for p in PATHS for _, kind, *_ in references(p)}
    assert {"notebook", "section"} <= kinds


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_every_notebook_and_section_reference_exists(path):
    broken = []
    for i, kind, target, number, text in references(path):
        if target is None:
            broken.append(f"c{i}: {text!r} names a notebook that does not exist")
        elif kind == "section" and target.suffix == ".ipynb" and number not in sections(target):
            broken.append(f"c{i}: {text!r} -> {target.name} has sections {sorted(sections(target))}")
        elif kind == "exercise" and number not in exercises(target):
            broken.append(f"c{i}: {text!r} -> {target.name} has exercises {sorted(exercises(target))}")
    assert not broken, "\n".join(broken)


def test_the_checker_catches_a_broken_reference(tmp_path, monkeypatch):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("## 1. A\n\n詳しくは 3 節と 09 で、05 の 7 節も。")]
    path = tmp_path / "01_x.ipynb"
    nbformat.write(nb, path)
    refs = {text: (target, number) for _, _, target, number, text in references(path)}
    assert refs["3 節"] == (path, 3) and 3 not in sections(path)
    assert refs["09"][0] is None
    target, number = refs["05 の 7 節"]
    assert target is not None and target.name.startswith("05_") and number not in sections(target)
