"""Review texts and their sentiment: a review's words agree with its star rating (the
truth ``review_sentiments`` records).  Plain Python, no Django.
"""

from __future__ import annotations

import random

from catalog.demo import vocab
from catalog.demo.products import is_plural
from catalog.demo.store import sentiment_of


def review_text(rng: random.Random, product: dict, rating: int) -> str:
    """The text of a ``rating``-star review of ``product``, drawn from ``rng``."""
    leaf = vocab.LEAF_BY_ID[product["category"]]
    a1, a2 = rng.sample(leaf["aspects"], 2)
    tname = product["attributes"]["type"]
    text = rng.choice(vocab.REVIEW_TEMPLATES[rating]).format(
        t=tname,
        this="these" if is_plural(tname) else "this",
        a1=a1,
        a2=a2,
        u=rng.choice(leaf["uses"]),
    )
    extra = rng.choice(vocab.REVIEW_EXTRA[sentiment_of(rating)])
    return f"{text[0].upper()}{text[1:]} {extra}".strip()


def review_sentiments(events: list[dict]) -> list[dict]:
    """One truth row (event id, rating, sentiment) per review event, in event order."""
    rows: list[dict] = []
    for e in events:
        if e["type"] == "review":
            rating = int(e["value"])
            rows.append(
                {"event_id": e["event_id"], "rating": rating, "sentiment": sentiment_of(rating)}
            )
    return rows
