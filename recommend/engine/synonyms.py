"""Synonym expansion for search queries.

A :class:`SynonymSet` is written the way Solr and Elasticsearch write them:

- ``"tv, television, telly"`` — equivalent terms: each one also searches for the others;
- ``"hoodie, hoody => hooded sweatshirt"`` — one-way: the terms left of ``=>`` also search
  for the terms on the right, never the reverse. Unlike Solr's replacement semantics the
  original word is kept, so a one-way rule only ever widens a search.

Terms may be several words ("running shoes, trainers"). :func:`expand` matches the longest
phrase first, left to right, and is not transitive: ``tv, television`` plus ``television,
telly`` gives "tv" only "television"; list every term in one set when they are all the same.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from recommend.engine.text import tokenize

__all__ = [
    "Expansion",
    "SynonymIndex",
    "SynonymSet",
    "build_synonym_index",
    "expand",
    "lexical_query_text",
    "semantic_query_text",
]


def _canonical(term: str) -> str:
    return " ".join(tokenize(term))


def _unique(terms: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t for t in (_canonical(x) for x in terms) if t))


@dataclass(frozen=True)
class SynonymSet:
    """A group of interchangeable terms (``sources`` empty) or a one-way rule.

    ``terms`` and ``sources`` are normalised on creation (lower case, tokenised, one space
    between words), so ``SynonymSet(("TV", "Television"))`` equals ``SynonymSet.parse("tv,
    television")``.
    """

    terms: tuple[str, ...]
    sources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        terms = _unique(self.terms)
        sources = _unique(self.sources)
        if not terms:
            raise ValueError("a synonym set needs at least one term")
        if not sources and len(terms) < 2:
            raise ValueError(f"an equivalent synonym set needs two terms, got {terms}")
        object.__setattr__(self, "terms", terms)
        object.__setattr__(self, "sources", sources)

    @classmethod
    def parse(cls, line: str) -> SynonymSet:
        """Parse ``"a, b, c"`` (equivalent) or ``"a, b => c"`` (one-way)."""
        if "=>" in line:
            left, _, right = line.partition("=>")
            if "=>" in right:
                raise ValueError(f"more than one '=>' in synonym rule {line!r}")
            sources = tuple(left.split(","))
            if not _unique(sources):
                raise ValueError(f"one-way synonym rule without a source term: {line!r}")
            return cls(terms=tuple(right.split(",")), sources=sources)
        return cls(terms=tuple(line.split(",")))

    @property
    def one_way(self) -> bool:
        """True for an ``a => b`` rule."""
        return bool(self.sources)

    def pairs(self) -> Iterator[tuple[str, str]]:
        """Yield ``(term, alternative)`` for every expansion this set allows."""
        if self.sources:
            for source in self.sources:
                for term in self.terms:
                    if term != source:
                        yield source, term
        else:
            for source, term in itertools.permutations(self.terms, 2):
                yield source, term


@dataclass(frozen=True)
class SynonymIndex:
    """Synonym sets compiled for lookup: phrase tokens -> alternatives, in rule order."""

    phrases: dict[tuple[str, ...], tuple[str, ...]]
    longest: int


def build_synonym_index(synonym_sets: Iterable[SynonymSet]) -> SynonymIndex:
    """Compile synonym sets once, e.g. when a strategy's rules are loaded."""
    merged: dict[tuple[str, ...], dict[str, None]] = {}
    for synonym_set in synonym_sets:
        for source, alternative in synonym_set.pairs():
            merged.setdefault(tuple(source.split(" ")), {})[alternative] = None
    phrases = {key: tuple(alts) for key, alts in merged.items()}
    return SynonymIndex(phrases=phrases, longest=max((len(k) for k in phrases), default=0))


@dataclass(frozen=True)
class Expansion:
    """A tokenised query with the alternatives each term may also match.

    ``tokens`` are the query tokens as given; ``alternatives`` maps a matched term (a token,
    or a phrase of several tokens joined by a space) to its alternatives; ``segments`` is the
    query in order as ``(term, alternatives)``, one per unmatched token or matched phrase.
    """

    tokens: tuple[str, ...]
    alternatives: dict[str, list[str]]
    segments: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())


