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
    # every purchase pair was also clicked: leaving purchases out would drop no pair
    assert "drops none" in _skip_reason(sources["purchase_pairs"], train, fields)
    assert "does not read it" in _skip_reason(sources["attributes"], train, fields)
    assert _skip_reason(sources["description"], train, fields) == ""
    assert "zero rows" in _skip_reason(sources["description"], train, {2: ProductFields("x")})


def test_every_run_is_scored_on_the_same_pool_and_the_curve_nests_in_the_capped_sample(
    tmp_path, tiny_encoder
):
    """A tiny encoder (no download): the ablation and the five curve points each fine-tune once,
    are scored on the same held-out queries, and the curve grows inside the full run's sample."""
    from training.ml.encoders import load_encoder
    from training.ml.retriever import RetrieverTrainConfig
    from training.ml.retriever_value import HeldOut, retriever_data_value

    words = [f"w{i}" for i in range(12)] + ["p", "find", "|", "cat", "about"]
    base = tiny_encoder(tmp_path / "tiny", words)
    fields = {
        i: ProductFields(title=f"p w{i}", category="cat", description=f"about w{i}")
        for i in range(12)
    }
    train = [
        ValuePair(f"find w{i}", i, frozenset({"purchase" if i % 2 else "click"}))
        for i in range(12)
        for _ in range(3)
    ]
    held_out = HeldOut(
        judgments={f"w{i} find": {i: 3.0} for i in range(12)},
        pools={f"w{i} find": [i, (i + 1) % 12, (i + 2) % 12] for i in range(12)},
    )
    sources = [s for s in sources_for("retriever") if s.name in ("click_pairs", "description")]
    config = RetrieverTrainConfig(base=str(base), mode="full", batch_size=4, max_seq_len=16)
    seen = []
    report = retriever_data_value(
        train,
        held_out,
        fields,
        sources,
        config,
        max_steps=5,
        bootstrap=200,
        base_model=load_encoder(None, str(base), "cpu"),
        progress=lambda done, total, label: seen.append((done, total, label)),
    )
    assert report["units"] == 12 and report["cap"] == 20 and report["curve_pairs"] == 20
    assert [r["source"] for r in report["ablation"]] == ["click_pairs", "description"]
    assert report["ablation"][0]["rows"] == 18 and report["ablation"][1]["rows"] == 12
    assert max(report["steps"]) == 5  # capped: 20 of the 36 pairs, 4 a step
    sizes = [p["size"] for p in report["curve"]["points"]]
    assert sizes == [2, 4, 8, 14, 20]
    assert seen[0] == (0, 7, "all sources") and seen[-1] == (7, 7, "done")
    assert 0.0 <= report["base_metric"] <= 1.0
