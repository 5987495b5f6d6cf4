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
