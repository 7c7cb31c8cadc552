"""The catalog planting: the category tree, brands with price levels and quality, and
coherent products (titles, descriptions, prices, stock) with their hidden popularity and
quality.  Draws from the base stream, first.  Plain Python, no Django.
"""

from __future__ import annotations

import math
import random
from decimal import Decimal

from catalog.demo import vocab
from catalog.demo.store import price_level_of


def build_categories() -> list[dict]:
    cats = []
    for dept in vocab.DEPARTMENTS:
        cats.append({"external_id": dept["id"], "name": dept["name"], "parent": ""})
        for leaf in vocab.LEAVES:
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


def is_plural(noun: str) -> bool:
    return noun.endswith("s")


def _title_attr(name: str, value) -> str:
    if name == "gender":
        return vocab.GENDER_WORD[value]
    if name in ("players", "language", "format", "pack", "size", "region", "tea"):
        return str(value)
    fmt, _ = vocab.ATTR_FORMAT.get(name, ("{}", "pre"))
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


class CatalogBuilder:
    """Builds brands and products; keeps the hidden per-product quantities."""

    def __init__(self, rng: random.Random, n_products: int):
        self.rng = rng
        self.brand_level: dict[str, float] = {}
        self.brand_quality: dict[str, float] = {}
        self.brand_dept: dict[str, str] = {}
        self.brands: list[str] = []
        for dept in vocab.DEPARTMENTS:
            for name, level in dept["brands"]:
                self.brands.append(name)
                self.brand_level[name] = level
                self.brand_dept[name] = dept["id"]
                q = 0.35 + 0.4 * level + rng.gauss(0, 0.12)
                self.brand_quality[name] = min(0.95, max(0.1, q))
        # which brands carry which leaf, and their product lines there
        self.carriers: dict[str, list[str]] = {}
        self.lines: dict[tuple[str, str], list[str]] = {}
        for leaf in vocab.LEAVES:
            dept = vocab.DEPT_BY_ID[leaf["dept"]]
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
            (leaf["id"], t): _type_schema(leaf, t) for leaf in vocab.LEAVES for t in leaf["types"]
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
        weights = [leaf["weight"] for leaf in vocab.LEAVES]
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
        for leaf, count in zip(vocab.LEAVES, counts, strict=True):
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
            model = f"The {rng.choice(vocab.BOOK_ADJ)} {rng.choice(vocab.BOOK_NOUN)}"
            author = f"{rng.choice(vocab.AUTHOR_FIRST)} {rng.choice(vocab.AUTHOR_LAST)}"
        elif lid == "cookbooks":
            model = rng.choice(vocab.COOKBOOK_FRAMES).format(C=str(attrs["cuisine"]).title())
        elif lid == "travel-guides":
            model = rng.choice(vocab.TRAVEL_FRAMES).format(R=str(attrs["region"]).title())
        else:
            model = rng.choice(vocab.KIDS_FRAMES).format(A=rng.choice(vocab.KIDS_ANIMALS))
        works.append({"model": model, "author": author})
        return model, author

    def _make_product(self, leaf: dict, serial: int) -> dict:
        rng = self.rng
        dept = vocab.DEPT_BY_ID[leaf["dept"]]
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
        plevel = price_level_of(leaf["id"], float(price))
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
        adjs = [
            vocab.BOOL_ADJ[k] for k, v in attributes.items() if v is True and k in vocab.BOOL_ADJ
        ]
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
            adj = rng.choice(vocab.QUALITY_ADJ_BOOK)
        elif plevel < 0.33:
            adj = rng.choice(vocab.QUALITY_ADJ_LOW)
        elif plevel < 0.7:
            adj = rng.choice(vocab.QUALITY_ADJ_MID)
        else:
            adj = rng.choice(vocab.QUALITY_ADJ_HIGH)
        use = rng.choice(leaf["uses"])
        a1, a2 = rng.sample(leaf["aspects"], 2)
        feats = rng.sample(leaf["features"], min(3, len(leaf["features"])))
        article = "an" if adj[0] in "aeiou" else "a"
        plural = is_plural(tname)
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
