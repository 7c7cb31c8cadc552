"""The judged queries and their graded relevance: held-out query texts that never appear
in the events, and every active product graded for them (plus sampled non-relevant ones).
Each draws from a named stream of its own ("judged", "relevance"), so the traffic does
not shift them.  Plain Python, no Django.
"""

from __future__ import annotations

import random

from catalog.demo.index import StoreIndex
from catalog.demo.queries import sample_query_spec
from catalog.demo.store import grade

JUDGED_QUERY_COUNT = 80


_JUDGED_INTENTS = (
    "buy",
    "buy",
    "browse",
    "buy",
    "review",
    "browse",
    "buy",
    "review",
    "buy",
    "browse",
)


def plant_judged_queries(
    rng: random.Random, idx: StoreIndex, count: int = JUDGED_QUERY_COUNT
) -> list[dict]:
    """``count`` held-out queries over the catalog, drawn from ``rng`` (stream "judged")."""
    leaves = list(idx.leaves)
    rng.shuffle(leaves)
    out: list[dict] = []
    seen: set[str] = set()
    i = 0
    while len(out) < count and i < count * 20:
        leaf = leaves[i % len(leaves)]
        intent = _JUDGED_INTENTS[len(out) % len(_JUDGED_INTENTS)]
        i += 1
        taste = {"categories": {leaf: 1.0}, "brands": {}, "price_level": rng.random()}
        text, intent, spec, _ = sample_query_spec(
            rng, taste, idx, intent=intent, leaf=leaf, heldout=True
        )
        if text in seen:
            continue
        seen.add(text)
        out.append({"query": text, "intent": intent, "spec": spec})
    return out


def plant_relevance(
    rng: random.Random, idx: StoreIndex, judged: list[dict], zeros: int = 20
) -> list[dict]:
    """Graded rows for every judged query: all candidates, plus up to ``zeros`` sampled
    non-relevant products drawn from ``rng`` (stream "relevance")."""
    rows: list[dict] = []
    active = [int(i) for i in idx.active_idx]
    for j in judged:
        spec = j["spec"]
        cidx, cgr = idx.candidates(spec)
        graded = sorted(zip(cidx.tolist(), cgr.tolist(), strict=True), key=lambda x: (-x[1], x[0]))
        inside = set(cidx.tolist())
        outside = [i for i in active if i not in inside]
        sample = rng.sample(outside, min(zeros, len(outside)))
        graded += [(i, 0) for i in sorted(sample) if grade(spec, idx.products[i]) == 0]
        for i, g in graded:
            p = idx.products[i]
            rows.append(
                {
                    "query": j["query"],
                    "product_id": p["external_id"],
                    "title": p["title"],
                    "description": p["description"],
                    "grade": int(g),
                }
            )
    return rows
