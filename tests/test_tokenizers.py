"""load_tokenizer: offline, exact tokenizers (v3's real files, bert-base-uncased's vocabulary)."""
import importlib.util
import os
from pathlib import Path

import pytest

import attn_utils as au

ROOT = Path(__file__).resolve().parents[1]
SHARED_V3 = ROOT.parent / "shared" / "tohoku-bert-base-japanese-v3"
needs_mecab = pytest.mark.skipif(importlib.util.find_spec("fugashi") is None,
                                 reason="needs fugashi (pip install fugashi unidic-lite)")

# Varied text: news, conversation, katakana loanwords, numbers, full-width ASCII, emoji, long sentences.
SENTENCES = [
    # news
    "政府は12日、2025年度の予算案を閣議決定した。",
    "東京株式市場で日経平均株価は前日比312円安の3万8千円台で取引を終えた。",
    "気象庁によると、台風10号は明日の朝に九州南部へ上陸する見込みです。",
    "国連安全保障理事会は緊急会合を開き、停戦を求める決議を採択した。",
    "新型コロナウイルスの感染者数は先週より減少した。",
    "日本銀行は金融政策決定会合で、マイナス金利の解除を決めた。",
    "大阪・関西万博の来場者数が1000万人を突破した。",
    "文部科学省は、小中学校のタブレット端末の更新費用を補助する方針だ。",
    # conversation
    "ねえ、今日どこ行く？",
    "えっ、マジで？それ本当なの？",
    "ちょっと待ってて、すぐ戻るから。",
    "お疲れさまです！明日もよろしくお願いします。",
    "うん、わかった。じゃあまたね〜",
    "いやいや、そんなことないってば。",
    "すみません、駅までの道を教えていただけますか。",
    "あー、お腹すいたなぁ。何か食べに行かない？",
    # katakana loanwords
    "サッカーとバスケットボールとテニスが好きです。",
    "コンピューターのソフトウェアをアップデートしてください。",
    "スマートフォンのアプリでタクシーを呼んだ。",
    "コーヒーショップでカフェラテとチーズケーキを注文した。",
    "インターネットのセキュリティ対策としてパスワードを変更する。",
    "ディープラーニングはニューラルネットワークを多層にした手法だ。",
    "アルバイトのシフトをマネージャーに相談した。",
    "ヴァイオリンとチェロのアンサンブルがホールに響いた。",
    # numbers
    "2024年3月15日午後3時45分に集合してください。",
    "人口は約1億2千万人で、面積は37万8千平方キロメートルだ。",
    "価格は1,980円（税込2,178円）です。",
    "円周率は3.14159…と続く。",
    "第3四半期の売上高は前年同期比15.7%増の4,321億円だった。",
    "電話番号は03-1234-5678です。",
    "一二三四五六七八九十百千万億",
    "身長は170cm、体重は65kgです。",
    # full-width ASCII and half-width katakana
    "ＡＢＣ株式会社のＣＥＯが来日した。",
    "ＵＲＬは ｈｔｔｐｓ：／／ｅｘａｍｐｌｅ．ｃｏｍ です。",
    "１２３４５６７８９０",
    "ｶﾀｶﾅの半角文字もＮＦＫＣで正規化される。",
    "ＧＰＴ－４とＢＥＲＴの違いを説明せよ。",
    "Ｑ＆Ａコーナーへようこそ！",
    # emoji and symbols
    "今日は楽しかった😊また行こうね🎉",
    "雨☔のち晴れ☀️",
    "猫🐱と犬🐶が仲良く寝ている。",
    "了解👍",
    "★☆★ 期間限定セール ★☆★",
    "①②③の順に進んでください。",
    # long sentences
    "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。何でも薄暗いじめじめした所でニャーニャー泣いていた事だけは記憶している。",
    "国境の長いトンネルを抜けると雪国であった。夜の底が白くなった。信号所に汽車が止まった。",
    "自然言語処理の分野では、大規模なテキストコーパスで事前学習した言語モデルを、少量のラベル付きデータで微調整する手法が広く用いられており、質問応答や文書分類など多くのタスクで高い性能を示している。",
    "昨日の午後、私は友人と一緒に駅前の新しい本屋に行き、以前から読みたいと思っていた小説を三冊買ってから、近くの喫茶店で二時間ほどおしゃべりをして過ごしました。",
    # mixed scripts, rare kanji, English inside Japanese
    "機械学習（Machine Learning）とは何か。",
    "鬱蒼とした森の奥に、薔薇が咲いていた。",
    "iPhoneとAndroidのどちらを選ぶべきか迷っている。",
    "The quick brown fox と日本語が混ざった文。",
    "人工知能",
    "大きな犬が小さな猫を追いかけた。",
    "犬が猫を追う",
    "猫が犬に追われる",
]


