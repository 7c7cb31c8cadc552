"""The guardrails of drafted product copy: what a draft may not say, checked for every draft.

- ``attributes``: every number, and every attribute value the catalogue knows (colours,
  materials, sizes, any attribute's value, any brand), that a draft mentions must be the
  product's own (its title, brand, category or attribute values). A small list of common
  colour and material words is checked as well, so a store whose products carry no colour
  attribute still cannot be told its kettle is "red".
- ``banned_words``: none of the operator's banned words or phrases (whole words, any case).
- ``length``: between the minimum and maximum number of characters.
- ``duplicate``: no near-copy of another product's description (Jaccard similarity of word
  3-gram shingles, over the shingles that are not store-wide boilerplate).

A draft that fails a check is marked with what failed, never dropped. Plain Python, no Django.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

#: Colour and material words a draft may only use when the product's own facts carry them.
COMMON_COLOURS = [
    "black",
    "white",
    "grey",
    "gray",
    "silver",
    "gold",
    "red",
    "blue",
    "navy",
    "green",
    "olive",
    "yellow",
    "orange",
    "pink",
    "purple",
    "brown",
    "beige",
    "cream",
    "ivory",
    "burgundy",
    "teal",
    "turquoise",
    "khaki",
    "charcoal",
]
COMMON_MATERIALS = [
    "leather",
    "cotton",
    "wool",
    "linen",
    "silk",
    "polyester",
    "nylon",
    "denim",
    "suede",
    "cashmere",
    "bamboo",
    "oak",
    "walnut",
    "pine",
    "steel",
    "aluminium",
    "aluminum",
    "titanium",
    "copper",
    "brass",
    "glass",
    "ceramic",
    "porcelain",
    "plastic",
    "rubber",
    "carbon",
    "stainless",
]

WORD_RE = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
SHINGLE = 3


@dataclass(frozen=True)
class ProductFacts:
    """What a product is, as far as copy may tell: the only source of its attribute values."""

    product_id: int
    title: str
    description: str = ""
    category: str = ""
    brand: str = ""
    attributes: Mapping[str, object] = field(default_factory=dict)

    def fact_text(self) -> str:
        """Title, brand, category and attribute keys and values, lower-cased: the text a
        mentioned value must appear in."""
        parts = [self.title, self.brand, self.category]
        for key, value in self.attributes.items():
            parts.append(str(key).replace("_", " "))
            if not isinstance(value, bool):
                parts.extend(str(v) for v in (value if isinstance(value, list) else [value]))
        return normalise(" ".join(p for p in parts if p))


@dataclass(frozen=True)
class GuardrailSettings:
    """The bounds a draft must stay inside."""

    min_chars: int = 80
    max_chars: int = 1200
    banned_words: tuple[str, ...] = ()
    duplicate_threshold: float = 0.8


@dataclass(frozen=True)
class Check:
    """One guardrail's verdict on one draft: its name, whether it passed and why not."""

    name: str
    ok: bool
    detail: str = ""

    def as_dict(self) -> dict:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


CHECK_NAMES = ("attributes", "banned_words", "length", "duplicate")


def normalise(text: str) -> str:
    """Lower case, words separated by single spaces (punctuation dropped)."""
    return " ".join(WORD_RE.findall(text.lower().replace("-", " ")))


def numbers_in(text: str) -> set[str]:
    """The numbers ``text`` mentions (``3``, ``12.5``, ``42`` of ``42mm``), decimal commas
    read as points."""
    return {m.replace(",", ".") for m in re.findall(r"\d+(?:[.,]\d+)?", text)}


def _phrase_in(phrase: str, padded_text: str) -> bool:
    return f" {phrase} " in padded_text


class AttributeVocabulary:
    """Every attribute value (and brand) the catalogue uses, normalised: the values a draft
    may mention only when its own product has them."""

    def __init__(self, phrases: Iterable[str]):
        kept = {
            p for p in (normalise(x) for x in phrases) if p and not p.replace(" ", "").isdigit()
        }
        kept = {p for p in kept if len(p) >= 3}
        self.phrases = frozenset(kept)
        # longest first, so "navy blue" is read before "blue"
        ordered = sorted(self.phrases, key=lambda p: (-len(p), p))
        self._pattern = (
            re.compile(
                r"(?<![a-z0-9])(?:" + "|".join(re.escape(p) for p in ordered) + r")(?![a-z0-9])"
            )
            if ordered
            else None
        )

    @classmethod
    def from_products(cls, products: Iterable[ProductFacts]) -> AttributeVocabulary:
        phrases: set[str] = set(COMMON_COLOURS) | set(COMMON_MATERIALS)
        for facts in products:
            if facts.brand:
                phrases.add(facts.brand)
            for key, value in facts.attributes.items():
                for v in value if isinstance(value, list) else [value]:
                    if not isinstance(v, str):
                        continue
                    phrases.add(v)
                    if "size" in str(key).lower() and len(normalise(v)) < 3:
                        # "M", "XL": too short to look for alone, read as "size M"
                        phrases.add(f"{normalise(str(key))} {v}")
        return cls(phrases)

    def mentioned(self, text: str) -> list[str]:
        """The known values ``text`` mentions, in order, longest match first."""
        if self._pattern is None:
            return []
        return self._pattern.findall(normalise(text))


