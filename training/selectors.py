"""Reads of the training app: active and served versions, job queue position, notices, labels."""

from __future__ import annotations

import re
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
    """Retriever versions whose product vectors must stay current (active + pinned): a served
    version that encodes into another's space (a quantised child) stands for that one."""
    out: dict[int, ModelVersion] = {}
    for version in served_versions(Task.RETRIEVER):
        owner = version.vector_space if version.vector_space_id else version
        out.setdefault(owner.pk, owner)
    return list(out.values())


def missing_vector_count(version: ModelVersion) -> int:
    """Active products with no vector in ``version``'s vector space (a quantised child serves
    against its parent's vectors)."""
    has_vector = ProductEmbedding.objects.filter(
        product=OuterRef("pk"), model_version_id=version.space_id
    )
    return Product.objects.filter(active=True).exclude(Exists(has_vector)).count()


def embedding_count(version: ModelVersion) -> int:
    return ProductEmbedding.objects.filter(model_version_id=version.space_id).count()


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


# A metric is a number whose name, or the name of a section holding it, is a score: one of these
# families, optionally at a cut-off (``ndcg@10``) or with a prefix (``macro_f1``,
# ``fusion_auc``, ``train_loss``). Anything else a job records beside its scores is context, not
# a metric: cut-offs and seeds (``evaluation.k``, ``seed``), version ids, counts of examples or
# shoppers, throughputs, timings, chosen hyper-parameters.
SCORE_FAMILIES = (
    "recall",
    "ndcg",
    "mrr",
    "map",
    "precision",
    "hit_rate",
    "auc",
    "accuracy",
    "f1",
    "coverage",
    "loss",
)
_SCORE_NAME = re.compile(rf"(^|_)({'|'.join(SCORE_FAMILIES)})(@\d+)?$")
# Per task, the family of the metric the version list shows (its cut-off is read from the figures).
KEY_METRIC_FAMILY = {
    Task.RETRIEVER: "ndcg",
    Task.RANKER: "ndcg",
    Task.CF: "ndcg",
    Task.INTENT: "macro_f1",
    Task.SENTIMENT: "macro_f1",
    Task.SUPPORT_CATEGORY: "macro_f1",
}
EVALUATION = "evaluation"


def is_metric(name: str, value: Any) -> bool:
    """Whether a flattened entry (``evaluation.candidate.ndcg@10``) is a metric (see above)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return any(_SCORE_NAME.search(part) for part in name.split("."))


def _flatten(metrics: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        elif isinstance(value, int | float | str) and not isinstance(value, bool):
            out[name] = value
    return out


def metric_values(metrics: dict[str, Any] | None) -> dict[str, Any]:
    """Only the metrics of a version's figures, flattened; an evaluation job's scores of the
    version appear as ``evaluation · <metric>`` (its baseline is the active version's)."""
    metrics = dict(metrics or {})
    metrics.pop("active_same_split", None)
    evaluation = metrics.pop(EVALUATION, None)
    out = {k: v for k, v in _flatten(metrics).items() if is_metric(k, v)}
    if isinstance(evaluation, dict) and isinstance(evaluation.get("candidate"), dict):
        out.update(_evaluation_rows(evaluation["candidate"]))
    return out


def _evaluation_rows(scores: dict[str, Any]) -> dict[str, Any]:
    return {f"{EVALUATION} · {k}": v for k, v in _flatten(scores).items() if is_metric(k, v)}


@dataclass(frozen=True)
class KeyMetric:
    name: str
    value: float
    evaluated: bool  # from an evaluate job (else from the job that trained the version)

    def __str__(self) -> str:
        return f"{self.name} {self.value:.4f}" + (" (evaluated)" if self.evaluated else "")


def key_metric(version: ModelVersion) -> KeyMetric | None:
    """The task's key metric of ``version``: its latest evaluation's figure when an evaluate
    job scored it, else the one its training job recorded (``ndcg@k`` at the cut-off found)."""
    family = KEY_METRIC_FAMILY.get(version.task)
    if family is None:
        return None
    metrics = version.metrics or {}
    evaluation = metrics.get(EVALUATION)
    sources = []
    if isinstance(evaluation, dict) and isinstance(evaluation.get("candidate"), dict):
        sources.append((evaluation["candidate"], evaluation.get("k"), True))
    # the training job's cut-off (train_cf's k); the list selects the job with the version
    trained_k = (version.job.params or {}).get("k") if version.job_id and version.job else None
    sources.append((metrics, metrics.get("k") or trained_k, False))
    for scores, k, evaluated in sources:
        names = [f"{family}@{k}"] if k else []
        names += [family] + sorted(
            (n for n in scores if re.fullmatch(rf"{family}@\d+", str(n))),
            key=lambda n: int(n.rsplit("@", 1)[1]),
        )
        for name in names:
            value = scores.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return KeyMetric(name, float(value), evaluated)
    return None


def _same_split(metrics: dict[str, Any], active: ModelVersion) -> dict[str, Any]:
    """The active version's figures measured by ``metrics``' jobs on their own split."""
    theirs: dict[str, Any] = {}
    same_split = metrics.get("active_same_split")
    if isinstance(same_split, dict) and metrics.get("active_version") == active.pk:
        theirs.update(k_v for k_v in _flatten(same_split).items() if is_metric(*k_v))
    evaluation = metrics.get(EVALUATION)
    if (
        isinstance(evaluation, dict)
        and evaluation.get("active_version") == active.pk
        and isinstance(evaluation.get("baseline"), dict)
    ):
        theirs.update(_evaluation_rows(evaluation["baseline"]))
    return theirs


def compare_metrics(mine: dict[str, Any], theirs: dict[str, Any]) -> list[MetricRow]:
    """Rows of two flattened metric dicts side by side, with the difference."""
    rows = []
    for name in sorted(set(mine) | set(theirs)):
        a, b = mine.get(name), theirs.get(name)
        delta = a - b if isinstance(a, int | float) and isinstance(b, int | float) else None
        rows.append(MetricRow(name, a, b, delta))
    return rows


def compare_versions(a: ModelVersion, b: ModelVersion) -> list[MetricRow]:
    """Any two versions' metrics side by side; where a job of one scored the other on its own
    split (the active version it was measured against), those figures stand for the other."""
    mine, theirs = metric_values(a.metrics), metric_values(b.metrics)
    theirs.update(_same_split(a.metrics or {}, b))
    mine.update(_same_split(b.metrics or {}, a))
    return compare_metrics(mine, theirs)


def compare_with_active(version: ModelVersion) -> tuple[ModelVersion | None, list[MetricRow]]:
    """Side-by-side metric rows of ``version`` and the active version of its task (metrics
    only: see ``is_metric``).

    Where the version's job also scored the active version on the same split
    (``active_same_split`` with ``active_version`` = the active one, or an evaluate job's
    ``baseline``), those figures fill the active column: they compare like with like, unlike
    the active version's own metrics.
    """
    active = active_version(version.task)
    if active is not None and active.pk == version.pk:
        active = None
    theirs = metric_values(active.metrics) if active else {}
    if active is not None:
        theirs.update(_same_split(version.metrics or {}, active))
    return active, compare_metrics(metric_values(version.metrics), theirs)


def labelled_queries() -> dict[str, str]:
    return dict(QueryLabel.objects.values_list("query", "label"))
