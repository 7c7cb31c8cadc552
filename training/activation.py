"""The activation policy of trained versions, as a pure decision (no Django, no database).

Every job kind that produces a model version declares a :class:`VersionPolicy` (see
``training.jobs.register_job_kind(versions=...)``). When such a job succeeds, the version it
finished with is judged by :func:`decide`, and ``training.services`` carries the decision out
through the one promotion code path (audited, serving generation bumped):

- a run made for analysis (job parameter ``analysis``) never activates;
- a version whose evaluation is not sane never activates. "Sane" is ``metrics["sane"]``; a kind
  whose runner does not compute it counts as sane (``metrics.get("sane", True)``), as the
  packaged base retriever is from its first run;
- the first sane version of a task with no active version becomes active, unless the kind
  opts out (``VersionPolicy(activate_first=False)``);
- a later version stays inactive until an operator promotes it, or the job was launched with
  ``promote_if_better``: then it replaces the active version when the kind's deciding metric is
  strictly better *on the same split*. Same split means either the runner measured the active
  version in this job (``metrics["active_same_split"]`` with ``metrics["active_version"]`` = the
  active one's id), or both versions recorded the same non-empty ``metrics["split"]`` (the
  runner's identity of its split: protocol, seed, and whatever else makes it the same data).
  Otherwise nothing is promoted and the reason says why.

A quantised child (``VersionPolicy(parent_tolerance=True)``, the ``quantize`` kind) has a rule
of its own: it is not meant to beat anything, only to serve faster at the same quality. It may
become active only when its NDCG@k on the split its job measured both on stays within a
relative tolerance of its parent's (:func:`parent_tolerance_check`; default 1 %,
``QUANTIZED_NDCG_TOLERANCE``); with ``promote_if_better`` the job promotes it then. The same
check refuses an operator's promotion of such a child (``training.services``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

ACTIVATE_FIRST = "activated"
PROMOTE = "promoted"
KEEP = "kept"


@dataclass(frozen=True)
class VersionPolicy:
    """How the versions a job kind produces may become active.

    ``metric`` names the metric that decides ``promote_if_better`` (a key of the version's
    metrics), or computes it from the job's parameters (e.g. ``lambda p: f"ndcg@{p['k']}"``);
    None: the kind cannot be promoted automatically. ``activate_first=False`` opts the kind out
    of activating the first version of a task by itself. ``parent_tolerance``: the version is
    judged against its parent within a tolerance (:func:`parent_tolerance_check`), not against
    the active version.
    """

    metric: str | Callable[[Mapping[str, Any]], str] | None = None
    higher_is_better: bool = True
    activate_first: bool = True
    parent_tolerance: bool = False

    def metric_for(self, params: Mapping[str, Any]) -> str | None:
        if self.metric is None or isinstance(self.metric, str):
            return self.metric
        return self.metric(params)


@dataclass(frozen=True)
class Decision:
    action: str  # ACTIVATE_FIRST, PROMOTE or KEEP
    reason: str
    metric: str | None = None
    candidate: float | None = None
    baseline: float | None = None

    @property
    def activates(self) -> bool:
        return self.action in (ACTIVATE_FIRST, PROMOTE)


def is_sane(metrics: Mapping[str, Any]) -> tuple[bool, str]:
    """``metrics["sane"]`` (default True for kinds that do not compute it) and its reason."""
    sane = bool(metrics.get("sane", True))
    reason = str(metrics.get("sanity") or "")
    if not reason:
        reason = (
            "sane" if "sane" in metrics else "the kind reports no sanity check (counts as sane)"
        )
    return sane, reason


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def same_split_baseline(
    metric: str,
    metrics: Mapping[str, Any],
    active_id: int,
    active_metrics: Mapping[str, Any],
) -> tuple[float | None, str]:
    """The active version's ``metric`` measured on the candidate's split, or None and why not."""
    measured = metrics.get("active_same_split")
    if isinstance(measured, Mapping) and metrics.get("active_version") == active_id:
        value = _number(measured.get(metric))
        if value is not None:
            return value, f"active #{active_id} measured in this job on the same split"
    split, active_split = metrics.get("split"), active_metrics.get("split")
    if not split or not active_split:
        return None, (
            f"active #{active_id} was not measured on this job's split and the two versions do "
            "not both record their split"
        )
    if split != active_split:
        return None, f"different splits: this job {split!r}, active #{active_id} {active_split!r}"
    value = _number(active_metrics.get(metric))
    if value is None:
        return None, f"active #{active_id} has no {metric} on the same split"
    return value, f"same split as active #{active_id} ({split!r})"


DEFAULT_PARENT_TOLERANCE = 0.01


def parent_tolerance_check(
    metrics: Mapping[str, Any], tolerance: float = DEFAULT_PARENT_TOLERANCE
) -> tuple[bool, str]:
    """Whether a child version's quality stays within ``tolerance`` (relative) of its parent's.

    Reads what the ``quantize`` job records: ``metrics["k"]``, the child's ``ndcg@k`` and the
    parent's on the same queries (``metrics["parent_same_split"]["ndcg@k"]``). Missing figures
    fail the check (nothing was compared)."""
    k = metrics.get("k", 10)
    metric = f"ndcg@{k}"
    child = _number(metrics.get(metric))
    parent_figures = metrics.get("parent_same_split")
    parent = _number(parent_figures.get(metric)) if isinstance(parent_figures, Mapping) else None
    if child is None or parent is None:
        return False, f"no {metric} of this version and its parent on the same queries"
    floor = parent * (1.0 - float(tolerance))
    figures = (
        f"{metric} {child:.4f} vs parent #{metrics.get('parent_version', '?')} {parent:.4f} "
        f"(tolerance {float(tolerance):.1%}, floor {floor:.4f})"
    )
    if child + 1e-12 >= floor:
        return True, f"within tolerance of its parent: {figures}"
    return False, f"beyond tolerance of its parent: {figures}"


def decide(
    *,
    policy: VersionPolicy,
    params: Mapping[str, Any],
    metrics: Mapping[str, Any],
    active_id: int | None,
    active_metrics: Mapping[str, Any] | None = None,
    tolerance: float = DEFAULT_PARENT_TOLERANCE,
) -> Decision:
    """What to do with a job's new version; ``active_id`` is the task's active version (or None);
    ``tolerance``: of a child judged against its parent (``policy.parent_tolerance``)."""
    if params.get("analysis"):
        return Decision(KEEP, "analysis run: its versions never activate")
    sane, why = is_sane(metrics)
    if not sane:
        return Decision(KEEP, f"evaluation not sane ({why}): not activated")
    if active_id is None:
        if not policy.activate_first:
            return Decision(KEEP, "no active version, but this kind never activates by itself")
        return Decision(ACTIVATE_FIRST, f"first sane version of the task ({why})")
    if not params.get("promote_if_better"):
        return Decision(
            KEEP, f"version #{active_id} stays active: an operator promotes (promote_if_better off)"
        )
    if policy.parent_tolerance:
        within, why = parent_tolerance_check(metrics, tolerance)
        metric = f"ndcg@{metrics.get('k', 10)}"
        parent = metrics.get("parent_same_split") or {}
        return Decision(
            PROMOTE if within else KEEP,
            why if within else f"{why}: not promoted",
            metric,
            _number(metrics.get(metric)),
            _number(parent.get(metric)) if isinstance(parent, Mapping) else None,
        )
    metric = policy.metric_for(params)
    if not metric:
        return Decision(KEEP, "this kind declares no metric to compare versions: not promoted")
    candidate = _number(metrics.get(metric))
    if candidate is None:
        return Decision(KEEP, f"the new version has no {metric}: not promoted", metric)
    baseline, how = same_split_baseline(metric, metrics, active_id, active_metrics or {})
    if baseline is None:
        return Decision(KEEP, f"not compared ({how}): not promoted", metric, candidate)
    better = candidate > baseline if policy.higher_is_better else candidate < baseline
    figures = f"{metric} {candidate:.4f} vs {baseline:.4f} ({how})"
    if better:
        return Decision(
            PROMOTE, f"better than the active version: {figures}", metric, candidate, baseline
        )
    return Decision(
        KEEP, f"not better than the active version: {figures}", metric, candidate, baseline
    )
