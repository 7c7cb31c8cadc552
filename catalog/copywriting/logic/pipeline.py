"""One run of the drafters over a set of products: pick each product's well-written similar
products, draft (offline template/extractive drafter or a generative model, in batches), and run
every guardrail on each draft. Plain Python + numpy, no Django."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from catalog.copywriting.logic.drafting import (
    TEMPLATE_DRAFTER,
    Draft,
    clean_generation,
    is_thin,
    nearest_neighbours,
    template_draft,
    writing_score,
)
from catalog.copywriting.logic.guardrails import (
    AttributeVocabulary,
    Check,
    DuplicateIndex,
    GuardrailSettings,
    ProductFacts,
    check_draft,
)

#: a neighbour's description must score this well (``writing_score``) to lend sentences
WELL_WRITTEN = 0.6

Generate = Callable[[Sequence[ProductFacts]], list[str]]
Progress = Callable[[int, int], None]


def needs_copy(products: Sequence[ProductFacts], *, min_words: int) -> list[ProductFacts]:
    """The products whose description is missing or thin (under ``min_words`` words)."""
    return [p for p in products if is_thin(p.description, min_words=min_words)]


def similar_products(
    targets: Sequence[ProductFacts],
    catalogue: Sequence[ProductFacts],
    *,
    vectors: Mapping[int, np.ndarray] | None = None,
    k: int = 5,
) -> dict[int, list[int]]:
    """Each target's ``k`` most similar well-written products (never itself): by cosine over
    the encoder's stored ``vectors`` where both have one, else the best-written products of
    its category; either way those of its category, and of its product type (a ``type``
    attribute) when there are any, come first — a charger borrows from chargers, not cases."""
    lenders = [p for p in catalogue if writing_score(p.description) >= WELL_WRITTEN]
    by_category: dict[str, list[ProductFacts]] = defaultdict(list)
    for p in sorted(lenders, key=lambda p: (-writing_score(p.description), p.product_id)):
        by_category[p.category].append(p)
    out: dict[int, list[int]] = {}
    vectors = vectors or {}
    with_vec = [p for p in lenders if p.product_id in vectors]
    targets_vec = [t for t in targets if t.product_id in vectors]
    if with_vec and targets_vec:
        cand = np.stack([vectors[p.product_id] for p in with_vec])
        tv = np.stack([vectors[t.product_id] for t in targets_vec])
        # a wide pool, then the ones that sell the same kind of thing first: the same category,
        # and within it the same product type when the catalogue records one
        pool = nearest_neighbours(tv, cand, k=max(50, 10 * k))
        for t, idx in zip(targets_vec, pool, strict=True):
            near = [with_vec[i] for i in idx if with_vec[i].product_id != t.product_id]
            same = [p for p in near if p.category == t.category] or near
            kind = t.attributes.get("type")
            if kind is not None:
                same = [p for p in same if p.attributes.get("type") == kind] or same
            out[t.product_id] = [p.product_id for p in same[:k]]
    for t in targets:
        if t.product_id not in out:
            same = [p for p in by_category.get(t.category, []) if p.product_id != t.product_id]
            kind = t.attributes.get("type")
            if kind is not None:
                same = [p for p in same if p.attributes.get("type") == kind] or same
            out[t.product_id] = [p.product_id for p in same[:k]]
    return out


def draft_products(
    targets: Sequence[ProductFacts],
    catalogue: Sequence[ProductFacts],
    *,
    neighbours: Mapping[int, Sequence[int]],
    settings: GuardrailSettings,
    generate: Generate | None = None,
    drafter: str = TEMPLATE_DRAFTER,
    batch_size: int = 16,
    progress: Progress | None = None,
) -> list[tuple[Draft, list[Check]]]:
    """A draft and its guardrail verdicts per target, in target order. ``generate`` (a
    generative model's batch call, texts in the order given) writes the drafts when set; the
    offline template/extractive drafter otherwise. Every draft is checked; none is dropped."""
    by_id = {p.product_id: p for p in catalogue}
    vocabulary = AttributeVocabulary.from_products([*catalogue, *targets])
    duplicates = DuplicateIndex({p.product_id: p.description for p in catalogue})
    out: list[tuple[Draft, list[Check]]] = []
    for start in range(0, len(targets), batch_size):
        batch = list(targets[start : start + batch_size])
        if generate is not None:
            drafts = [
                Draft(t.product_id, clean_generation(text), drafter)
                for t, text in zip(batch, generate(batch), strict=True)
            ]
        else:
            drafts = [
                template_draft(
                    t,
                    [by_id[i] for i in neighbours.get(t.product_id, ()) if i in by_id],
                    vocabulary,
                )
                for t in batch
            ]
        for t, d in zip(batch, drafts, strict=True):
            checks = check_draft(
                d.text, t, vocabulary=vocabulary, duplicates=duplicates, settings=settings
            )
            out.append((d, checks))
        if progress is not None:
            progress(len(out), len(targets))
    return out
