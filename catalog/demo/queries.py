"""Query sampling: the texts a shopper with a taste types, with their intent and spec.

Event queries use the event phrasings, judged queries the held-out ones, so the two never
share a text.  Plain Python, no Django.
"""

from __future__ import annotations

import math
import random

from catalog.demo import vocab
from catalog.demo.index import StoreIndex

INTENTS = ("browse", "buy", "review")

TYPO_RATE = 0.08


def _empty_spec(categories: list[str]) -> dict:
    related: list[str] = []
    for cat in categories:
        for r in vocab.LEAF_BY_ID[cat]["related"]:
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
        return vocab.BOOL_ADJ[name], "pre"
    if name == "gender":
        if rng.random() < 0.3:
            return f"for {value}", "post"
        word = vocab.GENDER_WORD[value]
        return (word.replace("'", "") if rng.random() < 0.3 else word), "pre"
    fmt, place = vocab.ATTR_FORMAT.get(name, ("{}", "pre"))
    return fmt.format(value).lower(), place


def _queryable(name: str, value) -> bool:
    if name in ("type", "model", "author"):
        return False
    if isinstance(value, bool):
        return value and name in vocab.BOOL_ADJ
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
    leaf = vocab.LEAF_BY_ID[leaf_id]
    model_first = vocab.DEPT_BY_ID[leaf["dept"]].get("model_first", False)
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
        frame = vocab.PRICE_HELDOUT if heldout else vocab.PRICE_EVENT
        return frame.format(q=core, n=price_max), spec
    frame = rng.choice(vocab.BUY_HELDOUT if heldout else vocab.BUY_EVENT)
    return frame.format(q=core), spec


def _compose_browse(rng, idx: StoreIndex, taste: dict, leaf_id: str, heldout: bool):
    leaf = vocab.LEAF_BY_ID[leaf_id]
    personas = [p for p in vocab.PERSONAS if leaf_id in p["leaves"]]
    if personas and rng.random() < 0.35:
        persona = rng.choice(personas)
        cats = [c for c in persona["leaves"] if c in idx.by_leaf]
        phrase = rng.choice(persona["heldout"] if heldout else persona["event"])
        frame = rng.choice(vocab.BROWSE_PERSONA_HELDOUT if heldout else vocab.BROWSE_PERSONA_EVENT)
        return frame.format(p=phrase), _empty_spec(cats)
    spec = _empty_spec([leaf_id])
    term, stype = _term(rng, leaf, rng.choice(list(leaf["types"])))
    spec["type"] = stype
    frame = rng.choice(vocab.BROWSE_HELDOUT if heldout else vocab.BROWSE_EVENT)
    return frame.format(t=term), spec


def _compose_review(rng, idx: StoreIndex, taste: dict, leaf_id: str, heldout: bool):
    leaf = vocab.LEAF_BY_ID[leaf_id]
    model_first = vocab.DEPT_BY_ID[leaf["dept"]].get("model_first", False)
    spec = _empty_spec([leaf_id])
    if rng.random() < 0.4:
        prod = idx.products[idx.pick(rng, leaf_id, taste)]
        term, stype = _term(rng, leaf, prod["attributes"]["type"])
        frames = vocab.REVIEW_BRAND_HELDOUT if heldout else vocab.REVIEW_BRAND_EVENT
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
    frame = rng.choice(vocab.REVIEW_HELDOUT if heldout else vocab.REVIEW_EVENT)
    return frame.format(t=term), spec


_COMPOSERS = {"buy": _compose_buy, "browse": _compose_browse, "review": _compose_review}


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


def sample_query_spec(
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
    text, intent, spec, _ = sample_query_spec(rng, taste, store_index)
    return text, intent, spec
