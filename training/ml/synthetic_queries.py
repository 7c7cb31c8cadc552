"""(query, product) training pairs from the catalogue alone, for a store with no search logs.

A new store has products and no search history; the retriever can still learn the store's
vocabulary from queries written from the products themselves. Each rule writes short keyword
queries, the way shoppers type into a search box (no sentence frames: a question or "looking
for ..." template would only teach the encoder the frame):

``title_span``
    a contiguous span of 2-4 words of the title's head (the part before a dash, comma or
    parenthesis), e.g. "orbit over-ear headphones";
``attribute_span``
    one attribute value before the product's noun (its ``type`` attribute, else the last
    words of the title's head, else the category), e.g. "silver over-ear headphones";
``category_attribute``
    the category's name with one or two attribute values, e.g. "headphones bluetooth navy";
``brand_type``
    the brand with the product's noun, e.g. "nordtek over-ear headphones";
``generated``
    doc2query-style queries a generator model writes from the product text (only when
    one is configured: ``AISLE_GENERATOR_MODEL``, see :mod:`training.ml.generator`).

Hard negatives come from the current retriever (:func:`mine_hard_negatives`): the best-ranked
product that is not the positive and does not contain every word of the query (a product that
does is as likely relevant as the positive, and training it away would teach the wrong thing).

Plain Python, no Django; never reads the demo store's code (a test holds that).
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

RULES = ("title_span", "attribute_span", "category_attribute", "brand_type", "generated")
#: What a pair made here is called where pair kinds are counted (data value, snapshots).
PAIR_KIND = "synthetic"

_HEAD_CUT = re.compile(r"\s+[—–\-|,(:/]\s*|\s*[,(|]\s*")
_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "of",
        "for",
        "with",
        "in",
        "on",
        "to",
        "by",
        "from",
        "at",
        "or",
        "x",
        "&",
        "-",
        "de",
        "la",
        "le",
        "et",
        "und",
        "der",
        "die",
        "das",
    ]
)
_SKIP_ATTRIBUTES = frozenset({"model", "sku", "ean", "gtin", "id", "url", "image", "type"})


@dataclass(frozen=True)
class CatalogItem:
    """One product as the synthesis rules see it, free of Django models."""

    id: Hashable
    title: str
    brand: str = ""
    category: str = ""
    description: str = ""
    attributes: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class SyntheticPair:
    """A synthetic query and the product it was written from, with the rule that wrote it."""

    query: str
    product_id: Hashable
    rule: str
    weight: float = 1.0
    kind: str = PAIR_KIND


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())


def _words(text: str) -> list[str]:
    return _WORD.findall(_norm(text))


def _title_head(title: str) -> list[str]:
    """The words of the title before its first separator (dash, comma, bar, parenthesis)."""
    head = _HEAD_CUT.split(_norm(title), maxsplit=1)[0]
    return _words(head) or _words(title)


def _attribute_values(item: CatalogItem) -> list[str]:
    """Short, queryable attribute values: strings of at most 3 words, booleans as their name."""
    out: list[str] = []
    for name, value in item.attributes.items():
        if name.casefold() in _SKIP_ATTRIBUTES or value is None:
            continue
        if isinstance(value, bool):
            if value:
                out.append(" ".join(_words(name.replace("_", " "))))
            continue
        if isinstance(value, (list, tuple)):
            value = value[0] if value else ""
        words = _words(str(value))
        if 1 <= len(words) <= 3:
            out.append(" ".join(words))
    return list(dict.fromkeys(v for v in out if v))


def _noun(item: CatalogItem) -> str:
    """What the product is: its ``type`` attribute, else the last two words of the title's
    head, else its category's (last) name."""
    kind = item.attributes.get("type") if item.attributes else None
    if isinstance(kind, str) and _words(kind):
        return " ".join(_words(kind))
    head = [w for w in _title_head(item.title) if not w.isdigit()]
    if len(head) >= 2:
        return " ".join(head[-2:])
    return _category_name(item) or " ".join(head)


def _category_name(item: CatalogItem) -> str:
    """The leaf name of a category label such as "Electronics > Headphones"."""
    leaf = re.split(r"\s*>\s*", item.category or "")[-1]
    return " ".join(_words(leaf))


def _title_span(item: CatalogItem, rng: random.Random) -> str | None:
    head = _title_head(item.title)
    if len(head) < 2:
        return " ".join(head) or None
    length = rng.randint(2, min(4, len(head)))
    start = rng.randint(0, len(head) - length)
    span = head[start : start + length]
    if all(w in _STOPWORDS for w in span):
        return None
    return " ".join(span)


def _attribute_span(item: CatalogItem, rng: random.Random) -> str | None:
    noun = _noun(item)
    values = [v for v in _attribute_values(item) if v not in noun]
    if not values or not noun:
        return None
    return f"{rng.choice(values)} {noun}"


def _category_attribute(item: CatalogItem, rng: random.Random) -> str | None:
    category = _category_name(item)
    values = _attribute_values(item)
    if not category or not values:
        return None
    chosen = rng.sample(values, min(len(values), rng.choice((1, 2))))
    return " ".join([category, *chosen])


