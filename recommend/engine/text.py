"""Query and catalogue text normalisation and tokenisation.

Every stage that compares words (spelling, synonyms, matched terms, facets) runs its text
through :func:`normalise` and :func:`tokenize`, so a word means the same thing everywhere.

``normalise`` never raises on hostile input: lone surrogates (e.g. from a JSON ``"\\ud83d"``),
undecodable bytes, control and zero-width characters are dropped or turned into spaces.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalise", "token_spans", "tokenize"]

# Dash and apostrophe look-alikes that NFKC leaves alone; folded so "usb‑c" == "usb-c".
_FOLD = str.maketrans(
    {
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u02bc": "'",
        "\ufffd": None,  # the replacement character carries no meaning for search
    }
)

# A token is a run of letters/digits; a hyphen or apostrophe between two runs joins them
# ("usb-c", "wi-fi", "men's"), and so does "." or "/" between digits ("2.5", "1/2", "3.5mm").
_TOKEN_RE = re.compile(r"[^\W_]+(?:[-'][^\W_]+|(?<=\d)[./]\d[^\W_]*)*")


def _strip_invalid(text: str) -> str:
    """Reassemble valid surrogate pairs and drop lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def _clean_char(ch: str) -> str:
    category = unicodedata.category(ch)
    if category == "Cc":  # tabs, newlines, NUL...: a separator
        return " "
    if category[0] == "C":  # format (soft hyphen, zero-width), private use, unassigned
        return ""
    return ch


def normalise(q: str | bytes, max_len: int | None = 256) -> str:
    """Return ``q`` in canonical search form.

    NFKC-normalised, case-folded, with control/format characters, lone surrogates and
    undecodable bytes removed, whitespace collapsed to single spaces, and at most ``max_len``
    characters (cut at a word boundary when one is near; ``None`` keeps everything).
    """
    if isinstance(q, bytes | bytearray):
        q = bytes(q).decode("utf-8", "replace")
    elif not isinstance(q, str):
        raise TypeError(f"normalise expects str or bytes, got {type(q).__name__}")
    if max_len is not None:
        if max_len < 0:
            raise ValueError(f"max_len must be >= 0, got {max_len}")
        q = q[: max_len * 4 + 16]  # bound the work on huge inputs before the real cut
    text = _strip_invalid(q)
    text = unicodedata.normalize("NFKC", text).casefold()
    text = unicodedata.normalize("NFKC", text).translate(_FOLD)
    if not text.isprintable():
        text = "".join(_clean_char(ch) for ch in text)
    text = " ".join(text.split())
    if max_len is not None and len(text) > max_len:
        cut = text[:max_len]
        if text[max_len] != " ":
            space = cut.rfind(" ")
            if space >= max_len // 2:  # drop the half word, unless that loses too much
                cut = cut[:space]
        text = cut.rstrip()
    return text


def token_spans(normalised: str) -> list[tuple[int, int]]:
    """Return ``(start, end)`` offsets of the tokens of already-normalised text."""
    return [m.span() for m in _TOKEN_RE.finditer(normalised)]


def tokenize(text: str | bytes) -> list[str]:
    """Split text into normalised word tokens.

    Letters and digits form tokens; hyphens and apostrophes inside a word keep it whole
    ("usb-c", "wi-fi", "men's"), as do decimal points and slashes between digits ("2.5",
    "3.5mm", "1/2"). Mixed tokens such as "4k" or "m2" stay one token. Punctuation, symbols
    and emoji separate tokens and are dropped.
    """
    return _TOKEN_RE.findall(normalise(text, max_len=None))
