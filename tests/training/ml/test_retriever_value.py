"""The retriever's data value, its plain parts: a field left out of a product's text, a query's
fixed re-rank pool, the capped sample of a run, and which sources are skipped and why."""

from __future__ import annotations

from training.ml.data_value_sources import sources_for
from training.ml.retriever_value import (
    ProductFields,
    ValuePair,
    _skip_reason,
    capped_examples,
    re_rank_pool,
)

LAMP = ProductFields(
    title="Nordtek desk lamp",
    brand="Nordtek",
    category="Home > Lamps",
    description="A warm LED lamp.",
)


def test_a_field_left_out_leaves_the_product_text():
    full = LAMP.text()
    assert "Home > Lamps" in full and "warm LED" in full
    assert "warm LED" not in LAMP.text(frozenset({"description"}))
    assert "Lamps" not in LAMP.text(frozenset({"category"}))
    assert LAMP.text(frozenset({"title"})).startswith("Nordtek | Home > Lamps")


def test_the_pool_holds_the_judged_products_then_the_candidates_once():
    pool = re_rank_pool({7: 3.0, 9: 1.0}, [9, 4, 5, 99], known={4, 5, 7, 9})
    assert pool == [7, 9, 4, 5]  # 99 has no known text


def test_a_run_takes_a_seeded_capped_sample():
    fields = dict.fromkeys(range(50), LAMP)
    pairs = [ValuePair(f"q{i}", i, frozenset({"click"})) for i in range(50)]
    first = capped_examples(pairs, fields, cap=10, seed=1)
    assert len(first) == 10 and first == capped_examples(pairs, fields, cap=10, seed=1)
    assert all(
        "warm LED" not in text
        for _, text in capped_examples(
            pairs, fields, cap=10, seed=1, dropped_fields=frozenset({"description"})
        )
    )


def test_sources_without_rows_and_unread_fields_are_skipped_with_a_reason():
    sources = {s.name: s for s in sources_for("retriever")}
    train = [
        ValuePair("a", 1, frozenset({"click"})),
        ValuePair("b", 2, frozenset({"click", "purchase"})),
    ]
    fields = {1: LAMP, 2: ProductFields(title="x")}
    assert _skip_reason(sources["click_pairs"], train, fields) == ""
    assert "zero rows" in _skip_reason(sources["synthetic"], train, fields)
    assert "does not read it" in _skip_reason(sources["attributes"], train, fields)
    assert _skip_reason(sources["description"], train, fields) == ""
    assert "zero rows" in _skip_reason(sources["description"], train, {2: ProductFields("x")})
