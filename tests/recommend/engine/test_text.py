"""Normalisation and tokenisation of query and catalogue text."""

import random

import pytest

from recommend.engine.text import normalise, token_spans, tokenize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Wireless\tHEADPHONES\n", "wireless headphones"),
        ("Ｆｕｌｌ ｗｉｄｔｈ ＴＶ", "full width tv"),  # NFKC folds full-width forms
        ("Straße", "strasse"),  # casefold, not lower()
        ("head\u00adphones", "headphones"),  # soft hyphen is a format character
        ("zero\u200bwidth", "zerowidth"),
        ("bell\x07 ring\x00er", "bell ring er"),  # control characters separate words
        ("USB\u2011C", "usb-c"),  # non-breaking hyphen folded to "-"
        ("men\u2019s", "men's"),
        ("", ""),
    ],
)
def test_normalise(raw, expected):
    assert normalise(raw) == expected


def test_normalise_drops_lone_surrogates_and_keeps_valid_pairs():
    assert normalise("a\ud800b") == "ab"
    assert normalise("x \ud83d\ude00 y") == "x \U0001f600 y"  # a pair is reassembled


def test_normalise_accepts_malformed_bytes():
    assert normalise(b"caf\xc3\xa9 \xff\xfe lamp") == "café lamp"


def test_normalise_truncates_at_a_word_boundary():
    text = normalise("alpha beta gamma delta", max_len=13)
    assert text == "alpha beta"
    assert len(normalise("x" * 1000, max_len=256)) == 256


def test_normalise_never_raises_and_is_idempotent():
    rng = random.Random(1234)
    for _ in range(300):
        raw = "".join(chr(rng.randrange(0, 0x30000)) for _ in range(rng.randrange(0, 40)))
        once = normalise(raw)
        assert normalise(once) == once
        assert once == once.strip()
        assert "  " not in once


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("4K TV, 55-inch!", ["4k", "tv", "55-inch"]),
        ("USB-C to USB-A cable (2m)", ["usb-c", "to", "usb-a", "cable", "2m"]),
        ("3.5mm jack; 1/2 price", ["3.5mm", "jack", "1/2", "price"]),
        ("Men's Wi-Fi black/white", ["men's", "wi-fi", "black", "white"]),
        ("-- ?? !!", []),
        ("émigré ÇA", ["émigré", "ça"]),
    ],
)
def test_tokenize(text, tokens):
    assert tokenize(text) == tokens


def test_token_spans_point_into_the_normalised_text():
    text = normalise("Red  USB-C cable")
    assert [text[a:b] for a, b in token_spans(text)] == ["red", "usb-c", "cable"]
