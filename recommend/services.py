"""Writes of the serving app: strategies, the search log, aggregates and shopper profiles."""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from platform_core.services import audit_record
from recommend import aggregates
from recommend.engine import cooccurrence, profiles
from recommend.engine.cooccurrence import bought_together, complementary_categories
from recommend.product_signals import product_signals
from recommend.selectors import (
    DEFAULT_STRATEGIES,
    ProfileState,
    ShopperRef,
    VersionRef,
    builtin_strategy,
    category_tree,
    profile_key,
    served_models,
    serving_config,
)
from recommend.serving.cache import bump_config_generation, searchlog_push
from recommend.serving.profile_state import profile_compute

logger = logging.getLogger(__name__)

SEARCHLOG_FLUSH_BATCH = 1000

# Trending: decayed engagement over the last TRENDING_WINDOW_DAYS before the latest event.
TRENDING_WINDOW_DAYS = 14
TRENDING_HALF_LIFE_HOURS = 72.0
POPULARITY_WINDOW_DAYS = 120
POPULARITY_HALF_LIFE_HOURS = 30 * 24.0
TRENDING_TOP = 500
TRENDING_PER_CATEGORY = 100
COMPLEMENTARY_TOP = 10  # complementary categories kept per category
EXPLORATION_POOL = 500  # products in the exploration pool (the least shown, newest first)
EXPLORATION_WINDOW_DAYS = 30
EXPLORATION_POOL_MAX_IMPRESSIONS = 1000  # above every strategy's sensible threshold
POPULAR_TOP = 1000


# --------------------------------------------------------------------------- strategies


def config_changed() -> int:
    """Invalidate cached strategies, rules and results (every config write calls this)."""
    return bump_config_generation()


def strategy_ensure_defaults() -> list[str]:
    """Create the default strategy of any surface that has none; returns the names created
    (``make run``'s bootstrap; the data migration creates them on a new database)."""
    from recommend.models import Strategy

    created_names = []
    for surface, (name, description) in DEFAULT_STRATEGIES.items():
        if Strategy.objects.filter(surface=surface, is_default=True).exists():
            continue
        try:
            with transaction.atomic():
                strategy, created = Strategy.objects.get_or_create(
                    name=name,
                    defaults={"surface": surface, "description": description, "is_default": True},
                )
                if not created and strategy.surface == surface:
                    Strategy.objects.filter(pk=strategy.pk).update(is_default=True)
                elif not created:  # the name is taken by another surface's strategy
                    Strategy.objects.create(
                        name=f"{name}-{surface}",
                        surface=surface,
                        description=description,
                        is_default=True,
                    )
                created_names.append(name)
        except IntegrityError:  # another process made one default first
            continue
    if created_names:
        config_changed()
    return created_names


def intent_behaviours_ensure_defaults() -> int:
    """Write the default intent behaviours (``intent_actions.DEFAULTS``) as rows for every
    search strategy that lacks them, so operators see and edit them; returns rows created."""
    from recommend.engine.intent_actions import DEFAULTS
    from recommend.models import IntentBehaviour, Strategy

    created = 0
    for strategy in Strategy.objects.filter(surface="search"):
        have = set(strategy.intent_behaviours.values_list("intent", flat=True))
        rows = [
            IntentBehaviour(strategy=strategy, intent=label, **IntentBehaviour.default_fields(b))
            for label, b in DEFAULTS.items()
            if label not in have
        ]
        IntentBehaviour.objects.bulk_create(rows, ignore_conflicts=True)
        created += len(rows)
    if created:
        config_changed()
    return created


def intent_behaviour_save(*, behaviour, actor=None, changed: list[str] | None = None) -> None:
    """Save an intent behaviour edited on its own admin page: the strategy's version goes up
    (its cached results carry the old version) and serving reloads the config."""
    from recommend.models import Strategy

    with transaction.atomic():
        behaviour.save()
        Strategy.objects.filter(pk=behaviour.strategy_id).update(version=F("version") + 1)
    audit_record(
        actor=actor,
        action="intent_behaviour.save",
        obj=behaviour,
        details={"strategy": behaviour.strategy_id, "changed": changed or []},
    )
    transaction.on_commit(config_changed)


