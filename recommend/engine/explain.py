"""Per-item explanations: why a result was shown and where its position came from."""

from __future__ import annotations

import functools
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from recommend.engine.rules import AppliedRule
from recommend.engine.synonyms import Expansion
from recommend.engine.text import tokenize

__all__ = ["ItemEvidence", "because_you_viewed", "explanation", "light_stem", "matched_terms"]

# Always present in an explanation, so API clients can rely on the keys.
CORE_RETRIEVERS = ("lexical", "semantic")


@dataclass(frozen=True)
class ItemEvidence:
    """Everything the pipeline knows about why an item is in the results.

    ``sources`` is :attr:`recommend.engine.fusion.Fused.sources` (``{source: (rank,
    raw_score)}``); ``rules`` holds :class:`~recommend.engine.rules.AppliedRule` objects
    (or already-rendered dicts / strings).
    """

    id: Hashable
    sources: Mapping[str, tuple[int, float]] = field(default_factory=dict)
    matched_terms: Sequence[str] = ()
    personalisation: str | None = None
    rules: Sequence[AppliedRule | Mapping[str, Any] | str] = ()
    ranker_score: float | None = None
    intent: Mapping[str, Any] | None = None  # how the query's intent moved the item, if it did


def because_you_viewed(title: str | None) -> str | None:
    """The personalisation sentence for an item recommended from a viewed product."""
    if not title or not title.strip():
        return None
    return f"because you viewed {' '.join(title.split())}"


def explanation(item: ItemEvidence) -> dict[str, Any]:
    """Render an item's evidence as the API's explanation dict.

    ``{"retrievers": {"lexical": {"rank", "score"} | None, "semantic": ... | None, <other
    sources>: ...}, "matched_terms": [...], "personalisation": str | None, "rules": [...],
    "ranker": {"score"} | None}``, plus ``"intent": {"label", "moved", "from", "to", "because"}``
    when the query's intent changed the item's place.
    """
    retrievers: dict[str, dict[str, float] | None] = dict.fromkeys(CORE_RETRIEVERS)
    for source in sorted(item.sources):
        rank, score = item.sources[source]
        retrievers[source] = {"rank": int(rank), "score": float(score)}
    rules = [
        r.to_dict() if isinstance(r, AppliedRule) else (dict(r) if isinstance(r, Mapping) else r)
        for r in item.rules
    ]
    body = {
        "retrievers": retrievers,
        "matched_terms": list(item.matched_terms),
        "personalisation": item.personalisation,
        "rules": rules,
        "ranker": None if item.ranker_score is None else {"score": float(item.ranker_score)},
    }
    if item.intent is not None:
        body["intent"] = dict(item.intent)
    return body


@functools.lru_cache(maxsize=65536)  # a catalogue's words repeat in every page's texts
def light_stem(word: str) -> str:
    """Strip a plural ending ("cables" -> "cable", "batteries" -> "battery").

    Deliberately tiny and language-neutral enough for matching display terms; the lexical
    index does real stemming.
    """
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@functools.lru_cache(maxsize=1024)  # a store's popular products are on many result pages
def _stemmed_words(text: str) -> tuple[str, ...]:
    return tuple(light_stem(t) for t in tokenize(text))


def _contains_phrase(haystack: Sequence[str], phrase: Sequence[str]) -> bool:
    n = len(phrase)
    if n == 1:  # most terms are one word: a membership test, not a slice per position
        return phrase[0] in haystack
    phrase = tuple(phrase)
    return any(tuple(haystack[i : i + n]) == phrase for i in range(len(haystack) - n + 1))


def matched_terms(
    query_tokens: Sequence[str],
    product_text: str,
    *,
    expansion: Expansion | None = None,
) -> list[str]:
    """Query terms found in the product's text, in query order, without repeats.

    Words match ignoring plural endings. With an ``expansion`` a term also matches through
    one of its synonyms; the words actually found in the product are reported then (query
    "tv", product "Samsung Television" -> ``["television"]``), which is what a highlighter
    needs. Multi-word terms must appear as a phrase.
    """
    product = _stemmed_words(product_text)
    if expansion is not None and expansion.segments:
        segments = expansion.segments
    else:
        segments = tuple((t, ()) for t in query_tokens)
    found: list[str] = []
    for term, alternatives in segments:
        for option in (term, *alternatives):
            words = [light_stem(w) for w in option.split(" ")]
            if _contains_phrase(product, words):
                found.append(option)
                break
    return list(dict.fromkeys(found))
