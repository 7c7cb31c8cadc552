"""Tests of the plain-Python demo-store generator (no database, no Django)."""

from __future__ import annotations

import csv
import random
import re
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from catalog.demo import (
    DemoStore,
    StoreIndex,
    build_index,
    generate_store,
    grade,
    queries,
    sample_query,
    vocab,
    write_truth,
)

SMALL = {"products": 300, "shoppers": 100, "days": 10}
EVENT_KEYS = {
    "event_id",
    "shopper",
    "type",
    "product",
    "timestamp",
    "query",
    "position",
    "value",
    "review",
    "session",
    "request_id",
}
EVENT_TYPES = {"search", "view", "click", "add_to_cart", "purchase", "rating", "review"}


@pytest.fixture(scope="module")
def timed_small():
    t0 = time.perf_counter()
    store = generate_store(seed=7, **SMALL)
    return store, time.perf_counter() - t0


@pytest.fixture(scope="module")
def small(timed_small) -> DemoStore:
    return timed_small[0]


@pytest.fixture(scope="module")
def medium() -> DemoStore:
    """Enough traffic for behavioural statistics (repeat buys need > 2 weeks)."""
    return generate_store(products=800, shoppers=300, days=45, seed=3)


@pytest.fixture(scope="module")
def catalog_only() -> DemoStore:
    """A default-sized catalog without traffic: fast, and large enough for proportions."""
    return generate_store(products=5000, shoppers=0, days=1, seed=11)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


# --- speed and determinism -----------------------------------------------------


def test_small_store_generates_in_under_three_seconds(timed_small):
    store, seconds = timed_small
    assert seconds < 3.0
    assert len(store.products) == 300 and len(store.shoppers) == 100
    assert len(store.events) > 1000


def test_same_seed_gives_identical_store(small):
    again = generate_store(seed=7, **SMALL)
    assert again == small
    assert [e["event_id"] for e in again.events] == [e["event_id"] for e in small.events]


def test_different_seeds_differ(small):
    other = generate_store(seed=8, **SMALL)
    assert [p["title"] for p in other.products] != [p["title"] for p in small.products]
    assert [e["query"] for e in other.events] != [e["query"] for e in small.events]


def test_end_defaults_to_fixed_date_and_bounds_the_window(small):
    end = datetime(2026, 11, 1, tzinfo=UTC)
    assert all(end - timedelta(days=10) <= e["timestamp"] < end for e in small.events)
    moved = generate_store(seed=7, end=datetime(2027, 1, 1), **SMALL)  # naive -> UTC
    assert moved.events[-1]["timestamp"] < datetime(2027, 1, 1, tzinfo=UTC)
    assert moved.events[0]["timestamp"] >= datetime(2026, 12, 22, tzinfo=UTC)


# --- catalog ---------------------------------------------------------------------


def test_categories_form_a_tree(small):
    cats = {c["external_id"]: c for c in small.categories}
    assert len(cats) == len(small.categories) >= 20
    for c in cats.values():
        assert c["parent"] == "" or c["parent"] in cats
        seen, node = set(), c
        while node["parent"]:  # walking up must terminate at a root
            assert node["external_id"] not in seen
            seen.add(node["external_id"])
            node = cats[node["parent"]]
    roots = [c for c in cats.values() if not c["parent"]]
    assert 6 <= len(roots) <= 8
    children = Counter(c["parent"] for c in cats.values() if c["parent"])
    assert all(3 <= children[r["external_id"]] <= 5 for r in roots)


def test_every_product_sits_in_an_existing_leaf(small):
    cats = {c["external_id"] for c in small.categories}
    parents = {c["parent"] for c in small.categories}
    for p in small.products:
        assert p["category"] in cats and p["category"] not in parents


