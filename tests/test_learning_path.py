"""The learner's path through the series: every notebook is framed, has exercises with self-checks and
folded answers, and states a run time that was measured (the same number as the teacher's kit).

The notebooks are the one home of the exercises (there is no inserter script): a teacher edits the cells where
they are read, and this test checks their structure. The conventions, for whoever writes an exercise:

1. a markdown cell ``### 練習 N: title`` with the task (numbered 1, 2, ... in notebook order);
2. the learner's code cell with a placeholder: a name set to ``None`` (or ``""``) or a function whose body is
   ``...``; a prediction (``my_guess``, any name containing ``guess``) starts empty (``None`` or ``""``);
3. the self-check cell (``ex.check_NAME(...)``), whose committed output is the placeholder note
   (「まだ答えがありません」 or 「まず予想を書きましょう」);
4. a markdown cell with the folded model answer: ``<details><summary>模範解答...</summary>`` and a ```python block;
5. the model answer as a code cell tagged ``solution``, hidden (``metadata.jupyter.source_hidden: true``; in Colab
   ``#@title`` on its first line and ``metadata.cellView: "form"``), which re-runs the same ``ex.check_NAME`` so
   nbval proves the checks and answers agree; its committed output shows ✅.

Every cell of an exercise carries ``metadata.exercise = {"id": "<NN>-<slug>", "part": ...}`` with ``part`` one of
``task``, ``answer``, ``check``, ``answer-text``, ``solution`` (extra cells, e.g. a separate guess cell, may use
another part such as ``guess``); the id is the same for the cells of one exercise and unique in the notebook.
The tests match patterns, not exact texts, so the prose can change freely.
"""
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
TEACHING = ROOT / "docs" / "teaching.md"
EXERCISE = re.compile(r"^###\s*練習\s*(\d+)\s*[:：.]?\s*\S", re.M)
CHECK_CALL = re.compile(r"\bex\.(check_\w+)\(")
PLACEHOLDER = re.compile(r"(=\s*(None|\"\"|\'\')\s*(#.*)?$|^\s*\.\.\.\s*(#.*)?$)", re.M)
GUESS = re.compile(r"^\s*(?P<name>my_\w*guess\w*|\w+_guess|guess_\w+|\w+)\s*=\s*(?P<value>[^#\n]*?)\s*(?P<comment>#.*)?$", re.M)
EMPTY_GUESS = {"None", '""', "''", "..."}
FOLDED = re.compile(r"<details>\s*<summary>[^<]*模範解答")
REFERS_TO_OUTPUT = re.compile(r"上の(出力|表|図|数字|2 つの数字|行)")
PARTS = {"task", "answer", "check", "answer-text", "solution"}
RUN_TIME = re.compile(r"全セルの実行[^0-9\n]*?(\d+)\s*秒")
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def read(path):
    return nbformat.read(path, as_version=4)


def tags(cell):
    return cell.metadata.get("tags", [])


def printed(cell):
    """What a code cell's committed outputs show as text (streams, results, displays)."""
    parts = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            parts.append(o.get("text", ""))
        elif o.get("output_type") in ("execute_result", "display_data"):
            parts.append(" ".join(str(v) for v in o.get("data", {}).values()))
    return "".join(parts)


def exercises(nb):
    """``[(number, task cell, [cells up to the next exercise or heading])]`` for every 「練習」 of the notebook."""
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
        found.append((int(m.group(1)), cell, block))
    return found


def roles(block):
    """The cells of one exercise by role: learner answer cells, check cells, folded answers, solution cells."""
    code = [c for c in block if c.cell_type == "code"]
    solutions = [c for c in code if "solution" in tags(c)]
    learner = [c for c in code if "solution" not in tags(c)]
    checks = [c for c in learner if CHECK_CALL.search(c.source)]
    answers = [c for c in learner if c not in checks]
    folded = [c for c in block if c.cell_type == "markdown" and FOLDED.search(c.source)]
    return answers, checks, folded, solutions


def measured_seconds():
    """``{"01": seconds, ...}`` from the run-time table of docs/teaching.md."""
    rows = re.findall(r"^\|\s*\[?(\d\d)[^|]*\|\s*(\d+)\s*\|", TEACHING.read_text(), re.M)
    return {nb: int(sec) for nb, sec in rows}


def test_the_series_has_seven_numbered_notebooks():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06", "07"]


def test_no_inserter_script_keeps_a_second_copy_of_the_exercises():
    assert not (ROOT / "tools" / "add_exercises.py").exists()
    for path in [ROOT / "Makefile", ROOT / "README.md", TEACHING, *(ROOT / "tests").glob("*.py")]:
        if path.name != Path(__file__).name:
            assert "add_exercises" not in path.read_text(), path


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_three_to_five_numbered_exercises(path):
    numbers = [n for n, _, _ in exercises(read(path))]
    assert 3 <= len(numbers) <= 5, f"{path.name}: {len(numbers)} exercises"
    assert numbers == list(range(1, len(numbers) + 1)), numbers


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_exercise_has_a_placeholder_a_self_check_a_folded_answer_and_a_hidden_solution(path):
    problems = structure_problems(read(path), path.name)
    assert not problems, "\n".join(problems)


