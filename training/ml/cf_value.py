"""The CF model's data value (plain Python): refit the CF recipe with each interaction type (or
the flagged rows) left out of the training part, and on nested samples of it, and score every
run on the same held-out shoppers.

Each held-out shopper's relevant products are their held-out products of any type (the same in
every run). A shopper the model no longer knows once a source is left out (all their training
rows were of that type) scores 0 for that run: the model cannot recommend to them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from training.ml.cf import build_interactions, evaluate_cf
from training.ml.cf.selection import Candidate, refit
from training.ml.data_value import (
    CURVE_FRACTIONS,
    ablation_row,
    curve_and_report,
    nested_samples,
)
from training.ml.data_value_sources import DataSource
from training.ml.progress import CancelCheck, JobCancelled

METRIC = "NDCG@10"
K = 10


@dataclass(frozen=True)
class Interaction:
    """One training or held-out event: shopper, product, event type, and the data quality flag."""

    user: Hashable
    item: Hashable
    kind: str
    flagged: bool = False


def cf_data_value(
    train: Sequence[Interaction],
    test: Sequence[Interaction],
    sources: Sequence[DataSource],
    recipe: Candidate,
    weights: Mapping[str, float],
    *,
    curve: bool = True,
    bootstrap: int = 2000,
    seed: int = 0,
    max_users: int | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    should_cancel: CancelCheck | None = None,
) -> dict:
    """Ablation rows, the learning curve and the baseline over held-out shoppers (see the
    module doc); the same shape as ``training.ml.ranker_value.ranker_data_value``."""
    held = build_interactions([(r.user, r.item, weights[r.kind], None) for r in test])
    # Every run leaves the shopper's whole training history out of the ranking and out of the
    # relevant products, whatever it trained on: runs differ only in what the model learned
    # (a run without clicks must not be charged for recommending a product already clicked).
    seen = build_interactions([(r.user, r.item, weights[r.kind], None) for r in train])
    measured = [(s, _skip_reason(s, train)) for s in sources]
    sizes = nested_samples(list(range(len(train))), CURVE_FRACTIONS, seed=seed) if curve else {}
    total = 1 + sum(1 for _, reason in measured if not reason) + max(len(sizes) - 1, 0)
    done = 0
    units: list[Hashable] = []

    def fit(rows: Sequence[Interaction], label: str) -> list[float]:
        nonlocal done
        if should_cancel is not None and should_cancel():
            raise JobCancelled("cancelled by request")
        if progress is not None:
            progress(done, total, label)
        done += 1
        part = build_interactions([(r.user, r.item, weights[r.kind], None) for r in rows])
        model = refit(recipe, part)
        scores: dict[Hashable, float] = {}
        evaluate_cf(model, seen, held, k=K, per_user=scores)
        if not units:  # the full run fixes the held-out shoppers (a seeded sample at most)
            eligible = sorted(scores, key=str)
            if max_users and len(eligible) > max_users:
                picked = np.random.default_rng(seed).choice(len(eligible), max_users, replace=False)
                eligible = [eligible[i] for i in sorted(picked)]
            units.extend(eligible)
        return [scores.get(user, 0.0) for user in units]

    full = fit(train, "all sources")
    if not units:
        raise ValueError("no held-out shopper can be evaluated")
    ablation = []
    for n, (source, reason) in enumerate(measured):
        row = {"source": source.name, "title": source.title, "kind": source.kind}
        if reason:
            ablation.append({**row, "skipped": reason, "rows": 0})
            continue
        if source.kind == "event":
            kept = [r for r in train if r.kind not in source.detail]
        else:
            kept = [r for r in train if not r.flagged]
        row["rows"] = len(train) - len(kept)
        without = fit(kept, f"without {source.title}")
        ablation.append(ablation_row(row, full, without, samples=bootstrap, seed=seed + n + 1))
    report = curve_and_report(
        {fraction: [train[i] for i in picked] for fraction, picked in sizes.items()},
        full,
        fit,
        what="events",
        units=len(units),
        ablation=ablation,
        bootstrap=bootstrap,
        seed=seed,
    )
    if progress is not None:
        progress(total, total, "done")
    return report


def _skip_reason(source: DataSource, train: Sequence[Interaction]) -> str:
    if source.kind == "event":
        count = sum(1 for r in train if r.kind in source.detail)
        if not count:
            return "no training event of this type (zero rows)"
        if count == len(train):
            return "every training event is of this type"
        return ""
    if source.kind == "cleaning":
        flagged = sum(1 for r in train if r.flagged)
        if not flagged:
            return "the data quality report flagged nothing in the training events (zero rows)"
        return ""
    return f"a {source.kind} source does not apply to CF"
