"""The repository agrees with itself: badges, setup cells and README point at one URL."""
import re
import tomllib
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REPO_URL = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
GITHUB_PATH = REPO_URL.split("github.com/")[1]


def colab_link(nb: Path) -> str:
    return f"https://colab.research.google.com/github/{GITHUB_PATH}/blob/main/notebooks/{nb.name}"


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_badge_setup_and_no_errors(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and colab_link(nb_path) in first.source
    setup = nb.cells[1]
    assert setup.cell_type == "code" and "google.colab" in setup.source
    assert f"git+{REPO_URL}" in setup.source
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not [o for o in cell.get("outputs", []) if o.output_type == "error"], cell.source[:80]


def test_readme_has_one_badge_per_notebook():
    readme = (ROOT / "README.md").read_text()
    for nb in NOTEBOOKS:
        assert readme.count(colab_link(nb)) == 1, nb.name
    for image in re.findall(r"!\[[^\]]*\]\((docs/[^)]+)\)", readme):
        assert (ROOT / image).is_file(), image


def test_sdist_holds_every_file_the_tests_need(tmp_path):
    """From an unpacked sdist, `pytest tests` and nbval find their fixtures, notebooks and sanitize file."""
    import shutil
    import subprocess
    import sys
    import tarfile

    # a copy without build products: setuptools would also ship whatever a stale *.egg-info lists
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__"))
    build = ("import sys; from setuptools import build_meta; "
             "print(build_meta.build_sdist(sys.argv[1]))")
    out = subprocess.run([sys.executable, "-c", build, str(tmp_path)], cwd=src, capture_output=True,
                         text=True, check=True)
    with tarfile.open(tmp_path / out.stdout.strip().splitlines()[-1]) as tar:
        shipped = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    needed = [p for p in (ROOT / "tests").iterdir() if p.is_file() and p.suffix in {".py", ".cfg"}]
    needed += NOTEBOOKS + [ROOT / "pyproject.toml", ROOT / "README.md", ROOT / "Makefile"]
    missing = [str(p.relative_to(ROOT)) for p in needed if str(p.relative_to(ROOT)) not in shipped]
    assert not missing, missing


def test_python_floor_agrees_with_the_makefile():
    """pyproject's requires-python is the version the Makefile insists on (the tests use tomllib, 3.11+)."""
    spec = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    floor = tuple(int(x) for x in re.fullmatch(r">=\s*(\d+)\.(\d+)", spec).groups())
    checks = set(re.findall(r"sys\.version_info >= \((\d+), (\d+)\)", (ROOT / "Makefile").read_text()))
    assert checks == {tuple(map(str, floor))}


PROGRESS_TEXT = re.compile(r"\d+%\|.*\|\s*\d+/\d+")  # tqdm's text bar: " 40%|####      | 2/5"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_outputs_carry_no_progress_bars(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            assert "application/vnd.jupyter.widget-view+json" not in out.get("data", {}), f"c{i}: a progress widget"
            text = out.get("text", "") + str(out.get("data", {}).get("text/plain", ""))
            assert not PROGRESS_TEXT.search(text), f"c{i}: a text progress bar: {text[:80]!r}"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_never_write_into_docs(nb_path):
    """README figures are redrawn by `make figures` (tools/figures.py), not as a side effect of a run."""
    nb = nbformat.read(nb_path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not re.search(r"docs[/\"']", cell.source), f"c{i} touches docs/: {cell.source[:80]!r}"


def test_make_figures_is_the_way_to_redraw_docs_figures():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^figures:", makefile, re.MULTILINE) and "tools/figures.py" in makefile
    readme = (ROOT / "README.md").read_text()
    for image in re.findall(r"!\[[^\]]*\]\((docs/img/[^)]+)\)", readme):
        assert Path(image).name in (ROOT / "tools" / "figures.py").read_text(), image


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_shown_figure_is_stored(nb_path):
    """A cell that calls plt.show() keeps its image: a kernel run with MPLBACKEND=Agg stores none (readers see no figure)."""
    nb = nbformat.read(nb_path, as_version=4)
    missing = [i for i, cell in enumerate(nb.cells)
               if cell.cell_type == "code" and "plt.show()" in cell.source and "NBVAL_SKIP" not in cell.source
               and not any("image/png" in out.get("data", {}) for out in cell.get("outputs", []))]
    assert not missing, f"cells {missing} show a figure but stored none (re-run without MPLBACKEND=Agg)"


def test_oldest_constraints_pin_every_pyproject_floor():
    """make test-oldest installs exactly the lower bounds pyproject states, for every dependency and extra."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("constraints_tool", ROOT / "tools" / "constraints.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    lines = [line for line in tool.main("oldest").splitlines() if "==" in line.split("#")[0]]
    pins = [tool._norm(line.split("==")[0]) for line in lines]
    assert len(pins) == len(set(pins))  # one pin per package: the floor is not overridden further down
    pinned = dict(line.split("#")[0].strip().split("==") for line in lines)
    pinned = {tool._norm(k): v for k, v in pinned.items()}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    for req in reqs:
        name, floor = re.match(r"([A-Za-z0-9._-]+)(?:\[[^\]]*\])?\s*>=\s*([^,;\s]+)", req).groups()
        assert pinned[tool._norm(name)] == tool.STAND_INS.get(tool._norm(name), floor), req
    assert set(tool.STAND_INS) == {"torch"}  # the one floor tested by a stand-in (only 2.13.0 CPU installs here)


def test_every_package_and_data_file_is_in_the_wheel_config():
    """A subpackage or data file missing from pyproject is absent from `pip install` (Colab), though tests run from the tree."""
    import fnmatch

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "attn_utils").rglob("__init__.py")}
    assert found <= listed, f"not packaged: {sorted(found - listed)}"
    data_dir = ROOT / "attn_utils" / "data"
    patterns = config["package-data"]["attn_utils.data"]
    for path in data_dir.rglob("*"):
        if path.is_file() and path.suffix != ".py" and "__pycache__" not in path.parts:
            rel = path.relative_to(data_dir).as_posix()
            assert any(fnmatch.fnmatch(rel, pat) for pat in patterns), f"data file not packaged: {rel}"
