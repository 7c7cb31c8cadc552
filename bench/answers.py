"""Answer retrieval on the demo store's held-out support questions: MRR and Recall@3 of the
served hybrid search next to BM25 (and semantic only), over the same passages, in one run.

    .venv/bin/python bench/answers.py [--products 1000 --shoppers 400 --days 30 --seed 42]

The demo store (``catalog.demo``, with its ``knowledge`` planting: help-centre articles,
product Q&A, judged support questions) is loaded into a database of its own
(``aisle_bench_answers``, replaced every run; never the development database), its knowledge
base is embedded with the packaged MiniLM (or ``--encoder``), and each judged question is run
through ``recommend.serving.answers.rank_passages`` as

* **BM25**: Okapi BM25 over the passages' full-text column alone (the baseline);
* **semantic only**: cosine over the passage vectors alone (no floor);
* **hybrid (served)**: what ``/api/v1/answers`` serves (RRF of the two, weights and floor of
  ``recommend.serving.answers``).

A question's answer is the article or product Q&A pair the truth names; a ranked list of
passages becomes a ranked list of sources (first passage of each source), and MRR (cut at 10)
and Recall@3 are computed over the sources, for all questions and per kind (article / product
question). Then the support-category classifier is trained on the store's knowledge base
(``train_support_category``) and judged on the questions' categories next to the majority
category and the keyword rules, and answer MRR is compared without the category (the served
default), boosted by it (ANSWERS_CATEGORY_BOOST) and restricted to it. The judged questions are held out: worded unlike the articles' titles and never in
the knowledge base or the traffic.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._serving import reset_serving_caches, setup_django, table

DATABASE = "aisle_bench_answers"
MRR_CUT = 10
BOOST = 0.25  # the category boost compared (ANSWERS_CATEGORY_BOOST; served default 0)
RECALL_AT = 3


def source_ranking(ranked, rows) -> list[str]:
    """Source ids in the order of their first passage."""
    out: list[str] = []
    for item in ranked:
        row = rows.get(item.passage_id)
        if row is not None and row.source_id not in out:
            out.append(row.source_id)
    return out


def figures(rankings: list[tuple[list[str], str]]) -> tuple[float, float]:
    """(MRR@10, Recall@3) of ``[(ranked source ids, the answer)]``."""
    if not rankings:
        return float("nan"), float("nan")
    rr, hit = [], []
    for ranked, answer in rankings:
        position = ranked.index(answer) + 1 if answer in ranked else None
        rr.append(1.0 / position if position and position <= MRR_CUT else 0.0)
        hit.append(1.0 if position and position <= RECALL_AT else 0.0)
    return statistics.fmean(rr), statistics.fmean(hit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--shoppers", type=int, default=400)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--encoder", default=None, help="model id or path (default: packaged)")
    args = parser.parse_args()

    setup_django(DATABASE)
    from django.conf import settings

    from catalog.knowledge.models import Passage
    from catalog.knowledge.selectors import passage_rows
    from catalog.services.demo import demo_store_build
    from recommend.selectors import VersionRef
    from recommend.serving.answers import rank_passages
    from training import knowledge_vectors, services
    from training.models import Task
    from training.runners.embed import load_version_encoder

    started = time.monotonic()
    truth_dir = Path(tempfile.mkdtemp(prefix="bench-answers-"))
    demo_store_build(
        products=args.products,
        shoppers=args.shoppers,
        days=args.days,
        seed=args.seed,
        truth_dir=truth_dir,
        replace=True,
    )
    truth = json.loads((truth_dir / "knowledge.json").read_text("utf-8"))
    questions = truth["judged_questions"]
    base = args.encoder or settings.DEFAULT_ENCODER
    version = services.model_version_register(
        task=Task.RETRIEVER, name="bench answers encoder", base=base, dimension=None
    )
    model = load_version_encoder(version, "cpu")
    embed = knowledge_vectors.embed_passages(model, version.pk)
    version.refresh_from_db()
    dimension = int(model.get_embedding_dimension())
    ref = VersionRef(version.pk, Task.RETRIEVER, version.name, base, "", dimension)
    print(
        f"store: {args.products} products, seed {args.seed}; knowledge base: "
        f"{Passage.objects.count()} passages ({embed['passages']} embedded in "
        f"{embed['passages_s']} s); {len(questions)} judged questions; set-up "
        f"{time.monotonic() - started:.1f} s"
    )

    methods = {
        "BM25 (baseline)": {"use_semantic": False},
        "semantic only": {"use_lexical": False, "floor": False},
        "hybrid (served)": {},
    }
    results: dict[str, dict[str, list]] = {
        m: {"all": [], "article": [], "product_question": []} for m in methods
    }
    latency: dict[str, list[float]] = {m: [] for m in methods}
    reset_serving_caches()
    from recommend.engine.text import normalise
    from recommend.serving import cache, loaders
    from recommend.serving.answers import QUERY_MAX_CHARS

    for question in questions:
        text = normalise(question["question"], QUERY_MAX_CHARS)  # as /api/v1/answers does
        # encode once, outside the timings: every method then reads the cached query vector
        cache.query_vector(ref.id, text, lambda t: loaders.encode_query(ref, t))
        for method, options in methods.items():
            t0 = time.perf_counter()
            ranked = rank_passages(
                text,
                ref,
                use_lexical=options.get("use_lexical", True),
                use_semantic=options.get("use_semantic", True),
                semantic_floor=options.get("floor", True),
            )
            latency[method].append((time.perf_counter() - t0) * 1000)
            rows = passage_rows([r.passage_id for r in ranked])
            entry = (source_ranking(ranked, rows), question["answer"])
            results[method]["all"].append(entry)
            results[method][question["type"]].append(entry)

    header = [
        "method",
        "MRR@10",
        f"Recall@{RECALL_AT}",
        "MRR articles",
        "MRR product Q&A",
        "p50 ms (query vector cached)",
    ]
    rows_out = []
    for method in methods:
        mrr, recall = figures(results[method]["all"])
        mrr_a, _ = figures(results[method]["article"])
        mrr_q, _ = figures(results[method]["product_question"])
        rows_out.append(
            [method, mrr, recall, mrr_a, mrr_q, f"{statistics.median(latency[method]):.1f}"]
        )
    counts = {k: len(v) for k, v in results["BM25 (baseline)"].items()}
    print(
        table(
            header,
            rows_out,
            title=f"Answer retrieval on {counts['all']} held-out support questions "
            f"({counts['article']} about articles, {counts['product_question']} about products)",
        )
    )
    bm25, _ = figures(results["BM25 (baseline)"]["all"])
    hybrid, _ = figures(results["hybrid (served)"]["all"])
    print(f"hybrid vs BM25: MRR {hybrid:.4f} vs {bm25:.4f} ({hybrid - bm25:+.4f})")
    support_categories(questions, ref, args.seed)


def support_categories(questions: list[dict], ref, seed: int) -> None:
    """The support-category classifier (``train_support_category`` on this store's knowledge
    base) on the judged questions: category accuracy next to the majority category, the
    keyword rules and the top answer's category; then answer MRR of the served hybrid without
    the category (as served by default), boosted by the detected one, and restricted to it."""
    from collections import Counter

    from django.conf import settings

    from catalog.knowledge.selectors import passage_rows
    from recommend.engine import support_rules
    from recommend.engine.text import normalise
    from recommend.serving.answers import QUERY_MAX_CHARS, by_category, rank_passages
    from recommend.serving.support_category import CategoryResult
    from training import services
    from training.ml.classifier import TextClassifier

    t0 = time.monotonic()
    job = services.job_run(
        job_id=services.job_launch(
            kind="train_support_category", params={"device": "cpu", "seed": seed}
        ).pk
    )
    if job.status != "succeeded":
        print(f"train_support_category failed: {job.error}")
        return
    version = job.result_version
    snapshot = version.dataset_snapshot
    classifier = TextClassifier.load(settings.ARTIFACTS_DIR / version.artifact_dir, device="cpu")
    print(
        f"\nsupport-category classifier #{version.pk}: {snapshot['examples']} training texts "
        f"from the knowledge base ({snapshot['label_counts']}), trained in "
        f"{time.monotonic() - t0:.0f} s; its own test split: accuracy "
        f"{version.metrics['accuracy']:.3f} (keyword rules "
        f"{version.metrics['baselines']['keyword_rules']['accuracy']:.3f})"
    )
    majority = Counter(snapshot["label_counts"]).most_common(1)[0][0]
    texts = [normalise(q["question"], QUERY_MAX_CHARS) for q in questions]
    truth = [q["category"] for q in questions]
    predicted = classifier.predict(texts)
    rankings: dict[str, list[tuple[list[str], str]]] = {
        "hybrid, no category (served: boost 0)": [],
        "hybrid + detected category boost 0.25": [],
        "hybrid + keyword-rules category boost 0.25": [],
        "hybrid restricted to the detected category": [],
        "hybrid restricted to the true category (oracle)": [],
    }
    top_category = []
    for text, question, (label, probability) in zip(texts, questions, predicted, strict=True):
        ranked = rank_passages(text, ref)
        rows = passage_rows([r.passage_id for r in ranked])
        categories = {pk: row.category for pk, row in rows.items()}
        top_category.append(categories.get(ranked[0].passage_id) if ranked else majority)
        rule = support_rules.classify(text)
        variants = {
            "hybrid, no category (served: boost 0)": ranked,
            "hybrid + detected category boost 0.25": by_category(
                ranked, categories, CategoryResult(label, probability, "model"), boost=BOOST
            ),
            "hybrid + keyword-rules category boost 0.25": by_category(
                ranked, categories, CategoryResult(rule.label, rule.score, "rules"), boost=BOOST
            ),
            "hybrid restricted to the detected category": by_category(
                ranked, categories, CategoryResult(label, 1.0, "request")
            ),
            "hybrid restricted to the true category (oracle)": by_category(
                ranked, categories, CategoryResult(question["category"], 1.0, "request")
            ),
        }
        for name, order in variants.items():
            rankings[name].append((source_ranking(order, rows), question["answer"]))

    def accuracy(labels: list[str]) -> float:
        return statistics.fmean(1.0 if p == t else 0.0 for p, t in zip(labels, truth, strict=True))

    print(
        table(
            ["method", "accuracy", "correct"],
            [
                [name, accuracy(labels), f"{round(accuracy(labels) * len(truth))}/{len(truth)}"]
                for name, labels in [
                    (f"majority category ({majority})", [majority] * len(truth)),
                    (
                        "keyword rules (baseline)",
                        [r.label for r in map(support_rules.classify, texts)],
                    ),
                    ("category of the top hybrid answer", top_category),
                    ("support-category classifier", [label for label, _ in predicted]),
                ]
            ],
            title=f"Support category of the {len(truth)} judged questions ({dict(Counter(truth))})",
        )
    )
    print(
        table(
            ["answers", "MRR@10", f"Recall@{RECALL_AT}"],
            [[name, *figures(entries)] for name, entries in rankings.items()],
            title="Answer retrieval with and without the support category",
        )
    )


if __name__ == "__main__":
    main()
