"""A store whose shoppers churn, at millions of events, for the churn-risk pages' bench
(``bench/insights_churn_forecast.py --plant``).  The demo store's size in products (5,000 in 40
categories and 200 brands) but many more shoppers (default 25,000), so that 1M events are a
realistic log: most shoppers visit a few times a month, and a share of them stop coming back.

**The stated hazard** (the same recipe as the demo store's churners, ``catalog/demo/churners.py``,
applied to a share of the whole population rather than to a planted handful):

* every shopper has a base visit rate ``r0`` (visits per day, log-normal, sigma 0.6) and an
  arrival day: ``PRESENT_SHARE`` of them are there from the first day, the rest arrive uniformly
  over the period (new shoppers keep coming, as in a real shop);
* ``churn_share`` of them (default 40 %) are churners with a decay date ``d0`` uniform between
  their arrival (at least ``DECAY_AFTER_ARRIVAL_DAYS`` after it) and 2 days before the end; after
  ``d0`` their rate is ``r0 · exp(-(t - d0) / tau)``, ``tau`` uniform in ``TAU_DAYS``;
* every shopper-day's rate is multiplied by a gamma noise (mean 1, shape 2) and by a weekly
  rhythm (weekends +30 %); the day's visits are Poisson of that rate;
* the base rates are scaled so that the expected number of events is ``events``.

A visit (its own session id) is an optional search (probability 0.3), 1–5 views of products of
the shopper's two favourite categories (80 %) or any category, each view added to the cart with
probability 0.3 and bought from the cart with probability 0.5 (the purchase's value is the
product's price; prices are log-normal around 25).  Everything is written with COPY; the
numbers come from a seeded numpy generator, so a seed gives the same store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from bench._bulk import PRODUCT_COLUMNS, SHOPPER_COLUMNS, copy_rows, product_row

DAY = 86400.0
PRESENT_SHARE = 0.6
DECAY_AFTER_ARRIVAL_DAYS = 7.0
TAU_DAYS = (3.0, 10.0)
NOISE_SHAPE = 2.0
CATEGORIES = 40
BRANDS = 200
#: expected events per visit: 0.3 searches + mean views (3) × (1 + 0.3 carts × (1 + 0.5 buys))
EVENTS_PER_VISIT = 0.3 + 3.0 * (1.0 + 0.3 * 1.5)

EVENT_COLUMNS = [
    "event_id",
    "shopper_id",
    "product_id",
    "type",
    "query",
    "value",
    "review",
    "session",
    "request_id",
    "timestamp",
    "received_at",
]


@dataclass(frozen=True)
class ChurnStore:
    """What was planted: counts, and the hazard's truth in aggregate."""

    shoppers: int
    products: int
    events: int
    visits: int
    churners: int
    start: datetime
    end: datetime


def _visit_counts(rng, shoppers: int, days: int, events: int, churn_share: float):
    """Per shopper: visits per day (``shoppers × days`` ints) and the churner flags."""
    arrival = np.where(
        rng.random(shoppers) < PRESENT_SHARE, 0.0, rng.uniform(0.0, days - 1.0, shoppers)
    )
    churner = rng.random(shoppers) < churn_share
    lo = np.minimum(arrival + DECAY_AFTER_ARRIVAL_DAYS, days - 2.0)
    d0 = lo + rng.random(shoppers) * np.maximum(days - 2.0 - lo, 0.0)
    tau = rng.uniform(*TAU_DAYS, shoppers)
    t = np.arange(days, dtype=np.float64)[None, :] + 0.5
    shape = np.where(t >= arrival[:, None], 1.0, 0.0)
    decay = np.exp(-np.maximum(t - d0[:, None], 0.0) / tau[:, None])
    shape = shape * np.where(churner[:, None], decay, 1.0)
    weekday = (np.arange(days) % 7 >= 5) * 0.3 + 1.0
    shape = shape * weekday[None, :]
    r0 = np.exp(rng.normal(0.0, 0.6, shoppers))
    scale = events / EVENTS_PER_VISIT / float(np.sum(r0[:, None] * shape))
    noise = rng.gamma(NOISE_SHAPE, 1.0 / NOISE_SHAPE, (shoppers, days))
    return rng.poisson(scale * r0[:, None] * shape * noise), churner