@transaction.atomic
def strategy_make_default(*, strategy, actor=None) -> None:
    """Serve ``strategy`` by default on its surface (the previous default stops being one)."""
    from recommend.models import Strategy

    previous = list(
        Strategy.objects.select_for_update()
        .filter(surface=strategy.surface, is_default=True)
        .exclude(pk=strategy.pk)
        .values_list("name", flat=True)
    )
    Strategy.objects.filter(surface=strategy.surface, is_default=True).exclude(
        pk=strategy.pk
    ).update(is_default=False)
    Strategy.objects.filter(pk=strategy.pk).update(is_default=True)
    strategy.is_default = True
    audit_record(
        actor=actor,
        action="strategy.make_default",
        obj=strategy,
        details={"surface": strategy.surface, "previous_default": previous},
    )
    transaction.on_commit(config_changed)


@transaction.atomic
def strategy_save(*, strategy, actor=None, changed: list[str] | None = None) -> None:
    """Save an edited strategy as its next version (cached results of the old one expire)."""

    from recommend.models import TUNED_FIELDS, Strategy, WeightsOrigin

    creating = strategy.pk is None
    if not creating and set(changed or ()) & set(TUNED_FIELDS.get(strategy.surface, {}).values()):
        # An operator's edit of a tuned setting is theirs: tuning jobs leave it alone from now on.
        strategy.weights_set_by = WeightsOrigin.OPERATOR
        strategy.weights_operator_at = timezone.now()
    if strategy.is_default and not creating:
        Strategy.objects.filter(surface=strategy.surface, is_default=True).exclude(
            pk=strategy.pk
        ).update(is_default=False)
    strategy.save()
    if not creating:
        Strategy.objects.filter(pk=strategy.pk).update(version=F("version") + 1)
        strategy.refresh_from_db(fields=["version"])
    audit_record(
        actor=actor,
        action="strategy.create" if creating else "strategy.update",
        obj=strategy,
        details={"version": strategy.version, "changed": changed or []},
    )
    transaction.on_commit(config_changed)


@transaction.atomic
def strategy_set_learned_weights(
    *,
    strategy_id: int,
    weights: Mapping[str, float],
    tuning: Mapping[str, Any],
    job=None,
    actor=None,
    overwrite_operator_weights: bool = False,
) -> tuple[bool, str]:
    """Write the fusion settings a tuning job learned (``{name: value}`` over
    ``models.TUNED_FIELDS[strategy.surface]``) with their record, as the strategy's next version.

    Returns ``(written, why)``: settings an operator edited since are kept unless
    ``overwrite_operator_weights``; what the job learned is audited either way.
    """
    from django.db.models import F

    from recommend.models import TUNED_FIELDS, Strategy, WeightsOrigin

    strategy = Strategy.objects.select_for_update().get(pk=strategy_id)
    fields = TUNED_FIELDS.get(strategy.surface, {})
    before = {name: getattr(strategy, field) for name, field in fields.items()}
    learned = {name: weights[name] for name in fields if name in weights}
    details = {"before": before, "learned": learned, "job": getattr(job, "pk", None)}
    if strategy.weights_set_by == WeightsOrigin.OPERATOR and not overwrite_operator_weights:
        when = strategy.weights_operator_at
        why = (
            f"kept the weights an operator set{f' on {when:%Y-%m-%d %H:%M}' if when else ''} "
            "(launch with overwrite_operator_weights=true to replace them)"
        )
        audit_record(
            actor=actor,
            action="strategy.weights_kept",
            obj=strategy,
            details={**details, "why": why},
        )
        return False, why
    for name, value in learned.items():
        field = Strategy._meta.get_field(fields[name])
        setattr(strategy, fields[name], field.to_python(value))
    strategy.weights_set_by = WeightsOrigin.JOB
    strategy.weights_job = job
    strategy.weights_tuned_at = timezone.now()
    strategy.weights_tuning = {**tuning, "weights_before": before}
    strategy.save()
    Strategy.objects.filter(pk=strategy.pk).update(version=F("version") + 1)
    strategy.refresh_from_db(fields=["version"])
    audit_record(
        actor=actor,
        action="strategy.weights_learned",
        obj=strategy,
        details={**details, "version": strategy.version},
    )
    transaction.on_commit(config_changed)
    return True, f"wrote the learned weights to {strategy.name} (version {strategy.version})"


# --------------------------------------------------------------------------- search log


def searchlog_record(row: Mapping[str, Any], *, defer: list | None = None) -> None:
    """Queue one served search for the log (a Redis buffer written in batches by
    ``recommend.tasks.flush_searchlogs``). Writes directly only when Redis is unreachable.
    ``defer``: the request's deferred pushes (``ServingContext.pushes``), sent with its other
    writes in one round trip."""
    if defer is not None:
        from recommend.buffers import SEARCHLOG

        defer.append((SEARCHLOG, dict(row), _searchlog_fallback))
        return
    if searchlog_push(dict(row)) == "failed":
        _searchlog_fallback(dict(row))