def test_product_fields_and_prices(small):
    ids = [p["external_id"] for p in small.products]
    assert len(set(ids)) == len(ids)
    assert len(small.brands) >= 40 and len(set(small.brands)) == len(small.brands)
    for p in small.products:
        price = p["price"]
        assert isinstance(price, Decimal) and price > 0
        assert price.as_tuple().exponent == -2
        assert p["currency"] == "EUR"
        assert p["image_url"] == f"https://img.aisle.example/p/{p['external_id']}.jpg"
        assert isinstance(p["stock"], int) and p["stock"] >= 0
        assert isinstance(p["active"], bool)
        assert p["brand"] in small.brands
        assert p["attributes"]["type"] in p["title"]
        assert 2 <= p["description"].count(". ") + 1 <= 6


def test_products_are_coherent_with_their_category(catalog_only):
    for p in catalog_only.products:
        leaf = vocab.LEAF_BY_ID[p["category"]]
        attrs = p["attributes"]
        assert attrs["type"] in leaf["types"]
        lo, hi = leaf["price"]
        assert Decimal(str(lo)) * Decimal("0.9") <= p["price"] <= Decimal(str(hi)) * Decimal("1.05")
        schema = dict(leaf["attrs"])
        for k, v in (leaf["types"][attrs["type"]].get("attrs") or {}).items():
            schema.pop(k, None) if v is None else schema.__setitem__(k, v)
        fixed = leaf["types"][attrs["type"]].get("fixed") or {}
        for name, value in attrs.items():
            if name in ("type", "model", "author"):
                continue
            assert value in schema.get(name, ()) or fixed.get(name) == value, (p["title"], name)
        brand_dept = {b: d["id"] for d in vocab.DEPARTMENTS for b, _ in d["brands"]}
        assert brand_dept[p["brand"]] == leaf["dept"]


def test_hiking_boots_look_like_hiking_boots(catalog_only):
    boots = [p for p in catalog_only.products if p["attributes"]["type"] == "hiking boots"]
    assert len(boots) > 20
    for p in boots:
        a = p["attributes"]
        assert a["gender"] in ("men", "women") and a["material"] in (
            "leather",
            "suede",
            "synthetic",
        )
        assert 50 <= p["price"] <= 235
        assert ("waterproof hiking boots" in p["title"]) == (a["waterproof"] is True)
        assert f"{'men' if a['gender'] == 'men' else 'women'}'s" in p["title"]


def test_catalog_proportions_and_title_diversity(catalog_only):
    n = len(catalog_only.products)
    zero_stock = sum(p["stock"] == 0 for p in catalog_only.products) / n
    inactive = sum(not p["active"] for p in catalog_only.products) / n
    assert 0.06 <= zero_stock <= 0.10
    assert 0.01 <= inactive <= 0.035
    assert len({p["title"] for p in catalog_only.products}) > 0.97 * n
    assert len({p["description"] for p in catalog_only.products}) > 0.97 * n
    assert catalog_only.events == []


# --- events ----------------------------------------------------------------------


def test_events_follow_the_contract(small):
    products = {p["external_id"]: p for p in small.products}
    shoppers = {s["external_id"] for s in small.shoppers}
    ids = [e["event_id"] for e in small.events]
    assert len(set(ids)) == len(ids)
    assert [e["timestamp"] for e in small.events] == sorted(e["timestamp"] for e in small.events)
    for e in small.events:
        assert set(e) == EVENT_KEYS
        assert e["type"] in EVENT_TYPES
        assert e["shopper"] in shoppers
        assert e["timestamp"].utcoffset() == timedelta(0)
        assert e["session"] and e["request_id"] == ""
        if e["type"] == "search":
            assert e["product"] == "" and e["query"]
        else:
            assert e["product"] in products
        if e["type"] == "click":
            assert e["query"] and isinstance(e["position"], int) and 1 <= e["position"] <= 10
        else:
            assert e["position"] is None
        if e["type"] == "purchase":
            assert products[e["product"]]["active"]
            assert e["value"] == float(products[e["product"]]["price"])
        if e["type"] in ("rating", "review"):
            assert e["value"] in (1.0, 2.0, 3.0, 4.0, 5.0)
        assert bool(e["review"]) == (e["type"] == "review")
        if e["type"] not in ("search", "click", "view"):
            assert e["query"] == ""


