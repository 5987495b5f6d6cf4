"""CoNLL-U reading, word spans and token spans at their edges (mutation survivors in attn_utils.treebank).

Small .conllu files in tmp_path exercise the parser; tokenizers are built fresh from the bundled
vocabulary (a few milliseconds), so every test pays for what it uses.
"""
from pathlib import Path
from types import SimpleNamespace

import pytest

import attn_utils as au
from attn_utils import treebank as tbk
from attn_utils import words as W

LONG = "the dog chased the cat " * 120  # 600 words, one WordPiece each: 602 tokens with [CLS] and [SEP]


def conllu(tmp_path, *sentences):
    """A .conllu file from sentences given as (metadata lines, rows (id, form, upos, head, rel[, misc]))."""
    lines = []
    for meta, rows in sentences:
        lines += [f"# {m}" for m in meta]
        lines += [f"{i}\t{form}\t_\t{upos}\t_\t_\t{head}\t{rel}\t_\t{misc[0] if misc else '_'}"
                  for i, form, upos, head, rel, *misc in rows]
        lines.append("")
    path = tmp_path / "mini.conllu"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def slow_tokenizer(**kwargs):
    try:  # transformers 5: BertTokenizer is the fast one, the Python one is BertTokenizerLegacy
        from transformers import BertTokenizerLegacy
    except ImportError:  # transformers 4.x: BertTokenizer is the Python (slow) one
        from transformers import BertTokenizer as BertTokenizerLegacy
    return BertTokenizerLegacy(vocab_file=str(au.bundled_model_dir() / "vocab.txt"), do_lower_case=True, **kwargs)


def fast_tokenizer(**kwargs):
    from transformers import BertTokenizerFast

    return BertTokenizerFast(vocab_file=str(au.bundled_model_dir() / "vocab.txt"), do_lower_case=True, **kwargs)


def expected_spans(tok, texts, max_len):
    """What _token_spans promises: attn_utils.words.token_spans of each text truncated to max_len tokens."""
    ids = tok(list(texts), truncation=True, max_length=max_len)["input_ids"]
    return [au.token_spans(tok, t, i) for t, i in zip(texts, ids)]


class Tok:
    """A tokenizer as _token_spans sees it: a real one behind, its calls counted, only the given attributes."""

    def __init__(self, inner, **attrs):
        self.inner, self.calls = inner, 0
        self.all_special_ids, self.unk_token = inner.all_special_ids, inner.unk_token
        self.do_lower_case = getattr(inner, "do_lower_case", True)
        self.__dict__.update(attrs)

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.inner(*args, **kwargs)

    def convert_ids_to_tokens(self, ids):
        return self.inner.convert_ids_to_tokens(ids)


# --- reading CoNLL-U ---------------------------------------------------------------------------

FRENCH = (["sent_id = fr-1", "text = Il va au marché."],
          [(1, "Il", "PRON", 2, "nsubj"), (2, "va", "VERB", 0, "root"), ("3-4", "au", "_", "_", "_"),
           (3, "à", "ADP", 5, "case"), (4, "le", "DET", 5, "det"), (5, "marché", "NOUN", 2, "obl", "SpaceAfter=No"),
           ("5.1", "allé", "VERB", "_", "_"), (6, ".", "PUNCT", 2, "punct")])


def test_a_multiword_token_its_words_do_not_spell_gives_each_word_the_whole_token(tmp_path):
    (s,) = au.load_treebank(conllu(tmp_path, FRENCH))  # "au" = à + le; 5.1 is an empty node
    assert s.words == ["Il", "va", "à", "le", "marché", "."]
    assert s.heads == [2, 0, 5, 5, 2, 2] and s.relations == ["nsubj", "root", "case", "det", "obl", "punct"]
    assert s.upos == ["PRON", "VERB", "ADP", "DET", "NOUN", "PUNCT"]
    assert s.text == "Il va au marché." and s.sent_id == "fr-1"
    assert s.spans == [(0, 2), (3, 5), (6, 8), (6, 8), (9, 15), (15, 16)]
    assert [s.text[a:b] for a, b in s.spans] == ["Il", "va", "au", "au", "marché", "."]


