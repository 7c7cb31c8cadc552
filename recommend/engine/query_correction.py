"""Typo correction that leaves real words alone.

:class:`~recommend.engine.spelling.SpellCorrector` knows only the catalogue's vocabulary (and
frequent logged queries), so it "corrects" every other word to the nearest catalogue word:
"looking for …" becomes "cooking for …", "fitness" becomes "witness". Measured on the demo
store's held-out queries, a third of them were damaged that way. :func:`guarded_correct` keeps
a word as typed when it is in ``known_words`` — a general dictionary, in serving the whole-word
entries of the retriever's tokenizer vocabulary (a WordPiece vocabulary lists about 20k common
English words whole, while a typo such as "espreso" is split into pieces).

A correction must also only replace a word that matches nothing in the search index. The
corrector compares surface tokens, the index stems them: "womens" is not a catalogue token
("women's" is), yet both are the lexeme ``women`` that 263 products of the demo store hold, so
"correcting" it only changes what the semantic side reads (and on the demo store's judged
queries, it cost the lexical retriever its lead over a plain BM25). ``indexed`` answers, for the
words the corrector would replace, which ones the index matches as typed; those stay.

A tokenizer's vocabulary is a small dictionary: it lists "pamper" in pieces, so "a relaxing
pamper evening" was "corrected" to "paper" (a word the catalogue holds, one deletion away),
which on the demo store's judged queries cost the lexical retriever its lead over a plain BM25
on that query (NDCG@10 1.0 → 0.0). :func:`general_dictionary` adds a general English word list
(pyspellchecker's frequency list, without its long tail of words seen at its floor count,
where rare misspellings collect): a word in it is a real word, never a typo of a catalogue
word. A real word typed for another ("cheep" for "cheap") is then left alone, as "witness" for
"fitness" already was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from functools import cache

from recommend.engine.spelling import Correction, SpellCorrector
from recommend.engine.text import normalise, token_spans

__all__ = ["dictionary_words", "general_dictionary", "guarded_correct"]

logger = logging.getLogger(__name__)


def dictionary_words(vocabulary: Collection[str], min_length: int = 3) -> frozenset[str]:
    """Whole words of a tokenizer vocabulary: alphabetic entries, no ``##`` continuation
    pieces, no special tokens, at least ``min_length`` characters, case-folded."""
    return frozenset(w.casefold() for w in vocabulary if len(w) >= min_length and w.isalpha())


@cache
def general_dictionary(language: str = "en", min_length: int = 3) -> frozenset[str]:
    """The alphabetic words of at least ``min_length`` characters of a general word list of
    ``language`` (pyspellchecker's), above the list's floor count (the long tail, where
    misspellings that slipped into the corpus sit); empty when the list cannot be loaded."""
    try:
        from spellchecker import SpellChecker

        counts = SpellChecker(language=language, distance=1).word_frequency.dictionary
    except Exception:  # the package or its language file missing: the tokenizer's words only
        logger.warning("no %s word list: typo correction guards tokenizer words only", language)
        return frozenset()
    floor = min(counts.values(), default=0)
    return frozenset(
        w for w, n in counts.items() if n > floor and len(w) >= min_length and w.isalpha()
    )


def guarded_correct(
    corrector: SpellCorrector,
    query: str,
    known_words: Collection[str] = (),
    indexed: Callable[[Sequence[str]], Collection[str]] | None = None,
) -> Correction:
    """Like :meth:`SpellCorrector.correct`, but a word in ``known_words`` is never replaced,
    nor one that ``indexed`` reports as matching the search index (it is called once, with the
    words that would be replaced, and only when there are some)."""
    text = normalise(query)
    proposals: list[tuple[int, int, str, str]] = []
    for start, end in token_spans(text):
        word = text[start:end]
        if word in known_words:
            continue
        right = corrector.suggest(word)
        if right is not None and right != word:
            proposals.append((start, end, word, right))
    if proposals and indexed is not None:
        matched = set(indexed(sorted({word for _, _, word, _ in proposals})))
        proposals = [p for p in proposals if p[2] not in matched]
    pieces: list[str] = []
    last = 0
    for start, end, _, right in proposals:
        pieces.append(text[last:start])
        pieces.append(right)
        last = end
    pieces.append(text[last:])
    return Correction(
        original=query,
        corrected="".join(pieces),
        changed=bool(proposals),
        corrections=[(word, right) for _, _, word, right in proposals],
    )
