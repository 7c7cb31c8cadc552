"""Per-product signals intent acts on, computed with the other aggregates (beat, every ten
minutes; ``make run`` once): rating counts and means, purchases and views (purchase
propensity), and a few recent review snippets. Requests read them from the aggregates blob,
never from the events table.
"""

from __future__ import annotations

SNIPPETS_PER_PRODUCT = 2
SNIPPET_CHARS = 160


def product_signals(cursor) -> dict[str, dict]:
    """``{"ratings": {id: (count, mean)}, "propensity": {id: (purchases, views)},
    "snippets": {id: [text, …]}}`` over the whole event log of active products."""
    cursor.execute(
        "SELECT e.product_id, count(*), avg(e.value) FROM catalog_event e "
        "JOIN catalog_product p ON p.id = e.product_id "
        "WHERE p.active AND e.type IN ('rating', 'review') AND e.value BETWEEN 1 AND 5 "
        "GROUP BY e.product_id"
    )
    ratings = {pk: (int(n), round(float(mean), 3)) for pk, n, mean in cursor.fetchall()}
    cursor.execute(
        "SELECT e.product_id, count(*) FILTER (WHERE e.type = 'purchase'), "
        "count(*) FILTER (WHERE e.type IN ('view', 'click')) FROM catalog_event e "
        "JOIN catalog_product p ON p.id = e.product_id "
        "WHERE p.active AND e.type IN ('purchase', 'view', 'click') GROUP BY e.product_id"
    )
    propensity = {pk: (int(b), int(v)) for pk, b, v in cursor.fetchall() if b}
    cursor.execute(
        "SELECT product_id, review, value FROM ("
        "  SELECT e.product_id, e.review, e.value, row_number() OVER ("
        "    PARTITION BY e.product_id ORDER BY e.timestamp DESC, e.id DESC) AS n"
        "  FROM catalog_event e JOIN catalog_product p ON p.id = e.product_id"
        "  WHERE p.active AND e.type = 'review' AND e.review <> ''"
        ") recent WHERE n <= %s ORDER BY product_id, n",
        [SNIPPETS_PER_PRODUCT],
    )
    snippets: dict[int, list[dict]] = {}
    for pk, text, value in cursor.fetchall():
        text = " ".join(text.split())
        if len(text) > SNIPPET_CHARS:
            text = text[: SNIPPET_CHARS - 1].rstrip() + "…"
        snippets.setdefault(pk, []).append(
            {"text": text, "rating": None if value is None else float(value)}
        )
    return {"ratings": ratings, "propensity": propensity, "snippets": snippets}