def test_default_size_volume_is_in_range_by_extrapolation(small):
    # ~100k-200k events for 2000 shoppers x 60 days means ~0.8-1.7 events/shopper/day
    per_shopper_day = len(small.events) / (100 * 10)
    assert 0.6 < per_shopper_day < 2.0


def test_every_event_query_has_an_intent(small):
    intents = {q["query"]: q["intent"] for q in small.truth.query_intents}
    assert len(intents) == len(small.truth.query_intents)
    assert set(intents.values()) == {"browse", "buy", "review"}
    used = {e["query"] for e in small.events if e["query"]}
    assert used == set(intents)


def test_judged_queries_never_appear_in_events(small, medium):
    for store in (small, medium):
        judged = {j["query"] for j in store.truth.judged_queries}
        assert 60 <= len(judged) <= 100
        assert judged.isdisjoint({e["query"] for e in store.events})
        assert judged.isdisjoint({q["query"] for q in store.truth.query_intents})
        assert {j["intent"] for j in store.truth.judged_queries} == {"browse", "buy", "review"}


def test_relevance_truth_is_graded_with_grade(small):
    products = {p["external_id"]: p for p in small.products}
    specs = {j["query"]: j["spec"] for j in small.truth.judged_queries}
    per_query = defaultdict(list)
    for row in small.truth.relevance:
        assert row["grade"] == grade(specs[row["query"]], products[row["product_id"]])
        assert row["title"] == products[row["product_id"]]["title"]
        per_query[row["query"]].append(row["grade"])
    assert set(per_query) == set(specs)
    for q, grades in per_query.items():
        assert max(grades) >= 2, q  # every judged query has a right-category answer
        assert 0 in grades, q  # and sampled non-relevant products
    # all grade >= 1 active products are listed
    for j in small.truth.judged_queries[:20]:
        listed = {
            r["product_id"]
            for r in small.truth.relevance
            if r["query"] == j["query"] and r["grade"]
        }
        expected = {p["external_id"] for p in small.products if p["active"] and grade(j["spec"], p)}
        assert listed == expected


def test_review_sentiment_agrees_with_rating(medium):
    events = {e["event_id"]: e for e in medium.events}
    reviews = [e for e in medium.events if e["type"] == "review"]
    assert len(reviews) == len(medium.truth.review_sentiments) > 20
    for row in medium.truth.review_sentiments:
        e = events[row["event_id"]]
        assert e["type"] == "review" and e["value"] == row["rating"]
        expected = {1: "negative", 2: "negative", 3: "neutral", 4: "positive", 5: "positive"}
        assert row["sentiment"] == expected[row["rating"]]
        words = _words(e["review"])
        if row["sentiment"] == "positive":
            assert words & vocab.POSITIVE_CUES and not words & vocab.NEGATIVE_CUES, e["review"]
        elif row["sentiment"] == "negative":
            assert words & vocab.NEGATIVE_CUES and not words & vocab.POSITIVE_CUES, e["review"]
        else:
            assert any(c in e["review"].lower() for c in vocab.NEUTRAL_CUES), e["review"]
    ratings = Counter(r["rating"] for r in medium.truth.review_sentiments)
    assert len(ratings) >= 4  # a spread, not a constant


# --- behaviour the hidden truth should explain ----------------------------------------


def test_clicks_show_position_bias(small):
    clicks = Counter(e["position"] for e in small.events if e["type"] == "click")
    searches = sum(e["type"] == "search" for e in small.events)
    assert clicks[1] / searches > 1.5 * clicks[5] / searches > 0


