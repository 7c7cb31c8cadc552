"""Lab checks: code that reads the platform's own records to decide whether a learner did the
lab's task. Each check is registered by name (the ``check`` of a lab in the curriculum)::

    @register_check("catalog_import_fixed")
    def catalog_import_fixed(*, user, started_at) -> CheckResult: ...

A check receives the learner and the moment they started the lab (records older than that do not
count), and returns a :class:`CheckResult` with one item per requirement: (label, ok, detail).
Checks only read. Models of apps that are still being built are looked up with
``apps.get_model`` so a missing one gives a clear "not available yet" item instead of an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db.models import Count, Q

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckItem:
    label: str
    ok: bool
    detail: str = ""

    def as_list(self) -> list:
        return [self.label, self.ok, self.detail]


@dataclass
class CheckResult:
    """``passed`` is True only when every item is ok (and there is at least one)."""

    passed: bool
    items: list[tuple[str, bool, str]] = field(default_factory=list)

    @classmethod
    def from_items(cls, items: list[CheckItem]) -> CheckResult:
        return cls(
            passed=bool(items) and all(i.ok for i in items),
            items=[(i.label, i.ok, i.detail) for i in items],
        )


# Permissions no lab ever grants, whatever its ``permissions`` list says (the lab group is synced
# without them): they reach beyond a learner's own exercise. ``full_sync_product`` deactivates every
# product missing from a file; the others write shoppers' behaviour and the platform's own records.
NEVER_GRANTED_BY_LABS: frozenset[str] = frozenset(
    {
        "catalog.full_sync_product",
        "catalog.add_event",
        "catalog.change_event",
        "catalog.delete_event",
        "catalog.delete_product",
        "catalog.delete_category",
        "catalog.delete_shopper",
        "catalog.delete_searchlog",
        "catalog.delete_importrun",
        "platform_core.add_user",
        "platform_core.change_user",
        "platform_core.delete_user",
        "platform_core.add_apiclient",
        "platform_core.change_apiclient",
        "platform_core.delete_apiclient",
        "platform_core.delete_auditlog",
        "courses.reset_attempt",
        "auth.add_group",
        "auth.change_group",
        "auth.delete_group",
        "auth.add_permission",
        "auth.change_permission",
        "auth.delete_permission",
    }
)

CheckFunction = Callable[..., CheckResult]
_CHECKS: dict[str, CheckFunction] = {}


def register_check(name: str) -> Callable[[CheckFunction], CheckFunction]:
    def decorator(func: CheckFunction) -> CheckFunction:
        _CHECKS[name] = func
        return func

    return decorator


def registered_checks() -> list[str]:
    return sorted(_CHECKS)


def get_check(name: str) -> CheckFunction:
    try:
        return _CHECKS[name]
    except KeyError:
        raise LookupError(
            f"No lab check named {name!r}; registered: {', '.join(registered_checks())}"
        ) from None


def run_check(name: str, *, user, started_at: datetime) -> CheckResult:
    """Run a check; an unexpected error becomes a failed item (the learner sees it, we log it)."""
    try:
        return get_check(name)(user=user, started_at=started_at)
    except LookupError as exc:
        return CheckResult.from_items([CheckItem("Check available", False, str(exc))])
    except Exception as exc:  # a check must never take the lab page down
        logger.exception("Lab check %s failed for user %s", name, getattr(user, "pk", None))
        return CheckResult.from_items(
            [
                CheckItem(
                    "Check ran",
                    False,
                    f"The check itself failed ({exc.__class__.__name__}); tell an instructor.",
                )
            ]
        )


def _model(app_label: str, name: str):
    try:
        return apps.get_model(app_label, name)
    except LookupError:
        return None


def _field_names(model) -> set[str]:
    return {f.name for f in model._meta.get_fields()}


def _not_available(what: str, label: str = "Platform feature available") -> CheckResult:
    return CheckResult.from_items(
        [CheckItem(label, False, f"{what} are not available on this platform yet.")]
    )


# --- metrics ----------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def metric(metrics: dict | None, name: str) -> float | None:
    """A version's own figure for ``name`` (e.g. ``ndcg@10``, ``macro_f1``): at the top level or in
    a ``test`` block (the held-out split), never a baseline's."""
    metrics = metrics or {}
    for block in (metrics, metrics.get("test"), metrics.get("held_out"), metrics.get("version")):
        if isinstance(block, dict) and _number(block.get(name)) is not None:
            return _number(block[name])
    return None


