"""Files shipped with the package: the English corpus and the probing set (CC0), and
bert-base-japanese-v3/ (v3's unchanged tokenizer files, Apache-2.0; see its NOTICE)."""
from importlib import resources


def read_text(filename: str) -> str:
    """The whole of one shipped file."""
    return resources.files(__name__).joinpath(filename).read_text(encoding="utf-8")


def lines(filename: str) -> list[str]:
    """The non-empty lines of one shipped file, stripped, without ``#`` comment lines."""
    return [line.strip() for line in read_text(filename).splitlines() if line.strip() and not line.startswith("#")]
