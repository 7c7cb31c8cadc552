"""Writes of the data quality report: run the checks and store the report, and the fix actions
— exclude-from-training flags and merging duplicates. Nothing is ever deleted: a merged
duplicate is deactivated and points at the product that kept its events, and every fix is in
the audit log.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from catalog.models import DataQualityReport, Event, ImportRun, Product, Shopper
from catalog.quality import selectors
from catalog.quality.logic import CheckResult
from catalog.quality.selectors import NeighbourPairs, QualitySettings
from platform_core.services import audit_record

# progress(fraction done, name of the check about to run)
QualityProgress = Callable[[float, str], None] | None

FLAG_MODELS = {"product": Product, "shopper": Shopper, "event": Event}


def quality_report_run(
    *,
    trigger: str = DataQualityReport.Trigger.ON_DEMAND,
    neighbours: NeighbourPairs | None = None,
    config: QualitySettings | None = None,
    job_id: int | None = None,
    import_run: ImportRun | None = None,
    progress: QualityProgress = None,
) -> DataQualityReport:
    """Run every check and store the report. ``neighbours`` answers the near-duplicate check
    (the training app passes its vectors' nearest-neighbour query); without it that check is
    reported as skipped."""
    config = config or QualitySettings()
    started = time.monotonic()
    exact: list[list[int]] = []

    def near() -> CheckResult:
        return selectors.near_duplicates(
            neighbours, threshold=config.near_duplicate_cosine, exact_groups=exact
        )

    steps: list[tuple[str, Callable[[], CheckResult]]] = [
        ("duplicate titles", selectors.duplicate_titles),
        ("near-duplicates", near),
        ("short titles", lambda: selectors.short_text("title", min_chars=config.min_title_chars)),
        (
            "short descriptions",
            lambda: selectors.short_text("description", min_chars=config.min_description_chars),
        ),
        (
            "price outliers",
            lambda: selectors.price_outliers(
                threshold=config.price_z, min_category_size=config.min_category_size
            ),
        ),
        ("events on inactive products", selectors.events_without_live_product),
        (
            "bot-like shoppers",
            lambda: selectors.bot_like_shoppers(
                threshold=config.bot_z,
                min_peak=config.bot_min_events_per_hour,
                min_ratio=config.bot_min_ratio,
            ),
        ),
        ("orphan categories", selectors.orphan_categories),
        ("reviews without ratings", selectors.reviews_without_ratings),
    ]
    results: list[dict] = []
    timings: dict[str, float] = {}
    for i, (label, check) in enumerate(steps):
        if progress is not None:
            progress(i / len(steps), label)
        began = time.monotonic()
        result = check()
        timings[result.name] = round(time.monotonic() - began, 3)
        if result.name == "duplicate_titles":
            exact = [list(group) for group in result.ids]
        results.append(result.as_dict())
    if progress is not None:
        progress(1.0, "saving the report")
    counts = {r["name"]: r["count"] for r in results if not r["skipped"]}
    return DataQualityReport.objects.create(
        trigger=trigger,
        job_id=job_id,
        import_run=import_run,
        totals={**selectors.store_totals(), "check_seconds": timings},
        counts=counts,
        checks=results,
        settings=config.as_dict(),
        issues_found=sum(counts.values()),
        duration_seconds=round(time.monotonic() - started, 3),
    )


# =========================================================================== fix actions


def training_flags_set(
    *, subject: str, ids: Sequence[int], exclude: bool = True, user=None, reason: str = ""
) -> int:
    """Set (or clear) ``exclude_from_training`` on products, shoppers or events; audited.
    Returns the number of rows changed."""
    model = FLAG_MODELS.get(subject)
    if model is None:
        raise ValidationError(f"Cannot flag {subject!r}: use one of {', '.join(FLAG_MODELS)}.")
    changed = (
        model.objects.filter(pk__in=list(ids))
        .exclude(exclude_from_training=exclude)
        .update(exclude_from_training=exclude)
    )
    audit_record(
        actor=user,
        action=f"catalog.{subject}.{'exclude_from' if exclude else 'include_in'}_training",
        object_type=f"catalog.{subject}",
        object_id=",".join(str(pk) for pk in list(ids)[:20]) + ("…" if len(ids) > 20 else ""),
        object_repr=f"{len(ids)} {subject}(s)",
        details={"changed": changed, "requested": len(ids), "reason": reason},
    )
    return changed


@dataclass(frozen=True)
class MergeResult:
    kept: int
    merged: list[int]
    events_moved: int


def products_merge(*, keep_id: int, duplicate_ids: Sequence[int], user=None) -> MergeResult:
    """Merge duplicates into one product: their events move to ``keep_id``, each duplicate is
    deactivated with ``merged_into`` set (so search stops serving it and it can be traced), and
    an audit row records what moved. Nothing is deleted."""
    duplicate_ids = sorted({int(pk) for pk in duplicate_ids} - {int(keep_id)})
    if not duplicate_ids:
        raise ValidationError("Choose at least one duplicate other than the product kept.")
    with transaction.atomic():
        keep = Product.objects.select_for_update().get(pk=keep_id)
        duplicates = list(
            Product.objects.select_for_update().filter(pk__in=duplicate_ids).order_by("pk")
        )
        missing = set(duplicate_ids) - {p.pk for p in duplicates}
        if missing:
            raise ValidationError(f"Unknown product(s): {sorted(missing)}.")
        if keep.merged_into_id:
            raise ValidationError(f"{keep} was itself merged into another product.")
        moved = Event.objects.filter(product_id__in=duplicate_ids).update(product=keep)
        Product.objects.filter(pk__in=duplicate_ids).update(
            active=False, merged_into=keep, updated_at=timezone.now()
        )
        # Earlier merges into a duplicate now point at the product kept.
        Product.objects.filter(merged_into_id__in=duplicate_ids).update(merged_into=keep)
        audit_record(
            actor=user,
            action="catalog.product.merge_duplicates",
            obj=keep,
            details={
                "kept": keep.pk,
                "kept_external_id": keep.external_id,
                "merged": [{"id": p.pk, "external_id": p.external_id} for p in duplicates],
                "events_moved": moved,
            },
        )
    return MergeResult(kept=keep.pk, merged=duplicate_ids, events_moved=moved)


def duplicate_keeper(group: Sequence[int]) -> int:
    """The product a duplicate group keeps: the one with the most events (then the oldest)."""
    counts = dict(
        Event.objects.filter(product_id__in=list(group))
        .values("product_id")
        .annotate(n=Count("id"))
        .values_list("product_id", "n")
    )
    return min(group, key=lambda pk: (-counts.get(pk, 0), pk))


# What each check's fix does: flag its subjects, or merge its groups.
FIXES = {
    "duplicate_titles": "merge",
    "near_duplicates": "merge",
    "short_title": "product",
    "short_description": "product",
    "price_outliers": "product",
    "events_inactive_products": "event",
    "bot_shoppers": "shopper",
    "reviews_without_ratings": "event",
}


def quality_fix_apply(
    *, report: DataQualityReport, check: str, user=None, group: int | None = None
) -> str:
    """Apply a check's fix to what the report found: flag its products / shoppers / events as
    excluded from training, or merge its duplicate groups (one group by index, or all).
    Returns a sentence for the operator."""
    found = report.check_result(check)
    fix = FIXES.get(check)
    if found is None or fix is None:
        raise ValidationError(f"The check {check!r} has no fix action.")
    ids = found.get("ids") or []
    if fix == "merge":
        groups = ids if group is None else ids[group : group + 1]
        if not groups:
            raise ValidationError("No duplicate group to merge.")
        results = []
        for g in groups:  # members merged or retired since the report are left alone
            live = list(Product.objects.filter(pk__in=g, active=True).values_list("pk", flat=True))
            if len(live) > 1:
                keep = duplicate_keeper(live)
                results.append(products_merge(keep_id=keep, duplicate_ids=live, user=user))
        merged = sum(len(r.merged) for r in results)
        moved = sum(r.events_moved for r in results)
        return f"Merged {merged} duplicate(s) in {len(results)} group(s); {moved} events moved."
    reason = f"data quality report #{report.pk}: {found['label']}"
    if check == "events_inactive_products":
        # The report stores a bounded list of ids; the rule flags every such event.
        rule = Q(product__isnull=True, type__in=selectors.PRODUCT_EVENT_TYPES) | Q(
            product__active=False
        )
        ids = list(
            Event.objects.filter(rule, exclude_from_training=False).values_list("pk", flat=True)
        )
    changed = training_flags_set(subject=fix, ids=ids, exclude=True, user=user, reason=reason)
    return f"Excluded {changed} {fix}(s) from training ({found['label'].lower()})."