def expand(tokens: Sequence[str], synonym_sets: Iterable[SynonymSet] | SynonymIndex) -> Expansion:
    """Match synonym terms in ``tokens`` (longest phrase first) and list their alternatives.

    ``tokens`` should come from :func:`recommend.engine.text.tokenize`. Pass a prebuilt
    :class:`SynonymIndex` on hot paths; a plain iterable of sets is compiled on each call.
    """
    index = (
        synonym_sets
        if isinstance(synonym_sets, SynonymIndex)
        else build_synonym_index(synonym_sets)
    )
    tokens = tuple(tokens)
    segments: list[tuple[str, tuple[str, ...]]] = []
    alternatives: dict[str, list[str]] = {}
    i = 0
    while i < len(tokens):
        for length in range(min(index.longest, len(tokens) - i), 0, -1):
            key = tokens[i : i + length]
            alts = index.phrases.get(key)
            if alts:
                term = " ".join(key)
                segments.append((term, alts))
                alternatives.setdefault(term, list(alts))
                i += length
                break
        else:
            segments.append((tokens[i], ()))
            i += 1
    return Expansion(tokens=tokens, alternatives=alternatives, segments=tuple(segments))


def _variants(options: list[tuple[str, ...]], max_variants: int) -> Iterator[tuple[int, ...]]:
    """Choices of one option per segment, fewest substitutions first, at most max_variants."""
    produced = 0
    n = len(options)
    swappable = [i for i in range(n) if len(options[i]) > 1]
    for substitutions in range(len(swappable) + 1):
        for positions in itertools.combinations(swappable, substitutions):
            ranges = [range(1, len(options[p])) for p in positions]
            for picks in itertools.product(*ranges):
                choice = [0] * n
                for p, pick in zip(positions, picks, strict=True):
                    choice[p] = pick
                yield tuple(choice)
                produced += 1
                if produced >= max_variants:
                    return


def _segments(expansion: Expansion) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The expansion's segments; rebuilt per token when it was made without them."""
    if expansion.segments or not expansion.tokens:
        return expansion.segments
    return tuple((t, tuple(expansion.alternatives.get(t, ()))) for t in expansion.tokens)


def _websearch_word(word: str) -> str:
    # "or" is websearch_to_tsquery's OR operator; a quoted "or" is the plain word.
    return '"or"' if word == "or" else word


def lexical_query_text(
    expansion: Expansion, *, max_variants: int = 16, max_alternatives: int = 4
) -> str:
    """Render the expansion as text for PostgreSQL ``websearch_to_tsquery``.

    websearch syntax has no parentheses, and ``a b or c d`` parses as ``(a & b) | (c & d)``,
    so ``tv remote`` with ``tv => television`` becomes ``tv remote or television remote``:
    one AND-group per variant, variants joined by ``or``. Variants with fewer substitutions
    come first and at most ``max_variants`` are kept, which bounds the query for long
    queries with many synonyms. The original words stay unquoted (plain AND, as typed); a
    multi-word alternative is quoted, i.e. searched as a phrase.
    """
    segments = _segments(expansion)
    if not segments:
        return ""
    options: list[tuple[str, ...]] = []
    for term, alts in segments:
        original = " ".join(_websearch_word(w) for w in term.split(" "))
        rendered = [
            f'"{alt}"' if " " in alt else _websearch_word(alt) for alt in alts[:max_alternatives]
        ]
        options.append((original, *rendered))
    groups = [
        " ".join(options[i][pick] for i, pick in enumerate(choice))
        for choice in _variants(options, max(1, max_variants))
    ]
    return " or ".join(dict.fromkeys(groups))


def semantic_query_text(expansion: Expansion, *, max_alternatives: int = 3) -> str:
    """Text for the query encoder: the query with alternatives in brackets after each term.

    ``tv remote`` with ``tv, television`` gives ``tv (television) remote``; sentence encoders
    read that naturally, and the original wording still dominates the embedding.
    """
    parts: list[str] = []
    for term, alts in _segments(expansion):
        shown = [a for a in alts[:max_alternatives] if a != term]
        parts.append(f"{term} ({', '.join(shown)})" if shown else term)
    return " ".join(parts)
