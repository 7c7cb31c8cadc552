"""Recommendations against trending on a time split of the demo store: Recall@20 and NDCG@20.

    .venv/bin/python bench/recs.py [--products 5000] [--shoppers 2000] [--days 60] [--seed 42]
                                   [--holdout-days 7] [--max-shoppers 500] [--text title|full]

Builds the demo store (``catalog.services.demo.demo_store_build``) in a database of its own
(``aisle_bench_recs``), then splits it by time: the purchases of the last ``--holdout-days``
are held out (and deleted, so serving never sees them); everything before is the history.
On the history it embeds the catalogue with the packaged MiniLM (``--text title``: title,
brand and category, fast; ``full`` adds the description), runs Training's ``train_cf`` job
and refreshes trending. For each shopper with held-out purchases of products they had not
bought before, it asks ``GET /api/v1/recommendations?size=20`` (through the whole stack) and
compares with the trending list (store-wide, minus what the shopper already bought, the same
exclusion recommendations apply).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._serving import reset_serving_caches, setup_django, table

DATABASE = "aisle_bench_recs"
K = 20


def hold_out(*, days: int) -> tuple[dict[int, set[int]], object]:
    """Delete the events of the last ``days`` days; return the shoppers' held-out purchases of
    products they had not bought before, and the cutoff."""
    from django.db.models import Max

    from catalog.models import Event, Shopper

    end = Event.objects.aggregate(latest=Max("timestamp"))["latest"]
    cutoff = end - timedelta(days=days)
    before = defaultdict(set)
    for shopper, product in Event.objects.filter(type="purchase", timestamp__lt=cutoff).values_list(
        "shopper_id", "product_id"
    ):
        before[shopper].add(product)
    held: dict[int, set[int]] = defaultdict(set)
    for shopper, product in Event.objects.filter(
        type="purchase", timestamp__gte=cutoff
    ).values_list("shopper_id", "product_id"):
        if product not in before[shopper]:
            held[shopper].add(product)
    Event.objects.filter(timestamp__gte=cutoff).delete()
    from django.db.models import F

    Shopper.objects.update(profile_version=F("profile_version") + 1)
    return dict(held), cutoff


def recall_ndcg(ranked: list[int], relevant: set[int], k: int = K) -> tuple[float, float]:
    top = ranked[:k]
    hits = [1.0 if pk in relevant else 0.0 for pk in top]
    recall = sum(hits) / len(relevant) if relevant else 0.0
    dcg = sum(h / math.log2(i + 2) for i, h in enumerate(hits))
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return recall, (dcg / ideal if ideal else 0.0)


def evaluate(
    client, held: dict[int, set[int]], *, max_shoppers: int, log=lambda _m: None
) -> dict[str, dict]:
    """Recall@K / NDCG@K of recommendations and of trending for the held-out shoppers."""
    from catalog.models import Event, Shopper
    from recommend.serving.retrievers import product_ids_for_external

    external = dict(Shopper.objects.filter(pk__in=list(held)).values_list("pk", "external_id"))
    shoppers = sorted(held)[:max_shoppers]
    purchased = defaultdict(set)
    for shopper, product in Event.objects.filter(
        shopper_id__in=shoppers, type="purchase"
    ).values_list("shopper_id", "product_id"):
        purchased[shopper].add(product)
    trending_body = client.get("/api/v1/trending", {"size": 100}).json()
    trending = list(
        product_ids_for_external([r["product"]["id"] for r in trending_body["results"]]).items()
    )
    order = {ext: i for i, ext in enumerate(r["product"]["id"] for r in trending_body["results"])}
    trending_ids = [pk for ext, pk in sorted(trending, key=lambda t: order[t[0]])]
    scores: dict[str, list[tuple[float, float]]] = defaultdict(list)
    started = time.perf_counter()
    for n, shopper in enumerate(shoppers, start=1):
        body = client.get(
            "/api/v1/recommendations", {"shopper": external[shopper], "size": K}
        ).json()
        mapping = product_ids_for_external([r["product"]["id"] for r in body["results"]])
        recs = [mapping[r["product"]["id"]] for r in body["results"]]
        scores["recommendations"].append(recall_ndcg(recs, held[shopper]))
        scores["trending"].append(
            recall_ndcg([pk for pk in trending_ids if pk not in purchased[shopper]], held[shopper])
        )
        if n % 100 == 0:
            log(f"{n} shoppers ({(time.perf_counter() - started) / n * 1000:.0f} ms each)")
    return {
        name: {
            "recall": sum(r for r, _ in v) / len(v),
            "ndcg": sum(g for _, g in v) / len(v),
            "shoppers": len(v),
        }
        for name, v in scores.items()
        if v
    }


def embed(*, text: str, log) -> None:
    """Embed the catalogue with the packaged MiniLM as the active retriever (HNSW included)."""
    from catalog.models import Product
    from training import vectors
    from training.ml.encoders import encode_texts, load_encoder, product_text, text_hash
    from training.models import ModelVersion

    version = ModelVersion.objects.create(
        task="retriever",
        name="bench MiniLM",
        dimension=384,
        is_active=True,
        base="sentence-transformers/all-MiniLM-L6-v2",
        status="ready",
    )
    rows = list(
        Product.objects.filter(active=True)
        .order_by("pk")
        .values_list("pk", "title", "brand__name", "category__name", "description")
    )
    texts = [product_text(t, b, c, d if text == "full" else None) for _, t, b, c, d in rows]
    started = time.perf_counter()
    matrix = encode_texts(load_encoder(None, device="cpu"), texts, batch_size=128)
    vectors.write_embeddings(
        version.pk, [r[0] for r in rows], matrix, [text_hash(t) for t in texts]
    )
    vectors.ensure_hnsw_index(version.pk, 384)
    log(f"embedded {len(rows)} products ({text} text) in {time.perf_counter() - started:.1f} s")


def train_cf(log) -> None:
    from training import services as training_services
    from training.models import ModelVersion

    job = training_services.job_launch(kind="train_cf", params={})
    finished = training_services.job_run(job_id=job.pk)
    if finished.status != "succeeded":
        log(
            f"train_cf failed: {finished.error.splitlines()[-1] if finished.error else finished.status}"
        )
        return
    ModelVersion.objects.filter(pk=finished.result_version_id).update(is_active=True)
    log(
        f"CF version #{finished.result_version_id}: {finished.metrics.get('primary')} "
        f"(test ndcg@20 {finished.metrics.get('ndcg@20')})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--shoppers", type=int, default=2000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--holdout-days", type=int, default=7)
    parser.add_argument("--max-shoppers", type=int, default=500)
    parser.add_argument("--text", choices=("title", "full"), default="title")
    args = parser.parse_args()
    setup_django(DATABASE)
    log = lambda m: print(f"  {m}", flush=True)  # noqa: E731
    from django.test import Client

    from catalog.services.demo import demo_store_build
    from platform_core.models import ApiClient
    from platform_core.services import api_client_create
    from recommend import services
    from training.models import ModelVersion

    ModelVersion.objects.filter(is_active=True).update(is_active=False)  # else refused
    ModelVersion.objects.all().delete()
    reset_serving_caches()
    started = time.perf_counter()
    result = demo_store_build(
        products=args.products,
        shoppers=args.shoppers,
        days=args.days,
        seed=args.seed,
        replace=True,
        truth_dir=tempfile.mkdtemp(),
        log=log,
    )
    log(result.summary())
    held, cutoff = hold_out(days=args.holdout_days)
    log(
        f"held out {sum(len(v) for v in held.values())} purchases of {len(held)} shoppers after {cutoff:%Y-%m-%d}"
    )
    embed(text=args.text, log=log)
    train_cf(log)
    services.aggregates_refresh()
    # the evaluated shoppers' profiles after the hold-out, as event ingestion stores them
    services.shopper_profiles_refresh(shopper_ids=sorted(held)[: args.max_shoppers])
    ApiClient.objects.filter(name="bench").delete()
    _, key = api_client_create(name="bench", scopes="read")
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {key}")
    scores = evaluate(client, held, max_shoppers=args.max_shoppers, log=log)
    print()
    print(
        table(
            ["method", f"Recall@{K}", f"NDCG@{K}", "shoppers"],
            [[name, s["recall"], s["ndcg"], s["shoppers"]] for name, s in scores.items()],
            title=f"Demo store {args.products} products / {args.shoppers} shoppers / {args.days} days, "
            f"last {args.holdout_days} days held out ({time.perf_counter() - started:.0f} s)",
        )
    )
    reset_serving_caches()


if __name__ == "__main__":
    main()