def structure_problems(nb, name):
    """What is missing from the exercises of ``nb``: one line per problem (empty when all is well)."""
    problems = []
    for number, task, block in exercises(nb):
        where = f"{name} 練習 {number}"
        answers, checks, folded, solutions = roles(block)
        if not checks:
            problems.append(f"{where}: no self-check cell (ex.check_...)")
            continue
        if not any(PLACEHOLDER.search(c.source) for c in answers + checks):
            problems.append(f"{where}: no learner cell with a placeholder (None, \"\" or ...)")
        if not (folded and "```python" in folded[0].source):
            problems.append(f"{where}: no folded model answer (<details><summary>模範解答) with code")
        waiting = printed(checks[0])
        if "まだ答えがありません" not in waiting and "まず予想を書きましょう" not in waiting:
            problems.append(f"{where}: the learner's self-check should show the placeholder note, shows {waiting[:80]!r}")
        if len(solutions) != 1:
            problems.append(f"{where}: expected one cell tagged 'solution', got {len(solutions)}")
            continue
        sol = solutions[0]
        if not sol.source.lstrip().startswith("#@title"):
            problems.append(f"{where}: the solution cell must open with #@title (Colab form)")
        if sol.metadata.get("jupyter", {}).get("source_hidden") is not True or sol.metadata.get("cellView") != "form":
            problems.append(f"{where}: the solution cell is not hidden (jupyter.source_hidden) and a Colab form (cellView)")
        called = CHECK_CALL.search(checks[0].source).group(1)
        if not re.search(rf"\bex\.{called}\(", sol.source):
            problems.append(f"{where}: the solution does not re-run ex.{called}(...)")
        if "✅" not in printed(sol):
            problems.append(f"{where}: the committed solution output does not show the self-check passing")
    return problems


def toy_notebook(**drop):
    """One well-formed exercise; ``drop`` removes or changes one of its parts."""
    v4 = nbformat.v4
    meta = lambda part, **kw: {"exercise": {"id": "99-toy", "part": part}, **kw}  # noqa: E731
    check = v4.new_code_cell("ex.check_softmax(my_softmax)", metadata=meta("check", tags=["self-check"]))
    check.outputs = [v4.new_output("stream", name="stdout", text="🔸 まだ答えがありません。\n")]
    sol = v4.new_code_cell("#@title 模範解答\ndef my_softmax(s):\n    return s\n\nex.check_softmax(my_softmax)",
                           metadata=meta("solution", tags=["solution"], jupyter={"source_hidden": True}, cellView="form"))
    sol.outputs = [v4.new_output("stream", name="stdout", text="✅ 練習: 正解です。\n")]
    cells = {"task": v4.new_markdown_cell("### 練習 1: softmax\n\n書きましょう。", metadata=meta("task")),
             "answer": v4.new_code_cell("def my_softmax(s):\n    ...", metadata=meta("answer", tags=["exercise"])),
             "check": check,
             "answer-text": v4.new_markdown_cell("<details><summary>模範解答</summary>\n\n```python\nx\n```\n</details>",
                                                 metadata=meta("answer-text")),
             "solution": sol}
    for part, change in drop.items():
        if change is None:
            del cells[part]
        else:
            change(cells[part])
    return v4.new_notebook(cells=list(cells.values()))


