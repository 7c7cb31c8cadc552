"""Reads of the training app: active and served versions, job queue position, notices, labels."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db.models import Exists, OuterRef, Q, QuerySet

from catalog.models import Product
from training.models import Job, JobNotice, ModelVersion, ProductEmbedding, QueryLabel, Task

# The recommend app's Strategy pins a version per model slot with these nullable foreign keys.
STRATEGY_FIELDS = {
    Task.RETRIEVER: "retriever_version",
    Task.RANKER: "ranker_version",
    Task.CF: "cf_version",
    Task.INTENT: "intent_version",
}


def active_version(task: str) -> ModelVersion | None:
    """The version serving follows for ``task`` (None when no version is active)."""
    return ModelVersion.objects.filter(task=task, is_active=True).first()


def _strategy_model():
    try:
        return apps.get_model("recommend", "Strategy")
    except LookupError:
        return None


def pinned_version_ids(task: str) -> set[int]:
    """Versions of ``task`` that a recommend Strategy pins (empty until that model exists)."""
    field = STRATEGY_FIELDS.get(task)
    strategy = _strategy_model()
    if (
        field is None
        or strategy is None
        or field not in {f.name for f in strategy._meta.get_fields()}
    ):
        return set()
    return set(
        strategy.objects.exclude(**{f"{field}__isnull": True}).values_list(f"{field}_id", flat=True)
    )


def served_versions(task: str) -> list[ModelVersion]:
    """The active version plus every version a strategy pins, active first."""
    ids = pinned_version_ids(task)
    versions = ModelVersion.objects.filter(Q(task=task, is_active=True) | Q(pk__in=ids))
    return sorted(versions, key=lambda v: (not v.is_active, v.pk))


def served_retriever_versions() -> list[ModelVersion]:
    """Retriever versions whose product vectors must stay current (active + pinned)."""
    return served_versions(Task.RETRIEVER)


def missing_vector_count(version: ModelVersion) -> int:
    """Active products with no vector under ``version``."""
    has_vector = ProductEmbedding.objects.filter(product=OuterRef("pk"), model_version=version)
    return Product.objects.filter(active=True).exclude(Exists(has_vector)).count()


def embedding_count(version: ModelVersion) -> int:
    return ProductEmbedding.objects.filter(model_version=version).count()


def products_needing_embedding(version_ids: Iterable[int]) -> bool:
    """Cheap check for the incremental beat task: any flagged product, or any active product
    missing a vector under one of ``version_ids``."""
    if Product.objects.filter(active=True, needs_embedding=True).exists():
        return True
    for version_id in version_ids:
        has_vector = ProductEmbedding.objects.filter(
            product=OuterRef("pk"), model_version_id=version_id
        )
        if Product.objects.filter(active=True).exclude(Exists(has_vector)).exists():
            return True
    return False


def job_queue_position(job: Job) -> int | None:
    """1-based place of a queued job among the queued jobs of its queue (None unless queued)."""
    if job.status != Job.Status.QUEUED:
        return None
    ahead = (
        Job.objects.filter(status=Job.Status.QUEUED, queue=job.queue)
        .filter(Q(created_at__lt=job.created_at) | Q(created_at=job.created_at, pk__lt=job.pk))
        .count()
    )
    return ahead + 1


def running_jobs_on(queue: str) -> QuerySet[Job]:
    return Job.objects.filter(status=Job.Status.RUNNING, queue=queue)


def open_job_of_kind(kind: str, *, params_subset: dict[str, Any] | None = None) -> Job | None:
    """A queued or running job of ``kind`` whose params include ``params_subset``."""
    qs = Job.objects.filter(kind=kind, status__in=[Job.Status.QUEUED, Job.Status.RUNNING])
    if params_subset:
        qs = qs.filter(params__contains=params_subset)
    return qs.order_by("created_at").first()


def pending_notices(user) -> QuerySet[JobNotice]:
    return JobNotice.objects.filter(user=user, delivered_at__isnull=True).select_related("job")


@dataclass(frozen=True)
class MetricRow:
    name: str
    value: Any
    active_value: Any
    delta: float | None


def _flatten(metrics: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        elif isinstance(value, int | float | str) and not isinstance(value, bool):
            out[name] = value
    return out


def compare_with_active(version: ModelVersion) -> tuple[ModelVersion | None, list[MetricRow]]:
    """Side-by-side metric rows of ``version`` and the active version of its task.

    Where the version's job also scored the active version on the same split
    (``active_same_split`` with ``active_version`` = the active one), those figures fill the
    active column: they compare like with like, unlike the active version's own metrics.
    """
    active = active_version(version.task)
    if active is not None and active.pk == version.pk:
        active = None
    metrics = dict(version.metrics or {})
    theirs = _flatten(active.metrics or {}) if active else {}
    same_split = metrics.get("active_same_split")
    if (
        active is not None
        and isinstance(same_split, dict)
        and metrics.get("active_version") == active.pk
    ):
        metrics.pop("active_same_split")
        metrics.pop("active_version")
        theirs.update(_flatten(same_split))
    mine = _flatten(metrics)
    rows = []
    for name in sorted(set(mine) | set(theirs)):
        a, b = mine.get(name), theirs.get(name)
        delta = a - b if isinstance(a, int | float) and isinstance(b, int | float) else None
        rows.append(MetricRow(name, a, b, delta))
    return active, rows


def labelled_queries() -> dict[str, str]:
    return dict(QueryLabel.objects.values_list("query", "label"))