def baseline_metric(metrics: dict | None, name: str) -> float | None:
    """The active version's figure for ``name`` recorded in a new version's metrics (measured on
    the same split when the job evaluated both side by side)."""
    metrics = metrics or {}
    for key in ("active_same_split", "active", "baseline", "compared_to_active"):
        block = metrics.get(key)
        if isinstance(block, dict):
            value = metric(block, name)
            if value is not None:
                return value
    for key in (f"active_{name}", f"baseline_{name}", f"active.{name}"):
        if _number(metrics.get(key)) is not None:
            return _number(metrics[key])
    return None


def _jobs(*, user, started_at: datetime, kind: str, params: dict | None = None):
    Job = _model("training", "Job")
    qs = Job.objects.filter(created_by=user, kind=kind, created_at__gte=started_at)
    if params:
        qs = qs.filter(params__contains=params)
    return qs.select_related("result_version").order_by("-created_at")


def _job_items(jobs, *, what: str) -> tuple[list, CheckItem]:
    jobs = list(jobs)
    article = "An" if what[:1].lower() in "aeiou" else "A"
    succeeded = [j for j in jobs if j.status == "succeeded" and j.result_version_id]
    if succeeded:
        return succeeded, CheckItem(
            f"{article} {what} job you launched succeeded",
            True,
            f"{len(succeeded)} succeeded (latest: job #{succeeded[0].pk}).",
        )
    if jobs:
        states = ", ".join(f"#{j.pk} {j.status}" for j in jobs[:5])
        return [], CheckItem(
            f"{article} {what} job you launched succeeded",
            False,
            f"Your jobs since the lab started: {states}. Wait for one to finish, or fix and retry a failed one.",
        )
    return [], CheckItem(
        f"{article} {what} job you launched succeeded",
        False,
        "No job of this kind launched by you since you started the lab.",
    )


# --- checks -----------------------------------------------------------------------------------------


@register_check("retriever_beats_active")
def retriever_beats_active(*, user, started_at: datetime) -> CheckResult:
    """A succeeded finetune_retriever job by the learner whose version's NDCG@10 beats the active
    retriever's, both measured by the job: on the judged queries when it was given them, else on
    the same held-out split (as recorded in the version's metrics)."""
    if _model("training", "Job") is None:
        return _not_available("Training jobs")
    from courses import selectors

    succeeded, job_item = _job_items(
        _jobs(user=user, started_at=started_at, kind="finetune_retriever"),
        what="retriever fine-tuning",
    )
    items = [job_item]
    if not succeeded:
        items.append(
            CheckItem("NDCG@10 beats the active retriever", False, "Needs a succeeded job first.")
        )
        return CheckResult.from_items(items)
    active = selectors.active_model_version("retriever")
    best: tuple[float, float, Any] | None = None
    notes = []
    for job in succeeded:
        version = job.result_version
        # The judged queries (graded relevance, when the job was given the judged CSV) measure
        # relevance better than the held-out split of mined clicks, whose "relevant" item is the
        # one product a shopper clicked: they decide when present.
        judged = (version.metrics or {}).get("judged") or {}
        mine = metric(judged.get("candidate"), "ndcg@10")
        theirs = metric(judged.get("baseline"), "ndcg@10")
        where = "judged queries"
        if mine is None or theirs is None:
            mine = metric(version.metrics, "ndcg@10")
            theirs = baseline_metric(version.metrics, "ndcg@10")
            where = "held-out split"
            if theirs is None and active is not None and active.pk != version.pk:
                theirs = metric(active.metrics, "ndcg@10")
        if mine is None or theirs is None:
            notes.append(f"version #{version.pk}: NDCG@10 not recorded side by side")
            continue
        if best is None or mine - theirs > best[0] - best[1]:
            best = (mine, theirs, version, where)
    if best is None:
        items.append(
            CheckItem(
                "NDCG@10 beats the active retriever", False, "; ".join(notes) or "No metrics."
            )
        )
    else:
        mine, theirs, version, where = best
        items.append(
            CheckItem(
                "NDCG@10 beats the active retriever",
                mine > theirs,
                f"Version #{version.pk} “{version.name}”: NDCG@10 {mine:.4f} vs active {theirs:.4f}"
                f" on the {where}"
                + (
                    " — better."
                    if mine > theirs
                    else " — not better yet: try LoRA vs full, or another epoch."
                ),
            )
        )
    return CheckResult.from_items(items)


