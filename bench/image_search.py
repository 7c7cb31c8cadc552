"""Search by image on a demo store: precision@10 of the image encoder vs a colour-histogram
baseline vs text-only similarity, in one run, and the web process's cost of image queries.

    .venv/bin/python bench/image_search.py --database aisle_im_demo [--queries 400] [--views 2]
        [--seed 7] [--train --epochs 12] [--save per_product.json]

Needs a demo store in ``--database`` (``migrate``, ``demo_store``, ``platform_bootstrap``) with
its hidden truth in DATA_DIR/demo (``images.json``: each picture's category, colour, pattern
and view). ``--train`` runs ``embed_images`` first (inline); otherwise the active ``image``
version is measured.

Queries: the products the active version held out of its training (the job's hash split, up
to ``--queries`` of them), each drawn again by the demo renderer under ``--views`` other views
(pose, background, noise: a stream of this bench's own, ``--seed``), and each view POSTed as a PNG to ``/api/v1/search/image`` through
Django's test client (the whole view stack: key, parsing, decoding, encoding, pgvector, facets,
the served-request log). A hit is a top-10 product of the query product's category *and*
colour (truth), the query product itself left out. Beside it, in the same run and on the same
queries:

* **colour histogram**: a joint 4×4×4 RGB histogram of the query picture against every stored
  product picture (cosine);
* **text only**: the query product's own title vector (the packaged MiniLM) against every
  product's title vector — what similarity knows without looking at the picture at all (it
  reads the colour and type words of the title, so it is a strong baseline).

A held-out product's figure is the mean over its views; the encoder's margin over each
baseline gets a 95 % paired bootstrap interval over the held-out products
(``bench/_paired.py``: the views of one product are not independent queries, so the product is
the unit that is resampled).

Then the web process: p50/p95 of ``/search/image`` over the queries, and the process's
resident memory before the first image query and after (what loading the image encoder and
serving costs per web process).

Last, text search with the pictures as one more retriever (``--relevance``, on by default):
NDCG@10 of the store's judged queries (``relevance.csv`` of the hidden truth) through
``/api/v1/search`` with the default strategy as it is (no image weight) and with the image
retriever weighted ``--image-weight`` (the text query's vector against the pictures' vectors,
fused by reciprocal rank fusion beside lexical and semantic), same queries, same run.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._serving import setup_django, table  # noqa: E402

K = 10
IMAGE = "image encoder (through the API)"
HIST = "colour histogram (baseline)"
TEXT = "text only: the product's title vector (baseline)"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--queries", type=int, default=400, help="held-out products queried")
    parser.add_argument("--views", type=int, default=2, help="renderings per queried product")
    parser.add_argument("--save", type=Path, default=None, help="write per-product figures")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--truth-dir", type=Path, default=None)
    parser.add_argument("--train", action="store_true", help="run embed_images first")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--image-weight", type=float, default=0.5)
    parser.add_argument("--no-relevance", action="store_true", help="skip the NDCG@10 part")
    args = parser.parse_args()
    setup_django(args.database, redis_db=args.redis_db)

    from django.conf import settings
    from django.test import Client

    from catalog.demo.images import png_bytes, random_view, render_spec
    from catalog.images import selectors as image_selectors
    from catalog.images.logic.pixels import bytes_array
    from catalog.models import Product
    from platform_core.services import api_client_create
    from training import selectors as training_selectors
    from training import services as training_services
    from training.ml.image_encoder import colour_histograms
    from training.models import Job, Task
    from training.runners.embed_images import _holdout

    rss_start = rss_mb()
    if args.train:
        job = training_services.job_run(
            job_id=training_services.job_launch(
                kind="embed_images",
                params={"device": "auto", "epochs": args.epochs},
            ).pk
        )
        if job.status != Job.Status.SUCCEEDED:
            raise SystemExit(f"embed_images failed: {job.error}")
        if not job.result_version.is_active:
            training_services.model_promote(version=job.result_version, user=None)
    version = training_selectors.active_version(Task.IMAGE)
    if version is None:
        raise SystemExit("no active image version: pass --train or run embed_images")
    job_params = version.job.params if version.job else {"holdout": 0.2, "seed": 42}
    truth_dir = args.truth_dir or Path(settings.DATA_DIR) / "demo"
    specs = json.loads((truth_dir / "images.json").read_text())["products"]

    rows = image_selectors.main_images()
    ext = dict(Product.objects.values_list("id", "external_id"))
    labels = [
        (specs[ext[r.product_id]]["category"], specs[ext[r.product_id]]["colour"]) for r in rows
    ]
    held = np.flatnonzero(
        _holdout(rows, job_params.get("holdout", 0.2), job_params.get("seed", 42))
    )
    rng = random.Random(f"bench-image-search-{args.seed}")
    chosen = sorted(rng.sample(list(held), min(args.queries, len(held))))
    print(
        f"image version #{version.pk} ({version.name}); {len(rows)} products with a picture, "
        f"{len(held)} held out of training, {len(chosen)} queries"
    )

    _, raw_key = api_client_create(name=f"bench image search {time.time():.0f}", scopes="read")
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")

    pictures = np.stack([bytes_array(image_selectors.read_image_bytes(r.path), 64) for r in rows])
    hist_index = colour_histograms(pictures)
    from training.ml.encoders import encode_texts, load_encoder

    titles = encode_texts(load_encoder(None, device="cpu"), [r.title for r in rows])
    position = {r.product_id: i for i, r in enumerate(rows)}

    def precision(top_ids: list[int], label) -> float:
        return sum(labels[position[pk]] == label for pk in top_ids[:K]) / K

    by_external = {ext[r.product_id]: r.product_id for r in rows}
    first_ms = float("nan")

    def search_one(query, product_id: int, label, i: int, number: int) -> tuple[float, float]:
        """(encoder through the API, colour histogram): precision@10 of one query picture."""
        nonlocal first_ms
        upload = io.BytesIO(png_bytes(query))
        upload.name = "query.png"
        started = time.perf_counter()
        response = client.post(f"/api/v1/search/image?size={K + 1}", {"image": upload})
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(
                f"/search/image answered {response.status_code}: {response.content[:300]}"
            )
        if number:  # the first query loads the encoder: its time is reported apart
            latencies.append(elapsed)
        else:
            first_ms = elapsed
        found = [by_external[r["product"]["id"]] for r in response.json()["results"]]
        image_p = precision([pk for pk in found if pk != product_id], label)
        q_hist = colour_histograms(np.asarray(query)[None])[0]
        order = [rows[j].product_id for j in np.argsort(-(hist_index @ q_hist)) if j != i]
        return image_p, precision(order, label)

    per_product: dict[str, dict[str, float]] = {IMAGE: {}, HIST: {}, TEXT: {}}
    latencies = []
    rss_before_query = rss_mb()
    number = 0
    for i in chosen:
        product_id = rows[i].product_id
        label = labels[i]
        order = [rows[j].product_id for j in np.argsort(-(titles @ titles[i])) if j != i]
        text_here = precision(order, label)  # the title does not change with the view
        image_here, hist_here = [], []
        for _view in range(args.views):
            query = render_spec(specs[ext[product_id]], view=random_view(rng))
            image_p, hist_p = search_one(query, product_id, label, i, number)
            image_here.append(image_p)
            hist_here.append(hist_p)
            number += 1
        key = ext[product_id]
        per_product[IMAGE][key] = statistics.mean(image_here)
        per_product[HIST][key] = statistics.mean(hist_here)
        per_product[TEXT][key] = text_here
    rss_end = rss_mb()

    same = [sum(lab == labels[i] for lab in labels) - 1 for i in chosen]
    ceiling = float(np.mean([min(K, n) / K for n in same]))
    print()
    print(
        table(
            ["method", f"precision@{K} (same category and colour)"],
            [
                [IMAGE, f"{statistics.mean(per_product[IMAGE].values()):.3f}"],
                [HIST, f"{statistics.mean(per_product[HIST].values()):.3f}"],
                [TEXT, f"{statistics.mean(per_product[TEXT].values()):.3f}"],
                ["ceiling (same-label products that exist)", f"{ceiling:.3f}"],
            ],
        )
    )
    print(
        f"{len(chosen)} held-out products x {args.views} views = {number} queries; "
        f"load average {Path('/proc/loadavg').read_text().split()[:3]}"
    )
    print()
    from bench._paired import print_paired

    for baseline in (TEXT, HIST):
        print_paired(per_product, IMAGE, baseline, metric=f"precision@{K}", show_trailing=5)
    if args.save:
        args.save.write_text(json.dumps(per_product, indent=1))
    lat = sorted(latencies)
    p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))] if lat else float("nan")
    print()
    print(
        table(
            ["/search/image on this CPU", "value"],
            [
                ["first query (loads the encoder), ms", f"{first_ms:.1f}"],
                ["p50, ms", f"{statistics.median(lat):.1f}" if lat else "-"],
                ["p95, ms", f"{p95:.1f}"],
                ["process RSS at start, MiB", f"{rss_start:.0f}"],
                ["RSS before the first image query, MiB", f"{rss_before_query:.0f}"],
                ["RSS after the queries, MiB", f"{rss_end:.0f}"],
            ],
        )
    )
    if not args.no_relevance:
        print()
        print(relevance_on_off(client, truth_dir / "relevance.csv", args.image_weight))


def relevance_on_off(client, path: Path, weight: float) -> str:
    """NDCG@10 of the judged queries with the image retriever off (the strategy as it is)
    and on (weighted ``weight``), through ``/api/v1/search``."""
    import csv
    import math

    from django.core.cache import cache

    from platform_core import caches
    from recommend.models import Strategy
    from recommend.services import strategy_ensure_defaults

    judged: dict[str, dict[str, int]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            judged.setdefault(row["query"], {})[row["product_id"]] = int(row["grade"])

    def ndcg(query: str) -> float:
        response = client.get("/api/v1/search", {"q": query, "size": K})
        found = [r["product"]["id"] for r in response.json()["results"]]
        grades = judged[query]
        dcg = sum((2 ** grades.get(pid, 0) - 1) / math.log2(i + 2) for i, pid in enumerate(found))
        ideal = sorted(grades.values(), reverse=True)[:K]
        best = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
        return dcg / best if best else 0.0

    strategy_ensure_defaults()
    default = Strategy.objects.get(surface="search", is_default=True)
    before = default.image_weight
    figures = {}
    try:
        for name, value in (
            ("off (image weight 0)", 0.0),
            (f"on (image weight {weight:g})", weight),
        ):
            Strategy.objects.filter(pk=default.pk).update(image_weight=value)
            cache.clear()
            caches.reset_all()
            figures[name] = statistics.mean(ndcg(q) for q in judged)
    finally:
        Strategy.objects.filter(pk=default.pk).update(image_weight=before)
        cache.clear()
        caches.reset_all()
    return table(
        ["text search, judged queries", f"NDCG@{K} ({len(judged)} queries)"],
        [[name, f"{value:.4f}"] for name, value in figures.items()],
    )


if __name__ == "__main__":
    main()
