"""The learner's path through the series: every notebook is framed, has exercises with self-checks and
folded answers, and states a run time that was measured (the same number as the teacher's kit)."""
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
TEACHING = ROOT / "docs" / "teaching.md"
EXERCISE = re.compile(r"^### 練習 (\d+): \S", re.M)
RUN_TIME = re.compile(r"全セルの実行[^0-9\n]*?(\d+)\s*秒")
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def read(path):
    return nbformat.read(path, as_version=4)


def exercises(nb):
    """``[(number, [cells up to the next exercise or heading])]`` for every 「練習」 of the notebook."""
    found = []
    for i, cell in enumerate(nb.cells):
        m = EXERCISE.match(cell.source) if cell.cell_type == "markdown" else None
        if not m:
            continue
        block = []
        for nxt in nb.cells[i + 1:]:
            if nxt.cell_type == "markdown" and re.match(r"#{1,3} ", nxt.source):
                break
            block.append(nxt)
        found.append((int(m.group(1)), block))
    return found


def measured_seconds():
    """``{"01": seconds, ...}`` from the run-time table of docs/teaching.md."""
    rows = re.findall(r"^\|\s*\[?(\d\d)[^|]*\|\s*(\d+)\s*\|", TEACHING.read_text(), re.M)
    return {nb: int(sec) for nb, sec in rows}


def test_the_series_has_seven_numbered_notebooks():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06", "07"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_three_to_five_numbered_exercises(path):
    numbers = [n for n, _ in exercises(read(path))]
    assert 3 <= len(numbers) <= 5, f"{path.name}: {len(numbers)} exercises"
    assert numbers == list(range(1, len(numbers) + 1)), numbers


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_exercise_has_a_placeholder_a_self_check_and_a_folded_answer_that_runs(path):
    for number, block in exercises(read(path)):
        where = f"{path.name} 練習 {number}"
        code = [c for c in block if c.cell_type == "code"]
        solutions = [c for c in code if "solution" in c.metadata.get("tags", [])]
        learner = [c for c in code if "solution" not in c.metadata.get("tags", [])]
        checks = [c for c in learner if re.search(r"\bex\.check_\w+\(", c.source)]
        assert checks, f"{where}: no self-check cell (ex.check_...)"
        assert any(re.search(r"(=\s*None\b|^\s*\.\.\.\s*$)", c.source, re.M) for c in learner if c not in checks), \
            f"{where}: no learner cell with a placeholder (None or ...)"
        folded = [c for c in block if c.cell_type == "markdown" and "<details><summary>模範解答</summary>" in c.source]
        assert folded and "```python" in folded[0].source, f"{where}: no folded model answer with code"
        assert len(solutions) == 1, f"{where}: expected one cell tagged 'solution', got {len(solutions)}"
        sol = solutions[0]
        assert sol.source.startswith("#@title 模範解答"), f"{where}: the solution cell must open with #@title (Colab form)"
        assert sol.metadata.get("jupyter", {}).get("source_hidden") is True and sol.metadata.get("cellView") == "form"
        call = re.search(r"ex\.check_\w+\(", checks[0].source).group(0)
        assert call in sol.source, f"{where}: the solution does not re-run {call}...)"
        printed = "".join(o.get("text", "") for o in sol.get("outputs", []) if o.get("output_type") == "stream")
        assert "✅" in printed, f"{where}: the committed solution output does not show the self-check passing"
        waiting = "".join(o.get("text", "") for o in checks[0].get("outputs", []) if o.get("output_type") == "stream")
        assert "まだ答えがありません" in waiting, f"{where}: the learner's self-check should show the placeholder note"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_opens_with_what_you_will_learn_prerequisites_and_measured_time(path):
    nb = read(path)
    head = [c for c in nb.cells[:4] if c.cell_type == "markdown" and "## この回で学ぶこと" in c.source]
    assert head, f"{path.name}: no 「この回で学ぶこと」 among the first cells"
    text = head[0].source.split("## この回で学ぶこと", 1)[1]
    section = re.split(r"^#{1,2} ", text, flags=re.M)[0]
    points = re.findall(r"^\s*(?:[-*]|\d+\.) ", section.split("**前提", 1)[0], re.M)
    assert 3 <= len(points) <= 5, f"{path.name}: {len(points)} points (want 3-5)"
    assert "**前提**" in section, f"{path.name}: no prerequisites (**前提**)"
    m = RUN_TIME.search(section)
    assert m, f"{path.name}: no measured run time (全セルの実行 ... N 秒)"
    assert measured_seconds().get(path.name[:2]) == int(m.group(1)), \
        f"{path.name}: run time {m.group(1)} s differs from docs/teaching.md {measured_seconds().get(path.name[:2])}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_closes_with_a_summary_and_a_link_onward(path):
    nb = read(path)
    last_md = [c for c in nb.cells if c.cell_type == "markdown"][-3:]
    summary = [c for c in last_md if re.search(r"^## まとめ", c.source, re.M)]
    assert summary, f"{path.name}: no 「まとめ」 near the end"
    after = "\n".join(c.source for c in last_md[last_md.index(summary[0]):])
    later = [p for p in NOTEBOOKS if p.name > path.name]
    target = later[0].name if later else "00_glossary.md"
    assert re.search(rf"\]\((\./)?{re.escape(target)}\)", after), f"{path.name}: no link to {target} after まとめ"
    assert (ROOT / "notebooks" / target).exists()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_asks_for_a_prediction_before_a_key_figure(path):
    nb = read(path)
    prompts = [i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and "予想してから実行しよう" in c.source]
    assert prompts, f"{path.name}: no 「予想してから実行しよう」"
    for i in prompts:
        assert any(c.cell_type == "code" for c in nb.cells[i + 1:i + 3]), f"{path.name}: a prediction prompt with no code after it"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_stored_widget_state(path):
    nb = read(path)
    assert "widgets" not in nb.metadata
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert WIDGET_MIME not in out.get("data", {}), f"{path.name}: a stored widget output"


def test_teaching_kit_times_every_notebook():
    times = measured_seconds()
    assert sorted(times) == [p.name[:2] for p in NOTEBOOKS]
    assert all(0 < s < 600 for s in times.values())