def invented_values(text: str, facts: ProductFacts, vocabulary: AttributeVocabulary) -> list[str]:
    """The numbers and known attribute values ``text`` mentions that ``facts`` do not carry."""
    own = f" {facts.fact_text()} "
    own_numbers = numbers_in(
        " ".join([facts.title, facts.brand, facts.category, *map(str, facts.attributes.values())])
    )
    invented = sorted(numbers_in(text) - own_numbers, key=lambda n: text.find(n))
    for phrase in vocabulary.mentioned(text):
        if not _phrase_in(phrase, own) and phrase not in invented:
            invented.append(phrase)
    return invented


def shingles(text: str, size: int = SHINGLE) -> set[tuple[str, ...]]:
    words = normalise(text).split()
    if len(words) < size:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


class DuplicateIndex:
    """Word-shingle postings of the store's descriptions, to find the one a draft copies.

    A shingle that more than ``boilerplate_share`` of the descriptions carry (and at least
    ``boilerplate_min`` of them) is boilerplate ("it features", "designed for") and is left out
    of the similarity on both sides, so a store whose descriptions share a template does not
    read every draft as a copy, while a copied description still scores 1.
    """

    def __init__(
        self,
        descriptions: Mapping[int, str],
        *,
        boilerplate_share: float = 0.02,
        boilerplate_min: int = 50,
    ):
        self._sets = {pid: shingles(text) for pid, text in descriptions.items() if text}
        df: Counter = Counter()
        for s in self._sets.values():
            df.update(s)
        cap = max(boilerplate_min, int(boilerplate_share * max(1, len(self._sets))))
        self._common = {s for s, n in df.items() if n > cap}
        self._postings: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for pid, s in self._sets.items():
            informative = s - self._common
            self._sets[pid] = informative
            for sh in informative:
                self._postings[sh].append(pid)

    def most_similar(self, text: str, *, exclude: int | None = None) -> tuple[int | None, float]:
        """``(product id, Jaccard)`` of the description most like ``text`` (``None, 0``)."""
        mine = shingles(text) - self._common
        if not mine:
            return None, 0.0
        shared: Counter = Counter()
        for sh in mine:
            for pid in self._postings.get(sh, ()):
                if pid != exclude:
                    shared[pid] += 1
        best, best_score = None, 0.0
        for pid, n in shared.items():
            score = n / (len(mine) + len(self._sets[pid]) - n)
            if score > best_score:
                best, best_score = pid, score
        return best, best_score


def banned_in(text: str, banned_words: Sequence[str]) -> list[str]:
    """The banned words or phrases ``text`` uses (whole words, any case)."""
    padded = f" {normalise(text)} "
    return [w for w in banned_words if normalise(w) and _phrase_in(normalise(w), padded)]


def check_draft(
    text: str,
    facts: ProductFacts,
    *,
    vocabulary: AttributeVocabulary,
    duplicates: DuplicateIndex | None,
    settings: GuardrailSettings,
) -> list[Check]:
    """Every guardrail's verdict on ``text`` as the copy of ``facts``' product."""
    checks = []
    invented = invented_values(text, facts, vocabulary)
    checks.append(
        Check(
            "attributes",
            not invented,
            "mentions values the product does not have: " + ", ".join(invented) if invented else "",
        )
    )
    banned = banned_in(text, settings.banned_words)
    checks.append(
        Check(
            "banned_words", not banned, "uses banned words: " + ", ".join(banned) if banned else ""
        )
    )
    n = len(text.strip())
    if n < settings.min_chars:
        checks.append(
            Check("length", False, f"{n} characters, under the minimum {settings.min_chars}")
        )
    elif n > settings.max_chars:
        checks.append(
            Check("length", False, f"{n} characters, over the maximum {settings.max_chars}")
        )
    else:
        checks.append(Check("length", True))
    if duplicates is not None:
        other, score = duplicates.most_similar(text, exclude=facts.product_id)
        copied = other is not None and score >= settings.duplicate_threshold
        checks.append(
            Check(
                "duplicate",
                not copied,
                f"near-copy of product #{other}'s description (similarity {score:.2f})"
                if copied
                else "",
            )
        )
    return checks


def passes(checks: Sequence[Check]) -> bool:
    """Whether a draft passed every check."""
    return all(c.ok for c in checks)