def plant(
    cursor,
    *,
    events: int = 1_000_000,
    shoppers: int = 25_000,
    products: int = 5_000,
    days: int = 120,
    churn_share: float = 0.4,
    seed: int = 16,
    end: datetime | None = None,
    log=print,
) -> ChurnStore:
    """Write the store (brands, categories, products, shoppers, events) into empty catalog
    tables through ``cursor`` (psycopg 3); see the module doc for the hazard."""
    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    end = end or now
    start = end - timedelta(days=days)
    copy_rows(cursor, "catalog_brand", ["name"], ((f"Brand {i}",) for i in range(BRANDS)))
    copy_rows(
        cursor,
        "catalog_category",
        ["external_id", "name", "path", "depth"],
        ((f"c{i}", f"Category {i}", f"c{i}", 0) for i in range(CATEGORIES)),
    )
    cursor.execute("SELECT min(id) FROM catalog_brand")
    b0 = cursor.fetchone()[0]
    cursor.execute("SELECT min(id) FROM catalog_category")
    c0 = cursor.fetchone()[0]
    prices = np.round(np.exp(rng.normal(np.log(25.0), 0.7, products)), 2)
    price_col = PRODUCT_COLUMNS.index("price")

    def product(i: int) -> tuple:
        row = list(product_row(i, now))
        row[price_col] = float(prices[i])
        return (*row, b0 + i % BRANDS, c0 + i % CATEGORIES)

    copy_rows(
        cursor,
        "catalog_product",
        [*PRODUCT_COLUMNS, "brand_id", "category_id"],
        (product(i) for i in range(products)),
    )
    copy_rows(
        cursor,
        "catalog_shopper",
        SHOPPER_COLUMNS,
        ((f"s{i}", "", "", "{}", "{}", 0, now) for i in range(shoppers)),
    )
    cursor.execute("SELECT min(id) FROM catalog_product")
    p0 = cursor.fetchone()[0]
    cursor.execute("SELECT min(id) FROM catalog_shopper")
    s0 = cursor.fetchone()[0]
    log(f"catalogue: {products:,} products, {shoppers:,} shoppers")

    counts, churner = _visit_counts(rng, shoppers, days, events, churn_share)
    favourites = rng.integers(0, CATEGORIES, (shoppers, 2))
    per_category = products // CATEGORIES
    who, day = np.nonzero(counts)
    repeats = counts[who, day]
    who, day = np.repeat(who, repeats), np.repeat(day, repeats)
    n_visits = len(who)
    log(f"{n_visits:,} visits of {shoppers:,} shoppers ({int(churner.sum()):,} churners)")
    start_s = start.timestamp()
    visit_start = start_s + (day + rng.random(n_visits) * 0.95) * DAY
    searched = rng.random(n_visits) < 0.3
    views = rng.integers(1, 6, n_visits)
    written = 0

    def rows():
        nonlocal written
        r = np.random.default_rng(seed + 1)
        for v in range(n_visits):
            shopper = int(who[v])
            sid = s0 + shopper
            session = f"v{v}"
            ts = float(visit_start[v])
            base = f"e{v}-"
            k = 0
            if searched[v]:
                yield (
                    base + "0",
                    sid,
                    None,
                    "search",
                    "something",
                    None,
                    "",
                    session,
                    "",
                    _at(ts),
                    now,
                )
                k += 1
            n = int(views[v])
            u = r.random((n, 5))
            for j in range(n):
                ts += 20.0 + 100.0 * u[j, 0]
                category = (
                    int(favourites[shopper, int(u[j, 1] * 2)])
                    if u[j, 2] < 0.8
                    else int(u[j, 1] * CATEGORIES)
                )
                index = category + CATEGORIES * int(per_category * u[j, 3] ** 2)
                pid = p0 + min(index, products - 1)
                yield (base + str(k), sid, pid, "view", "", None, "", session, "", _at(ts), now)
                k += 1
                if u[j, 4] < 0.3:
                    ts += 15.0
                    yield (
                        base + str(k),
                        sid,
                        pid,
                        "add_to_cart",
                        "",
                        None,
                        "",
                        session,
                        "",
                        _at(ts),
                        now,
                    )
                    k += 1
                    if u[j, 4] < 0.15:
                        ts += 60.0
                        price = float(prices[pid - p0])
                        yield (
                            base + str(k),
                            sid,
                            pid,
                            "purchase",
                            "",
                            price,
                            "",
                            session,
                            "",
                            _at(ts),
                            now,
                        )
                        k += 1
            written += k

    copy_rows(cursor, "catalog_event", EVENT_COLUMNS, rows())
    log(f"events: {written:,}")
    cursor.execute("ANALYZE catalog_event")
    cursor.execute("ANALYZE catalog_shopper")
    cursor.execute("ANALYZE catalog_product")
    return ChurnStore(
        shoppers=shoppers,
        products=products,
        events=written,
        visits=n_visits,
        churners=int(churner.sum()),
        start=start,
        end=end,
    )


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)