def _searchlog_fallback(row: dict[str, Any]) -> None:
    """Write one search log row directly (Redis refused it); never raises."""
    try:
        _searchlog_write([dict(row)])
    except Exception:  # the log must never fail the response it describes
        logger.exception(
            "search log %s could not be written (Redis and the database refused it)",
            row.get("request_id"),
        )


def _searchlog_write(rows: list[dict[str, Any]]) -> int:
    """Insert SearchLog rows; a request id already stored is skipped (a batch written twice,
    after its flusher died, is stored once)."""
    from catalog.models import SearchLog

    objects = []
    for row in rows:
        timestamp = row.get("timestamp")
        if isinstance(timestamp, str):
            timestamp = datetime.fromisoformat(timestamp)
        objects.append(
            SearchLog(
                query=str(row.get("query", ""))[:500],
                normalised_query=str(row.get("normalised_query", ""))[:500],
                corrected_query=str(row.get("corrected_query") or "")[:500],
                shopper_id=row.get("shopper_id"),
                session=str(row.get("session", ""))[:128],
                result_count=int(row.get("result_count", 0)),
                latency_ms=float(row.get("latency_ms", 0.0)),
                request_id=str(row["request_id"])[:64],
                intent=str(row.get("intent") or "")[:32],
                strategy=str(row.get("strategy", ""))[:120],
                variant=str(row.get("variant") or "")[:120],
                filters=row.get("filters") or {},
                shown_products=list(row.get("shown_products") or []),
                timestamp=timestamp or timezone.now(),
            )
        )
    try:
        with transaction.atomic():  # a savepoint: the retry below needs a usable transaction
            created = SearchLog.objects.bulk_create(objects, ignore_conflicts=True, batch_size=500)
    except IntegrityError:
        # a shopper deleted (forgotten) since the search: keep the row without them
        for obj in objects:
            obj.shopper_id = None
        created = SearchLog.objects.bulk_create(objects, ignore_conflicts=True, batch_size=500)
    return len(created)


def searchlogs_flush(*, max_rows: int = 50_000) -> int:
    """Write queued search-log rows (claimed batches; a row that cannot be stored goes to the
    dead-letter list and the rest land); returns how many rows were taken from the buffer."""
    from platform_core.buffers import flush
    from recommend.buffers import SEARCHLOG

    return flush(
        SEARCHLOG, _searchlog_write, batch_size=SEARCHLOG_FLUSH_BATCH, max_rows=max_rows
    ).taken


# --------------------------------------------------------------------------- aggregates


def _decayed_sql(window_days: int, half_life_hours: float) -> str:
    weights = " ".join(
        f"WHEN '{name}' THEN {float(w)}" for name, w in profiles.EVENT_WEIGHTS.items()
    )
    # Same formula as recommend.engine.cooccurrence.trending: sum weight * 0.5 ** (age_h / half_life)
    return (
        f"SELECT e.product_id, sum((CASE e.type {weights} ELSE 0 END) * "
        f"power(0.5, greatest(0, extract(epoch FROM (%(ref)s - e.timestamp)) / 3600.0) / {float(half_life_hours)})) "
        f"FROM catalog_event e JOIN catalog_product p ON p.id = e.product_id AND p.active "
        f"WHERE e.product_id IS NOT NULL AND e.timestamp > %(ref)s - interval '{int(window_days)} days' "
        f"AND e.timestamp <= %(ref)s GROUP BY e.product_id"
    )


def _all_time_sql(top: int) -> str:
    """All-time popularity: weighted events over the whole log (no window, no decay)."""
    weights = " ".join(
        f"WHEN '{name}' THEN {float(w)}" for name, w in profiles.EVENT_WEIGHTS.items()
    )
    return (
        f"SELECT e.product_id, sum(CASE e.type {weights} ELSE 0 END) AS s "
        f"FROM catalog_event e JOIN catalog_product p ON p.id = e.product_id AND p.active "
        f"WHERE e.product_id IS NOT NULL GROUP BY e.product_id "
        f"HAVING sum(CASE e.type {weights} ELSE 0 END) > 0 ORDER BY s DESC, e.product_id LIMIT {int(top)}"
    )


