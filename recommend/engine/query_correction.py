"""Typo correction that leaves real words alone.

:class:`~recommend.engine.spelling.SpellCorrector` knows only the catalogue's vocabulary (and
frequent logged queries), so it "corrects" every other word to the nearest catalogue word:
"looking for …" becomes "cooking for …", "fitness" becomes "witness". Measured on the demo
store's held-out queries, a third of them were damaged that way. :func:`guarded_correct` keeps
a word as typed when it is in ``known_words`` — a general dictionary, in serving the whole-word
entries of the retriever's tokenizer vocabulary (a WordPiece vocabulary lists about 20k common
English words whole, while a typo such as "espreso" is split into pieces).
"""

from __future__ import annotations

from collections.abc import Collection

from recommend.engine.spelling import Correction, SpellCorrector
from recommend.engine.text import normalise, token_spans

__all__ = ["dictionary_words", "guarded_correct"]


def dictionary_words(vocabulary: Collection[str], min_length: int = 3) -> frozenset[str]:
    """Whole words of a tokenizer vocabulary: alphabetic entries, no ``##`` continuation
    pieces, no special tokens, at least ``min_length`` characters, case-folded."""
    return frozenset(w.casefold() for w in vocabulary if len(w) >= min_length and w.isalpha())


def guarded_correct(
    corrector: SpellCorrector, query: str, known_words: Collection[str] = ()
) -> Correction:
    """Like :meth:`SpellCorrector.correct`, but a word in ``known_words`` is never replaced."""
    text = normalise(query)
    pieces: list[str] = []
    corrections: list[tuple[str, str]] = []
    last = 0
    for start, end in token_spans(text):
        word = text[start:end]
        if word in known_words:
            continue
        right = corrector.suggest(word)
        if right is not None and right != word:
            pieces.append(text[last:start])
            pieces.append(right)
            corrections.append((word, right))
            last = end
    pieces.append(text[last:])
    return Correction(
        original=query,
        corrected="".join(pieces),
        changed=bool(corrections),
        corrections=corrections,
    )