def test_purchases_follow_hidden_tastes(medium):
    tastes = medium.truth.tastes
    products = {p["external_id"]: p for p in medium.products}
    buys = [e for e in medium.events if e["type"] == "purchase"]
    in_taste = sum(
        products[e["product"]]["category"] in tastes[e["shopper"]]["categories"] for e in buys
    )
    assert in_taste / len(buys) > 0.6
    # premium shoppers pay more, relative to category price range, than bargain hunters
    levels = defaultdict(list)
    for e in buys:
        p = products[e["product"]]
        lo, hi = vocab.LEAF_BY_ID[p["category"]]["price"]
        levels[tastes[e["shopper"]]["segment"]].append((float(p["price"]) - lo) / (hi - lo))
    assert sum(levels["premium"]) / len(levels["premium"]) > sum(levels["bargain"]) / len(
        levels["bargain"]
    )


def test_repeat_and_complementary_purchases(medium):
    products = {p["external_id"]: p for p in medium.products}
    buys = [e for e in medium.events if e["type"] == "purchase"]
    repeats = Counter((e["shopper"], e["product"]) for e in buys)
    repeated = [k for k, n in repeats.items() if n > 1]
    assert repeated
    # consumables are re-bought, durable goods are not
    assert all(vocab.LEAF_BY_ID[products[p]["category"]]["repeat"] for _, p in repeated)
    assert {vocab.LEAF_BY_ID[products[p]["category"]]["dept"] for _, p in repeated} >= {
        "grocery",
        "beauty",
    }
    by_session = defaultdict(set)
    for e in buys:
        by_session[e["session"]].add(products[e["product"]]["category"])
    pairs = sum(
        1
        for cats in by_session.values()
        for c in cats
        if any(x in cats for x in vocab.LEAF_BY_ID[c]["complements"])
    )
    assert pairs >= 10


# --- grade and sample_query ----------------------------------------------------------


BOOT = {
    "external_id": "x1",
    "category": "hiking-footwear",
    "brand": "Ridgeway",
    "price": Decimal("129.99"),
    "attributes": {
        "type": "hiking boots",
        "model": "Trailblazer",
        "gender": "men",
        "material": "leather",
        "color": "brown",
        "waterproof": True,
    },
}


def test_grade_hand_cases():
    spec = {
        "categories": ["hiking-footwear"],
        "related": ["sneakers"],
        "type": "hiking boots",
        "brand": None,
        "model": None,
        "attributes": {"waterproof": True, "color": "brown"},
        "price_max": None,
    }
    assert grade(spec, BOOT) == 3
    assert grade({**spec, "attributes": {"color": "black"}}, BOOT) == 2
    assert grade({**spec, "type": "trail shoes"}, BOOT) == 2
    assert grade({**spec, "price_max": 100.0}, BOOT) == 2
    assert grade({**spec, "price_max": 130.0}, BOOT) == 3
    assert grade({**spec, "brand": "Ridgeway", "model": "Trailblazer"}, BOOT) == 3
    assert grade({**spec, "brand": "Alpenkamm"}, BOOT) == 2
    # no constraints at all: right category is not an "exact" match
    assert grade({"categories": ["hiking-footwear"]}, BOOT) == 2
    sneaker_spec = {
        "categories": ["sneakers"],
        "related": ["hiking-footwear"],
        "type": "running shoes",
    }
    assert grade(sneaker_spec, BOOT) == 1
    tent_spec = {"categories": ["tents"], "related": ["sleeping-bags"], "brand": "Ridgeway"}
    assert grade(tent_spec, BOOT) == 1  # same brand, other category: partial
    assert grade({"categories": ["tents"], "related": ["sleeping-bags"]}, BOOT) == 0


