"""A second grammar of judged queries, held out from every other query writer.

The demo store's judged queries (``judged``) use sentence frames of the query module, and the
retriever's synthetic queries (``training.ml.synthetic_queries``) are bare keyword phrases
written from the catalogue; a retriever adapted on either would be measured on its own
phrasing. These judged queries share no frame with both: questions, attribute-first phrases
with "by", use-case phrasing ("... good for long flights"), and one in four with a
misspelling. Graded with the same ``grade(spec, product)`` as every other judged query.

Planted as ``store.extras["judged_heldout"]`` from its own stream ("judged_heldout"), so
adding it leaves the base store as it was; ``write_truth`` writes its graded rows as
``relevance_heldout.csv``. Plain Python, no Django.
"""

from __future__ import annotations

import random

from catalog.demo import vocab
from catalog.demo.index import StoreIndex
from catalog.demo.judged import plant_relevance
from catalog.demo.queries import _empty_spec, _typo
from catalog.demo.store import DemoStore

HELDOUT_QUERY_COUNT = 80
STREAM = "judged_heldout"

#: The frames: {t} a type synonym or the category's term, {b} a brand, {a} an attribute
#: value, {u} a use of the category. None of them is a frame of ``vocab`` (a test holds it).
FRAMES = [
    "which {t} come in {a}?",
    "do you sell {b} {t}?",
    "{a} {t} made by {b}",
    "{t} good for {u}",
    "anything from {b} in {a}?",
    "what {t} would suit {u}?",
    "{t} in {a}, ideally {b}",
    "is there a {t} that works for {u}",
]
MISSPELL_RATE = 0.25


def _attribute_text(name: str, value) -> str | None:
    if isinstance(value, bool):
        return vocab.BOOL_ADJ.get(name) if value else None
    if name in ("type", "model", "author"):
        return None
    return str(value).lower()


def _one_query(rng: random.Random, idx: StoreIndex, leaf_id: str) -> tuple[str, dict] | None:
    leaf = vocab.LEAF_BY_ID[leaf_id]
    product = idx.products[int(rng.choice(idx.by_leaf[leaf_id]))]
    attrs = product["attributes"]
    frame = rng.choice(FRAMES)
    spec = _empty_spec([leaf_id])
    tname = attrs.get("type")
    if tname in leaf["types"] and rng.random() < 0.7:
        term = rng.choice(leaf["types"][tname]["syn"])
        spec["type"] = tname
    else:
        term = rng.choice(leaf["terms"])
    values = {"t": term, "u": rng.choice(leaf["uses"]), "b": product["brand"].lower()}
    if "{b}" in frame:
        spec["brand"] = product["brand"]
    if "{a}" in frame:
        options = [
            (name, text)
            for name in leaf["key"]
            if name in attrs and (text := _attribute_text(name, attrs[name]))
        ]
        if not options:
            return None
        name, values["a"] = rng.choice(options)
        spec["attributes"][name] = attrs[name]
    if "{t}" not in frame:
        spec["type"] = None
    text = " ".join(frame.format(**values).lower().split())
    if rng.random() < MISSPELL_RATE:
        text = _typo(rng, text)
    return text, spec


def plant_heldout_judged(store: DemoStore, streams) -> dict:
    """``{"queries": [{query, spec}], "relevance": [graded rows]}`` over the store's active
    products, drawn from the stream "judged_heldout" alone."""
    return _judged(store, streams.rng(STREAM), HELDOUT_QUERY_COUNT, set())


def more_heldout_judged(store: DemoStore, *, count: int, seed: int) -> dict:
    """``count`` more judged queries of the same grammar over the same store (as
    :func:`plant_heldout_judged` returns them), none of them a planted held-out query nor a
    demo judged one: a benchmark's way to more queries than a store plants (a tuning chosen on
    40 validation queries cannot tell a gain of 0.01 NDCG from chance). Its own generator,
    seeded with ``seed``: the store and its planted queries stay as they are."""
    planted = {q["query"] for q in store.extras.get("judged_heldout", {}).get("queries", [])}
    return _judged(store, random.Random(f"{seed}:{STREAM}:more"), count, planted)


def _judged(store: DemoStore, rng: random.Random, count: int, avoid: set[str]) -> dict:
    avoid = avoid | {j["query"] for j in store.truth.judged_queries}
    idx = StoreIndex(store.products)
    leaves = list(idx.leaves)
    queries: list[dict] = []
    seen: set[str] = set()
    for attempt in range(count * 20):
        if len(queries) >= count:
            break
        drawn = _one_query(
            rng, idx, leaves[attempt % len(leaves)] if attempt % 2 else rng.choice(leaves)
        )
        if drawn is None or drawn[0] in seen or drawn[0] in avoid:
            continue
        seen.add(drawn[0])
        queries.append({"query": drawn[0], "spec": drawn[1]})
    return {"queries": queries, "relevance": plant_relevance(rng, idx, queries)}