def test_without_text_and_sent_id_the_text_is_the_words_joined_by_one_space(tmp_path):
    bare = ([], [(1, "Dogs", "NOUN", 2, "nsubj"), (2, "bark", "VERB", 0, "root")])
    named = (["sent_id = b-2", "text = Cats   sleep"],
             [(1, "Cats", "NOUN", 2, "nsubj"), (2, "sleep", "VERB", 0, "root")])
    first, second = au.load_treebank(conllu(tmp_path, bare, named))
    assert (first.text, first.sent_id, first.spans) == ("Dogs bark", "", [(0, 4), (5, 9)])
    assert first.upos == ["NOUN", "VERB"]
    assert (second.text, second.sent_id, second.spans) == ("Cats   sleep", "b-2", [(0, 4), (7, 12)])


def test_the_file_is_read_as_utf8_whatever_the_locale_encoding(tmp_path, monkeypatch):
    path = conllu(tmp_path, FRENCH, (["sent_id = ja-1", "text = 猫が寝た"],
                                     [(1, "猫", "NOUN", 3, "nsubj", "SpaceAfter=No"),
                                      (2, "が", "ADP", 1, "case", "SpaceAfter=No"),
                                      (3, "寝た", "VERB", 0, "root", "SpaceAfter=No")]))
    path_open = Path.open

    def latin1_locale(self, mode="r", buffering=-1, encoding=None, *args, **kwargs):
        # what text mode reads under a non-UTF-8 locale (e.g. cp1252 Windows)
        if "b" not in mode and encoding is None:
            encoding = "latin-1"
        return path_open(self, mode, buffering, encoding, *args, **kwargs)

    monkeypatch.setattr(Path, "open", latin1_locale)
    fr, ja = au.load_treebank(path)
    assert fr.words[2:5] == ["à", "le", "marché"] and fr.text == "Il va au marché."
    assert ja.words == ["猫", "が", "寝た"] and ja.spans == [(0, 1), (1, 2), (2, 4)]


def test_forms_written_differently_from_the_text_are_an_error_naming_the_line(tmp_path):
    # the text writes NY and BIG full-width, the forms ASCII: # text and the forms disagree (the UD validator's rule)
    rows = [(1, "NY", "PROPN", 2, "nsubj"), (2, "is", "AUX", 3, "cop"), (3, "BIG", "ADJ", 0, "root")]
    path = conllu(tmp_path, (["text = ＮＹ is  ＢＩＧ"], rows))
    with pytest.raises(au.TreebankError) as err:
        au.load_treebank(path)
    assert str(err.value) == (f"{path}, line 2: '# text' (line 1) does not match the word forms: where the form "
                              "'NY' comes, at character 0, the text has 'ＮＹ is  ＢＩＧ'")


# --- load_treebank: default and messages -------------------------------------------------------

def test_load_treebank_defaults_to_en_ewt():
    default = au.load_treebank()
    assert len(default) == 600
    assert [s.sent_id for s in default] == [s.sent_id for s in au.load_treebank("en_ewt")]


