"""The import lab's 200-product supplier file. Plain Python, no Django.

The file is generated, not shipped, so it always uses the catalogue's real categories and a
learner's own external ids (two learners never collide). It is deterministic: the same learner
and the same categories always give the same bytes. About 10% of the rows are deliberately
broken in the three ways a supplier file typically is — a price the importer cannot read, a
category id that does not exist, a missing title — and each broken row carries enough context
(the description, a neighbouring category id) for a careful learner to repair it.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass

from catalog.csv_safety import SafeCsvWriter

ROWS = 200
COLUMNS = (
    "external_id",
    "title",
    "description",
    "category",
    "brand",
    "price",
    "currency",
    "stock",
    "image_url",
    "attributes",
    "active",
)
BRANDS = (
    "Northwind Supply",
    "Harbor & Pine",
    "Kestrel",
    "Oakridge Goods",
    "Lumen Works",
    "Tidewater",
)
LINES = (
    "Essential",
    "Classic",
    "Trail",
    "Studio",
    "Urban",
    "Coastal",
    "Summit",
    "Meadow",
    "Atlas",
    "Ember",
)
FINISHES = ("graphite", "sand", "navy", "olive", "stone", "rust", "white", "black")
BAD_PRICE, BAD_CATEGORY, MISSING_TITLE = "price", "category", "title"


@dataclass(frozen=True)
class CategoryRef:
    external_id: str
    name: str


@dataclass(frozen=True)
class LabFile:
    filename: str
    content: bytes
    external_ids: tuple[str, ...]
    broken: dict[str, str]  # external id → which field is broken


def external_id(user_id: int, n: int) -> str:
    return f"lab-import-u{user_id}-{n:03d}"


def external_ids(user_id: int) -> list[str]:
    return [external_id(user_id, n) for n in range(1, ROWS + 1)]


def _bad_price(price: str, rng: random.Random) -> str:
    euros, cents = price.split(".")
    return rng.choice([f"{euros},{cents}", f"€{price}", f"{price} EUR", f"{euros}.{cents}.00"])


def import_lab_file(*, user_id: int, categories: Sequence[CategoryRef]) -> LabFile:
    """The learner's CSV. ``categories``: the catalogue's categories (leaves preferred)."""
    if not categories:
        raise ValueError(
            "The catalogue has no categories yet: load the demo store first (make run does)."
        )
    cats = sorted(categories, key=lambda c: c.external_id)
    known = {c.external_id for c in cats}
    rng = random.Random(f"aisle-import-lab-{user_id}-{len(cats)}")
    # 20 broken rows (10%): 7 prices, 7 categories, 6 titles, spread over the file.
    broken_rows = rng.sample(range(ROWS), 20)
    kinds = [BAD_PRICE] * 7 + [BAD_CATEGORY] * 7 + [MISSING_TITLE] * 6
    broken = dict(zip(broken_rows, kinds, strict=True))

    out = io.StringIO(newline="")
    writer = SafeCsvWriter(out)  # category ids come from the catalogue: escape formulas
    writer.writerow(COLUMNS)
    ids, broken_ids = [], {}
    for n in range(ROWS):
        cat = cats[n % len(cats)] if n < len(cats) else rng.choice(cats)
        brand = rng.choice(BRANDS)
        line = rng.choice(LINES)
        finish = rng.choice(FINISHES)
        title = f"{brand} {line} {cat.name.lower()} — {finish}"
        price = f"{rng.randint(4, 480)}.{rng.choice(['00', '49', '90', '95', '99'])}"
        description = (
            f"{line} {cat.name.lower()} by {brand} in {finish}. "
            f"Supplier item for the Academy import lab (product name: {title})."
        )
        category = cat.external_id
        kind = broken.get(n)
        if kind == BAD_PRICE:
            price = _bad_price(price, rng)
        elif kind == BAD_CATEGORY:
            # A supplier's own spelling of a real category id: unknown to the catalogue.
            candidate = rng.choice(
                [
                    f"{cat.external_id}s",
                    cat.external_id.upper(),
                    f"old-{cat.external_id}",
                    cat.external_id.replace("-", "_") + "_x",
                ]
            )
            category = candidate if candidate not in known else f"{candidate}-legacy"
        elif kind == MISSING_TITLE:
            title = ""
        ext = external_id(user_id, n + 1)
        ids.append(ext)
        if kind:
            broken_ids[ext] = kind
        attributes = json.dumps({"colour": finish, "supplier_line": line}, sort_keys=True)
        writer.writerow(
            [
                ext,
                title,
                description,
                category,
                brand,
                price,
                "EUR",
                rng.randint(0, 60),
                "",
                attributes,
                "false",
            ]
        )
    return LabFile(
        filename=f"academy-import-lab-u{user_id}.csv",
        content=out.getvalue().encode("utf-8"),
        external_ids=tuple(ids),
        broken=broken_ids,
    )
