"""Synthetic (query, product) pairs from a catalogue alone, and the generator loader with tiny
config-built models (no download)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from training.ml.synthetic_queries import (
    PAIR_KIND,
    CatalogItem,
    mine_hard_negatives,
    rule_counts,
    synthesize_pairs,
    training_examples,
)

ITEMS = [
    CatalogItem(
        id=1,
        title="Nordtek Orbit over-ear headphones — silver, bluetooth",
        brand="Nordtek",
        category="Electronics > Headphones",
        description="Comfortable headphones for long flights.",
        attributes={"type": "over-ear headphones", "model": "Orbit", "color": "silver"},
    ),
    CatalogItem(
        id=2,
        title="Harvest Lane spelt fusilli (1 kg)",
        brand="Harvest Lane",
        category="Food > Pantry",
        attributes={"size": "1 kg", "organic": True},
    ),
    CatalogItem(id=3, title="Trail runner shoe, waterproof", category="Shoes"),
]


def test_every_rule_writes_pairs_recorded_as_synthetic():
    pairs = synthesize_pairs(ITEMS, per_rule=2, seed=1)
    counts = rule_counts(pairs)
    assert set(counts) == {"title_span", "attribute_span", "category_attribute", "brand_type"}
    assert {p.kind for p in pairs} == {PAIR_KIND} == {"synthetic"}
    by = {(p.product_id, p.rule): p.query for p in pairs}
    assert by[(1, "brand_type")] == "nordtek over-ear headphones"
    assert by[(2, "brand_type")] == "harvest lane spelt fusilli"
    assert any(q.startswith("headphones ") for (pid, r), q in by.items() if pid == 1)
    # no brand, no attributes: only the title's words
    assert {p.rule for p in pairs if p.product_id == 3} == {"title_span"}
    assert all(p.query == p.query.casefold().strip() for p in pairs)
    assert len({(p.query, p.product_id) for p in pairs}) == len(pairs)


def test_synthesis_is_seeded_and_independent_of_item_order():
    a = synthesize_pairs(ITEMS, seed=3)
    b = synthesize_pairs(list(reversed(ITEMS)), seed=3)
    assert sorted(a, key=str) == sorted(b, key=str)
    assert synthesize_pairs(ITEMS, seed=3) == a


def _frame_patterns() -> list[re.Pattern]:
    """Every sentence frame of the demo store's query grammars (event and judged) and of the
    held-out judged grammar, as regexes with each placeholder a wildcard."""
    from catalog.demo import judged_heldout, vocab

    frames: list[str] = []
    for name in dir(vocab):
        value = getattr(vocab, name)
        if not name.endswith(("_EVENT", "_HELDOUT")):
            continue  # the query frames (titles and reviews have frames of their own)
        frames += [value] if isinstance(value, str) else list(value)
    frames += judged_heldout.FRAMES
    out = []
    for frame in frames:
        parts = re.split(r"\{[a-z]+\}", frame.lower())
        literal = [p.strip() for p in parts if p.strip()]
        if literal:
            out.append(re.compile(".*".join(re.escape(p) for p in literal)))
    return out


def test_no_synthetic_query_uses_a_frame_of_a_judged_grammar():
    from catalog.demo import generate_store

    store = generate_store(products=300, shoppers=10, days=2, seed=5)
    names = {c["external_id"]: c["name"] for c in store.categories}
    items = [
        CatalogItem(
            id=p["external_id"],
            title=p["title"],
            brand=p["brand"],
            category=names[p["category"]],
            description=p["description"],
            attributes=p["attributes"],
        )
        for p in store.products
    ]
    queries = {p.query for p in synthesize_pairs(items, per_rule=2)}
    patterns = _frame_patterns()
    assert len(patterns) > 15
    framed = [q for q in queries if any(p.fullmatch(q) for p in patterns)]
    assert framed == []
    judged = {j["query"] for j in store.truth.judged_queries}
    assert not queries & judged


def test_synthesis_code_never_reads_the_demo_store():
    source = Path(__file__).resolve().parents[3] / "training" / "ml" / "synthetic_queries.py"
    imported = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    assert imported and not any(m.startswith("catalog") for m in imported)


def test_hard_negatives_come_from_the_ranking_and_are_never_a_positive():
    pairs = synthesize_pairs(ITEMS[:2], rules=("brand_type",))
    texts = {
        1: "Nordtek Orbit over-ear headphones",
        2: "Harvest Lane spelt fusilli",
        4: "Nordtek Orbit over-ear headphones, black",  # every query word: not a negative
        5: "Voltic earbuds",
    }
    ranked = {p.query: [p.product_id, 4, 5, 2, 1] for p in pairs}
    negatives = mine_hard_negatives(pairs, ranked, texts)
    assert negatives[("nordtek over-ear headphones", 1)] == 5
    assert negatives[("harvest lane spelt fusilli", 2)] == 4
    for (_query, positive), negative in negatives.items():
        assert negative != positive
    examples = training_examples(pairs, texts, negatives)
    assert all(len(e) == 3 and e[1] != e[2] for e in examples)


def test_a_generator_adds_generated_pairs():
    def generator(texts):
        return [[f"gen {i}", f"gen {i}", ""] for i, _ in enumerate(texts)]

    pairs = synthesize_pairs(ITEMS, rules=(), generator=generator)
    assert [(p.query, p.product_id, p.rule) for p in pairs] == [
        ("gen 0", 1, "generated"),
        ("gen 1", 2, "generated"),
        ("gen 2", 3, "generated"),
    ]


WORDS = ["nordtek", "orbit", "headphones", "silver", "shoe", "trail", "runner", "product", ":"]


def _tiny_tokenizer(directory: Path):
    from transformers import BertTokenizer

    from tests.training.conftest import SPECIAL_TOKENS

    directory.mkdir(parents=True)
    (directory / "vocab.txt").write_text("\n".join([*SPECIAL_TOKENS, *WORDS]) + "\n")
    tokenizer = BertTokenizer(vocab=str(directory / "vocab.txt"))
    tokenizer.save_pretrained(str(directory))
    return tokenizer


@pytest.mark.parametrize("architecture", ["seq2seq", "causal"])
def test_generator_loader_with_a_tiny_config_built_model(tmp_path, architecture):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, T5Config, T5ForConditionalGeneration

    from training.ml.generator import load_generator

    tokenizer = _tiny_tokenizer(tmp_path / "m")
    torch.manual_seed(0)
    size = len(tokenizer)
    if architecture == "seq2seq":
        model = T5ForConditionalGeneration(
            T5Config(
                vocab_size=size,
                d_model=16,
                d_kv=8,
                d_ff=32,
                num_layers=1,
                num_heads=2,
                pad_token_id=0,
                eos_token_id=3,
                decoder_start_token_id=0,
            )
        )
    else:
        model = GPT2LMHeadModel(
            GPT2Config(
                vocab_size=size, n_embd=16, n_layer=1, n_head=2, n_positions=256, eos_token_id=3
            )
        )
    model.save_pretrained(str(tmp_path / "m"))

    generator = load_generator(str(tmp_path / "m"), device="cpu")
    assert generator.seq2seq is (architecture == "seq2seq")
    texts = ["nordtek orbit headphones silver", "trail runner shoe"]
    queries = generator.queries_for(texts, per_text=2, seed=1)
    assert len(queries) == 2
    assert all(isinstance(q, str) and q for qs in queries for q in qs)
    assert all(set(q.split()) <= set(WORDS) for qs in queries for q in qs)
    pairs = synthesize_pairs(
        [CatalogItem(id=i, title=t) for i, t in enumerate(texts)],
        rules=(),
        generator=lambda t: generator.queries_for(t, per_text=2, seed=1),
    )
    assert pairs and {p.rule for p in pairs} == {"generated"}


def test_no_generator_configured_is_an_error_not_a_download():
    from training.ml.generator import load_generator

    with pytest.raises(ValueError, match="AISLE_GENERATOR_MODEL"):
        load_generator("")
