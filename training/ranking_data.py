"""The training lists of ``train_ranker`` (``training.runners.ranker``): result lists shown to
shoppers, what they did with them, and the ranker features of every item.

- **served lists**: SearchLog rows (what was shown, in order) joined with the events that
  carry their ``request_id`` (click 1, add to cart 2, purchase 3 as engagement);
- **search sessions** without a log row (imported history such as the demo store): a search
  event's list is rebuilt with today's retrieval (lexical + semantic, fused), the products the
  session clicked *that today's retrieval also finds* are put at the positions they were
  clicked at, and engagement is what the session did with them. Searches without such a click
  are skipped (nothing to learn, and retrieval is the cost).

Features are computed as serving computes them (``recommend.serving.features.feature_dicts``), with
the shopper's profile *as of the search* (events before it only) so the label does not leak
into the profile feature. ``list_metrics`` scores lists (AUC, NDCG@10) for the runner's report.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from recommend.engine.cooccurrence import PopularityTimeline

ENGAGEMENT = {"click": 1.0, "add_to_cart": 2.0, "purchase": 3.0}


@dataclass
class ShownList:
    """One result list a shopper saw and what they did with it."""

    list_id: str
    timestamp: datetime
    query: str
    shopper_id: int | None
    products: list[int]
    positions: dict[int, int] = field(default_factory=dict)  # product -> 1-based shown position
    engagement: dict[int, float] = field(default_factory=dict)
    source: str = "log"
    # product -> the engagement event types it drew (the data_value job leaves a type out)
    kinds: dict[int, set[str]] = field(default_factory=dict)

    @property
    def clicked(self) -> set[int]:
        return {pk for pk, level in self.engagement.items() if level > 0}


# --------------------------------------------------------------------------- lists


def served_lists(*, max_lists: int, since: datetime | None) -> list[ShownList]:
    """Lists from the search log, with engagement from events carrying their request id."""
    from recommend.serving.retrievers import product_ids_for_external
    from training import datasets

    logs = datasets.training_search_logs().exclude(shown_products=[]).order_by("-timestamp")
    if since is not None:
        logs = logs.filter(timestamp__gte=since)
    rows = list(
        logs.values_list(
            "request_id",
            "timestamp",
            "normalised_query",
            "corrected_query",
            "shopper_id",
            "shown_products",
        )[:max_lists]
    )
    if not rows:
        return []
    mapping = product_ids_for_external(sorted({p for *_, shown in rows for p in shown}))
    engagement: dict[str, dict[int, float]] = defaultdict(dict)
    kinds: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for request_id, product_id, kind in (
        datasets.training_events()
        .filter(
            request_id__in=[r[0] for r in rows], type__in=list(ENGAGEMENT), product__isnull=False
        )
        .values_list("request_id", "product_id", "type")
    ):
        level = engagement[request_id]
        level[product_id] = max(level.get(product_id, 0.0), ENGAGEMENT[kind])
        kinds[request_id][product_id].add(kind)
    lists = []
    for request_id, timestamp, normalised, corrected, shopper_id, shown in rows:
        products = [mapping[p] for p in shown if p in mapping]
        if len(products) < 2:
            continue
        lists.append(
            ShownList(
                list_id=request_id,
                timestamp=timestamp,
                query=corrected or normalised,
                shopper_id=shopper_id,
                products=products,
                positions={pk: i for i, pk in enumerate(products, start=1)},
                engagement={pk: v for pk, v in engagement[request_id].items() if pk in products},
                kinds={pk: set(v) for pk, v in kinds[request_id].items() if pk in products},
            )
        )
    return lists


def session_lists(
    *,
    max_lists: int,
    since: datetime | None,
    list_size: int,
    skip_sessions: set[str],
    retrieve,
    progress=None,
    check_cancel=None,
    prepare=None,
) -> list[ShownList]:
    """Lists rebuilt from search events (history without a search log). Only searches followed
    by a click are rebuilt (retrieval is the cost here, and a list nobody engaged with teaches
    the ranker nothing); ``progress(fraction, step, total)`` reports every 20 searches."""
    from recommend.engine.text import normalise
    from training import datasets

    searches = (
        datasets.training_events()
        .filter(type="search")
        .exclude(query="")
        .exclude(session="")
        .order_by("-timestamp")
    )
    if since is not None:
        searches = searches.filter(timestamp__gte=since)
    searches = [
        s
        for s in searches.values_list("id", "shopper_id", "session", "query", "timestamp")[
            : max_lists * 2
        ]
        if s[2] not in skip_sessions
    ][:max_lists]
    if not searches:
        return []
    by_session: dict[tuple[int, str], list[tuple]] = defaultdict(list)
    for event in (
        datasets.training_events()
        .filter(
            session__in=list({s[2] for s in searches}),
            type__in=list(ENGAGEMENT),
            product__isnull=False,
        )
        .order_by("timestamp", "id")
        .values_list(
            "shopper_id", "session", "product_id", "type", "query", "position", "timestamp"
        )
    ):
        by_session[(event[0], event[1])].append(event)
    if prepare is not None:
        # The queries that will be retrieved (a click carrying them follows), prepared in one
        # batch: one query at a time through the encoder cost 15x more (measured on a busy host).
        prepare(
            [
                normalise(query)
                for _id, shopper_id, session, query, timestamp in searches
                if any(
                    kind == "click" and ts >= timestamp and normalise(q) == normalise(query)
                    for _s, _sess, _p, kind, q, _pos, ts in by_session.get(
                        (shopper_id, session), []
                    )
                )
            ]
        )
    lists = []
    for n, (search_id, shopper_id, session, query, timestamp) in enumerate(searches, start=1):
        if n % 20 == 0:
            if check_cancel is not None:
                check_cancel()
            if progress is not None:
                progress(n / len(searches), n, len(searches))
        events = by_session.get((shopper_id, session), [])
        normalised = normalise(query)
        clicks: dict[int, int] = {}
        engagement: dict[int, float] = {}
        drew: dict[int, set[str]] = defaultdict(set)
        for _s, _sess, product, kind, event_query, position, ts in events:
            if ts < timestamp:
                continue
            if kind == "click":
                if normalise(event_query) != normalised or product in clicks:
                    continue
                clicks[product] = position or 0
                engagement[product] = max(engagement.get(product, 0.0), ENGAGEMENT[kind])
                drew[product].add(kind)
            elif product in clicks:
                engagement[product] = max(engagement.get(product, 0.0), ENGAGEMENT[kind])
                drew[product].add(kind)
        if not clicks:
            continue
        retrieved = retrieve(normalised, list_size)
        # Only clicks today's retrieval also finds: positives and negatives then come from the
        # same candidates. A clicked product it does not find would enter the list with a low
        # lexical and semantic score, and the ranker would learn that low relevance is clicked.
        found = set(retrieved)
        clicks = {pk: position for pk, position in clicks.items() if pk in found}
        if not clicks:
            continue
        products = [pk for pk in retrieved if pk not in clicks]
        for product, position in sorted(clicks.items(), key=lambda t: t[1] or 10**6):
            where = min(max((position or len(products) + 1) - 1, 0), len(products))
            products.insert(where, product)
        products = products[: max(list_size, len(clicks))]
        if len(products) < 2:
            continue
        lists.append(
            ShownList(
                list_id=f"search-{search_id}",
                timestamp=timestamp,
                query=normalised,
                shopper_id=shopper_id,
                products=products,
                positions={pk: i for i, pk in enumerate(products, start=1)},
                engagement={pk: v for pk, v in engagement.items() if pk in products},
                source="session",
                kinds={pk: set(v) for pk, v in drew.items() if pk in products},
            )
        )
    return lists


# --------------------------------------------------------------------------- features


class FeatureBuilder:
    """Ranker features of shown lists, computed as serving computes them."""

    def __init__(self, *, retriever, cf_version, since: datetime | None = None) -> None:
        from recommend import selectors
        from recommend.serving import loaders

        self.retriever = retriever
        self.since = since  # lists are no older: popularity needs no event before its window
        self.config = selectors.serving_config()
        self.ids: list[int] = []
        self.matrix = np.zeros((0, 0), dtype=np.float32)
        self.row_of: dict[int, int] = {}
        if retriever is not None:
            from training.vectors import load_vectors

            self.ids, self.matrix = load_vectors(retriever.id)
            norms = np.linalg.norm(self.matrix, axis=1, keepdims=True)
            self.matrix = np.divide(
                self.matrix, norms, out=np.zeros_like(self.matrix), where=norms > 0
            )
            self.row_of = {pk: i for i, pk in enumerate(self.ids)}
        self.cf = loaders.cf_model(cf_version)
        self._popularity: PopularityTimeline | None = None
        self._query_cache: dict[str, Any] = {}
        self._profiles: dict[int, list[tuple[datetime, int, str]]] = {}
        self._ratings: dict[int, tuple[list, list]] | None = None

    # -- queries
    def prepared(self, normalised: str):
        from recommend.serving import cache, loaders
        from recommend.serving.search import prepare_query

        if normalised not in self._query_cache:
            prepared = prepare_query(
                normalised, self.config.synonyms, loaders.known_words(self.retriever)
            )
            vector = None
            if self.retriever is not None:
                vector, _ = cache.query_vector(
                    self.retriever.id,
                    prepared.semantic_text,
                    lambda text: loaders.encode_query(self.retriever, text),
                    vector_space=self.retriever.space_id,
                )
            self._query_cache[normalised] = (prepared, vector)
        return self._query_cache[normalised]

    def retrieve(self, normalised: str, k: int) -> list[int]:
        """Today's fused lexical + semantic top ``k`` (rebuilding lists of old searches)."""
        from recommend.engine.fusion import reciprocal_rank_fusion
        from recommend.serving.retrievers import PostgresLexicalIndex

        prepared, vector = self.prepared(normalised)
        ranked = {"lexical": PostgresLexicalIndex().search(prepared.lexical_text, k)}
        if vector is not None and len(self.ids):
            sims = self.matrix @ (vector / max(float(np.linalg.norm(vector)), 1e-12))
            top = np.argsort(-sims)[:k]
            ranked["semantic"] = [(self.ids[i], float(sims[i])) for i in top]
        return [f.id for f in reciprocal_rank_fusion(ranked, k=60)][:k]

    def prepare_many(self, normalised_queries: Sequence[str]) -> None:
        """Prepare many queries at once: what :meth:`prepared` gives each (the same query-vector
        cache first), with the vectors Redis does not hold encoded in batches."""
        from recommend.serving import cache, loaders
        from recommend.serving.search import prepare_query

        todo = [q for q in dict.fromkeys(normalised_queries) if q not in self._query_cache]
        if not todo:
            return
        words = loaders.known_words(self.retriever)
        prepared = {q: prepare_query(q, self.config.synonyms, words) for q in todo}
        vectors: dict[str, Any] = {}
        if self.retriever is not None:
            vectors = cache.query_vectors(
                self.retriever.id,
                sorted({p.semantic_text for p in prepared.values()}),
                lambda texts: loaders.encode_queries(self.retriever, texts),
                vector_space=self.retriever.space_id,
            )
        for q, p in prepared.items():
            self._query_cache[q] = (p, vectors.get(p.semantic_text))

    # -- shopper profile as of a moment
    def _events(self, shopper_id: int) -> list[tuple[datetime, int, str]]:
        from catalog.models import Event
        from recommend.engine.profiles import EVENT_WEIGHTS

        if shopper_id not in self._profiles:
            self._profiles[shopper_id] = list(
                Event.objects.filter(
                    shopper_id=shopper_id, type__in=list(EVENT_WEIGHTS), product__isnull=False
                )
                .order_by("timestamp", "id")
                .values_list("timestamp", "product_id", "type")
            )
        return self._profiles[shopper_id]

    def profile_at(self, shopper_id: int | None, moment: datetime) -> np.ndarray | None:
        from recommend.engine.profiles import decayed_profile
        from recommend.serving.profile_state import PROFILE_EVENTS, PROFILE_HALF_LIFE_DAYS

        if shopper_id is None or not len(self.ids):
            return None
        before = [e for e in self._events(shopper_id) if e[0] < moment and e[1] in self.row_of][
            -PROFILE_EVENTS:
        ]
        if not before:
            return None
        matrix = self.matrix[[self.row_of[pk] for _, pk, _ in before]]
        vector = decayed_profile(
            matrix,
            [ts for ts, _, _ in before],
            [kind for _, _, kind in before],
            before[-1][0],
            half_life_days=PROFILE_HALF_LIFE_DAYS,
        )
        return vector if float(np.linalg.norm(vector)) > 0 else None

    # -- popularity as of a moment
    def popularity_at(self, pks: Sequence[int], moment: datetime) -> dict[int, float]:
        """Popularity as serving would have read it when the list was shown: events strictly
        before ``moment`` only (today's aggregates would count the clicks being predicted)."""
        if self._popularity is None:
            from catalog.models import Event
            from recommend.engine.profiles import EVENT_WEIGHTS
            from recommend.services import POPULARITY_HALF_LIFE_HOURS, POPULARITY_WINDOW_DAYS

            # Features read every event as serving does (flags choose training lists, not the
            # inputs serving will see).
            events = Event.objects.filter(
                type__in=list(EVENT_WEIGHTS), product__isnull=False, product__active=True
            )
            if self.since is not None:
                events = events.filter(
                    timestamp__gt=self.since - timedelta(days=POPULARITY_WINDOW_DAYS)
                )
            rows = events.values_list("product_id", "timestamp", "type").iterator(chunk_size=20_000)
            self._popularity = PopularityTimeline(
                ((pk, ts, EVENT_WEIGHTS[kind]) for pk, ts, kind in rows),
                window_days=POPULARITY_WINDOW_DAYS,
                half_life_hours=POPULARITY_HALF_LIFE_HOURS,
            )
        return self._popularity.at(pks, moment)

    # -- ratings as of a moment
    def ratings_at(self, pks: Sequence[int], moment: datetime) -> dict[int, tuple[int, float]]:
        """Rating counts and means from ratings strictly before ``moment`` (the aggregates'
        definition, ``recommend.product_signals``): today's would count the ratings left after
        the purchases being predicted. Stock has no history: the current stock stands in."""
        if self._ratings is None:
            from catalog.models import Event

            by_product: dict[int, tuple[list, list]] = defaultdict(lambda: ([], []))
            for pk, ts, value in (
                Event.objects.filter(
                    type__in=("rating", "review"), value__gte=1, value__lte=5, product__active=True
                )
                .order_by("timestamp", "id")
                .values_list("product_id", "timestamp", "value")
                .iterator(chunk_size=20_000)
            ):
                times, values = by_product[pk]
                times.append(ts)
                values.append((values[-1] if values else 0.0) + float(value))
            self._ratings = dict(by_product)
        out = {}
        for pk in pks:
            times, sums = self._ratings.get(pk, ((), ()))
            n = bisect_left(times, moment)
            if n:
                out[pk] = (n, sums[n - 1] / n)
        return out

    # -- one list
    def features(self, shown: ShownList) -> tuple[list[dict[str, float]], list[float]]:
        """Feature dicts (with the shown position) and the fusion baseline score per item."""
        from recommend.serving.features import FeatureInputs, feature_dicts
        from recommend.serving.retrievers import PostgresLexicalIndex, product_rows

        prepared, vector = self.prepared(shown.query)
        pks = shown.products
        lexical = PostgresLexicalIndex().scores(prepared.lexical_text, pks)
        semantic: dict[int, float] = {}
        profile: dict[int, float] = {}
        rows = [self.row_of[pk] for pk in pks if pk in self.row_of]
        with_vectors = [pk for pk in pks if pk in self.row_of]
        if vector is not None and rows:
            unit = vector / max(float(np.linalg.norm(vector)), 1e-12)
            semantic = dict(zip(with_vectors, (self.matrix[rows] @ unit).tolist(), strict=True))
            profile_vector = self.profile_at(shown.shopper_id, shown.timestamp)
            if profile_vector is not None:
                profile = dict(
                    zip(
                        with_vectors,
                        (self.matrix[rows] @ profile_vector.astype(np.float32)).tolist(),
                        strict=True,
                    )
                )
        cf: dict[int, float] = {}
        if (
            self.cf is not None
            and shown.shopper_id is not None
            and not self.cf.keyed_by_external_id
        ):
            cf = {
                pk: float(s)
                for pk, s in zip(pks, self.cf.model.score(shown.shopper_id, pks), strict=True)
            }
        products = product_rows(pks)
        prices = {pk: row.price for pk, row in products.items()}
        popularity = self.popularity_at(pks, shown.timestamp)
        dicts = feature_dicts(
            pks,
            FeatureInputs(lexical=lexical, semantic=semantic, profile=profile, cf=cf),
            prices,
            popularity,
            products=products,
            ratings=self.ratings_at(pks, shown.timestamp),
        )
        for pk, d in zip(pks, dicts, strict=True):
            d["position"] = float(shown.positions.get(pk, len(pks)))
        return dicts, fusion_baseline(pks, lexical, semantic)


