"""The thin-description planting: products whose description is missing or a few words, for
the ``generate_copy`` job to draft copy for (issue 17).  Plain Python, no Django; draws only
from its own stream (``streams.rng("thin_descriptions")``), so the base store stays as it was.

``SHARE`` of the active products are drawn, never the exact target of a judged query (grade
3, either grammar), so the judged queries' figures on the loaded store barely move (nearly
every product is graded 2 for some query: those can be drawn).  Each gets
one of a few thin forms (empty, its type alone, "great …, buy now").  The part returned
(``store.extras["thin_descriptions"]``): ``description`` (external id → the planted text, which
the loader writes instead of the generated one) and ``truth`` (``thin_descriptions.json``: each
product's generated description — what a good draft would be close to — and the thin one).
"""

from __future__ import annotations

from catalog.demo.store import DemoStore
from catalog.demo.streams import Streams

NAME = "thin_descriptions"
SHARE = 0.03
FORMS = ("", "{type}.", "{Type} by {brand}.", "Great {type}, buy now!", "New in.")


def plant_thin_descriptions(store: DemoStore, streams: Streams) -> dict:
    rng = streams.rng(NAME)
    heldout = store.extras.get("judged_heldout") or {}
    judged = {
        row["product_id"]
        for row in (*store.truth.relevance, *heldout.get("relevance", ()))
        if int(row["grade"]) >= 3
    }
    eligible = [
        p for p in store.products if p.get("active", True) and p["external_id"] not in judged
    ]
    count = min(len(eligible), max(1, round(SHARE * len(store.products))))
    chosen = sorted(rng.sample(eligible, count), key=lambda p: p["external_id"])
    description, rows = {}, []
    for p in chosen:
        kind = str(p["attributes"].get("type", "product"))
        text = rng.choice(FORMS).format(type=kind, Type=kind.capitalize(), brand=p["brand"])
        description[p["external_id"]] = text
        rows.append({"external_id": p["external_id"], "thin": text, "generated": p["description"]})
    return {
        "description": description,
        "truth": {
            "rule": f"{SHARE:.0%} of the active products not the exact target (grade 3) of a judged query",
            "products": rows,
        },
    }