def _exploration_pool(cursor, now: datetime) -> list[tuple[int, int, int]]:
    """The active, in-stock products shown least over the last ``EXPLORATION_WINDOW_DAYS``
    (served-request rollups), newest first among equals: ``[(id, impressions, clicks)]``."""
    from recommend.analytics.models import ProductDayRollup

    since = (now - timedelta(days=EXPLORATION_WINDOW_DAYS)).date()
    cursor.execute(
        "SELECT p.id, COALESCE(r.impressions, 0), COALESCE(r.clicks, 0) "
        "FROM catalog_product p LEFT JOIN ("
        "  SELECT product_id, sum(impressions) AS impressions, sum(clicks) AS clicks "
        f"  FROM {ProductDayRollup._meta.db_table} WHERE day >= %s GROUP BY product_id"
        ") r ON r.product_id = p.id "
        "WHERE p.active AND p.stock > 0 AND COALESCE(r.impressions, 0) < %s "
        "ORDER BY COALESCE(r.impressions, 0), p.created_at DESC, p.id LIMIT %s",
        [since, EXPLORATION_POOL_MAX_IMPRESSIONS, EXPLORATION_POOL],
    )
    return [(int(pk), int(i), int(c)) for pk, i, c in cursor.fetchall()]


def aggregates_refresh(*, reference_time: datetime | None = None) -> aggregates.Aggregates:
    """Recompute trending (global and per category subtree), popularity, bought-together and
    popular queries, store them for every process, and return them.

    Decay is measured from the latest event (not the wall clock), so a store whose events
    stopped a while ago, or a simulator running ahead in time, still has a trending list.
    """
    from django.db.models import Count

    from catalog.models import Event, SearchLog

    with connection.cursor() as cursor:
        if reference_time is None:
            cursor.execute("SELECT max(timestamp) FROM catalog_event WHERE product_id IS NOT NULL")
            reference_time = cursor.fetchone()[0] or timezone.now()
        cursor.execute(
            _decayed_sql(TRENDING_WINDOW_DAYS, TRENDING_HALF_LIFE_HOURS), {"ref": reference_time}
        )
        trending = sorted(
            ((pk, float(s)) for pk, s in cursor.fetchall() if s and s > 0),
            key=lambda t: (-t[1], t[0]),
        )
        cursor.execute(
            _decayed_sql(POPULARITY_WINDOW_DAYS, POPULARITY_HALF_LIFE_HOURS),
            {"ref": reference_time},
        )
        popularity = {pk: math.log1p(float(s)) for pk, s in cursor.fetchall() if s and s > 0}
        cursor.execute(_all_time_sql(POPULAR_TOP))
        popular = [(pk, float(s)) for pk, s in cursor.fetchall()]
        exploration = _exploration_pool(cursor, timezone.now())
        cursor.execute(
            "SELECT id, category_id FROM catalog_product WHERE active AND id = ANY(%s)",
            [[pk for pk, _ in trending] + list(popularity)],
        )
        product_categories = {pk: cat for pk, cat in cursor.fetchall() if cat is not None}
        # Baskets: purchases of one shopper in one session (or one day when sessionless).
        cursor.execute(
            "SELECT array_agg(DISTINCT e.product_id), "
            "array_remove(array_agg(DISTINCT p.category_id), NULL) "
            "FROM catalog_event e JOIN catalog_product p ON p.id = e.product_id "
            "WHERE e.type = 'purchase' GROUP BY e.shopper_id, "
            "CASE WHEN e.session <> '' THEN e.session ELSE to_char(e.timestamp, 'YYYY-MM-DD') END"
        )
        basket_rows = cursor.fetchall()
        signals = product_signals(cursor)
        baskets = [row[0] for row in basket_rows]
        category_baskets = [row[1] for row in basket_rows]
    tree = category_tree()
    per_category = cooccurrence.by_category(
        trending, product_categories, tree.ancestors_of, TRENDING_PER_CATEGORY
    )
    together = bought_together(baskets, min_support=2, measure="lift", top_n=20)
    complements = complementary_categories(
        category_baskets,
        {cat: info.ancestors for cat, info in tree.by_id.items()},
        min_support=2,
        top_n=COMPLEMENTARY_TOP,
    )
    queries: dict[str, int] = defaultdict(int)
    for row in (
        SearchLog.objects.filter(result_count__gt=0)
        .values("normalised_query")
        .annotate(n=Count("id"))
        .order_by("-n")[:5000]
    ):
        queries[row["normalised_query"]] += row["n"]
    for row in (
        Event.objects.filter(type="search")
        .exclude(query="")
        .values("query")
        .annotate(n=Count("id"))
        .order_by("-n")[:5000]
    ):
        from recommend.engine.text import normalise

        queries[normalise(row["query"])] += row["n"]
    popular_queries = sorted(
        ((q, n) for q, n in queries.items() if q), key=lambda t: (-t[1], t[0])
    )[:5000]
    value = aggregates.Aggregates(
        stamp=f"{timezone.now().isoformat()}:{len(trending)}",
        reference_time=reference_time.timestamp(),
        trending=trending[:TRENDING_TOP],
        by_category=per_category,
        popularity=popularity,
        bought_together={int(k): [(int(p), float(s)) for p, s in v] for k, v in together.items()},
        popular_queries=popular_queries,
        popular=popular,
        complementary={int(k): [(int(c), float(s)) for c, s in v] for k, v in complements.items()},
        exploration=exploration,
        ratings=signals["ratings"],
        propensity=signals["propensity"],
        review_snippets=signals["snippets"],
        product_categories={
            pk: cat
            for pk, cat in product_categories.items()
            if pk in {p for p, _ in trending[:TRENDING_TOP]}
        },
    )
    aggregates.store(value)
    return value


