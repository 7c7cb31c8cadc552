"""Drafted product copy on held-out products whose real description is known: ROUGE-L against
the real text, the attribute-consistency rate, and the retrieval effect (NDCG@10 of the judged
queries with the drafted vs the original descriptions), drafter by drafter, side by side.

    .venv/bin/python bench/copy_drafts.py [--products 2000] [--heldout 200] [--seed 42]
                                          [--generator MODEL_DIR_OR_ID] [--device auto]

The demo store (``catalog.demo.generate_store``, in memory, no database) gives the catalogue and
its judged queries (graded relevance). ``--heldout`` active products are drawn (seeded); their
descriptions are hidden from the drafters (never lent, never in the near-copy index) and their
vectors are computed without them, as a thin product's stored vector is. Rows:

* **original (real text)**: the reference — its ROUGE-L is 1 by definition; its attribute
  consistency shows how often real copy itself mentions a value outside the attributes;
* **thin (no description)**: what the catalogue shows before anyone writes copy;
* **specifications only**: the baseline drafter — the opening line and the product's own
  attributes, nothing borrowed;
* **template-extractive**: the offline default drafter (what ``generate_copy`` runs with no
  model configured): the same plus sentences borrowed from similar well-written products found
  by the encoder's vectors;
* **model:<id>** with ``--generator``: a Hugging Face causal/seq2seq generator (bf16/fp16 on a
  GPU), its drafts checked by the same guardrails.

Retrieval: every product embedded with the packaged MiniLM (``product_text``), held-out products
with each row's description; NDCG@10 of the judged queries by exact cosine (semantic) and by
BM25 (numpy, ``bench.relevance.BM25``), over all judged queries and over the queries for which
a held-out product is graded relevant (where a description can move anything).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._serving import table

K = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--heldout", type=int, default=200)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--generator", default="", help="a generator model id or directory")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()

    from bench.relevance import BM25
    from catalog.copywriting.logic.drafting import TEMPLATE_DRAFTER, template_draft
    from catalog.copywriting.logic.evaluation import rouge_l
    from catalog.copywriting.logic.guardrails import (
        AttributeVocabulary,
        DuplicateIndex,
        GuardrailSettings,
        ProductFacts,
        check_draft,
        invented_values,
    )
    from catalog.copywriting.logic.pipeline import draft_products, similar_products
    from catalog.demo import generate_store
    from training.ml.encoders import encode_texts, load_encoder, product_text
    from training.ml.metrics import ndcg_at_k

    started = time.monotonic()
    store = generate_store(products=args.products, shoppers=0, days=1, seed=args.seed)
    names = {c["external_id"]: c["name"] for c in store.categories}
    products = [p for p in store.products if p.get("active", True)]
    facts = [
        ProductFacts(
            i,
            p["title"],
            p["description"],
            names.get(p["category"], ""),
            p["brand"],
            p["attributes"],
        )
        for i, p in enumerate(products)
    ]
    ext = [p["external_id"] for p in products]
    rng = random.Random(args.seed)
    heldout = sorted(
        rng.sample([f.product_id for f in facts if f.description], min(args.heldout, len(facts)))
    )
    held = set(heldout)
    hidden = [
        ProductFacts(f.product_id, f.title, "", f.category, f.brand, f.attributes)
        if f.product_id in held
        else f
        for f in facts
    ]
    print(
        f"demo store seed {args.seed}: {len(facts)} active products, {len(heldout)} held out "
        f"({time.monotonic() - started:.1f} s)"
    )

    # --- vectors: everyone with their text, held-out products without their description
    from training.ml.device import pick_device

    device = pick_device(args.device)
    encoder = load_encoder(None, device=device)

    def texts_of(rows):
        return [product_text(f.title, f.brand, f.category, f.description) for f in rows]

    step = time.monotonic()
    base_vectors = encode_texts(encoder, texts_of(hidden))
    print(f"encoded {len(hidden)} products on {device.name} in {time.monotonic() - step:.1f} s")
    vectors = {f.product_id: base_vectors[f.product_id] for f in hidden}

    # --- drafting
    targets = [hidden[i] for i in heldout]
    settings = GuardrailSettings()
    neighbours = similar_products(targets, hidden, vectors=vectors, k=5)
    variants: dict[str, dict[int, str]] = {
        "original (real text)": {i: facts[i].description for i in heldout},
        "thin (no description)": dict.fromkeys(heldout, ""),
    }
    vocabulary = AttributeVocabulary.from_products(hidden)
    timings: dict[str, float] = {}
    step = time.monotonic()
    variants["specifications only"] = {
        t.product_id: template_draft(t, [], vocabulary).text for t in targets
    }
    timings["specifications only"] = time.monotonic() - step
    step = time.monotonic()
    drafted = draft_products(targets, hidden, neighbours=neighbours, settings=settings)
    timings[TEMPLATE_DRAFTER] = time.monotonic() - step
    variants[TEMPLATE_DRAFTER] = {d.product_id: d.text for d, _c in drafted}
    if args.generator:
        from catalog.copywriting.logic.drafting import model_drafter_label, model_prompt
        from training.ml.generator import load_generator

        generator = load_generator(args.generator, device=device.device, dtype=device.dtype)
        label = model_drafter_label(Path(args.generator).name or args.generator)

        def generate(batch):
            outs = generator.generate(
                [model_prompt(f) for f in batch], max_new_tokens=160, batch_size=args.batch_size
            )
            return [o[0] if o else "" for o in outs]

        step = time.monotonic()
        by_model = draft_products(
            targets,
            hidden,
            neighbours={},
            settings=settings,
            generate=generate,
            drafter=label,
            batch_size=args.batch_size,
        )
        timings[label] = time.monotonic() - step
        variants[label] = {d.product_id: d.text for d, _c in by_model}

    # --- copy figures
    duplicates = DuplicateIndex({f.product_id: f.description for f in hidden})
    rows = []
    for name, texts in variants.items():
        rouge = [rouge_l(texts[i], facts[i].description) for i in heldout]
        consistent = [
            not invented_values(texts[i], facts[i], vocabulary) for i in heldout if texts[i]
        ]
        passing = [
            all(
                c.ok
                for c in check_draft(
                    texts[i],
                    facts[i],
                    vocabulary=vocabulary,
                    duplicates=duplicates,
                    settings=settings,
                )
            )
            for i in heldout
        ]
        per_s = len(heldout) / timings[name] if timings.get(name) else None
        rows.append(
            [
                name,
                statistics.fmean(rouge),
                statistics.fmean(consistent) if consistent else "n/a",
                statistics.fmean(passing),
                round(statistics.fmean(len(texts[i]) for i in heldout)),
                f"{per_s:.0f}" if per_s else "-",
            ]
        )
    print()
    print(
        table(
            ["drafter", "ROUGE-L", "attr-consistent", "all checks", "chars", "drafts/s"],
            rows,
            title=f"Copy on {len(heldout)} held-out products (reference: their real descriptions)",
        )
    )

    # --- retrieval effect
    gains: dict[str, dict[str, float]] = defaultdict(dict)
    for row in store.truth.relevance:
        gains[row["query"]][row["product_id"]] = float(row["grade"])
    queries = sorted(gains)
    held_ext = {ext[i] for i in heldout}
    affected = [q for q in queries if any(g > 0 and p in held_ext for p, g in gains[q].items())]
    query_vectors = encode_texts(encoder, queries)
    full_vectors = base_vectors  # held-out rows are replaced by each variant's below
    rows = []
    for name, texts in variants.items():
        matrix = full_vectors.copy()
        rows_for = [
            ProductFacts(
                i, facts[i].title, texts[i], facts[i].category, facts[i].brand, facts[i].attributes
            )
            for i in heldout
        ]
        matrix[heldout] = encode_texts(encoder, texts_of(rows_for))
        ranked = np.argsort(-(query_vectors @ matrix.T), axis=1)[:, :K]
        semantic = {q: [ext[j] for j in ranked[n]] for n, q in enumerate(queries)}
        corpus = [
            product_text(f.title, f.brand, f.category, texts.get(f.product_id, f.description))
            for f in facts
        ]
        bm25 = BM25(ext, corpus)
        lexical = {q: bm25.search(q, K) for q in queries}

        def mean_ndcg(results, subset):
            return statistics.fmean(ndcg_at_k(results[q], gains[q], K) for q in subset)

        rows.append(
            [
                name,
                mean_ndcg(semantic, queries),
                mean_ndcg(semantic, affected) if affected else "n/a",
                mean_ndcg(lexical, queries),
                mean_ndcg(lexical, affected) if affected else "n/a",
            ]
        )
    print()
    print(
        table(
            [
                "held-out descriptions",
                "semantic all",
                "semantic affected",
                "BM25 all",
                "BM25 affected",
            ],
            rows,
            title=f"NDCG@{K} of {len(queries)} judged queries ({len(affected)} with a held-out "
            "product graded relevant)",
        )
    )
    print(f"\ntotal {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
