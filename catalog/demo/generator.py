"""Deterministic demo-store generator: catalog, shoppers, events and the hidden truth.

Plain Python + numpy, no Django.  ``generate_store(seed=...)`` builds a believable shop
(categories in a tree, brands with price levels, coherent products) and simulates
``days`` days of shopper behaviour driven by hidden tastes, so that the truth returned
alongside (tastes, query intents, review sentiments, graded relevance of held-out
queries) can be learned back from the events.

Determinism: all randomness flows from ``random.Random`` and ``numpy.random.Generator``
instances seeded from ``seed``; the global generators are never used, and every
iteration is over ordered containers.  Same arguments -> identical store.

The pieces a traffic simulator reuses later are ``grade(spec, product)``,
``sample_query(rng, taste, index)`` and ``StoreIndex`` (``build_index(store)``).

A query *spec* is a JSON-serialisable dict::

    {"categories": [leaf ids the query is about],
     "related":    [leaf ids that are a partial match (graded 1)],
     "type":  product type or None,   "brand": brand or None,
     "model": model/line or None,     "attributes": {name: value},
     "price_max": float or None}
"""

from __future__ import annotations

import csv
import json
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np

from catalog.demo import vocab as V

DEFAULT_END = datetime(2026, 11, 1, tzinfo=UTC)
EVENT_TYPES = ("search", "view", "click", "add_to_cart", "purchase", "rating", "review")
INTENTS = ("browse", "buy", "review")
JUDGED_QUERY_COUNT = 80
RESULTS_PER_PAGE = 10
TYPO_RATE = 0.08
RELEVANCE_HEADER = ["query", "product_id", "title", "description", "grade"]

# click / purchase propensities by relevance grade 0..3
_CLICK_REL = (0.04, 0.15, 0.45, 0.85)
_BUY_REL = (0.03, 0.2, 0.6, 1.0)
_CLICK_INTENT = {"browse": 0.55, "buy": 0.6, "review": 0.5}
_CART_INTENT = {"browse": 0.12, "buy": 0.35, "review": 0.1}


# ---------------------------------------------------------------------------
# Public data classes
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoTruth:
    tastes: dict[str, dict]
    query_intents: list[dict]
    review_sentiments: list[dict]
    judged_queries: list[dict]
    relevance: list[dict]


@dataclass(frozen=True)
class DemoStore:
    categories: list[dict]
    brands: list[str]
    products: list[dict]
    shoppers: list[dict]
    events: list[dict]
    truth: DemoTruth


# ---------------------------------------------------------------------------
# Grading
# ---------------------------------------------------------------------------


def grade(spec: dict, product: dict) -> int:
    """Graded relevance 0..3 of ``product`` for a query ``spec``.

    3: in one of the spec's categories and every constraint given (type, brand, model,
       attributes, price_max) holds -- needs at least one constraint;
    2: in one of the spec's categories;
    1: in a related category, or same brand as asked for (partial match);
    0: otherwise.
    """
    category = product.get("category")
    attrs = product.get("attributes") or {}
    if category in (spec.get("categories") or ()):
        checks = 0
        ok = True
        for key in ("type", "model"):
            want = spec.get(key)
            if want is not None:
                checks += 1
                ok = ok and attrs.get(key) == want
        brand = spec.get("brand")
        if brand is not None:
            checks += 1
            ok = ok and product.get("brand") == brand
        for name, want in (spec.get("attributes") or {}).items():
            checks += 1
            ok = ok and attrs.get(name) == want
        price_max = spec.get("price_max")
        if price_max is not None:
            checks += 1
            ok = ok and float(product.get("price", 0)) <= float(price_max)
        return 3 if checks and ok else 2
    if category in (spec.get("related") or ()):
        return 1
    if spec.get("brand") is not None and product.get("brand") == spec.get("brand"):
        return 1
    return 0


def sentiment_of(rating: int) -> str:
    return "negative" if rating <= 2 else ("neutral" if rating == 3 else "positive")


# ---------------------------------------------------------------------------
# Store index
# ---------------------------------------------------------------------------


def _price_level(category: str, price: float) -> float:
    leaf = V.LEAF_BY_ID.get(category)
    if leaf is None or price <= 0:
        return 0.5
    lo, hi = leaf["price"]
    level = (math.log(price) - math.log(lo)) / (math.log(hi) - math.log(lo))
    return min(1.0, max(0.0, level))


