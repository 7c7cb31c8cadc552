"""``generate_copy``: draft descriptions for products whose own are missing or thin (or the ones
named), check every draft against the guardrails and leave them in the approval queue
(:mod:`catalog.copywriting`). It publishes nothing, trains nothing and creates no version.
With ``promotion_lines``, it drafts a promotion line per shopper segment for the campaigns'
products instead (:mod:`catalog.copywriting.logic.promo_lines`).

The drafter: the generator model (``AISLE_GENERATOR_MODEL``, loaded in bf16/fp16 on a GPU,
batched) when one is configured, else the offline template/extractive drafter, which reads the
similar products by the active retriever's stored vectors (same-category products without one).
"""

from __future__ import annotations

from django.conf import settings

from catalog.copywriting import selectors as copy_selectors
from catalog.copywriting import services as copy_services
from catalog.copywriting.logic import pipeline, promo_lines
from catalog.copywriting.logic.drafting import (
    TEMPLATE_DRAFTER,
    model_drafter_label,
    model_prompt,
)
from catalog.copywriting.logic.guardrails import AttributeVocabulary
from training import selectors
from training.context import JobContext
from training.models import Task


def stored_vectors(ctx: JobContext) -> dict:
    """The active retriever's product vectors by product id (empty without one)."""
    from training.vectors import load_vectors

    version = selectors.active_version(Task.RETRIEVER)
    if version is None:
        ctx.log("no active retriever: similar products are taken from the same category")
        return {}
    ids, matrix = load_vectors(version.pk)
    ctx.log(f"similar products by retriever version #{version.pk} ({len(ids)} stored vectors)")
    return dict(zip(ids, matrix, strict=True))


def model_generate(ctx: JobContext, source: str, prompt=model_prompt):
    """The batch call of the configured generator (weights in bf16/fp16 on a GPU) on
    ``prompt(item)`` of each item of a batch."""
    from training.ml.device import pick_device
    from training.ml.generator import load_generator

    p = ctx.params
    device = pick_device(p["device"])
    ctx.set_device(device)
    generator = load_generator(source, device=device.device, dtype=device.dtype)
    ctx.log(f"generator {source} on {device.name}")

    def generate(batch):
        outs = generator.generate(
            [prompt(f) for f in batch],
            max_new_tokens=p["max_new_tokens"],
            batch_size=p["batch_size"],
            max_input_tokens=384,
        )
        return [o[0] if o else "" for o in outs]

    return generate


def draft_progress(ctx: JobContext, done_word: str):
    """The drafters' progress callback: cancel between batches, "N of M <done_word>"."""

    def progress(done: int, total: int) -> None:
        ctx.check_cancel()
        ctx.message(f"{done} of {total} {done_word}")
        ctx.progress(done / max(1, total), done, total, None, {})

    return progress


def run(ctx: JobContext) -> None:
    if ctx.params["promotion_lines"]:
        run_promotion_lines(ctx)
        return
    p = ctx.params
    with ctx.stage("read", 0.0, 0.1):
        catalogue = list(copy_selectors.product_facts())
        if p["products"].strip():
            wanted = list(dict.fromkeys(e.strip() for e in p["products"].split(",") if e.strip()))
            ids, unknown = copy_selectors.product_ids_by_external(wanted)
            if unknown:
                ctx.log(f"unknown products left out: {', '.join(unknown[:20])}")
            targets = list(copy_selectors.product_facts(ids))
        else:
            targets = pipeline.needs_copy(catalogue, min_words=p["min_words"])
        if p["limit"]:
            targets = targets[: p["limit"]]
        ctx.log(f"{len(targets)} product(s) to draft for, out of {len(catalogue)} active")
    source = settings.AISLE_GENERATOR_MODEL
    with ctx.stage("neighbours", 0.1, 0.2):
        neighbours = (
            {}
            if source
            else pipeline.similar_products(
                targets, catalogue, vectors=stored_vectors(ctx), k=p["neighbours"]
            )
        )
    generate = model_generate(ctx, source) if source else None
    drafter = model_drafter_label(source) if source else TEMPLATE_DRAFTER
    if not source:
        ctx.log(
            "no generator model configured (AISLE_GENERATOR_MODEL): the offline "
            "template/extractive drafter writes the drafts, labelled 'template-extractive'"
        )

    progress = draft_progress(ctx, "drafted")
    with ctx.stage("draft", 0.2, 0.95):
        drafted = pipeline.draft_products(
            targets,
            catalogue,
            neighbours=neighbours,
            settings=copy_selectors.guardrail_settings(
                min_chars=p["min_chars"],
                max_chars=p["max_chars"],
                duplicate_threshold=p["duplicate_threshold"],
            ),
            generate=generate,
            drafter=drafter,
            batch_size=p["batch_size"],
            progress=progress,
        )
    current = {f.product_id: f.description for f in targets}
    with ctx.stage("store", 0.95, 1.0):
        copy_services.drafts_store(
            drafted=[(d, checks, current[d.product_id]) for d, checks in drafted],
            job_id=ctx.job_id,
        )
    failures: dict[str, int] = {}
    for _d, checks in drafted:
        for c in checks:
            if not c.ok:
                failures[c.name] = failures.get(c.name, 0) + 1
    passed = sum(all(c.ok for c in checks) for _d, checks in drafted)
    ctx.log(f"{len(drafted)} draft(s): {passed} pass every check, {len(drafted) - passed} marked")
    ctx.finish(
        None,
        {
            "drafted": len(drafted),
            "passed": passed,
            "marked": len(drafted) - passed,
            "drafter": drafter,
            **{f"failed_{name}": n for name, n in sorted(failures.items())},
        },
    )


