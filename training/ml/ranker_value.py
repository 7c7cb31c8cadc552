"""The ranker's data value (plain Python; torch only inside ``train_ranker``): retrain the ranker
with each source left out, and on nested samples, and score every run on the same held-out
lists with their full engagement.

A source is left out of *training* only: an event type's labels are removed from the training
lists (an item that drew only that type becomes a negative; one that also drew another type
keeps that one's level), the ``position`` feature is dropped from the model, flagged lists are
dropped. The held-out lists keep every label, so each run answers the same question: how well
does the ranker order what shoppers engaged with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from training.ml import metrics
from training.ml.data_value import (
    CURVE_FRACTIONS,
    ablation_row,
    curve_and_report,
    nested_samples,
)
from training.ml.data_value_sources import DataSource
from training.ml.progress import CancelCheck, JobCancelled
from training.ml.ranker import RankerConfig, RankerRow, train_ranker

#: engagement level of each event type (as ``training.ranking_data.ENGAGEMENT``)
LEVELS = {"click": 1.0, "add_to_cart": 2.0, "purchase": 3.0}
METRIC = "NDCG@10"


@dataclass(frozen=True)
class ValueList:
    """One result list: each item's features and the engagement event types it drew."""

    list_id: str
    features: Sequence[Mapping[str, float]]
    kinds: Sequence[frozenset[str]]
    flagged: bool = False


def rows_without(lists: Sequence[ValueList], dropped: frozenset[str]) -> list[RankerRow]:
    """Training rows with the event types in ``dropped`` removed from the labels."""
    out = []
    for shown in lists:
        for features, kinds in zip(shown.features, shown.kinds, strict=True):
            level = max((LEVELS[k] for k in kinds - dropped if k in LEVELS), default=0.0)
            out.append(
                RankerRow(
                    list_id=shown.list_id,
                    features=features,
                    click=1.0 if level > 0 else 0.0,
                    engagement=level,
                )
            )
    return out


def list_scores(scorer, lists: Sequence[ValueList], k: int = 10) -> list[float]:
    """NDCG@k of each held-out list (full engagement as gain), in the order given."""
    out = []
    for shown in lists:
        gains = {
            i: max((LEVELS[k_] for k_ in kinds if k_ in LEVELS), default=0.0)
            for i, kinds in enumerate(shown.kinds)
        }
        gains = {i: g for i, g in gains.items() if g > 0}
        scores = scorer.score_features(list(shown.features), fix_position=True)
        order = [int(i) for i in np.argsort(-scores, kind="stable")]
        out.append(metrics.ndcg_at_k(order, gains, k) if gains else 0.0)
    return out


def engaged(lists: Sequence[ValueList]) -> list[ValueList]:
    """Lists with any engagement (the held-out units: a list nobody engaged with has no NDCG)."""
    return [s for s in lists if any(k & set(LEVELS) for k in s.kinds)]


def ranker_data_value(
    train: Sequence[ValueList],
    test: Sequence[ValueList],
    sources: Sequence[DataSource],
    config: RankerConfig,
    *,
    curve: bool = True,
    bootstrap: int = 2000,
    seed: int = 0,
    progress: Callable[[int, int, str], None] | None = None,
    should_cancel: CancelCheck | None = None,
) -> dict:
    """Ablation rows, the learning curve and the baseline on ``test`` (see the module doc).

    ``progress(done, total, label)`` is called before each retrain. Returns ``{"baseline",
    "units", "ablation": [...], "curve": {...} | None}``.
    """
    test = engaged(test)
    if not test:
        raise ValueError("no held-out list has an engagement")
    measured: list[tuple[DataSource, str]] = []
    for source in sources:
        reason = _skip_reason(source, train)
        measured.append((source, reason))
    sizes = nested_samples([s.list_id for s in train], CURVE_FRACTIONS, seed=seed) if curve else {}
    total = 1 + sum(1 for _, reason in measured if not reason) + max(len(sizes) - 1, 0)
    done = 0

    def fit(lists: Sequence[ValueList], label: str, dropped=frozenset(), features=None):
        nonlocal done
        if should_cancel is not None and should_cancel():
            raise JobCancelled("cancelled by request")
        if progress is not None:
            progress(done, total, label)
        done += 1
        run_config = replace(config, features=features or config.features)
        result = train_ranker(rows_without(lists, dropped), run_config)
        return list_scores(result.scorer, test)

    full = fit(train, "all sources")
    ablation = []
    for n, (source, reason) in enumerate(measured):
        row = {"source": source.name, "title": source.title, "kind": source.kind}
        if reason:
            ablation.append({**row, "skipped": reason, "rows": 0})
            continue
        if source.kind == "event":
            dropped = frozenset(source.detail)
            without = fit(train, f"without {source.title}", dropped=dropped)
            row["rows"] = sum(1 for s in train for k in s.kinds if k & dropped)
        elif source.kind == "feature":
            features = tuple(f for f in config.features if f not in source.detail)
            without = fit(train, f"without {source.title}", features=features)
            row["rows"] = sum(len(s.kinds) for s in train)
        else:  # cleaning: the training lists the data quality report flagged
            kept = [s for s in train if not s.flagged]
            without = fit(kept, f"without {source.title}")
            row["rows"] = len(train) - len(kept)
        ablation.append(ablation_row(row, full, without, samples=bootstrap, seed=seed + n + 1))
    by_id = {s.list_id: s for s in train}
    report = curve_and_report(
        {fraction: [by_id[i] for i in ids] for fraction, ids in sizes.items()},
        full,
        fit,
        what="lists",
        units=len(test),
        ablation=ablation,
        bootstrap=bootstrap,
        seed=seed,
    )
    if progress is not None:
        progress(total, total, "done")
    return report


def _skip_reason(source: DataSource, train: Sequence[ValueList]) -> str:
    if source.kind == "event":
        if not any(k & set(source.detail) for s in train for k in s.kinds):
            return "no training list has one (zero rows)"
        return ""
    if source.kind == "feature":
        return ""
    if source.kind == "cleaning":
        flagged = sum(1 for s in train if s.flagged)
        if not flagged:
            return "the data quality report flagged nothing in the training lists (zero rows)"
        if flagged == len(train):
            return "every training list is flagged"
        return ""
    return f"a {source.kind} source does not apply to the ranker"