def test_load_treebank_messages_are_exact(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        au.load_treebank("en")
    assert str(err.value) == "No treebank 'en': use one of 'en_ewt', 'ja_gsd' or the path of an existing .conllu file."
    with pytest.raises(TypeError) as err:
        au.load_treebank(3)
    assert str(err.value) == "load_treebank() takes a name (en_ewt, ja_gsd) or a .conllu path, got int"
    with pytest.raises(TypeError) as err:
        au.load_treebank(None)
    assert str(err.value).endswith(", got NoneType")


# --- token spans: limits, slow and fast tokenizers ---------------------------------------------

def test_a_loaded_model_truncates_at_its_position_limit():
    tok = fast_tokenizer()  # model_max_length is the 1e30 "no limit" sentinel
    lm = SimpleNamespace(tokenizer=tok, model=SimpleNamespace(config=SimpleNamespace(max_position_embeddings=16,
                                                                                     model_type="bert")))
    texts = ["The dog chased the cat " * 10, "A cat."]
    spans = W.token_spans_batch(lm, texts)
    assert [len(s) for s in spans] == [16, 5]
    assert spans == expected_spans(tok, texts, 16)
    assert spans[0][0] is None and spans[0][-1] is None and spans[0][1] == (0, 3)


@pytest.mark.parametrize("make", [slow_tokenizer, fast_tokenizer])
def test_a_bare_tokenizer_without_a_real_limit_truncates_at_512_tokens(make):
    tok = make()
    assert tok.model_max_length > 10**6
    (spans,) = W.token_spans_batch(tok, [LONG])
    assert len(spans) == 512 and spans[-1] is None
    assert spans == expected_spans(tok, [LONG], 512)[0]


@pytest.mark.parametrize("make", [slow_tokenizer, fast_tokenizer])
def test_a_bare_tokenizer_with_a_smaller_limit_truncates_there(make):
    tok = make(model_max_length=100)
    (spans,) = W.token_spans_batch(tok, [LONG])
    assert len(spans) == 100 and spans == expected_spans(tok, [LONG], 100)[0]


def test_a_minimal_tokenizer_is_read_as_a_slow_one_with_at_most_512_tokens():
    inner = slow_tokenizer()
    tok = Tok(inner)  # no is_fast, no model_max_length: no offsets to ask for, the default limit
    texts = [LONG, "The dog barked."]
    spans = W.token_spans_batch(tok, texts)
    assert [len(s) for s in spans] == [512, 6]
    assert spans == expected_spans(inner, texts, 512)


def test_a_fast_tokenizer_encodes_the_whole_batch_once():
    inner = fast_tokenizer()
    tok = Tok(inner, is_fast=True, model_max_length=512)
    texts = ["The dog barked.", "Café déjà vu!", "the cat " * 300]
    spans = W.token_spans_batch(tok, texts)
    assert tok.calls == 1  # ids and offsets from one batched call, not one more call per text
    assert spans == expected_spans(inner, texts, 512)
    assert len(spans[2]) == 512 and all(len(s) < 512 for s in spans[:2])  # only the long text is cut


# --- alignment_report --------------------------------------------------------------------------

def test_alignment_report_counts_a_word_pair_inside_one_token(tmp_path):
    rows = [(1, "I", "PRON", 4, "nsubj"), ("2-3", "cannot", "_", "_", "_"), (2, "can", "AUX", 4, "aux"),
            (3, "not", "PART", 4, "advmod"), (4, "go", "VERB", 0, "root")]
    (s,) = au.load_treebank(conllu(tmp_path, (["text = I cannot go"], rows)))
    assert s.spans == [(0, 1), (2, 5), (5, 8), (9, 11)]
    tok = fast_tokenizer()  # "cannot" is one piece: can and not share it, not owns none
    report = au.alignment_report(tok, [s])
    assert report.to_dict() == {"words": 4, "crossed": 2, "without_token": 1,
                                "crossed_share": 0.5, "without_token_share": 0.25}


def test_alignment_report_shares_with_one_word_and_with_no_words():
    tok = fast_tokenizer()
    hidden = tbk.Sentence(["\u200b"], [0], ["root"], "\u200b", [(0, 1)])  # the tokenizer drops a zero-width space
    report = au.alignment_report(tok, [hidden])
    assert report.to_dict() == {"words": 1, "crossed": 0, "without_token": 1,
                                "crossed_share": 0.0, "without_token_share": 1.0}
    empty = tbk.Sentence([], [], [], "", [])
    report = au.alignment_report(tok, [empty])
    assert report.to_dict() == {"words": 0, "crossed": 0, "without_token": 0,
                                "crossed_share": 0.0, "without_token_share": 0.0}


def test_alignment_report_of_no_sentences_is_all_zero(tokenizer):
    report = au.alignment_report(tokenizer, [])
    assert report.to_dict() == {"words": 0, "crossed": 0, "without_token": 0, "crossed_share": 0.0,
                                "without_token_share": 0.0}