def segment_facts(ctx: JobContext) -> list[promo_lines.SegmentFacts]:
    """The latest shopper_segments run's segments, with the store's conversion rate (the
    segments' rates weighted by their sizes)."""
    from recommend.insights.selectors.profiles import segment_profiles

    rows = segment_profiles()
    shoppers = sum(r["size"] for r in rows)
    store_rate = sum(r["conversion_rate"] * r["size"] for r in rows) / shoppers if shoppers else 0.0
    ctx.log(
        f"{len(rows)} segment(s) of {shoppers} shoppers, store conversion rate {store_rate:.1%}"
    )
    return [
        promo_lines.SegmentFacts(
            name=r["name"],
            top_categories=tuple(
                (str(c[0]), float(c[1]), float(c[2])) for c in r["top_categories"] if len(c) >= 3
            ),
            conversion_rate=float(r["conversion_rate"]),
            store_conversion_rate=store_rate,
        )
        for r in rows
    ]


def run_promotion_lines(ctx: JobContext) -> None:
    """A promotion line per (campaign product, shopper segment), checked and queued."""
    from django.utils import timezone

    from recommend.promotions.selectors import copy_product_ids

    p = ctx.params
    with ctx.stage("read", 0.0, 0.1):
        segments = segment_facts(ctx)
        if not segments:
            raise ValueError(
                "No shopper segments yet: run the shopper_segments job first (promotion lines "
                "are drafted per segment)."
            )
        if p["products"].strip():
            wanted = list(dict.fromkeys(e.strip() for e in p["products"].split(",") if e.strip()))
            ids, unknown = copy_selectors.product_ids_by_external(wanted)
            if unknown:
                ctx.log(f"unknown products left out: {', '.join(unknown[:20])}")
        else:
            ids = copy_product_ids(timezone.now())
        if p["limit"]:
            ids = ids[: p["limit"]]
        if not ids:
            raise ValueError(
                "No products to draft lines for: no campaign that has not ended has active "
                "products, and none were named."
            )
        items = copy_selectors.priced_facts(ids)
        vocabulary = AttributeVocabulary.from_products(copy_selectors.product_facts())
        ctx.log(f"{len(items)} product(s) × {len(segments)} segment(s)")
    source = settings.AISLE_GENERATOR_MODEL
    generate = model_generate(ctx, source, prompt=lambda pair: pair) if source else None
    drafter = model_drafter_label(source) if source else TEMPLATE_DRAFTER

    progress = draft_progress(ctx, "lines drafted")
    with ctx.stage("draft", 0.1, 0.95):
        drafted = promo_lines.draft_lines(
            items,
            segments,
            vocabulary=vocabulary,
            settings=copy_selectors.guardrail_settings(),
            generate=generate,
            drafter=drafter,
            batch_size=p["batch_size"],
            progress=progress,
        )
    with ctx.stage("store", 0.95, 1.0):
        current = copy_selectors.approved_line_texts([item.facts.product_id for item in items])
        copy_services.drafts_store(
            drafted=[
                (d, checks, current.get((d.product_id, d.segment), "")) for d, _a, checks in drafted
            ],
            job_id=ctx.job_id,
        )
    passed = sum(all(c.ok for c in checks) for _d, _a, checks in drafted)
    angles: dict[str, int] = {}
    for _d, angle, _c in drafted:
        angles[angle] = angles.get(angle, 0) + 1
    ctx.log(f"{len(drafted)} line(s): {passed} pass every check, {len(drafted) - passed} marked")
    ctx.finish(
        None,
        {
            "drafted": len(drafted),
            "passed": passed,
            "marked": len(drafted) - passed,
            "segments": len(segments),
            "drafter": drafter,
            **{f"angle_{a}": n for a, n in sorted(angles.items())},
        },
    )
