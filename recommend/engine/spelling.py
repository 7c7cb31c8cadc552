"""Typo correction from the catalogue's own vocabulary.

The vocabulary is word -> count, built from catalogue text (titles, brands, category names)
plus logged queries. Lookup is SymSpell-style: every indexed word stores the strings obtained
by deleting up to ``max_distance`` characters from its first ``prefix_length`` characters; a
query word generates the same deletes, and words that share one are verified with the
optimal-string-alignment distance (Damerau-Levenshtein with adjacent transpositions), via
rapidfuzz. That keeps a lookup to a few dictionary probes, independent of vocabulary size.

Policy (all parameters of :class:`SpellCorrector`):

- a known word is never corrected, nor a token containing a digit ("4k", "iphone15", "2.5"),
  nor one holding a script written without spaces (a Chinese run is a phrase, and an edit of
  one character is another word);
- words shorter than ``min_length`` (5) are never corrected: "usb", "tv", "nike" are too short
  for an edit to be told apart from a different word;
- words of ``min_length`` .. ``long_word_length - 1`` characters (5-7) get distance <= 1,
  longer words distance <= ``max_distance`` (2);
- among candidates the smallest distance wins, then the highest count, then alphabetical
  order, so the result is deterministic.

Logged queries contain typos themselves, so a word seen only in ``extra_counts`` (never in the
catalogue) joins the vocabulary only when it was seen at least ``min_extra_count`` times; extra
counts of catalogue words just add to their frequency.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz.distance import OSA

from catalog.segmentation import has_unspaced
from recommend.engine.text import normalise, token_spans, tokenize

__all__ = ["Correction", "SpellCorrector"]

_FORMAT = "aisle.spelling/1"


@dataclass(frozen=True)
class Correction:
    """The outcome of correcting one query.

    ``original`` is the query as given, ``corrected`` its normalised form with corrections
    applied, ``corrections`` the ``(wrong, right)`` word pairs in query order.
    """

    original: str
    corrected: str
    changed: bool
    corrections: list[tuple[str, str]] = field(default_factory=list)


def _deletes(word: str, distance: int) -> set[str]:
    """All strings obtained by deleting up to ``distance`` characters from ``word``."""
    result = {word}
    frontier = {word}
    for _ in range(distance):
        nxt: set[str] = set()
        for w in frontier:
            if len(w) <= 1:
                continue
            for i in range(len(w)):
                nxt.add(w[:i] + w[i + 1 :])
        nxt -= result
        result |= nxt
        frontier = nxt
    return result


def _has_digit(word: str) -> bool:
    return any(ch.isdigit() for ch in word)


class SpellCorrector:
    """Corrects query words against a vocabulary of ``word -> count``.

    Build it with :meth:`from_texts`; cache it with :meth:`to_dict` / :meth:`from_dict` or
    pickle (both carry only the counts and settings; the delete index is rebuilt on load).
    """

    def __init__(
        self,
        counts: Mapping[str, int],
        *,
        max_distance: int = 2,
        min_length: int = 5,
        long_word_length: int = 8,
        prefix_length: int = 7,
    ) -> None:
        if max_distance < 1:
            raise ValueError(f"max_distance must be >= 1, got {max_distance}")
        if min_length < 1 or long_word_length < min_length:
            raise ValueError("need 1 <= min_length <= long_word_length")
        if prefix_length <= max_distance:
            raise ValueError("prefix_length must exceed max_distance")
        self.max_distance = max_distance
        self.min_length = min_length
        self.long_word_length = long_word_length
        self.prefix_length = prefix_length
        self.counts: dict[str, int] = {w: int(c) for w, c in counts.items() if w and c > 0}
        # delete -> word, or list of words when several share it (most keys have one word,
        # and a bare str instead of a one-element list saves about a third of the memory)
        self._index: dict[str, str | list[str]] = {}
        self._build_index()

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_texts(
        cls,
        texts: Iterable[str],
        extra_counts: Mapping[str, int] | None = None,
        *,
        min_extra_count: int = 10,
        **settings: Any,
    ) -> SpellCorrector:
        """Build a corrector from catalogue texts and optional logged-query counts.

        Every token of every text counts once per occurrence. ``extra_counts`` maps a word or
        a whole query string to how often it was seen; each of its tokens gets that count.
        A token absent from ``texts`` is admitted only with at least ``min_extra_count``.
        """
        counts: Counter[str] = Counter()
        for text in texts:
            if text:
                counts.update(tokenize(text))
        if extra_counts:
            extra: Counter[str] = Counter()
            for phrase, n in extra_counts.items():
                if n > 0:
                    for token in tokenize(phrase):
                        extra[token] += int(n)
            for token, n in extra.items():
                if token in counts or n >= min_extra_count:
                    counts[token] += n
        return cls(counts, **settings)

    def _build_index(self) -> None:
        index = self._index
        shortest = max(1, self.min_length - self.max_distance)
        for word in self.counts:
            if len(word) < shortest or _has_digit(word):
                continue
            for key in _deletes(word[: self.prefix_length], self.max_distance):
                bucket = index.get(key)
                if bucket is None:
                    index[key] = word
                elif isinstance(bucket, str):
                    index[key] = [bucket, word]
                else:
                    bucket.append(word)

    # -- serialisation ------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (counts and settings) that :meth:`from_dict` restores."""
        return {
            "format": _FORMAT,
            "settings": {
                "max_distance": self.max_distance,
                "min_length": self.min_length,
                "long_word_length": self.long_word_length,
                "prefix_length": self.prefix_length,
            },
            "counts": dict(self.counts),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpellCorrector:
        """Rebuild a corrector from :meth:`to_dict` output."""
        if data.get("format") != _FORMAT:
            raise ValueError(f"not a serialised SpellCorrector (format {data.get('format')!r})")
        return cls(data["counts"], **data.get("settings", {}))

    def __getstate__(self) -> dict[str, Any]:
        return self.to_dict()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["counts"], **state["settings"])  # type: ignore[misc]

    # -- lookup -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.counts)

    def __contains__(self, word: object) -> bool:
        return word in self.counts

    def allowed_distance(self, word: str) -> int:
        """The largest edit distance a correction of ``word`` may have (0: never corrected)."""
        if len(word) < self.min_length or _has_digit(word) or word in self.counts:
            return 0
        if has_unspaced(word):
            return 0  # a Chinese/Japanese/Thai run is a phrase, not a misspelt word

        if len(word) < self.long_word_length:
            return 1
        return self.max_distance

    def suggest(self, word: str) -> str | None:
        """Best correction for one normalised token, or ``None`` when it should stay."""
        limit = self.allowed_distance(word)
        if limit == 0:
            return None
        best: tuple[int, int, str] | None = None
        seen: set[str] = set()
        for key in _deletes(word[: self.prefix_length], limit):
            bucket = self._index.get(key)
            if bucket is None:
                continue
            for candidate in (bucket,) if isinstance(bucket, str) else bucket:
                if candidate in seen:
                    continue
                seen.add(candidate)
                if abs(len(candidate) - len(word)) > limit:
                    continue
                distance = OSA.distance(word, candidate, score_cutoff=limit)
                if distance > limit:
                    continue
                rank = (distance, -self.counts[candidate], candidate)
                if best is None or rank < best:
                    best = rank
        return None if best is None else best[2]

    def correct(self, query: str) -> Correction:
        """Normalise ``query`` and replace each unknown word by its best correction."""
        text = normalise(query)
        pieces: list[str] = []
        corrections: list[tuple[str, str]] = []
        last = 0
        for start, end in token_spans(text):
            word = text[start:end]
            right = self.suggest(word)
            if right is not None:
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