def shared_v3_tokenizer():
    """The real tokenizer loaded from ../shared, as transformers would load the Hub copy."""
    if not SHARED_V3.is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{SHARED_V3} must exist under CI=true")
        pytest.skip(f"{SHARED_V3} (v3's real tokenizer files) is not here to compare against")
    from transformers import BertJapaneseTokenizer

    return BertJapaneseTokenizer.from_pretrained(str(SHARED_V3))


@pytest.fixture(scope="module")
def v3():
    return au.load_tokenizer("tohoku-nlp/bert-base-japanese-v3")


def test_there_are_at_least_50_varied_sentences():
    assert len(set(SENTENCES)) >= 50


@needs_mecab
def test_v3_tokens_and_ids_equal_the_real_tokenizer(v3):
    real = shared_v3_tokenizer()
    differ = []
    for text in SENTENCES:
        ours, theirs = v3(text)["input_ids"], real(text)["input_ids"]
        if ours != theirs or v3.convert_ids_to_tokens(ours) != real.convert_ids_to_tokens(theirs):
            differ.append((text, v3.convert_ids_to_tokens(ours), real.convert_ids_to_tokens(theirs)))
    assert not differ, differ[:3]


@needs_mecab
def test_v3_shipped_files_are_unchanged():
    real_dir = SHARED_V3
    if not real_dir.is_dir():
        shared_v3_tokenizer()  # skips (or fails under CI) with the reason
    from attn_utils.japanese import v3_dir

    for name in ("vocab.txt", "tokenizer_config.json", "config.json"):
        assert (v3_dir() / name).read_bytes() == (real_dir / name).read_bytes(), name
    assert "Apache" in (v3_dir() / "NOTICE").read_text()


@needs_mecab
@pytest.mark.parametrize("text, tokens", [
    ("犬が猫を追う", ["[CLS]", "犬", "が", "猫", "を", "追う", "[SEP]"]),
    ("人工知能", ["[CLS]", "人工", "知能", "[SEP]"]),
    ("サッカー", ["[CLS]", "サッカー", "[SEP]"]),
    ("大きな", ["[CLS]", "大きな", "[SEP]"]),
])
def test_v3_gold_tokens(v3, text, tokens):
    assert v3.convert_ids_to_tokens(v3(text)["input_ids"]) == tokens


@needs_mecab
def test_v3_gold_ids(v3):
    assert v3("犬が猫を追う")["input_ids"] == [2, 3732, 430, 3767, 500, 21797, 3]


@needs_mecab
def test_old_cl_tohoku_name_gives_the_same_tokenizer(v3):
    old = au.load_tokenizer("cl-tohoku/bert-base-japanese-v3")
    assert [old(t)["input_ids"] for t in SENTENCES[:10]] == [v3(t)["input_ids"] for t in SENTENCES[:10]]


def test_bert_base_uncased_tokenizer_is_uncased_wordpiece_with_its_ids():
    tok = au.load_tokenizer("bert-base-uncased")
    assert tok.tokenize("The dog chased the cat") == ["the", "dog", "chased", "the", "cat"]
    # bert-base-uncased's ids: [CLS]=101, [SEP]=102, "the"=1996, vocabulary of 30,522
    assert tok("the")["input_ids"] == [101, 1996, 102]
    assert tok.vocab_size == 30522 and tok.model_max_length == 512


def test_unknown_tokenizer_name_lists_the_valid_names():
    with pytest.raises(au.ModelNotAvailableError) as err:
        au.load_tokenizer("bert-base-japanese")
    for name in ("tohoku-nlp/bert-base-japanese-v3", "bert-base-uncased"):
        assert name in str(err.value)
