"""Reads of the copy drafts: the catalogue as the drafters and guardrails see it, the banned
words, and the products that need copy."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from catalog.copywriting.logic.guardrails import GuardrailSettings, ProductFacts
from catalog.copywriting.logic.promo_lines import PricedFacts
from catalog.copywriting.models import BannedWord, CopyDraft, DraftStatus
from catalog.models import Category, Product

CHUNK = 5000


def banned_words() -> tuple[str, ...]:
    return tuple(BannedWord.objects.values_list("word", flat=True))


def guardrail_settings(
    *, min_chars: int = 80, max_chars: int = 1200, duplicate_threshold: float = 0.8
) -> GuardrailSettings:
    """The guardrails' bounds with the operators' current banned words."""
    return GuardrailSettings(
        min_chars=min_chars,
        max_chars=max_chars,
        banned_words=banned_words(),
        duplicate_threshold=duplicate_threshold,
    )


def product_facts(product_ids: Sequence[int] | None = None) -> Iterator[ProductFacts]:
    """The active products (or ``product_ids``, active or not) as :class:`ProductFacts`, read
    in chunks: title, description, category name, brand name and attributes."""
    names = dict(Category.objects.values_list("id", "name"))
    qs = Product.objects.order_by("id")
    qs = qs.filter(pk__in=list(product_ids)) if product_ids is not None else qs.filter(active=True)
    for pk, title, description, category_id, brand, attributes in qs.values_list(
        "id", "title", "description", "category_id", "brand__name", "attributes"
    ).iterator(chunk_size=CHUNK):
        yield ProductFacts(
            product_id=pk,
            title=title,
            description=description or "",
            category=names.get(category_id, ""),
            brand=brand or "",
            attributes=attributes if isinstance(attributes, dict) else {},
        )


def priced_facts(product_ids: Sequence[int]) -> list[PricedFacts]:
    """``product_ids``' facts with the price and currency a promotion line may quote."""
    prices = {
        pk: (price, currency)
        for pk, price, currency in Product.objects.filter(pk__in=list(product_ids)).values_list(
            "id", "price", "currency"
        )
    }
    out = []
    for facts in product_facts(product_ids):
        price, currency = prices.get(facts.product_id, (None, ""))
        out.append(PricedFacts(facts, float(price) if price is not None else None, currency or ""))
    return out


def approved_line(product_id: int, segment: str) -> CopyDraft | None:
    """The promotion line approved last for the product and the shopper segment, if any."""
    if not segment:
        return None
    return (
        CopyDraft.objects.filter(
            product_id=product_id, segment=segment, status=DraftStatus.APPROVED
        )
        .order_by("-reviewed_at", "-id")
        .only("id", "text", "segment", "drafter")
        .first()
    )


def approved_line_texts(product_ids: Sequence[int]) -> dict[tuple[int, str], str]:
    """The text of the line approved last per (product, segment), for ``product_ids``, in one
    query: what a new draft of that line would replace."""
    out: dict[tuple[int, str], str] = {}
    rows = (
        CopyDraft.objects.filter(product_id__in=list(product_ids), status=DraftStatus.APPROVED)
        .exclude(segment="")
        .order_by("reviewed_at", "id")
        .values_list("product_id", "segment", "text")
    )
    for product_id, segment, text in rows:
        out[(product_id, segment)] = text  # later approvals overwrite earlier ones
    return out


def product_ids_by_external(external_ids: Sequence[str]) -> tuple[list[int], list[str]]:
    """``(ids found, external ids unknown)``, in the order given."""
    found = dict(
        Product.objects.filter(external_id__in=list(external_ids)).values_list("external_id", "id")
    )
    return [found[e] for e in external_ids if e in found], [
        e for e in external_ids if e not in found
    ]