# --------------------------------------------------------------------------- shopper profiles


PROFILE_TTL = 24 * 3600


def shopper_profiles_refresh(
    *, shopper_ids: Iterable[int] = (), external_ids: Iterable[str] = ()
) -> int:
    """Recompute these shoppers' profiles under every retriever a strategy serves, and store
    them for the request path (``recommend.selectors.stored_profile``): the vector in
    ``training.ShopperProfile``, the category interests on the shopper, the whole state in
    Redis. Event ingestion queues this on commit (``recommend.tasks.refresh_profiles``);
    returns how many shoppers were refreshed."""
    from catalog.models import Shopper

    query = Q(pk__in=list(shopper_ids)) | Q(external_id__in=list(external_ids))
    rows = list(Shopper.objects.filter(query).values_list("id", "external_id", "profile_version"))
    retrievers = _served_retrievers()
    for pk, external_id, version in rows:
        shopper = ShopperRef(id=pk, external_id=external_id, profile_version=version)
        for retriever in retrievers:
            state = _profile_store(shopper=shopper, retriever=retriever)
            state.version = version
            payload = dict(state.__dict__)
            payload["vector"] = (
                state.vector.astype(np.float32).tobytes() if state.vector is not None else None
            )
            cache.set(profile_key(retriever, shopper.id), payload, PROFILE_TTL)
    return len(rows)


def _served_retrievers() -> list[VersionRef | None]:
    """The retriever versions the strategies serve (pinned or active; None without one)."""
    config = serving_config()
    strategies = list(config.strategies.values()) + [
        builtin_strategy(surface)
        for surface in DEFAULT_STRATEGIES
        if surface not in config.defaults
    ]
    served: dict[int, VersionRef | None] = {}
    for strategy in strategies:
        retriever = served_models(strategy).retriever
        served[retriever.space_id if retriever else 0] = retriever  # profiles live per space
    return list(served.values())


def _profile_store(*, shopper: ShopperRef, retriever: VersionRef | None) -> ProfileState:
    """Compute the shopper's profile and write what the database keeps of it: the category
    interests on the shopper and the vector in ``training.ShopperProfile``."""
    from catalog.models import Shopper
    from recommend.serving.retrievers import vector_literal
    from training.models import ShopperProfile

    state = profile_compute(shopper=shopper, retriever=retriever)
    if not state.event_count:
        return state
    tree = category_tree()
    Shopper.objects.filter(pk=shopper.id).update(
        category_interests={
            tree.by_id[c].external_id: round(v, 4)
            for c, v in state.interests.items()
            if c in tree.by_id
        }
    )
    if state.vector is not None and retriever is not None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {ShopperProfile._meta.db_table} (shopper_id, model_version_id, vector, "
                "event_count, updated_at) VALUES (%s, %s, %s::vector, %s, now()) "
                "ON CONFLICT (model_version_id, shopper_id) DO UPDATE SET vector = EXCLUDED.vector, "
                "event_count = EXCLUDED.event_count, updated_at = EXCLUDED.updated_at",
                [shopper.id, retriever.space_id, vector_literal(state.vector), state.vector_events],
            )
    return state


def now_utc() -> datetime:
    return datetime.now(UTC)
