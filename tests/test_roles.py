"""attn_utils.roles: the role/position effects of notebooks 04 and 07, against a direct read of the weights."""
import numpy as np
import pytest

import attn_utils as au
from attn_utils.errors import AttentionError
from attn_utils.roles import RoleItem, frame_items, passing, role_position

SENTENCES = {  # text -> (subject, object): counterbalanced like notebook 04 (names and order swapped)
    "the dog chased the cat": ("dog", "cat"),
    "the cat chased the dog": ("cat", "dog"),
}


def _item(text, a, b, verb="chased"):
    words = text.split()
    spans, start = [], 0
    for word in words:
        start = text.index(word, start)
        spans.append((start, start + len(word)))
        start += len(word)
    return RoleItem(text, tuple(spans), words.index(verb), words.index(a), words.index(b))


def test_effects_equal_a_direct_read_of_the_word_weights(minilm):
    items = [_item(t, *ab) for t, ab in SENTENCES.items()] + [_item("the cat the dog chased", "dog", "cat")]
    fx = role_position(minilm, items)
    back = role_position(minilm, items, direction="noun->verb")
    for s, item in enumerate(items):
        w = au.extract(minilm, item.text).to_words().weights.astype(np.float64)  # whitespace words = these spans
        v, a, b = item.verb + 1, item.role_a + 1, item.role_b + 1                # +1: [CLS] first
        np.testing.assert_allclose(fx.role[s], w[:, :, v, a] - w[:, :, v, b], atol=1e-5)
        np.testing.assert_allclose(back.role[s], w[:, :, a, v] - w[:, :, b, v], atol=1e-5)
        second_minus_first = w[:, :, v, max(a, b)] - w[:, :, v, min(a, b)]
        np.testing.assert_allclose(fx.position[s], second_minus_first, atol=1e-5)
        np.testing.assert_allclose(fx.mass[s], w[:, :, v, a] + w[:, :, v, b], atol=1e-5)
    assert list(fx.a_is_second) == [False, False, True]
    first, second = fx.by_order()
    np.testing.assert_allclose(first, fx.role[:2].mean(0))
    np.testing.assert_allclose(second, fx.role[2])


def test_passing_needs_one_sign_everywhere_and_the_threshold():
    diff = np.array([[[0.10, 0.10, -0.2]], [[0.06, -0.01, -0.1]]])  # [sentence=2, layer=1, head=3]
    assert passing(diff).tolist() == [[True, False, True]]
    assert passing(diff, sign=1).tolist() == [[True, False, False]]
    assert passing(diff, sign=-1).tolist() == [[False, False, True]]
    assert passing(diff, threshold=0.09).tolist() == [[False, False, True]]
    with pytest.raises(AttentionError, match="sentence, layer, head"):
        passing(diff[0])


def test_bad_items_are_named():
    with pytest.raises(IndexError, match="out of range"):
        RoleItem("a b c", ((0, 1), (2, 3), (4, 5)), 3, 0, 1)
    with pytest.raises(ValueError, match="three different words"):
        RoleItem("a b c", ((0, 1), (2, 3), (4, 5)), 2, 0, 0)
    with pytest.raises(TypeError, match="word index"):
        RoleItem("a b c", ((0, 1), (2, 3), (4, 5)), "c", 0, 1)


def test_a_word_split_by_a_token_is_an_error(minilm):
    item = RoleItem("the dog chased", ((0, 3), (4, 6), (6, 7), (8, 14)), 3, 0, 1)  # "dog" cut inside one token
    with pytest.raises(AttentionError):
        role_position(minilm, [item])
    with pytest.raises(ValueError, match="direction"):
        role_position(minilm, [_item("the dog chased the cat", "dog", "cat")], direction="up")


def test_frame_items_build_the_four_counterbalanced_sentences():
    items = frame_items("犬", "猫", "追う")
    assert [i.text for i in items] == ["今日、犬が猫を追う", "今日、猫が犬を追う", "今日、猫を犬が追う", "今日、犬を猫が追う"]
    for item in items:
        assert [item.text[s:e] for s, e in item.words] == ["今日", "、", *item.text[3:7], "追う"]
        assert item.text[slice(*item.words[item.verb])] == "追う"
        assert item.text[item.words[item.role_a][1]] == "が"       # the role-A noun is followed by が
        assert item.text[item.words[item.role_b][1]] == "を"
    assert [i.a_is_second for i in items] == [False, False, True, True]
    assert [i.text[slice(*i.words[i.role_a])] for i in items] == ["犬", "猫", "犬", "猫"]
    particles = frame_items("犬", "猫", "追う", of="particle")
    assert [(p.text[slice(*p.words[p.role_a])], p.text[slice(*p.words[p.role_b])]) for p in particles] == [("が", "を")] * 4
    assert [p.a_is_second for p in particles] == [False, False, True, True]
    passive = frame_items("猫", "犬", "追われる", marks=("が", "に"), prefix=())
    assert passive[2].text == "犬に猫が追われる" and passive[2].words[0] == (0, 1)
    assert passive[2].text[slice(*passive[2].words[passive[2].role_a])] == "猫"
    with pytest.raises(ValueError, match="noun' or 'particle"):
        frame_items("犬", "猫", "追う", of="verb")