def fusion_baseline(
    pks: Sequence[int], lexical: dict[int, float], semantic: dict[int, float], k: int = 60
) -> list[float]:
    """RRF of the within-list lexical and semantic rankings (what serving does without a ranker)."""
    from recommend.serving.features import fusion_within

    return fusion_within(pks, lexical, semantic, k)


def list_metrics(
    lists: Sequence[tuple[list[float], list[float], list[float]]], k: int = 10
) -> dict[str, float]:
    """AUC over every item (click vs not) and mean NDCG@k over lists with engagement;
    each list is ``(scores, clicks, engagement)``."""
    from training.ml import metrics

    scores = [s for scores_, _, _ in lists for s in scores_]
    clicks = [c for _, clicks_, _ in lists for c in clicks_]
    out: dict[str, float] = {"lists": float(len(lists)), "rows": float(len(scores))}
    if 0 < sum(1 for c in clicks if c > 0) < len(clicks):
        out["auc"] = round(metrics.auc(scores, [c > 0 for c in clicks]), 4)
    ndcgs = []
    for scores_, _, engagement in lists:
        gains = {i: g for i, g in enumerate(engagement) if g > 0}
        if gains:
            order = sorted(range(len(scores_)), key=lambda i: (-scores_[i], i))
            ndcgs.append(metrics.ndcg_at_k(order, gains, k))
    out[f"ndcg@{k}"] = round(float(np.mean(ndcgs)), 4) if ndcgs else 0.0
    return out


