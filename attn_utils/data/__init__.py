"""Text files shipped with the package (all CC0): the English corpus, the probing set, the Japanese word list."""
from importlib import resources


def read_text(filename: str) -> str:
    """The whole of one shipped file."""
    return resources.files(__name__).joinpath(filename).read_text(encoding="utf-8")


def lines(filename: str) -> list[str]:
    """The non-empty lines of one shipped file, stripped, without ``#`` comment lines."""
    return [line.strip() for line in read_text(filename).splitlines() if line.strip() and not line.startswith("#")]