INTENT_LABELS_REQUIRED = 60
INTENT_MACRO_F1_REQUIRED = 0.8


@register_check("intent_classifier_f1")
def intent_classifier_f1(*, user, started_at: datetime) -> CheckResult:
    """≥ 60 intent labels saved by the learner since the lab started, and a succeeded
    finetune_classifier(task=intent) job they launched whose version reaches macro-F1 ≥ 0.8."""
    items = []
    QueryLabel = _model("training", "QueryLabel")
    if QueryLabel is None:
        items.append(
            CheckItem(
                f"At least {INTENT_LABELS_REQUIRED} queries labelled by you",
                False,
                "The query labelling page is not available on this platform yet.",
            )
        )
    else:
        names = _field_names(QueryLabel)
        user_field = "user" if "user" in names else "created_by"
        since = Q(created_at__gte=started_at)
        if "updated_at" in names:
            since |= Q(updated_at__gte=started_at)
        count = QueryLabel.objects.filter(since, **{user_field: user}).count()
        items.append(
            CheckItem(
                f"At least {INTENT_LABELS_REQUIRED} queries labelled by you",
                count >= INTENT_LABELS_REQUIRED,
                f"{count} labelled since you started the lab.",
            )
        )
    if _model("training", "Job") is None:
        items.append(
            CheckItem(
                "An intent classifier job you launched succeeded",
                False,
                "Training jobs are not available yet.",
            )
        )
        return CheckResult.from_items(items)
    succeeded, job_item = _job_items(
        _jobs(
            user=user, started_at=started_at, kind="finetune_classifier", params={"task": "intent"}
        ),
        what="intent classifier (finetune_classifier, task=intent)",
    )
    items.append(job_item)
    scores = [(metric(j.result_version.metrics, "macro_f1"), j.result_version) for j in succeeded]
    scores = [(s, v) for s, v in scores if s is not None]
    if not scores:
        items.append(
            CheckItem(
                f"Macro-F1 ≥ {INTENT_MACRO_F1_REQUIRED} on held-out intents",
                False,
                "No succeeded intent version with a recorded macro-F1 yet.",
            )
        )
    else:
        score, version = max(scores, key=lambda sv: sv[0])
        items.append(
            CheckItem(
                f"Macro-F1 ≥ {INTENT_MACRO_F1_REQUIRED} on held-out intents",
                score >= INTENT_MACRO_F1_REQUIRED,
                f"Best: version #{version.pk} with macro-F1 {score:.3f}.",
            )
        )
    return CheckResult.from_items(items)