def test_the_structure_check_finds_each_missing_part():
    assert structure_problems(toy_notebook(), "toy") == []
    cases = {
        "no self-check": dict(check=None),
        "no learner cell with a placeholder": dict(answer=lambda c: setattr(c, "source", "def my_softmax(s):\n    return s")),
        "no folded model answer": dict(**{"answer-text": None}),
        "expected one cell tagged 'solution', got 0": dict(solution=None),
        "does not re-run ex.check_softmax": dict(solution=lambda c: setattr(c, "source", "#@title 模範解答\nx = 1")),
        "not hidden": dict(solution=lambda c: c.metadata.pop("cellView")),
        "#@title": dict(solution=lambda c: setattr(c, "source", c.source.replace("#@title 模範解答\n", ""))),
        "does not show the self-check passing": dict(solution=lambda c: setattr(c, "outputs", [])),
        "should show the placeholder note": dict(check=lambda c: setattr(c, "outputs", [])),
    }
    for expected, drop in cases.items():
        problems = structure_problems(toy_notebook(**drop), "toy")
        assert any(expected in p for p in problems), (expected, problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercise_cells_carry_their_id_and_part(path):
    """metadata.exercise = {"id", "part"}: one id per exercise, unique in the notebook; the parts name the roles."""
    seen = {}
    for number, task, block in exercises(read(path)):
        where = f"{path.name} 練習 {number}"
        meta = task.metadata.get("exercise", {})
        assert meta.get("part") == "task" and meta.get("id"), f"{where}: the task cell lacks metadata.exercise {{id, part: task}}"
        ex_id = meta["id"]
        assert ex_id not in seen, f"{where}: id {ex_id!r} already used by 練習 {seen[ex_id]}"
        seen[ex_id] = number
        answers, checks, folded, solutions = roles(block)
        for part, cells in (("check", checks[:1]), ("answer-text", folded[:1]), ("solution", solutions[:1])):
            for cell in cells:
                got = cell.metadata.get("exercise", {})
                assert got.get("id") == ex_id and got.get("part") == part, \
                    f"{where}: the {part} cell has metadata.exercise {got}, want {{'id': {ex_id!r}, 'part': {part!r}}}"
        for cell in block:
            got = cell.metadata.get("exercise")
            if got is not None:
                assert got.get("id") == ex_id and isinstance(got.get("part"), str), f"{where}: stray metadata {got}"


def guess_names(source):
    """Names a cell assigns as a prediction: ``my_guess``, ``*_guess``, ``guess_*`` or a line commented 予想."""
    names = []
    for m in GUESS.finditer(source):
        name, comment = m.group("name"), m.group("comment") or ""
        if ("guess" in name and name != "guess") or "予想" in comment:
            names.append(name)
    return names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_an_exercise_with_a_guess_passes_it_to_its_check(path):
    """So the check can say 「まず予想を書きましょう」 while it is empty, and compare afterwards."""
    for number, task, block in exercises(read(path)):
        answers, checks, folded, solutions = roles(block)
        for name in {n for c in answers for n in guess_names(c.source)}:
            assert any(re.search(rf"\b{name}\b", c.source) for c in checks), \
                f"{path.name} 練習 {number}: the guess {name} is not passed to the check (guess={name})"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_guess_cell_starts_empty(path):
    """A prediction is the student's: no guess is pre-filled (the check then says 「まず予想を書きましょう」)."""
    for i, cell in enumerate(read(path).cells):
        if cell.cell_type != "code" or "solution" in tags(cell):
            continue
        for m in GUESS.finditer(cell.source):
            if m.group("name") in guess_names(m.group(0)):
                assert m.group("value") in EMPTY_GUESS, \
                    f"{path.name} cell {i}: {m.group('name')} = {m.group('value')} is pre-filled; start it as None or \"\""


def hidden_tables(source):
    """Bare expressions (a table, a name) before the solution's last statement: Jupyter never displays them."""
    import ast

    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    body = ast.parse(code).body
    lost = []
    for stmt in body[:-1]:
        if not isinstance(stmt, ast.Expr):
            continue
        value = stmt.value
        root = value
        while isinstance(root, (ast.Call, ast.Attribute, ast.Subscript)):
            root = root.func if isinstance(root, ast.Call) else root.value
        last = value.func.attr if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) else ""
        if isinstance(value, (ast.Name, ast.Subscript)) or (isinstance(root, ast.Name) and root.id == "pd") \
                or last in ("round", "rename_axis", "head", "to_frame", "format", "T"):
            lost.append(ast.get_source_segment(code, stmt).splitlines()[0])
    return lost


def test_the_hidden_table_finder_sees_tables_and_names_before_the_check():
    src = "x = 1\npd.DataFrame({'a': [1]}).round(2)\ndet_pairs\nprint(x)\nplt.show()\nex.check_softmax(f)"
    assert hidden_tables(src) == ["pd.DataFrame({'a': [1]}).round(2)", "det_pairs"]
    assert hidden_tables("display(pd.Series([1]))\nex.check_softmax(f)") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_solutions_display_the_tables_they_compute(path):
    """A table expression followed by the check is never shown; the folded answer then describes nothing."""
    for number, task, block in exercises(read(path)):
        for sol in roles(block)[3]:
            lost = hidden_tables(sol.source)
            assert not lost, f"{path.name} 練習 {number}: {lost} is computed but never displayed (wrap it in display(...))"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_folded_answers_that_refer_to_an_output_show_one(path):
    """「上の出力」 in a folded answer needs a solution cell that displays more than the check's one line."""
    for number, task, block in exercises(read(path)):
        answers, checks, folded, solutions = roles(block)
        if not (folded and solutions and REFERS_TO_OUTPUT.search(folded[0].source)):
            continue
        shown = [line for line in printed(solutions[0]).splitlines() if line.strip() and not line.startswith("✅")]
        assert shown, f"{path.name} 練習 {number}: the answer refers to {REFERS_TO_OUTPUT.search(folded[0].source).group(0)} " \
                      "but the solution cell shows only the check"


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


def test_guess_names_are_predictions_not_every_variable_called_guess():
    assert guess_names('my_guess = "dog"   # 予想 (書き換えてよい)\ntop_key = None') == ["my_guess"]
    assert guess_names('best_k_guess = ""\nanswer = None   # 予想: どの単語?') == ["best_k_guess", "answer"]
    assert guess_names("guess = au.head_predictions(words.weights, direction)[layer, head]") == []
