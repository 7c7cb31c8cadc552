"""Writes of the churn-risk insight: ``churn_risk_run`` reads every shopper's visits (one SQL
aggregate over the events: this runs in a job, never in a request), hands them to
:mod:`recommend.insights.logic.churn`, and stores the run and the scores with each shopper's
win-back group and the products to show them.

Win-back groups: the first registered segment source (``register_segment_source``: shopper
profiles' segments hook in here) that names a shopper's segment wins; otherwise the shopper's
top category (the category of most of their events)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from django.db import connection, transaction
from django.utils import timezone

from catalog.models import Category, Event, Product
from recommend.insights.logic import churn as logic
from recommend.insights.models import ChurnRun, ChurnScore

log = logging.getLogger(__name__)

#: ``source(shopper_ids) -> {shopper_id: segment name}``; segments (issue 16 §1) register one
SegmentSource = Callable[[Sequence[int]], dict[int, str]]
SEGMENT_SOURCES: list[SegmentSource] = []

VISITS_SQL = f"""
SELECT e.shopper_id,
       extract(epoch FROM min(e.timestamp)),
       bool_or(e.type = 'purchase'),
       coalesce(sum(CASE WHEN e.type = 'purchase' THEN coalesce(e.value, p.price::float8) END), 0),
       array_remove(array_agg(DISTINCT p.category_id), NULL)
FROM {Event._meta.db_table} e
LEFT JOIN {Product._meta.db_table} p ON p.id = e.product_id
WHERE NOT e.exclude_from_training
GROUP BY e.shopper_id, coalesce(nullif(e.session, ''), to_char(e.timestamp, 'YYYY-MM-DD'))
"""


def register_segment_source(source: SegmentSource) -> None:
    """Add a segment source once (``ready()`` may run more than once in tests)."""
    if source not in SEGMENT_SOURCES:
        SEGMENT_SOURCES.append(source)


def visits_load() -> logic.Visits:
    """Every shopper's visits (a session; events without one: a day) from the events table."""
    with connection.cursor() as cursor:
        cursor.execute(VISITS_SQL)
        return logic.Visits.from_rows(cursor.fetchall())