def _brand_type(item: CatalogItem, rng: random.Random) -> str | None:
    brand = " ".join(_words(item.brand))
    noun = _noun(item)
    if not brand or not noun:
        return None
    return noun if noun.startswith(brand) else f"{brand} {noun}"


_RULE_FUNCTIONS: dict[str, Callable[[CatalogItem, random.Random], str | None]] = {
    "title_span": _title_span,
    "attribute_span": _attribute_span,
    "category_attribute": _category_attribute,
    "brand_type": _brand_type,
}

#: ``generate(product texts) -> one list of generated queries per text`` (a generator model).
QueryGenerator = Callable[[Sequence[str]], list[list[str]]]


def synthesize_pairs(
    items: Iterable[CatalogItem],
    *,
    rules: Sequence[str] = ("title_span", "attribute_span", "category_attribute", "brand_type"),
    per_rule: int = 1,
    seed: int = 0,
    generator: QueryGenerator | None = None,
    generator_texts: Mapping[Hashable, str] | None = None,
) -> list[SyntheticPair]:
    """Synthetic pairs for ``items``: each rule writes up to ``per_rule`` distinct queries per
    product (seeded by ``seed`` and the product id, so the output does not depend on the
    order of the items); ``generator`` adds its queries for each product (``generator_texts``
    or the title and description as its input). Queries are normalised (NFKC, casefold);
    a (query, product) pair appears once, under the first rule that wrote it."""
    unknown = set(rules) - set(_RULE_FUNCTIONS)
    if unknown:
        raise ValueError(f"unknown synthesis rule(s): {', '.join(sorted(unknown))}")
    items = list(items)
    pairs: list[SyntheticPair] = []
    seen: set[tuple[str, Hashable]] = set()

    def add(query: str | None, product_id: Hashable, rule: str) -> bool:
        query = _norm(query or "")
        if len(query) < 2 or (query, product_id) in seen:
            return False
        seen.add((query, product_id))
        pairs.append(SyntheticPair(query=query, product_id=product_id, rule=rule))
        return True

    for item in items:
        rng = random.Random(f"{seed}:{item.id}")
        for rule in rules:
            added = 0
            for _ in range(per_rule * 3):  # a few draws to find per_rule distinct queries
                added += add(_RULE_FUNCTIONS[rule](item, rng), item.id, rule)
                if added >= per_rule:
                    break
    if generator is not None and items:
        texts = [
            (generator_texts or {}).get(item.id) or f"{item.title}. {item.description}".strip()
            for item in items
        ]
        for item, queries in zip(items, generator(texts), strict=True):
            for query in queries:
                add(query, item.id, "generated")
    return pairs


def rule_counts(pairs: Iterable[SyntheticPair]) -> dict[str, int]:
    """``{rule: pairs}`` in the order of :data:`RULES`."""
    counts = dict.fromkeys(RULES, 0)
    for pair in pairs:
        counts[pair.rule] = counts.get(pair.rule, 0) + 1
    return {rule: n for rule, n in counts.items() if n}


def mine_hard_negatives(
    pairs: Sequence[SyntheticPair],
    ranked: Mapping[str, Sequence[Hashable]],
    texts: Mapping[Hashable, str],
) -> dict[tuple[str, Hashable], Hashable]:
    """``{(query, positive id): negative id}``: for each pair, the best-ranked product of
    ``ranked[query]`` (the current retriever's list) that is not the positive, is not another
    positive of the same query, and whose text does not contain every word of the query."""
    positives: dict[str, set[Hashable]] = {}
    for pair in pairs:
        positives.setdefault(pair.query, set()).add(pair.product_id)
    word_sets: dict[Hashable, set[str]] = {}
    out: dict[tuple[str, Hashable], Hashable] = {}
    for pair in pairs:
        wanted = set(_words(pair.query))
        for candidate in ranked.get(pair.query, ()):
            if candidate in positives[pair.query] or candidate not in texts:
                continue
            if candidate not in word_sets:
                word_sets[candidate] = set(_words(texts[candidate]))
            if wanted and wanted <= word_sets[candidate]:
                continue  # matches every word: likely relevant too, not a negative
            out[(pair.query, pair.product_id)] = candidate
            break
    return out


def training_examples(
    pairs: Sequence[SyntheticPair],
    texts: Mapping[Hashable, str],
    negatives: Mapping[tuple[str, Hashable], Hashable] | None = None,
) -> list[tuple[str, ...]]:
    """``(query, product text[, negative text])`` examples for ``train_retriever``."""
    out: list[tuple[str, ...]] = []
    for pair in pairs:
        text = texts.get(pair.product_id)
        if not text:
            continue
        negative = (negatives or {}).get((pair.query, pair.product_id))
        if negative is not None and texts.get(negative):
            out.append((pair.query, text, texts[negative]))
        else:
            out.append((pair.query, text))
    return out