# --------------------------------------------------------------------------- the dataset


def build_dataset(
    *, params: dict[str, Any], retriever, cf_version, progress=None, check_cancel=None
):
    """``(lists, rows_by_list, baseline_by_list)`` for the job (also used by tests)."""
    from django.utils import timezone

    from training.ml.ranker import RankerRow

    since = timezone.now() - timedelta(days=params["days"]) if params.get("days") else None
    builder = FeatureBuilder(retriever=retriever, cf_version=cf_version, since=since)
    lists = served_lists(max_lists=params["max_lists"], since=since)
    if len(lists) < params["max_lists"]:
        from training import datasets

        logged_sessions = set(
            datasets.training_search_logs()
            .exclude(session="")
            .values_list("session", flat=True)
            .distinct()
        )
        rebuilt = None
        if progress is not None:

            def rebuilt(fraction: float, step: int, total: int) -> None:
                progress(fraction / 2, step, total, None, {"phase": "rebuild lists"})

        lists += session_lists(
            max_lists=params["max_lists"] - len(lists),
            since=since,
            list_size=params["list_size"],
            skip_sessions=logged_sessions,
            retrieve=builder.retrieve,
            progress=rebuilt,
            check_cancel=check_cancel,
            prepare=builder.prepare_many,
        )
    lists = [
        shown for shown in lists if shown.engagement
    ]  # a list nobody engaged with teaches nothing
    builder.prepare_many([shown.query for shown in lists])  # the served lists' queries too
    rows: dict[str, list] = {}
    baseline: dict[str, list[float]] = {}
    for n, shown in enumerate(lists, start=1):
        if check_cancel is not None:
            check_cancel()
        dicts, fused = builder.features(shown)
        rows[shown.list_id] = [
            RankerRow(
                list_id=shown.list_id,
                features=d,
                click=1.0 if shown.engagement.get(pk, 0) > 0 else 0.0,
                engagement=float(shown.engagement.get(pk, 0.0)),
            )
            for pk, d in zip(shown.products, dicts, strict=True)
        ]
        baseline[shown.list_id] = fused
        if progress is not None and n % 20 == 0:
            progress(0.5 + n / len(lists) / 2, n, len(lists), None, {"phase": "features"})
    return lists, rows, baseline
