"""The candidate lists ``tune_recommendations`` (``training.runners.tune``) fuses: for each
validation shopper, what each recommendation source would have served them from the training
part of a split alone, built the way serving builds it (``recommend.serving.recs``):

- **cf**: the CF recipe (family and parameters) fitted on the training part; as serving asks
  it, the shopper's own products are ranked too (then dropped, their ranks counted);
- **profile**: the decayed mean of the vectors of the shopper's latest training events
  (``recommend.engine.profiles.decayed_profile``, serving's half-life and event weights) against
  every product vector of the retriever, cosine at least the strategy's ``semantic_min_score``;
- **interests**: trending in the shopper's categories, by interest share
  (``recommend.engine.cooccurrence.trending_in``);
- **trending**: decayed engagement over serving's trending window before the training part's
  latest event;
- **bought_together**: lift over the training part's baskets (purchases of one shopper in one
  day) from the shopper's latest purchases and carts (``bought_with_any``).

A source that cannot be built (no CF version, no retriever vectors, no baskets) is reported with
the reason and left out of the tuning.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np

from recommend.engine import cooccurrence, profiles

SOURCES = ("cf", "profile", "interests", "trending", "bought_together")
#: CF weights of ``training.datasets.CF_WEIGHTS`` back to serving's event weights (profiles,
#: trending): view, click (and rating / review), add to cart, purchase.
SERVING_WEIGHT = {0.5: "view", 1.0: "click", 2.0: "add_to_cart", 3.0: "purchase"}


@dataclass
class SourceLists:
    """``lists[shopper][source]``: product ids best first; ``train`` / ``valid`` / ``test``: each
    shopper's products per part; ``skipped``: sources not built and why."""

    shoppers: list[int]
    lists: dict[int, dict[str, list[int]]]
    train: dict[int, set[int]]
    valid: dict[int, set[int]]
    test: dict[int, set[int]]
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def built(self) -> list[str]:
        return [s for s in SOURCES if s not in self.skipped]


Row = tuple  # (shopper, product, CF weight, timestamp[, event id]) as cf_interactions reads them


def _history(rows: Sequence[Row]) -> dict[int, list[tuple[int, str, object]]]:
    """Each shopper's training events, latest first, as (product, serving event type, time)."""
    out: dict[int, list[tuple[int, str, object]]] = defaultdict(list)
    for shopper, product, weight, ts, *_ in rows:
        out[shopper].append((product, SERVING_WEIGHT.get(float(weight), "click"), ts))
    for events in out.values():
        events.sort(key=lambda e: e[2], reverse=True)
    return out


def _trending(rows: Sequence[Row], active: set[int]) -> list[tuple[int, float]]:
    from recommend.services import TRENDING_HALF_LIFE_HOURS, TRENDING_WINDOW_DAYS

    if not rows:
        return []
    reference = max(row[3] for row in rows)
    since = reference - timedelta(days=TRENDING_WINDOW_DAYS)
    weights = profiles.EVENT_WEIGHTS
    return cooccurrence.trending(
        (
            (product, ts, weights[SERVING_WEIGHT.get(float(w), "click")])
            for _, product, w, ts, *_ in rows
            if ts > since and product in active
        ),
        reference,
        half_life_hours=TRENDING_HALF_LIFE_HOURS,
    )


def _cf_lists(
    recipe, train_rows: Sequence[Row], shoppers: list[int], k: int
) -> dict[int, list[int]]:
    """As serving asks CF: the shopper's own products are ranked too (and dropped after the
    fusion, their ranks counted), with as many extra candidates as they have, up to serving's
    cap."""
    from recommend.serving.recs import MAX_EXCLUDED_EXTRA
    from training.ml.cf import build_interactions, refit
    from training.ml.cf.data import top_indices

    train = build_interactions(train_rows)
    model = refit(recipe, train)
    matrix = model.user_items
    out: dict[int, list[int]] = {}
    known = [s for s in shoppers if s in model.user_index]
    for start in range(0, len(known), 256):
        batch = known[start : start + 256]
        rows = np.array([model.user_index[s] for s in batch], dtype=np.int64)
        scores = np.asarray(model.batch_scores(rows), dtype=np.float64)
        for b, shopper in enumerate(batch):
            row = scores[b]
            if model.positive_scores_only:
                row[row <= 0] = -np.inf
            seen = int(matrix.indptr[rows[b] + 1] - matrix.indptr[rows[b]])
            top = top_indices(row, k + min(seen, MAX_EXCLUDED_EXTRA))
            out[shopper] = [int(model.item_ids[j]) for j in top]
    return out