def _experiment_items(experiment, *, user, started_at: datetime) -> list[CheckItem]:
    """The lab's requirements for one experiment the learner created (see the lab's "What the
    check looks for"): two 50/50 variants on strategies of their own, simulated exposures in
    both, shipped, the winner the results declared, now the surface's default."""
    AuditLog = _model("platform_core", "AuditLog")
    Exposure = _model("experiments", "Exposure")
    variants = list(experiment.variants.select_related("strategy"))
    halves = len(variants) == 2 and all(abs(v.share - 50) < 1e-6 for v in variants)
    items = [
        CheckItem(
            "Two variants at 50/50",
            halves,
            ", ".join(f"{v.key} {v.share:g}%" for v in variants) or "No variants.",
        )
    ]
    created = set(
        AuditLog.objects.filter(
            actor=user,
            action="strategy.create",
            object_type="recommend.strategy",
            created_at__gte=started_at,
        ).values_list("object_id", flat=True)
    )
    foreign = [v.strategy.name for v in variants if str(v.strategy_id) not in created]
    items.append(
        CheckItem(
            "Each variant uses a strategy you created in the lab",
            bool(variants) and not foreign,
            f"Not created by you since the lab started: {', '.join(foreign)}."
            if foreign
            else "Yes.",
        )
    )
    exposed = dict(
        Exposure.objects.filter(experiment=experiment)
        .values_list("variant_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    both = bool(variants) and all(exposed.get(v.pk, 0) > 0 for v in variants)
    items.append(
        CheckItem(
            "Both variants received simulated traffic",
            both,
            ", ".join(f"{v.key}: {exposed.get(v.pk, 0)} exposures" for v in variants)
            + ("" if both else " — start the experiment, then run the traffic simulator."),
        )
    )
    shipped = experiment.status == "shipped"
    items.append(
        CheckItem(
            "It was shipped",
            shipped,
            f"Winner: {experiment.winner}." if shipped else "Ship from the results page.",
        )
    )
    ship = (
        AuditLog.objects.filter(
            action="experiment.ship",
            object_type=experiment._meta.label_lower,
            object_id=str(experiment.pk),
        )
        .order_by("-created_at")
        .first()
    )
    against = ship is None or bool((ship.details or {}).get("against_verdict"))
    if shipped and not against:
        detail = "Yes."
    elif shipped:
        detail = (
            "It was shipped against the results' verdict: ship the declared winner, or gather"
            " more traffic until there is one."
        )
    else:
        detail = "Not shipped yet."
    items.append(
        CheckItem(
            "The shipped variant is the winner the results declared",
            shipped and not against,
            detail,
        )
    )
    default = shipped and experiment.winner is not None and experiment.winner.strategy.is_default
    items.append(
        CheckItem(
            "The winner's strategy is the search surface's default",
            default,
            "Yes." if default else "Shipping makes it the default; has another change undone it?",
        )
    )
    return items


@register_check("experiment_shipped_winner")
def experiment_shipped_winner(*, user, started_at: datetime) -> CheckResult:
    """An experiment the learner created on the search surface, with two 50/50 variants on
    strategies of their own, that received simulated traffic and was shipped with the winner
    its results declared (shipping against the verdict does not pass), now the default."""
    Experiment = _model("experiments", "Experiment")
    if Experiment is None:
        return _not_available("Experiments", label="Experiments available")
    experiments = list(
        Experiment.objects.filter(created_by=user, surface="search", created_at__gte=started_at)
        .select_related("winner__strategy")
        .order_by("-created_at")
    )
    first = CheckItem(
        "An experiment you created on the search surface",
        bool(experiments),
        f"{len(experiments)} since you started the lab."
        if experiments
        else "None yet: create one on the search surface and start it.",
    )
    if not experiments:
        return CheckResult.from_items([first])
    # the learner's experiment that meets the most requirements (the latest on a tie)
    best = max(
        (_experiment_items(e, user=user, started_at=started_at) for e in experiments),
        key=lambda items: sum(i.ok for i in items),
    )
    return CheckResult.from_items([first, *best])


@register_check("catalog_import_fixed")
def catalog_import_fixed(*, user, started_at: datetime) -> CheckResult:
    """An import of the learner's lab file was rejected at least once, then a later import of it
    succeeded with 200 rows landed and none rejected, and all 200 products are in the catalogue
    with a valid title, price, currency and an existing category."""
    from catalog.models import ImportRun, Product
    from courses.lab_files import ROWS, external_ids

    runs = list(
        ImportRun.objects.filter(user=user, kind="products", created_at__gte=started_at).order_by(
            "created_at", "id"
        )
    )
    rejected = [r for r in runs if r.rejected > 0 or r.status in ("rejected", "partial")]
    items = [
        CheckItem(
            "The importer rejected rows of your file at least once",
            bool(rejected),
            f"Import #{rejected[0].pk}: {rejected[0].rejected} of {rejected[0].total_rows} rows rejected."
            if rejected
            else "Upload the lab's file as downloaded first, and read the error report.",
        )
    ]
    clean = [
        r
        for r in runs
        if rejected
        and r.created_at >= rejected[0].created_at
        and r.pk != rejected[0].pk
        and r.status == "succeeded"
        and r.rejected == 0
        and (r.created + r.updated + r.unchanged) >= ROWS
    ]
    if clean:
        run = clean[-1]
        detail = (
            f"Import #{run.pk}: {run.created + run.updated + run.unchanged} rows landed "
            f"({run.created} created, {run.updated} updated, {run.unchanged} unchanged), 0 rejected."
        )
    elif rejected:
        last = runs[-1]
        detail = (
            f"Latest import #{last.pk}: {last.status}, {last.rejected} rejected of {last.total_rows}. "
            f"Fix the rows it names and upload the whole file again."
        )
    else:
        detail = "Comes after a rejected import."
    items.append(
        CheckItem(f"A later import landed all {ROWS} rows with none rejected", bool(clean), detail)
    )

    ids = external_ids(user.pk)
    products = list(Product.objects.filter(external_id__in=ids).select_related("category"))
    invalid = [
        p.external_id
        for p in products
        if not p.title.strip()
        or p.category_id is None
        or p.price is None
        or p.price <= Decimal("0")
        or len(p.currency) != 3
    ]
    missing = ROWS - len(products)
    ok = missing == 0 and not invalid
    if ok:
        detail = f"All {ROWS} products are in the catalogue with a title, a price and a category."
    else:
        parts = []
        if missing:
            parts.append(f"{missing} of your {ROWS} products are not in the catalogue")
        if invalid:
            parts.append(
                f"{len(invalid)} lack a title, a positive price or a category (e.g. {', '.join(invalid[:3])})"
            )
        detail = "; ".join(parts) + "."
    items.append(CheckItem(f"All {ROWS} lab products are in the catalogue, valid", ok, detail))
    return CheckResult.from_items(items)


# --- downloads ------------------------------------------------------------------------------------


def import_lab_file_for(user):
    """The import lab's CSV for ``user`` (from the catalogue's real categories, leaves first)."""
    from catalog.models import Category
    from courses.lab_files import CategoryRef, import_lab_file

    leaves = list(Category.objects.filter(children__isnull=True).values_list("external_id", "name"))
    if not leaves:
        leaves = list(Category.objects.values_list("external_id", "name"))
    return import_lab_file(user_id=user.pk, categories=[CategoryRef(e, n) for e, n in leaves])


# Check name → function(user) -> LabFile: files a lab page offers for download (a ``content_type``
# attribute on the file, when present, is the download's; CSV otherwise).
DOWNLOADS: dict[str, Callable] = {"catalog_import_fixed": import_lab_file_for}
#: what the lab page says about its file, and its button's label (check name → (notice, label))
CSV_NOTICE = (
    "200 products, generated for you from the catalogue's categories.",
    "Download the CSV",
)
DOWNLOAD_NOTICES: dict[str, tuple[str, str]] = {}

# --- what a lab plants on the learner's store -------------------------------------------------------

# Check name → function(*, user, attempt) run when the learner starts the lab: it plants what the
# lab needs (a dead letter to recover, a bad draft to reject) and records it in the audit log
# (``academy.lab_plant`` on the attempt), where the check finds it. ``TEARDOWNS`` run when the
# learner leaves the lab without passing: they take back what is still planted.
SETUPS: dict[str, Callable] = {}
TEARDOWNS: dict[str, Callable] = {}
