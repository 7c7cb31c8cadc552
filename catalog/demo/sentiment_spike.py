"""The sentiment-spike planting: one product's reviews turn negative on a known day.

From the spike day to the end of the window the product gets extra reviews from existing
shoppers: a burst on the day itself (about twenty, mostly one or two stars) and a few a day
after it, most of them naming one defect (the phrase the "rising negative phrases" page should
find). The product is drawn among the store's most reviewed ones, so it has a baseline of its
own. Draws only from its own stream (``streams.rng("sentiment_spike")``): the base store and
every other planting stay as they were. Its part (``store.extras["sentiment_spike"]``) holds
the planted ``events`` (written with the store's events) and the ``truth`` (written as
``sentiment_spike.json`` beside the other truth files). Plain Python, no Django.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from catalog.demo.reviews import review_text
from catalog.demo.store import DemoStore, sentiment_of
from catalog.demo.streams import Streams

NAME = "sentiment_spike"
#: the spike day is this many days before the last day of the window
DAYS_BEFORE_END = 3
BURST = (20, 26)  # reviews on the spike day (inclusive range)
AFTER = (2, 4)  # reviews a day after it
# defects any product can have (a book, a camera, a jacket), with the phrase the page should find
DEFECTS = (
    ("It arrived damaged and the packaging was torn.", "arrived damaged"),
    ("It fell apart after a week.", "fell apart"),
    ("It looks nothing like the photos.", "nothing like the photos"),
)


def _review(rng, store: DemoStore, product: dict, when: datetime, n: int, *, bad: float, defect):
    rating = rng.choice((1, 2)) if rng.random() < bad else rng.choice((3, 4))
    text = review_text(rng, product, rating)
    if sentiment_of(rating) == "negative" and rng.random() < 0.8:
        text = f"{text} {defect}"
    return {
        "event_id": f"demo-spike-{n}",
        "shopper": rng.choice(store.shoppers)["external_id"],
        "type": "review",
        "product": product["external_id"],
        "timestamp": when,
        "query": "",
        "position": None,
        "value": float(rating),
        "review": text,
        "session": f"demo-spike-{n}",
        "request_id": "",
    }


def plant(store: DemoStore, streams: Streams) -> dict:
    """The planted review events and their truth (product, day, counts, defect phrase)."""
    rng = streams.rng(NAME)
    if not store.events or not store.shoppers or not store.products:
        return {"events": [], "truth": None}
    last = max(e["timestamp"] for e in store.events).astimezone(UTC)
    first = min(e["timestamp"] for e in store.events).astimezone(UTC)
    last_day = datetime(last.year, last.month, last.day, tzinfo=UTC)
    spike_day = last_day - timedelta(days=DAYS_BEFORE_END)
    if spike_day <= first:
        return {"events": [], "truth": None}
    reviewed = Counter(e["product"] for e in store.events if e["type"] == "review")
    by_id = {p["external_id"]: p for p in store.products}
    ranked = sorted(by_id, key=lambda pid: (-reviewed.get(pid, 0), pid))
    product = by_id[rng.choice(ranked[: min(20, len(ranked))])]
    defect, phrase = rng.choice(DEFECTS)

    events: list[dict] = []
    burst = rng.randint(*BURST)
    # the day itself, in its first four hours (UTC): the load-time shift moves every time by
    # the same amount, so the burst stays on one day unless the store is loaded after 20:00
    for _ in range(burst):
        when = spike_day + timedelta(hours=4 * rng.random())
        events.append(_review(rng, store, product, when, len(events) + 1, bad=0.9, defect=defect))
    day = spike_day + timedelta(days=1)
    while day <= last_day:
        for _ in range(rng.randint(*AFTER)):
            when = day + timedelta(hours=24 * rng.random())
            if when <= last:
                events.append(
                    _review(rng, store, product, when, len(events) + 1, bad=0.6, defect=defect)
                )
        day += timedelta(days=1)
    on_day = [e for e in events if e["timestamp"] < spike_day + timedelta(days=1)]
    truth = {
        "product": product["external_id"],
        "title": product["title"],
        "day": spike_day.date().isoformat(),
        "reviews_on_day": len(on_day),
        "negatives_on_day": sum(1 for e in on_day if e["value"] <= 2),
        "planted_reviews": len(events),
        "defect_phrase": phrase,
        "note": "review timestamps are shifted with the store's at load time (day included)",
    }
    return {"events": events, "truth": truth}