def _profile_lists(
    history: dict[int, list[tuple[int, str, object]]],
    shoppers: list[int],
    ids: list[int],
    vectors: np.ndarray,
    *,
    k: int,
    min_score: float,
    train: dict[int, set[int]],
) -> dict[int, list[int]]:
    from recommend.serving.profile_state import PROFILE_EVENTS, PROFILE_HALF_LIFE_DAYS

    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    position = {pk: i for i, pk in enumerate(ids)}
    out: dict[int, list[int]] = {}
    for shopper in shoppers:
        events = [e for e in history.get(shopper, [])[:PROFILE_EVENTS] if e[0] in position]
        if not events:
            continue
        vector = profiles.decayed_profile(
            unit[[position[p] for p, _, _ in events]],
            [ts for *_, ts in events],
            [kind for _, kind, _ in events],
            events[0][2],
            half_life_days=PROFILE_HALF_LIFE_DAYS,
        )
        if not np.any(vector):
            continue
        sims = unit @ vector.astype(np.float32)
        seen = [position[p] for p in train.get(shopper, ()) if p in position]
        sims[seen] = -np.inf
        sims[sims < min_score] = -np.inf
        top = np.argsort(-sims, kind="stable")[:k]
        out[shopper] = [ids[j] for j in top if np.isfinite(sims[j])]
    return out


def source_lists(
    *,
    train_rows: Sequence[Row],
    valid_rows: Sequence[Row],
    test_rows: Sequence[Row],
    shoppers: list[int],
    recipe,
    vectors: tuple[list[int], np.ndarray] | None,
    min_score: float,
    k: int = 100,
    log: Callable[[str], None] = lambda _m: None,
) -> SourceLists:
    """Every source's list for each of ``shoppers`` (the validation shoppers to tune on).
    ``recipe``: the CF version's recorded recipe, or None; ``vectors``: the retriever's
    ``(product ids, vectors)``, or None."""
    from catalog.models import Product
    from recommend.selectors import category_tree
    from recommend.services import TRENDING_PER_CATEGORY
    from recommend.serving.profile_state import INTEREST_HALF_LIFE_DAYS, PROFILE_EVENTS

    def items(rows: Sequence[Row]) -> dict[int, set[int]]:
        out: dict[int, set[int]] = defaultdict(set)
        for shopper, product, *_ in rows:
            out[shopper].add(product)
        return out

    train, valid, test = items(train_rows), items(valid_rows), items(test_rows)
    history = _history(train_rows)
    lists: dict[int, dict[str, list[int]]] = {s: {} for s in shoppers}
    skipped: dict[str, str] = {}

    def put(source: str, found: dict[int, list[int]], why_empty: str) -> None:
        if not any(found.values()):
            skipped[source] = why_empty
            return
        for shopper, ranked in found.items():
            if shopper in lists:
                lists[shopper][source] = ranked
        log(f"{source}: lists for {sum(bool(v) for v in found.values())} shoppers")

    if recipe is None:
        skipped["cf"] = "no CF version to fit (train_cf first, or pin one on the strategy)"
    else:
        put("cf", _cf_lists(recipe, train_rows, shoppers, k), "the CF model ranked nothing")
    if vectors is None or not vectors[0]:
        skipped["profile"] = "no retriever with product vectors (run embed_catalog)"
    else:
        put(
            "profile",
            _profile_lists(
                history, shoppers, vectors[0], vectors[1], k=k, min_score=min_score, train=train
            ),
            "no shopper's training products have vectors",
        )
    categories = dict(Product.objects.filter(active=True).values_list("id", "category_id"))
    trending = _trending(train_rows, set(categories))
    put(
        "trending",
        {s: [p for p, _ in trending[:k]] for s in shoppers},
        "no engagement in the trending window",
    )
    table = cooccurrence.by_category(
        trending,
        {p: c for p, c in categories.items() if c is not None},
        category_tree().ancestors_of,
        TRENDING_PER_CATEGORY,
    )
    interests: dict[int, list[int]] = {}
    for shopper in shoppers:
        events = [
            (categories.get(p), kind, ts)
            for p, kind, ts in history.get(shopper, [])[:PROFILE_EVENTS]
        ]
        if not events:
            continue
        share = profiles.category_interests(
            [c for c, _, _ in events],
            [ts for *_, ts in events],
            [kind for _, kind, _ in events],
            events[0][2],
            half_life_days=INTEREST_HALF_LIFE_DAYS,
        )
        interests[shopper] = [p for p, _ in cooccurrence.trending_in(table, share, k)]
    put("interests", interests, "no product has a category with trending items")
    baskets: dict[tuple[int, object], set[int]] = defaultdict(set)
    for shopper, product, weight, ts, *_ in train_rows:
        if SERVING_WEIGHT.get(float(weight)) == "purchase":
            baskets[(shopper, ts.date() if hasattr(ts, "date") else ts)].add(product)
    together = cooccurrence.bought_together(
        baskets.values(), min_support=2, measure="lift", top_n=20
    )
    from recommend.serving.recs import RECENT_PURCHASE_SEEDS

    bought: dict[int, list[int]] = {}
    for shopper in shoppers:
        seeds = list(
            dict.fromkeys(
                p for p, kind, _ in history.get(shopper, []) if kind in ("purchase", "add_to_cart")
            )
        )[:RECENT_PURCHASE_SEEDS]
        bought[shopper] = [p for p, _ in cooccurrence.bought_with_any(seeds, together, k)]
    put("bought_together", bought, "no two products were bought together twice")
    return SourceLists(
        shoppers=shoppers,
        lists=lists,
        train=dict(train),
        valid=dict(valid),
        test=dict(test),
        skipped=skipped,
    )
