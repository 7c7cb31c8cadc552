"""Promotion lines per shopper segment: the one-sentence copy a personalised promotion shows
(``/api/v1/promotions``) to the shoppers of one segment, drafted here and approved by a person in
the same queue as the descriptions. Plain Python, no Django.

A line is written from the product's own facts only (title, brand, category, price and its
first attributes) and takes the angle that suits the segment, chosen from what the segments job
measured about it, never from its name:

- ``affinity``: the product's category is one the segment leans to (lift over the store > 1):
  the line names that category first;
- ``value``: the segment converts less often than the store: the line leads with the price;
- ``discovery``: otherwise: the line leads with what the product is (category and specifics).

The guardrails of the descriptions check every line too (no value the product does not have, no
banned word, length bounds); a failing line is marked, never dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from catalog.copywriting.logic.drafting import TEMPLATE_DRAFTER, Draft, clean_generation
from catalog.copywriting.logic.guardrails import (
    AttributeVocabulary,
    Check,
    GuardrailSettings,
    ProductFacts,
    check_draft,
    normalise,
)

#: a promotion line's length bounds (characters): one sentence a slot can show
LINE_MIN_CHARS = 20
LINE_MAX_CHARS = 200
#: the attributes a line may name, at most
LINE_SPECS = 2

ANGLES = ("affinity", "value", "discovery")

PROMO_PROMPT = (
    "Write one short sentence promoting this product to {audience}. Mention only the facts "
    "given.\nProduct: {title}\nBrand: {brand}\nCategory: {category}\nPrice: {price}\n"
    "Attributes: {attributes}\nSentence:"
)


@dataclass(frozen=True)
class SegmentFacts:
    """What the segments job measured about one segment: the categories its shoppers lean to
    (``(name, share, lift over the store)``, best first) and its conversion rate beside the
    store's."""

    name: str
    top_categories: tuple[tuple[str, float, float], ...] = ()
    conversion_rate: float = 0.0
    store_conversion_rate: float = 0.0

    def leans_to(self, category: str) -> bool:
        want = category.strip().lower()
        return bool(want) and any(
            name.strip().lower() == want and lift > 1.0
            for name, _share, lift in self.top_categories
        )

    @property
    def converts_below_store(self) -> bool:
        return self.store_conversion_rate > 0 and self.conversion_rate < self.store_conversion_rate


@dataclass(frozen=True)
class PricedFacts:
    """A product's facts with the price a line may quote."""

    facts: ProductFacts
    price: float | None = None
    currency: str = ""


def angle_for(product: ProductFacts, segment: SegmentFacts) -> str:
    """The line's angle for this segment (see the module docstring)."""
    if product.category and segment.leans_to(product.category):
        return "affinity"
    if segment.converts_below_store:
        return "value"
    return "discovery"


def _specifics(attributes, limit: int = LINE_SPECS, *, title: str = "") -> str:
    """Up to ``limit`` of the product's attributes as "key value", leaving out what the title
    already says (a line that repeats "navy" after "… navy" reads as filler)."""
    said = f" {normalise(title)} "
    out = []
    for key, value in attributes.items():
        if len(out) >= limit:
            break
        if isinstance(value, bool) or value in (None, "", []):
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        if f" {normalise(shown)} " in said:
            continue
        out.append(f"{str(key).replace('_', ' ')} {shown}")
    return ", ".join(out)


def _price(item: PricedFacts) -> str:
    if item.price is None:
        return ""
    return f"{item.price:.2f} {item.currency}".strip()


def checked_facts(item: PricedFacts) -> ProductFacts:
    """The facts a line is checked against: the product's own, and the price it may quote."""
    if item.price is None:
        return item.facts
    f = item.facts
    attributes = {**f.attributes, "price": f"{item.price:.2f}"}
    return ProductFacts(f.product_id, f.title, f.description, f.category, f.brand, attributes)


def template_line(item: PricedFacts, segment: SegmentFacts) -> tuple[str, str]:
    """``(line, angle)``: the offline drafter's promotion line for the segment."""
    facts = item.facts
    title = facts.title.strip().rstrip(".")
    by = f" by {facts.brand}" if facts.brand and facts.brand.lower() not in title.lower() else ""
    specifics = _specifics(facts.attributes, title=facts.title)
    price = _price(item)
    angle = angle_for(facts, segment)
    if angle == "affinity":
        line = f"From the {facts.category.lower()} range you return to: {title}{by}"
        line += f", {price}." if price else "."
    elif angle == "value" and price:
        line = f"{title}{by} for {price}"
        line += f" ({specifics})." if specifics else "."
    else:
        angle = "discovery"
        what = f"{facts.category.lower()}: " if facts.category else ""
        line = f"Worth a look in {what}{title}{by}" if what else f"Worth a look: {title}{by}"
        line += f", {specifics}." if specifics else "."
    return line, angle


def audience(segment: SegmentFacts) -> str:
    """The segment as a prompt names it (its leanings, never its shoppers)."""
    leaning = [name for name, _share, lift in segment.top_categories if lift > 1.0][:2]
    if leaning:
        return "shoppers who mostly browse " + " and ".join(leaning)
    return "shoppers of an online shop"


def line_prompt(item: PricedFacts, segment: SegmentFacts) -> str:
    facts = item.facts
    return PROMO_PROMPT.format(
        audience=audience(segment),
        title=facts.title,
        brand=facts.brand or "-",
        category=facts.category or "-",
        price=_price(item) or "-",
        attributes=_specifics(facts.attributes, limit=6) or "-",
    )


def line_settings(settings: GuardrailSettings) -> GuardrailSettings:
    """The descriptions' guardrails with a line's length bounds."""
    return GuardrailSettings(
        min_chars=LINE_MIN_CHARS,
        max_chars=LINE_MAX_CHARS,
        banned_words=settings.banned_words,
        duplicate_threshold=settings.duplicate_threshold,
    )


Generate = Callable[[Sequence[str]], list[str]]


def draft_lines(
    items: Sequence[PricedFacts],
    segments: Sequence[SegmentFacts],
    *,
    vocabulary: AttributeVocabulary,
    settings: GuardrailSettings,
    generate: Generate | None = None,
    drafter: str = TEMPLATE_DRAFTER,
    batch_size: int = 16,
    progress: Callable[[int, int], None] | None = None,
) -> list[tuple[Draft, str, list[Check]]]:
    """A line per (product, segment), with its angle and the guardrails' verdicts, product by
    product. ``generate`` (a generative model's batch call on prompts) writes them when set."""
    bounds = line_settings(settings)
    pairs = [(item, segment) for item in items for segment in segments]
    out: list[tuple[Draft, str, list[Check]]] = []
    for start in range(0, len(pairs), batch_size):
        batch = pairs[start : start + batch_size]
        if generate is not None:
            texts = generate([line_prompt(i, s) for i, s in batch])
            written = [
                (clean_generation(t, max_sentences=1), angle_for(i.facts, s))
                for t, (i, s) in zip(texts, batch, strict=True)
            ]
        else:
            written = [template_line(i, s) for i, s in batch]
        for (item, segment), (text, angle) in zip(batch, written, strict=True):
            draft = Draft(item.facts.product_id, text, drafter, (), segment=segment.name)
            # a line is not a description: the near-copy check of descriptions does not apply
            checks = check_draft(
                text, checked_facts(item), vocabulary=vocabulary, duplicates=None, settings=bounds
            )
            out.append((draft, angle, checks))
        if progress is not None:
            progress(len(out), len(pairs))
    return out