def top_categories(shopper_ids: Sequence[int]) -> dict[int, str]:
    """Each shopper's top category name (the category of most of their product events)."""
    if not shopper_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT DISTINCT ON (e.shopper_id) e.shopper_id, p.category_id
            FROM {Event._meta.db_table} e JOIN {Product._meta.db_table} p ON p.id = e.product_id
            WHERE e.shopper_id = ANY(%s) AND p.category_id IS NOT NULL
            GROUP BY e.shopper_id, p.category_id
            ORDER BY e.shopper_id, count(*) DESC, p.category_id
            """,
            [list(shopper_ids)],
        )
        rows = cursor.fetchall()
    names = dict(Category.objects.filter(pk__in={c for _, c in rows}).values_list("pk", "name"))
    return {shopper: names.get(category, "") for shopper, category in rows}


def winback_groups(shopper_ids: Sequence[int]) -> dict[int, str]:
    """Segment (first source that knows the shopper), else top category, else "(none)"."""
    groups: dict[int, str] = {}
    for source in SEGMENT_SOURCES:
        missing = [s for s in shopper_ids if s not in groups]
        if not missing:
            break
        groups.update({k: v for k, v in source(missing).items() if v})
    missing = [s for s in shopper_ids if s not in groups]
    groups.update({k: f"top category: {v}" for k, v in top_categories(missing).items() if v})
    return {s: groups.get(s, "(none)") for s in shopper_ids}


def recommended_products(shopper_ids: Sequence[int], size: int) -> dict[int, list[int]]:
    """What the default recommendations strategy shows each shopper (no experiment variant, no
    served-request log: nothing is recorded as served).  Empty lists when it cannot serve."""
    from catalog.models import Shopper
    from recommend import selectors
    from recommend.serving.cache import generations
    from recommend.serving.context import ServingContext
    from recommend.serving.recs import RecsParams, recommendations

    external = dict(Shopper.objects.filter(pk__in=shopper_ids).values_list("pk", "external_id"))
    out: dict[int, list[int]] = {}
    ids = dict(Product.objects.values_list("external_id", "pk"))
    for pk in shopper_ids:
        try:
            gens = generations()
            strategy = selectors.default_strategy("recommendations", config_generation=gens[1])
            ctx = ServingContext(
                surface="recommendations",
                strategy=strategy,
                models=selectors.served_models(strategy, models_generation=gens[0]),
                config=selectors.serving_config(gens[1]),
                shopper=selectors.shopper_ref(external[pk]),
                session="",
                variant=None,
                shopper_external_id=external[pk],
                now=timezone.now(),
                simulated=True,
                generations=gens,
            )
            items = recommendations(RecsParams(size=size), ctx)
        except Exception as exc:  # a shopper the strategy cannot serve keeps no products
            log.warning("win-back products for shopper %s: %s", pk, exc)
            out[pk] = []
            continue
        shown = [item["product"]["id"] for item in items]
        out[pk] = [ids[ext] for ext in shown if ext in ids]
    return out


def churn_risk_run(
    *,
    horizon_days: int = 14,
    seed: int = 0,
    winback_min_risk: float = 0.5,
    winback_per_group: int = 20,
    winback_products: int = 5,
    job_id: int | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> ChurnRun:
    """Score every shopper's churn risk (see :mod:`recommend.insights.logic.churn` for the
    windows) and replace the previous run's scores."""
    progress = progress or (lambda _f, _m: None)
    progress(0.0, "reading the visits")
    visits = visits_load()
    if len(visits) == 0:
        raise ValueError("no events: nothing to score")
    end = float(visits.start.max())
    result = logic.churn_run(
        visits,
        end=end,
        horizon_days=float(horizon_days),
        seed=seed,
        progress=lambda f, m: progress(0.05 + 0.7 * f, m),
    )
    shoppers = [int(s) for s in result.shoppers]
    progress(0.8, "win-back groups")
    groups = winback_groups(shoppers)
    feature = {name: i for i, name in enumerate(logic.FEATURES)}
    value = result.value
    pick: dict[str, list[int]] = {}
    order = sorted(range(len(shoppers)), key=lambda i: -result.risk[i] * (1.0 + value[i]))
    for i in order:
        if result.risk[i] >= winback_min_risk:
            members = pick.setdefault(groups[shoppers[i]], [])
            if len(members) < winback_per_group:
                members.append(shoppers[i])
    chosen = [s for members in pick.values() for s in members]
    picked = set(chosen)
    progress(0.85, f"recommendations for {len(chosen)} win-back shoppers")
    products = recommended_products(chosen, winback_products) if winback_products else {}
    m = result.metrics

    def stamp(ts: float) -> datetime:
        return datetime.fromtimestamp(ts, tz=UTC)

    with transaction.atomic():
        ChurnScore.objects.all().delete()
        run = ChurnRun.objects.create(
            job_id=job_id,
            horizon_days=horizon_days,
            train_cutoff=stamp(m["train_cutoff"]),
            eval_cutoff=stamp(m["eval_cutoff"]),
            end=stamp(end),
            shoppers_scored=len(shoppers),
            auc=m["auc"],
            auc_recency=m["auc_recency"],
            metrics=m,
        )
        ChurnScore.objects.bulk_create(
            [
                ChurnScore(
                    run=run,
                    shopper_id=s,
                    risk=float(result.risk[i]),
                    value=round(float(value[i]), 2),
                    recency_days=round(float(result.features[i, feature["recency_days"]]), 2),
                    visits=int(result.features[i, feature["visits"]]),  # in the lookback
                    reasons=result.reasons[i],
                    group=groups[s][:200],
                    in_winback=s in picked,
                    winback_products=products.get(s, []),
                )
                for i, s in enumerate(shoppers)
            ],
            batch_size=2000,
        )
    progress(1.0, f"{len(shoppers)} shoppers scored")
    return run