class StoreIndex:
    """Lookups over a catalog for sampling queries, grading and simulating result lists.

    ``StoreIndex(products, popularity=None, avoid=())``: ``products`` are product dicts as
    in ``DemoStore.products`` (only ``active`` ones are ever sampled or shown);
    ``popularity`` an optional positive weight per product (default 1); ``avoid`` query
    texts ``sample_query`` must never return (the judged queries).  ``build_index(store)``
    builds one from a generated store, with popularity from its events.
    """

    def __init__(self, products: list[dict], *, popularity=None, avoid=()):
        self.products = products
        self.avoid = frozenset(avoid)
        self.id_to_idx = {p["external_id"]: i for i, p in enumerate(products)}
        self.brands: list[str] = list(dict.fromkeys(p["brand"] for p in products))
        self.brand_pos = {b: i for i, b in enumerate(self.brands)}
        self.brand_idx = np.array([self.brand_pos[p["brand"]] for p in products], dtype=np.int64)
        self.price_level = np.array(
            [_price_level(p["category"], float(p["price"])) for p in products], dtype=float
        )
        if popularity is None:
            popularity = np.ones(len(products))
        self.popularity = np.asarray(popularity, dtype=float)
        self.log_pop = np.log(np.maximum(self.popularity, 1e-6))
        self.in_stock = np.array([int(p["stock"]) > 0 for p in products], dtype=bool)
        self.price = np.array([float(p["price"]) for p in products], dtype=float)
        by_leaf: dict[str, list[int]] = {}
        by_brand: dict[str, list[int]] = {}
        active: list[int] = []
        for i, p in enumerate(products):
            if not p["active"]:
                continue
            active.append(i)
            by_leaf.setdefault(p["category"], []).append(i)
            by_brand.setdefault(p["brand"], []).append(i)
        self.active_idx = np.array(active, dtype=np.int64)
        self.by_leaf = {k: np.array(v, dtype=np.int64) for k, v in by_leaf.items()}
        self.by_brand = {k: np.array(v, dtype=np.int64) for k, v in by_brand.items()}
        self.leaves = [leaf["id"] for leaf in V.LEAVES if leaf["id"] in self.by_leaf]
        self._leaf_pos = {
            c: i for i, c in enumerate(dict.fromkeys(p["category"] for p in products))
        }
        self.leaf_brands = {
            leaf: list(dict.fromkeys(products[i]["brand"] for i in idx))
            for leaf, idx in self.by_leaf.items()
        }
        # per-leaf columns (object arrays) for vectorised grading
        self._columns: dict[str, dict[str, np.ndarray]] = {}
        for leaf, idx in self.by_leaf.items():
            names = list(dict.fromkeys(k for i in idx for k in products[i]["attributes"]))
            cols = {}
            for name in names:
                col = np.empty(len(idx), dtype=object)
                col[:] = [products[i]["attributes"].get(name) for i in idx]
                cols[name] = col
            brand = np.empty(len(idx), dtype=object)
            brand[:] = [products[i]["brand"] for i in idx]
            cols[" brand"] = brand
            self._columns[leaf] = cols
        self._cand_cache: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.leaf_code = np.array([self._leaf_pos.get(p["category"], -1) for p in products])
        self._taste_cache: dict[int, tuple[dict, np.ndarray, dict]] = {}

    # -- shopper affinity ------------------------------------------------
    def _taste_entry(self, taste: dict) -> tuple[dict, np.ndarray, dict]:
        hit = self._taste_cache.get(id(taste))
        if hit is not None and hit[0] is taste:
            return hit
        bw = np.zeros(len(self.brands))
        for name, w in (taste.get("brands") or {}).items():
            pos = self.brand_pos.get(name)
            if pos is not None:
                bw[pos] = w
        pm = np.exp(-(((self.price_level - taste.get("price_level", 0.5)) / 0.22) ** 2))
        weights = self.popularity * (1.0 + 3.0 * bw[self.brand_idx]) * (0.08 + pm)
        if len(self._taste_cache) >= 256:
            self._taste_cache.pop(next(iter(self._taste_cache)))
        entry = (taste, weights, {})
        self._taste_cache[id(taste)] = entry
        return entry

    def affinity(self, idx: np.ndarray, taste: dict) -> np.ndarray:
        """Sampling weight of products ``idx`` for a shopper: popularity x brand x price fit.

        Cached per taste dict (by identity): do not mutate a taste between calls."""
        return self._taste_entry(taste)[1][idx]

    def pick(self, rng: random.Random, leaf: str, taste: dict) -> int:
        """A product index from ``leaf`` drawn by the shopper's affinity."""
        _, weights, cums = self._taste_entry(taste)
        idx = self.by_leaf[leaf]
        cw = cums.get(leaf)
        if cw is None:
            cw = cums[leaf] = np.cumsum(weights[idx])
        j = int(np.searchsorted(cw, rng.random() * cw[-1], side="right"))
        return int(idx[min(j, len(idx) - 1)])

    # -- retrieval -------------------------------------------------------
    def candidates(self, spec: dict) -> tuple[np.ndarray, np.ndarray]:
        """Active products with grade >= 1 for ``spec`` and their grades (cached)."""
        idx, grades, _ = self._candidates(spec)
        return idx, grades

    def _candidates(self, spec: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        key = json.dumps(spec, sort_keys=True, default=str)
        hit = self._cand_cache.get(key)
        if hit is not None:
            return hit
        cats = [c for c in dict.fromkeys(spec.get("categories") or ()) if c in self.by_leaf]
        parts: list[np.ndarray] = []
        grades: list[np.ndarray] = []
        for cat in cats:
            idx = self.by_leaf[cat]
            cols = self._columns[cat]
            ok = np.ones(len(idx), dtype=bool)
            checks = 0
            wanted = [(k, spec.get(k)) for k in ("type", "model")]
            wanted.append((" brand", spec.get("brand")))
            wanted += list((spec.get("attributes") or {}).items())
            for name, want in wanted:
                if want is None and name in ("type", "model", " brand"):
                    continue
                checks += 1
                col = cols.get(name)
                if col is None:
                    if want is not None:
                        ok[:] = False
                else:
                    ok &= np.asarray(col == want, dtype=bool)
            if spec.get("price_max") is not None:
                checks += 1
                ok &= self.price[idx] <= float(spec["price_max"])
            parts.append(idx)
            grades.append(np.where(ok, 3, 2) if checks else np.full(len(idx), 2))
        related = [
            c
            for c in dict.fromkeys(spec.get("related") or ())
            if c in self.by_leaf and c not in cats
        ]
        for cat in related:
            parts.append(self.by_leaf[cat])
            grades.append(np.ones(len(self.by_leaf[cat]), dtype=np.int64))
        if spec.get("brand") is not None and spec["brand"] in self.by_brand:
            taken = [self._leaf_pos[c] for c in (*cats, *related)]
            bidx = self.by_brand[spec["brand"]]
            extra = bidx[~np.isin(self.leaf_code[bidx], taken)]
            parts.append(extra)
            grades.append(np.ones(len(extra), dtype=np.int64))
        idx = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        grades = np.concatenate(grades).astype(np.int64) if grades else np.zeros(0, dtype=np.int64)
        if len(self._cand_cache) >= 200_000:
            self._cand_cache.clear()
        out = (idx, grades, grades + 0.3 * self.log_pop[idx])
        self._cand_cache[key] = out
        return out

    def search(
        self,
        spec: dict,
        nrng: np.random.Generator,
        *,
        k: int = RESULTS_PER_PAGE,
        typo: bool = False,
    ) -> list[tuple[int, int]]:
        """A simple lexical-ish result page: (product index, grade) best first.

        Score = grade + popularity prior + noise (twice as noisy for misspelt queries),
        plus two random catalogue items that a keyword match might drag in.
        """
        cidx, cgr, base = self._candidates(spec)
        n = len(cidx)
        sigma = 1.8 if typo else 0.9
        noise = sigma * nrng.standard_normal(n + 2)
        noise_idx = self.active_idx[nrng.integers(0, len(self.active_idx), size=2)]
        scores = base + noise[:n]
        top = np.argpartition(-scores, k)[:k] if n > k else np.arange(n)
        page = list(zip(cidx[top].tolist(), cgr[top].tolist(), scores[top].tolist(), strict=True))
        taken = {p for p, _, _ in page}
        extra = (0.3 * self.log_pop[noise_idx] + noise[n:]).tolist()
        for i, sc in zip(noise_idx.tolist(), extra, strict=True):
            if i not in taken:
                taken.add(i)
                page.append((i, grade(spec, self.products[i]), sc))
        page.sort(key=lambda x: -x[2])
        return [(i, g) for i, g, _ in page[:k]]


def build_index(store: DemoStore) -> StoreIndex:
    """StoreIndex over ``store.products``; popularity from views/clicks/purchases in the
    events (plus one), and the judged query texts as texts to avoid."""
    counts = np.ones(len(store.products))
    pos = {p["external_id"]: i for i, p in enumerate(store.products)}
    for e in store.events:
        if e["product"] and e["type"] in ("view", "click", "purchase"):
            counts[pos[e["product"]]] += 1.0
    return StoreIndex(
        store.products,
        popularity=counts,
        avoid=[j["query"] for j in store.truth.judged_queries],
    )


# ---------------------------------------------------------------------------
# Query sampling
# ---------------------------------------------------------------------------


def _empty_spec(categories: list[str]) -> dict:
    related: list[str] = []
    for cat in categories:
        for r in V.LEAF_BY_ID[cat]["related"]:
            if r not in categories and r not in related:
                related.append(r)
    return {
        "categories": list(categories),
        "related": related,
        "type": None,
        "brand": None,
        "model": None,
        "attributes": {},
        "price_max": None,
    }


def _query_attr(rng: random.Random, name: str, value) -> tuple[str, str]:
    """(text, placement) of an attribute constraint inside a query."""
    if isinstance(value, bool):
        return V.BOOL_ADJ[name], "pre"
    if name == "gender":
        if rng.random() < 0.3:
            return f"for {value}", "post"
        word = V.GENDER_WORD[value]
        return (word.replace("'", "") if rng.random() < 0.3 else word), "pre"
    fmt, place = V.ATTR_FORMAT.get(name, ("{}", "pre"))
    return fmt.format(value).lower(), place


def _queryable(name: str, value) -> bool:
    if name in ("type", "model", "author"):
        return False
    if isinstance(value, bool):
        return value and name in V.BOOL_ADJ
    return True


def _term(rng: random.Random, leaf: dict, tname: str | None) -> tuple[str, str | None]:
    """A noun phrase for the leaf: a synonym of product type ``tname`` or a generic term."""
    if tname is not None and rng.random() < 0.7:
        return rng.choice(leaf["types"][tname]["syn"]), tname
    return rng.choice(leaf["terms"]), None


def _nice_ceiling(x: float) -> int:
    step = 5 if x < 50 else (10 if x < 200 else (50 if x < 1000 else 100))
    return int(math.ceil(x / step) * step)


def _typo(rng: random.Random, text: str) -> str:
    words = text.split(" ")
    cands = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not cands:
        return text
    wi = rng.choice(cands)
    w = words[wi]
    if rng.random() < 0.5:
        j = rng.randrange(1, len(w) - 1)
        w2 = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    else:
        j = rng.randrange(1, len(w))
        w2 = w[:j] + w[j + 1 :]
    if w2 == w:
        w2 = w[:-1]
    words[wi] = w2
    return " ".join(words)


def _compose_buy(rng, idx: StoreIndex, taste: dict, leaf_id: str, heldout: bool):
    leaf = V.LEAF_BY_ID[leaf_id]
    model_first = V.DEPT_BY_ID[leaf["dept"]].get("model_first", False)
    prod = idx.products[idx.pick(rng, leaf_id, taste)]
    attrs = prod["attributes"]
    spec = _empty_spec([leaf_id])
    term, stype = _term(rng, leaf, attrs["type"])
    spec["type"] = stype
    use_model = rng.random() < (0.3 if model_first else 0.18)
    use_brand = (not model_first and (use_model or rng.random() < 0.35)) or (
        model_first and not use_model and rng.random() < 0.25
    )
    cands = [a for a in leaf["key"] if a in attrs and _queryable(a, attrs[a])]
    k = 0 if use_model else rng.choice((1, 1, 2))
    chosen = rng.sample(cands, min(k, len(cands)))
    price_max = None
    if not use_model and rng.random() < 0.12:
        price_max = _nice_ceiling(float(prod["price"]) * rng.uniform(1.05, 1.4))
    if not (use_brand or use_model or chosen or price_max):
        use_brand = True
    pre: list[str] = []
    post: list[str] = []
    for a in chosen:
        text, place = _query_attr(rng, a, attrs[a])
        (pre if place == "pre" else post).append(text)
        spec["attributes"][a] = attrs[a]
    words: list[str] = []
    if use_brand:
        spec["brand"] = prod["brand"]
        words.append(prod["brand"])
    if use_model:
        spec["model"] = attrs["model"]
        words.append(attrs["model"])
    words += pre
    if not use_model or rng.random() < 0.6:
        words.append(term)
    else:
        spec["type"] = None
    words += post
    core = " ".join(words)
    if price_max is not None:
        spec["price_max"] = float(price_max)
        frame = V.PRICE_HELDOUT if heldout else V.PRICE_EVENT
        return frame.format(q=core, n=price_max), spec
    frame = rng.choice(V.BUY_HELDOUT if heldout else V.BUY_EVENT)
    return frame.format(q=core), spec


def _compose_browse(rng, idx: StoreIndex, taste: dict, leaf_id: str, heldout: bool):
    leaf = V.LEAF_BY_ID[leaf_id]
    personas = [p for p in V.PERSONAS if leaf_id in p["leaves"]]
    if personas and rng.random() < 0.35:
        persona = rng.choice(personas)
        cats = [c for c in persona["leaves"] if c in idx.by_leaf]
        phrase = rng.choice(persona["heldout"] if heldout else persona["event"])
        frame = rng.choice(V.BROWSE_PERSONA_HELDOUT if heldout else V.BROWSE_PERSONA_EVENT)
        return frame.format(p=phrase), _empty_spec(cats)
    spec = _empty_spec([leaf_id])
    term, stype = _term(rng, leaf, rng.choice(list(leaf["types"])))
    spec["type"] = stype
    frame = rng.choice(V.BROWSE_HELDOUT if heldout else V.BROWSE_EVENT)
    return frame.format(t=term), spec


def _compose_review(rng, idx: StoreIndex, taste: dict, leaf_id: str, heldout: bool):
    leaf = V.LEAF_BY_ID[leaf_id]
    model_first = V.DEPT_BY_ID[leaf["dept"]].get("model_first", False)
    spec = _empty_spec([leaf_id])
    if rng.random() < 0.4:
        prod = idx.products[idx.pick(rng, leaf_id, taste)]
        term, stype = _term(rng, leaf, prod["attributes"]["type"])
        frames = V.REVIEW_BRAND_HELDOUT if heldout else V.REVIEW_BRAND_EVENT
        frame = rng.choice(frames)
        brand = prod["brand"]
        if "{m}" in frame:
            spec["model"] = prod["attributes"]["model"]
            if model_first:
                brand = ""
            else:
                spec["brand"] = brand
        else:
            spec["brand"] = brand
            spec["type"] = stype
        return frame.format(b=brand, m=prod["attributes"]["model"], t=term), spec
    term, stype = _term(rng, leaf, rng.choice(list(leaf["types"])))
    spec["type"] = stype
    frame = rng.choice(V.REVIEW_HELDOUT if heldout else V.REVIEW_EVENT)
    return frame.format(t=term), spec


_COMPOSERS = {"buy": _compose_buy, "browse": _compose_browse, "review": _compose_review}


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


def _sample_query(
    rng: random.Random,
    taste: dict,
    idx: StoreIndex,
    *,
    intent: str | None = None,
    leaf: str | None = None,
    heldout: bool = False,
) -> tuple[str, str, dict, bool]:
    """(text, intent, spec, misspelt) -- the workhorse behind ``sample_query``."""
    for _ in range(50):
        leaf_id = leaf
        if leaf_id is None:
            cats = [c for c in (taste.get("categories") or {}) if c in idx.by_leaf]
            if cats and rng.random() < 0.85:
                leaf_id = rng.choices(cats, weights=[taste["categories"][c] for c in cats])[0]
            else:
                leaf_id = rng.choice(idx.leaves)
        want = intent
        if want is None:
            r = rng.random()
            want = "browse" if r < 0.28 else ("buy" if r < 0.85 else "review")
        text, spec = _COMPOSERS[want](rng, idx, taste, leaf_id, heldout)
        text = _normalise(text)
        typo = False
        if not heldout and rng.random() < TYPO_RATE:
            misspelt = _typo(rng, text)
            typo = misspelt != text
            text = misspelt
        if text not in idx.avoid:
            return text, want, spec, typo
    raise RuntimeError("could not sample a query outside the avoided set")


def sample_query(rng: random.Random, taste: dict, store_index: StoreIndex) -> tuple[str, str, dict]:
    """(query text, intent, spec) a shopper with ``taste`` might type.

    ``taste`` is a ``DemoTruth.tastes`` value ({"categories", "brands", "price_level"});
    ``store_index`` a ``StoreIndex`` (``build_index(store)``).  Uses the event phrasings
    only (never the held-out frames of the judged queries) and re-draws any text listed in
    ``store_index.avoid``; ~8% of texts carry a typo.
    """
    text, intent, spec, _ = _sample_query(rng, taste, store_index)
    return text, intent, spec


# ---------------------------------------------------------------------------
# Catalog
# ---------------------------------------------------------------------------


def _build_categories() -> list[dict]:
    cats = []
    for dept in V.DEPARTMENTS:
        cats.append({"external_id": dept["id"], "name": dept["name"], "parent": ""})
        for leaf in V.LEAVES:
            if leaf["dept"] == dept["id"]:
                cats.append({"external_id": leaf["id"], "name": leaf["name"], "parent": dept["id"]})
    return cats


def _type_schema(leaf: dict, tname: str) -> tuple[dict, dict]:
    t = leaf["types"][tname]
    schema = dict(leaf["attrs"])
    for k, v in (t.get("attrs") or {}).items():
        if v is None:
            schema.pop(k, None)
        else:
            schema[k] = v
    return schema, t.get("fixed") or {}


def _plural(noun: str) -> bool:
    return noun.endswith("s")


def _title_attr(name: str, value) -> str:
    if name == "gender":
        return V.GENDER_WORD[value]
    if name in ("players", "language", "format", "pack", "size", "region", "tea"):
        return str(value)
    fmt, _ = V.ATTR_FORMAT.get(name, ("{}", "pre"))
    return fmt.format(value)


def _spec_line(name: str, value) -> str:
    label = name.replace("_", " ")
    if isinstance(value, bool):
        return f"{label}: {'yes' if value else 'no'}"
    return f"{label}: {value}"


def _round_price(rng: random.Random, raw: float) -> Decimal:
    if raw < 10:
        v = math.floor(raw) + rng.choice((0.49, 0.79, 0.99))
    elif raw < 100:
        v = math.floor(raw) + rng.choice((0.95, 0.99, 0.99, 0.5))
    else:
        v = max(5, round(raw / 5) * 5) - 0.01
    return Decimal(f"{v:.2f}")


class _Catalog:
    """Builds brands and products; keeps the hidden per-product quantities."""

    def __init__(self, rng: random.Random, n_products: int):
        self.rng = rng
        self.brand_level: dict[str, float] = {}
        self.brand_quality: dict[str, float] = {}
        self.brand_dept: dict[str, str] = {}
        self.brands: list[str] = []
        for dept in V.DEPARTMENTS:
            for name, level in dept["brands"]:
                self.brands.append(name)
                self.brand_level[name] = level
                self.brand_dept[name] = dept["id"]
                q = 0.35 + 0.4 * level + rng.gauss(0, 0.12)
                self.brand_quality[name] = min(0.95, max(0.1, q))
        # which brands carry which leaf, and their product lines there
        self.carriers: dict[str, list[str]] = {}
        self.lines: dict[tuple[str, str], list[str]] = {}
        for leaf in V.LEAVES:
            dept = V.DEPT_BY_ID[leaf["dept"]]
            names = [b for b, _ in dept["brands"]]
            carry = [b for b in names if rng.random() < 0.75]
            while len(carry) < 3:
                b = rng.choice(names)
                if b not in carry:
                    carry.append(b)
            carry.sort(key=names.index)
            self.carriers[leaf["id"]] = carry
            for b in carry:
                if dept["lines"]:
                    self.lines[(b, leaf["id"])] = rng.sample(dept["lines"], rng.randint(2, 4))
        self.schemas = {
            (leaf["id"], t): _type_schema(leaf, t) for leaf in V.LEAVES for t in leaf["types"]
        }
        self.products: list[dict] = []
        self.popularity: list[float] = []
        self.quality: list[float] = []
        self._titles: set[str] = set()
        self._works: dict[str, list[dict]] = {}
        self._make_products(n_products)

    # -- counts per leaf ---------------------------------------------------
    @staticmethod
    def _allocate(n: int) -> list[int]:
        weights = [leaf["weight"] for leaf in V.LEAVES]
        total = sum(weights)
        counts = [int(n * w / total) for w in weights]
        rest = n - sum(counts)
        order = sorted(range(len(weights)), key=lambda i: -(n * weights[i] / total - counts[i]))
        for i in order[:rest]:
            counts[i] += 1
        return counts

    def _make_products(self, n: int) -> None:
        counts = self._allocate(n)
        serial = 0
        for leaf, count in zip(V.LEAVES, counts, strict=True):
            for _ in range(count):
                serial += 1
                self.products.append(self._make_product(leaf, serial))

    def _book_model(self, leaf: dict, attrs: dict, brand: str) -> tuple[str, str | None]:
        rng = self.rng
        works = self._works.setdefault(leaf["id"], [])
        if works and rng.random() < 0.3:
            w = rng.choice(works)  # another edition / format of an existing work
            return w["model"], w["author"]
        lid = leaf["id"]
        author = None
        if lid == "fiction":
            model = f"The {rng.choice(V.BOOK_ADJ)} {rng.choice(V.BOOK_NOUN)}"
            author = f"{rng.choice(V.AUTHOR_FIRST)} {rng.choice(V.AUTHOR_LAST)}"
        elif lid == "cookbooks":
            model = rng.choice(V.COOKBOOK_FRAMES).format(C=str(attrs["cuisine"]).title())
        elif lid == "travel-guides":
            model = rng.choice(V.TRAVEL_FRAMES).format(R=str(attrs["region"]).title())
        else:
            model = rng.choice(V.KIDS_FRAMES).format(A=rng.choice(V.KIDS_ANIMALS))
        works.append({"model": model, "author": author})
        return model, author

    def _make_product(self, leaf: dict, serial: int) -> dict:
        rng = self.rng
        dept = V.DEPT_BY_ID[leaf["dept"]]
        books = dept.get("model_first", False)
        carriers = self.carriers[leaf["id"]]
        for _attempt in range(6):
            brand = rng.choice(carriers)
            tname = rng.choice(list(leaf["types"]))
            schema, fixed = self.schemas[(leaf["id"], tname)]
            values = {k: rng.choice(v) for k, v in schema.items()}
            values.update(fixed)
            if books:
                model, author = self._book_model(leaf, values, brand)
                if author:
                    values["author"] = author
            else:
                model = rng.choice(self.lines[(brand, leaf["id"])])
                suffix = rng.choice(dept["suffixes"])
                if suffix:
                    model = f"{model} {suffix}"
            attributes = {"type": tname, "model": model, **values}
            title = self._title(leaf, brand, attributes, books)
            if title not in self._titles:
                break
        self._titles.add(title)
        level = self.brand_level[brand]
        lo, hi = leaf["price"]
        q = min(1.0, max(0.0, 0.55 * level + 0.45 * rng.random() + rng.gauss(0, 0.05)))
        price = _round_price(rng, lo * (hi / lo) ** q)
        plevel = _price_level(leaf["id"], float(price))
        quality = self.brand_quality[brand] + 0.15 * (plevel - 0.5) + rng.gauss(0, 0.12)
        self.quality.append(min(0.98, max(0.02, quality)))
        self.popularity.append(rng.lognormvariate(0.0, 0.9))
        ext = f"p{serial:05d}"
        stock = 0 if rng.random() < 0.08 else int(1 + rng.expovariate(1 / 40))
        return {
            "external_id": ext,
            "title": title,
            "description": self._description(leaf, dept, brand, attributes, plevel, books),
            "category": leaf["id"],
            "brand": brand,
            "price": price,
            "currency": "EUR",
            "stock": stock,
            "image_url": f"https://img.aisle.example/p/{ext}.jpg",
            "attributes": attributes,
            "active": rng.random() >= 0.02,
        }

    @staticmethod
    def _title(leaf: dict, brand: str, attributes: dict, books: bool) -> str:
        tname = attributes["type"]
        model = attributes["model"]
        if books:
            by = f" by {attributes['author']}" if attributes.get("author") else ""
            fmt = attributes.get("format", "")
            extra = (
                attributes.get("language")
                if attributes.get("language", "English") != "English"
                else None
            )
            tail = ", ".join(x for x in (fmt, extra) if x)
            return f"{model}{by} — {tname}, {tail} ({brand})"
        adjs = [V.BOOL_ADJ[k] for k, v in attributes.items() if v is True and k in V.BOOL_ADJ]
        adjs = [a for a in adjs if a not in tname]
        head = " ".join([brand, model, *adjs, tname])
        items = [
            (k, v)
            for k, v in attributes.items()
            if k not in ("type", "model") and not isinstance(v, bool)
        ]
        items.sort(key=lambda kv: kv[0] != "gender")
        variant = ", ".join(_title_attr(k, v) for k, v in items[:3])
        return f"{head} — {variant}" if variant else head

    def _description(self, leaf, dept, brand, attributes, plevel, books) -> str:
        rng = self.rng
        tname = attributes["type"]
        model = attributes["model"]
        if books:
            adj = rng.choice(V.QUALITY_ADJ_BOOK)
        elif plevel < 0.33:
            adj = rng.choice(V.QUALITY_ADJ_LOW)
        elif plevel < 0.7:
            adj = rng.choice(V.QUALITY_ADJ_MID)
        else:
            adj = rng.choice(V.QUALITY_ADJ_HIGH)
        use = rng.choice(leaf["uses"])
        a1, a2 = rng.sample(leaf["aspects"], 2)
        feats = rng.sample(leaf["features"], min(3, len(leaf["features"])))
        article = "an" if adj[0] in "aeiou" else "a"
        plural = _plural(tname)
        if books:
            by = f" by {attributes['author']}" if attributes.get("author") else ""
            s1 = rng.choice(
                [
                    f"{model} is {article} {adj} {tname}{by}, perfect for {use}.",
                    f"From {brand} comes {model}, {article} {adj} {tname}{by} made for {use}.",
                ]
            )
            s2 = f"Readers will find {feats[0]} and {feats[1]}."
        else:
            is_a = "are" if plural else f"is {article}"
            this = "these" if plural else "this"
            a_ = "" if plural else f"{article} "
            s1 = rng.choice(
                [
                    f"The {brand} {model} {is_a} {adj} {tname} designed for {use}.",
                    f"Built for {use}, {this} {adj} {tname} from {brand} balance{'' if plural else 's'} {a1} and {a2}.",
                    f"Meet the {model} from {brand}: {a_}{adj} {tname} for {use}.",
                ]
            )
            if len(feats) >= 3 and rng.random() < 0.5:
                s2 = f"Highlights include {feats[0]}, {feats[1]} and {feats[2]}."
            else:
                s2 = rng.choice(
                    [
                        f"It features {feats[0]} and {feats[1]}.",
                        f"Expect {feats[0]}, plus {feats[1]}.",
                    ]
                )
        specs = [
            _spec_line(k, v) for k, v in attributes.items() if k not in ("type", "model", "author")
        ]
        sentences = [s1, s2]
        if specs:
            sentences.append("Specifications: " + "; ".join(specs) + ".")
        if rng.random() < 0.5:
            sentences.append(
                rng.choice(dept["closing"]).format(brand=brand, years=rng.choice((2, 3, 5)))
            )
        return " ".join(sentences)


# ---------------------------------------------------------------------------
# Shoppers and tastes
# ---------------------------------------------------------------------------


def _make_shoppers(rng, n, idx: StoreIndex, catalog: _Catalog, end: datetime, days: int):
    shoppers: list[dict] = []
    tastes: dict[str, dict] = {}
    activity: list[float] = []
    signups: list[datetime] = []
    countries = [c for c, _ in V.COUNTRIES]
    cweights = [w for _, w in V.COUNTRIES]
    segs = [s for s, _, _ in V.SEGMENTS]
    sweights = [w for _, w, _ in V.SEGMENTS]
    centers = {s: c for s, _, c in V.SEGMENTS}
    personas = [p for p in V.PERSONAS if any(c in idx.by_leaf for c in p["leaves"])]
    for i in range(n):
        sid = f"u{i + 1:05d}"
        segment = rng.choices(segs, weights=sweights)[0]
        level = min(0.98, max(0.02, rng.gauss(centers[segment], 0.1)))
        persona = rng.choice(personas)
        pool = [c for c in persona["leaves"] if c in idx.by_leaf]
        k = min(len(pool), rng.choice((2, 2, 3)))
        cats = rng.sample(pool, k)
        if rng.random() < 0.3:  # one idiosyncratic interest outside the persona
            other = [c for c in idx.leaves if c not in cats]
            if other:
                cats[-1 if len(cats) > 1 else 0] = rng.choice(other)
        raw = [rng.gammavariate(1.5, 1.0) + 0.05 for _ in cats]
        total = sum(raw)
        cat_w = {c: round(w / total, 4) for c, w in zip(cats, raw, strict=True)}
        brand_w: dict[str, float] = {}
        for c in cats:
            carriers = idx.leaf_brands[c]
            fit = [
                math.exp(-(((catalog.brand_level[b] - level) / 0.25) ** 2)) + 0.05 for b in carriers
            ]
            for b in dict.fromkeys(rng.choices(carriers, weights=fit, k=rng.choice((1, 1, 2)))):
                brand_w[b] = brand_w.get(b, 0.0) + cat_w[c] * rng.uniform(0.5, 1.5)
        total = sum(brand_w.values())
        brand_w = {b: round(w / total, 4) for b, w in brand_w.items()}
        tastes[sid] = {
            "categories": cat_w,
            "brands": brand_w,
            "price_level": round(level, 4),
            "segment": segment,
        }
        if rng.random() < 0.15:
            signup = end - timedelta(days=rng.uniform(1.0, max(1.5, days - 1.0)))
        else:
            signup = end - timedelta(days=rng.uniform(days, 730))
        signups.append(signup)
        activity.append(rng.lognormvariate(-1.75, 0.9))
        shoppers.append(
            {
                "external_id": sid,
                "segment": segment,
                "country": rng.choices(countries, weights=cweights)[0],
                "signup_date": signup.date().isoformat(),
            }
        )
    return shoppers, tastes, activity, signups


# ---------------------------------------------------------------------------
# Event simulation
# ---------------------------------------------------------------------------


class _Sim:
    def __init__(
        self, rng, nrng, idx: StoreIndex, catalog: _Catalog, start_ts: float, end_ts: float
    ):
        self.rng = rng
        self.nrng = nrng
        self.idx = idx
        self.cat = catalog
        self.start_ts = start_ts
        self.end_ts = end_ts
        self.rows: list[tuple] = []
        self.intents: dict[str, str] = {}
        self.sessions = 0
        self.products = idx.products
        self.quality = catalog.quality
        self.complement = self._designate_complements()

    def _designate_complements(self) -> dict[int, int]:
        """Per product, one product from a complementary leaf that is often bought with it."""
        rng = self.rng
        out: dict[int, int] = {}
        for leaf in V.LEAVES:
            comps = [c for c in leaf["complements"] if c in self.idx.by_leaf]
            if not comps or leaf["id"] not in self.idx.by_leaf:
                continue
            for i in self.idx.by_leaf[leaf["id"]]:
                c = rng.choice(comps)
                pool = self.idx.by_leaf[c]
                d = np.abs(self.idx.price_level[pool] - self.idx.price_level[i])
                near = pool[np.argsort(d, kind="stable")[:8]]
                out[int(i)] = int(near[rng.randrange(len(near))])
        return out

    # -- helpers -----------------------------------------------------------
    def emit(
        self,
        ts,
        shopper,
        etype,
        product=-1,
        query="",
        position=None,
        value=None,
        review="",
        session="",
    ):
        if ts >= self.end_ts:  # a session running past the window is cut off there
            return
        self.rows.append(
            (
                int(ts * 1000),
                len(self.rows),
                shopper,
                etype,
                product,
                query,
                position,
                value,
                review,
                session,
            )
        )

    def new_session(self) -> str:
        self.sessions += 1
        return f"demo-s{self.sessions}"

    def prepare(self, taste: dict) -> None:
        """Per-shopper vectors: price fit and brand x price factor of every product."""
        bw = np.zeros(len(self.idx.brands))
        for name, w in taste["brands"].items():
            bw[self.idx.brand_pos[name]] = w
        pm = np.exp(-(((self.idx.price_level - taste["price_level"]) / 0.22) ** 2))
        self.pm = pm.tolist()
        self.sf = ((1.0 + 2.0 * bw[self.idx.brand_idx]) * (0.35 + 0.65 * pm)).tolist()

    def already_owns(self, p: int) -> bool:
        """Durable goods are bought once; consumables (repeat leaves) again and again."""
        if p not in self.owned:
            return False
        leaf = V.LEAF_BY_ID.get(self.products[p]["category"])
        return leaf is None or not leaf["repeat"]

    def shopper_factor(self, taste: dict, p: int) -> float:
        return self.sf[p]

    def pick_leaf(self, taste: dict) -> str:
        cats = [c for c in taste["categories"] if c in self.idx.by_leaf]
        if cats and self.rng.random() < 0.85:
            return self.rng.choices(cats, weights=[taste["categories"][c] for c in cats])[0]
        return self.rng.choice(self.idx.leaves)

    # -- purchase and its consequences ---------------------------------------
    def purchase(self, s, taste, p, t, session, staples, allow_cross=True) -> float:
        rng = self.rng
        self.emit(t, s, "purchase", p, value=float(self.products[p]["price"]), session=session)
        self.owned.add(p)
        leaf = V.LEAF_BY_ID.get(self.products[p]["category"])
        if leaf is not None and leaf["repeat"] and rng.random() < 0.6 and p not in staples:
            lo, hi = leaf["repeat"]
            staples[p] = t + rng.uniform(lo, hi) * 86400
        r = rng.random()
        if r < 0.45:
            self.schedule_feedback(s, taste, p, t, review=r < 0.2)
        if allow_cross and p in self.complement and rng.random() < 0.35:
            if rng.random() < 0.65:
                q = self.complement[p]
            else:
                comps = [c for c in leaf["complements"] if c in self.idx.by_leaf]
                q = self.idx.pick(rng, rng.choice(comps), taste)
            t += rng.uniform(20, 120)
            self.emit(t, s, "view", q, session=session)
            if self.idx.in_stock[q] and not self.already_owns(q):
                t += rng.uniform(10, 60)
                self.emit(t, s, "add_to_cart", q, session=session)
                t += rng.uniform(30, 180)
                t = self.purchase(s, taste, q, t, session, staples, allow_cross=False)
        return t

    def schedule_feedback(self, s, taste, p, t, review: bool):
        rng = self.rng
        when = t + rng.uniform(2, 20) * 86400
        if when >= self.end_ts - 1:
            return
        pm = self.pm[p]
        mu = 1.9 + 3.4 * self.quality[p] + 0.8 * (pm - 0.5)
        rating = int(min(5, max(1, round(rng.gauss(mu, 0.8)))))
        session = self.new_session()
        if not review:
            self.emit(when, s, "rating", p, value=float(rating), session=session)
            return
        leaf = V.LEAF_BY_ID[self.products[p]["category"]]
        a1, a2 = rng.sample(leaf["aspects"], 2)
        tname = self.products[p]["attributes"]["type"]
        text = rng.choice(V.REVIEW_TEMPLATES[rating]).format(
            t=tname,
            this="these" if _plural(tname) else "this",
            a1=a1,
            a2=a2,
            u=rng.choice(leaf["uses"]),
        )
        extra = rng.choice(V.REVIEW_EXTRA[sentiment_of(rating)])
        text = f"{text[0].upper()}{text[1:]} {extra}".strip()
        self.emit(when, s, "review", p, value=float(rating), review=text, session=session)

    def consider(self, s, taste, p, g, intent, t, session, staples) -> tuple[float, bool]:
        """After viewing product p: maybe add to cart and buy.  Returns (time, bought)."""
        rng = self.rng
        if not self.idx.in_stock[p] or self.already_owns(p):
            return t, False
        catw = taste["categories"].get(self.products[p]["category"], 0.0)
        pc = _CART_INTENT[intent] * _BUY_REL[g] * self.shopper_factor(taste, p) * (0.6 + catw)
        if rng.random() >= min(0.9, pc):
            return t, False
        t += rng.uniform(10, 90)
        self.emit(t, s, "add_to_cart", p, session=session)
        if rng.random() >= (0.75 if intent == "buy" else 0.55):
            return t, False
        t += rng.uniform(30, 300)
        return self.purchase(s, taste, p, t, session, staples), True

    # -- sessions ----------------------------------------------------------------
    def query(self, taste) -> tuple[str, str, dict, bool]:
        for _ in range(10):
            text, intent, spec, typo = _sample_query(self.rng, taste, self.idx)
            known = self.intents.get(text)
            if known is None or known == intent:
                self.intents[text] = intent
                return text, intent, spec, typo
        raise RuntimeError("could not sample a query with a consistent intent")

    def search_session(self, s, taste, t, staples):
        rng = self.rng
        session = self.new_session()
        n_queries = 1 + (rng.random() < 0.35) + (rng.random() < 0.12)
        for _ in range(n_queries):
            text, intent, spec, typo = self.query(taste)
            self.emit(t, s, "search", query=text, session=session)
            page = self.idx.search(spec, self.nrng, typo=typo)
            bought = False
            for rank, (p, g) in enumerate(page, 1):
                pc = _CLICK_INTENT[intent] * _CLICK_REL[g] * self.shopper_factor(taste, p)
                if rng.random() >= min(0.95, pc / math.log2(rank + 1)):
                    continue
                t += rng.uniform(3, 40)
                self.emit(t, s, "click", p, query=text, position=rank, session=session)
                t += rng.uniform(0.5, 2)
                self.emit(t, s, "view", p, query=text, session=session)
                t += rng.uniform(15, 120)
                t, bought = self.consider(s, taste, p, g, intent, t, session, staples)
                if bought and rng.random() < 0.7:
                    break
            t += rng.uniform(20, 120)
            if bought:
                break
        return t

    def browse_session(self, s, taste, t, staples):
        rng = self.rng
        session = self.new_session()
        leaf = self.pick_leaf(taste)
        for _ in range(rng.randint(2, 6)):
            if rng.random() < 0.2:
                leaf = self.pick_leaf(taste)
            p = self.idx.pick(rng, leaf, taste)
            t += rng.uniform(10, 90)
            self.emit(t, s, "view", p, session=session)
            catw = taste["categories"].get(leaf, 0.0)
            g = 2 if catw > 0 else 1
            t, bought = self.consider(s, taste, p, g, "browse", t, session, staples)
            if bought and rng.random() < 0.6:
                break
        return t

    def replenish_session(self, s, taste, t, staples, due):
        rng = self.rng
        session = self.new_session()
        for p in due[:3]:
            leaf = V.LEAF_BY_ID[self.products[p]["category"]]
            lo, hi = leaf["repeat"]
            staples[p] = t + rng.uniform(lo, hi) * 86400
            t += rng.uniform(10, 60)
            self.emit(t, s, "view", p, session=session)
            if not self.idx.in_stock[p] or rng.random() < 0.15:
                continue
            t += rng.uniform(5, 40)
            self.emit(t, s, "add_to_cart", p, session=session)
            t += rng.uniform(20, 120)
            t = self.purchase(s, taste, p, t, session, staples, allow_cross=False)
        return t

    def run_shopper(self, s: int, taste: dict, rate: float, signup_ts: float):
        rng = self.rng
        first = max(self.start_ts, signup_ts)
        span = self.end_ts - 7200 - first
        if span <= 0:
            return
        n = int(self.nrng.poisson(rate * span / 86400))
        if n == 0:
            return
        starts = []
        day0 = math.floor(first / 86400)
        for _ in range(n):
            for _attempt in range(5):
                day = day0 + rng.randrange(int(math.ceil(span / 86400)) + 1)
                hour = rng.choices(range(24), weights=V.HOUR_WEIGHTS)[0]
                ts = day * 86400 + hour * 3600 + rng.uniform(0, 3600)
                if first <= ts < self.end_ts - 7200:
                    starts.append(ts)
                    break
        starts.sort()
        self.prepare(taste)
        self.owned: set[int] = set()
        staples: dict[int, float] = {}
        for ts in starts:
            due = [p for p, d in staples.items() if d <= ts]
            if due and rng.random() < 0.8:
                self.replenish_session(s, taste, ts, staples, due)
                if rng.random() < 0.7:
                    continue
                ts += 600
            if rng.random() < 0.62:
                self.search_session(s, taste, ts, staples)
            else:
                self.browse_session(s, taste, ts, staples)


# ---------------------------------------------------------------------------
# Judged queries and relevance
# ---------------------------------------------------------------------------

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


def _judged_queries(seed: int, idx: StoreIndex, count: int = JUDGED_QUERY_COUNT) -> list[dict]:
    rng = random.Random(f"aisle-demo-judged-{seed}")
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
        text, intent, spec, _ = _sample_query(
            rng, taste, idx, intent=intent, leaf=leaf, heldout=True
        )
        if text in seen:
            continue
        seen.add(text)
        out.append({"query": text, "intent": intent, "spec": spec})
    return out


def _relevance(seed: int, idx: StoreIndex, judged: list[dict], zeros: int = 20) -> list[dict]:
    rng = random.Random(f"aisle-demo-relevance-{seed}")
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


# ---------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------


def generate_store(
    *,
    products: int = 5000,
    shoppers: int = 2000,
    days: int = 60,
    seed: int = 42,
    end: datetime | None = None,
) -> DemoStore:
    """Build a demo store from ``seed``: same arguments, identical store.

    ``end`` (default 2026-11-01T00:00Z) closes the ``days``-day event window; a naive
    datetime is taken as UTC.  All event timestamps fall inside the window.
    """
    if end is None:
        end = DEFAULT_END
    end = end.replace(tzinfo=UTC) if end.tzinfo is None else end.astimezone(UTC)
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)

    catalog = _Catalog(rng, products)
    categories = _build_categories()
    plain = StoreIndex(catalog.products, popularity=catalog.popularity)
    judged = _judged_queries(seed, plain)
    idx = StoreIndex(
        catalog.products, popularity=catalog.popularity, avoid=[j["query"] for j in judged]
    )
    shopper_rows, tastes, activity, signups = _make_shoppers(rng, shoppers, idx, catalog, end, days)

    end_ts = end.timestamp()
    start_ts = end_ts - days * 86400
    sim = _Sim(rng, nrng, idx, catalog, start_ts, end_ts)
    for s, row in enumerate(shopper_rows):
        sim.run_shopper(s, tastes[row["external_id"]], activity[s], signups[s].timestamp())

    sim.rows.sort(key=lambda r: (r[0], r[1]))
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    pids = [p["external_id"] for p in catalog.products]
    sids = [row["external_id"] for row in shopper_rows]
    events: list[dict] = []
    sentiments: list[dict] = []
    for n, (ms, _seq, s, etype, p, query, position, value, review, session) in enumerate(
        sim.rows, 1
    ):
        eid = f"demo-{n}"
        events.append(
            {
                "event_id": eid,
                "shopper": sids[s],
                "type": etype,
                "product": pids[p] if p >= 0 else "",
                "timestamp": epoch + timedelta(milliseconds=ms),
                "query": query,
                "position": position,
                "value": value,
                "review": review,
                "session": session,
                "request_id": "",
            }
        )
        if etype == "review":
            rating = int(value)
            sentiments.append(
                {"event_id": eid, "rating": rating, "sentiment": sentiment_of(rating)}
            )

    used = dict.fromkeys(e["query"] for e in events if e["type"] == "search")
    query_intents = [{"query": q, "intent": sim.intents[q]} for q in sorted(used)]
    truth = DemoTruth(
        tastes=tastes,
        query_intents=query_intents,
        review_sentiments=sentiments,
        judged_queries=judged,
        relevance=_relevance(seed, idx, judged),
    )
    return DemoStore(
        categories=categories,
        brands=list(catalog.brands),
        products=catalog.products,
        shoppers=shopper_rows,
        events=events,
        truth=truth,
    )


def write_truth(store: DemoStore, directory: Path) -> dict[str, Path]:
    """Write the hidden truth as files into ``directory`` (created); returns name -> path.

    tastes.json, query_intents.csv (query,intent), review_sentiments.csv
    (event_id,rating,sentiment), judged_queries.json and relevance.csv
    (query,product_id,title,description,grade).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    t = store.truth
    paths = {
        "tastes": directory / "tastes.json",
        "query_intents": directory / "query_intents.csv",
        "review_sentiments": directory / "review_sentiments.csv",
        "judged_queries": directory / "judged_queries.json",
        "relevance": directory / "relevance.csv",
    }
    paths["tastes"].write_text(json.dumps(t.tastes, indent=1, sort_keys=True), encoding="utf-8")
    paths["judged_queries"].write_text(json.dumps(t.judged_queries, indent=1), encoding="utf-8")
    tables = {
        "query_intents": (["query", "intent"], t.query_intents),
        "review_sentiments": (["event_id", "rating", "sentiment"], t.review_sentiments),
        "relevance": (RELEVANCE_HEADER, t.relevance),
    }
    for name, (header, rows) in tables.items():
        with paths[name].open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=header)
            writer.writeheader()
            writer.writerows(rows)
    return paths