def test_index_candidates_agree_with_grade(small):
    index = build_index(small)
    rng = random.Random(5)
    specs = [j["spec"] for j in small.truth.judged_queries]
    tastes = list(small.truth.tastes.values())
    specs += [sample_query(rng, rng.choice(tastes), index)[2] for _ in range(100)]
    active = [p for p in small.products if p["active"]]
    for spec in specs:
        idx, grades = index.candidates(spec)
        got = {
            small.products[i]["external_id"]: g
            for i, g in zip(idx.tolist(), grades.tolist(), strict=True)
        }
        want = {p["external_id"]: grade(spec, p) for p in active if grade(spec, p) > 0}
        assert got == want


def test_sample_query_never_returns_judged_texts(small):
    index = build_index(small)
    judged = {j["query"] for j in small.truth.judged_queries}
    assert index.avoid == judged
    rng = random.Random(99)
    tastes = list(small.truth.tastes.values())
    seen = Counter()
    for _ in range(1500):
        text, intent, spec = sample_query(rng, rng.choice(tastes), index)
        assert text not in judged and text == text.strip() and text
        assert intent in ("browse", "buy", "review")
        assert spec["categories"] and all(c in vocab.LEAF_BY_ID for c in spec["categories"])
        seen[intent] += 1
    assert min(seen.values()) > 100


def test_sample_query_redraws_avoided_texts(small):
    index = build_index(small)
    taste = next(iter(small.truth.tastes.values()))
    first = [sample_query(random.Random(i), taste, index)[0] for i in range(50)]
    strict = StoreIndex(small.products, avoid=first)
    again = [sample_query(random.Random(i), taste, strict)[0] for i in range(50)]
    assert not set(again) & set(first)


def test_queries_use_synonyms_typos_and_all_phrasings(medium):
    intents = {q["query"]: q["intent"] for q in medium.truth.query_intents}
    texts = list(intents)
    assert any("trainers" in t for t in texts) and any("sneakers" in t for t in texts)
    assert any(t.startswith("is ") and t.endswith(" good") for t in texts)
    assert any(t.startswith("gift ideas for ") for t in texts)
    reviews = [t for t in texts if t.endswith(" reviews")]
    assert reviews and all(intents[t] == "review" for t in reviews)


def test_typos_are_single_edits_at_about_eight_percent(small):
    index = build_index(small)
    rng = random.Random(4)
    tastes = list(small.truth.tastes.values())
    flags = [queries.sample_query_spec(rng, rng.choice(tastes), index)[3] for _ in range(3000)]
    assert 0.05 < sum(flags) / len(flags) < 0.11
    clean = "waterproof hiking boots"
    for i in range(50):
        typo = queries._typo(random.Random(i), clean)
        changed = [(a, b) for a, b in zip(clean.split(), typo.split(), strict=True) if a != b]
        assert len(changed) == 1
        a, b = changed[0]
        dropped = len(b) == len(a) - 1 and any(a[:j] + a[j + 1 :] == b for j in range(len(a)))
        swapped = (
            len(b) == len(a)
            and sorted(a) == sorted(b)
            and sum(x != y for x, y in zip(a, b, strict=True)) == 2
        )
        assert dropped or swapped, (a, b)


# --- files -------------------------------------------------------------------------


def test_write_truth_files(small, tmp_path):
    paths = write_truth(small, tmp_path / "truth")
    assert {p.name for p in paths.values()} == {
        "tastes.json",
        "query_intents.csv",
        "review_sentiments.csv",
        "judged_queries.json",
        "relevance.csv",
        "relevance_heldout.csv",
    }
    with paths["relevance"].open(newline="", encoding="utf-8") as fh:
        assert fh.readline().strip() == "query,product_id,title,description,grade"
        fh.seek(0)
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(small.truth.relevance)
    assert {r["grade"] for r in rows} <= {"0", "1", "2", "3"}
    with paths["query_intents"].open(newline="", encoding="utf-8") as fh:
        assert next(csv.reader(fh)) == ["query", "intent"]
    with paths["review_sentiments"].open(newline="", encoding="utf-8") as fh:
        assert next(csv.reader(fh)) == ["event_id", "rating", "sentiment"]
