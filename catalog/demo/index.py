"""``StoreIndex``: lookups over a catalog for sampling queries, grading candidates and
simulating result pages.  Plain Python + numpy, no Django."""

from __future__ import annotations

import json
import random

import numpy as np

from catalog.demo import vocab
from catalog.demo.store import DemoStore, grade, price_level_of

RESULTS_PER_PAGE = 10


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
            [price_level_of(p["category"], float(p["price"])) for p in products], dtype=float
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
        self.leaves = [leaf["id"] for leaf in vocab.LEAVES if leaf["id"] in self.by_leaf]
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
