"""Serving latency: search and recommendations at 10k and 100k products, next to the bare cost.

    .venv/bin/python bench/search_latency.py [--scales 10000,100000] [--queries 1000] [--shoppers 300]

For each scale, a synthetic store is written with COPY into a database of its own
(``aisle_bench_serving``, emptied first): a category tree (200 leaves), 300 brands, products
with titles and descriptions from a vocabulary, vectors in MiniLM space (each product is the
normalised mean of its words' MiniLM vectors, so the real query encoder's vectors are
meaningful against them) under one retriever version with its HNSW index, and shoppers with
events. Then one client sends requests one at a time through the whole Django stack
(middleware, API-key auth, throttling, DRF, the pipeline, the search-log buffer):

* ``search``: ``--queries`` distinct queries (85% plain, 10% in one category, 5% one brand;
  a tenth with a typo). Caches cold: Redis is emptied before the run and no query repeats, so
  every request encodes its query and runs its SQL. The process caches a real server keeps
  (the loaded encoder, the spelling vocabulary, filter statistics, trending aggregates) are
  warmed with 20 other queries first.
* ``recommendations``: ``--shoppers`` distinct known shoppers (their profiles computed
  beforehand, as event ingestion stores them; a request only reads its profile) and a few
  anonymous requests.
* ``bare``: for every search, the same encode + lexical SQL + semantic SQL run directly
  (no HTTP, no pipeline), alternating order with the served request so neither gets the
  warmer buffer cache.

Printed side by side: p50 / p95 / p99 server time, the per-stage breakdown (from the
``Server-Timing`` header), the bare cost, and the overhead ratio. Targets: search p95 < 50 ms at
100k products; served / bare < 1.5x.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._serving import percentile, reset_serving_caches, setup_django, table

DATABASE = "aisle_bench_serving"
STAGES = ("encode", "lexical", "semantic", "fusion", "rank", "facets", "explain", "spell")
RECS_STAGES = ("profile", "cf", "semantic", "fusion", "rank", "diversity", "explain")

ADJECTIVES = [
    "red",
    "blue",
    "black",
    "white",
    "green",
    "grey",
    "pink",
    "navy",
    "wooden",
    "steel",
    "leather",
    "cotton",
    "wool",
    "linen",
    "compact",
    "portable",
    "wireless",
    "waterproof",
    "lightweight",
    "ergonomic",
    "vintage",
    "modern",
    "classic",
    "premium",
    "organic",
    "recycled",
    "heavy",
    "slim",
    "large",
    "small",
    "soft",
    "durable",
    "foldable",
    "smart",
    "quiet",
    "fast",
    "warm",
    "cool",
    "bright",
    "matte",
]
DEPARTMENTS = {
    "electronics": [
        "headphones",
        "speaker",
        "laptop",
        "monitor",
        "keyboard",
        "mouse",
        "charger",
        "camera",
        "tablet",
        "router",
    ],
    "home": [
        "lamp",
        "chair",
        "table",
        "sofa",
        "rug",
        "curtain",
        "shelf",
        "mirror",
        "clock",
        "vase",
    ],
    "kitchen": [
        "kettle",
        "toaster",
        "blender",
        "pan",
        "knife",
        "mug",
        "grinder",
        "kettlebell",
        "bowl",
        "tray",
    ],
    "fashion": [
        "jacket",
        "sweater",
        "dress",
        "shirt",
        "jeans",
        "scarf",
        "hat",
        "belt",
        "sneakers",
        "boots",
    ],
    "sport": [
        "bike",
        "helmet",
        "yoga mat",
        "dumbbell",
        "tent",
        "backpack",
        "bottle",
        "racket",
        "ball",
        "gloves",
    ],
    "beauty": [
        "serum",
        "cream",
        "lipstick",
        "shampoo",
        "perfume",
        "brush",
        "mask",
        "lotion",
        "soap",
        "oil",
    ],
    "toys": ["puzzle", "robot", "doll", "blocks", "kite", "train", "drone", "car", "game", "plush"],
    "garden": [
        "hose",
        "shovel",
        "planter",
        "seeds",
        "grill",
        "lantern",
        "bench",
        "mower",
        "pruner",
        "fence",
    ],
    "office": [
        "notebook",
        "pen",
        "desk",
        "stapler",
        "binder",
        "printer",
        "paper",
        "folder",
        "marker",
        "board",
    ],
    "pets": [
        "leash",
        "collar",
        "bed",
        "feeder",
        "toy",
        "brush",
        "carrier",
        "bowl",
        "treats",
        "crate",
    ],
}
STYLES = [
    "everyday",
    "pro",
    "travel",
    "kids",
    "studio",
    "outdoor",
    "home",
    "office",
    "gaming",
    "eco",
]
SYLLABLES = [
    "vol",
    "tik",
    "nor",
    "dax",
    "lum",
    "ora",
    "pix",
    "zen",
    "bri",
    "kal",
    "mor",
    "ven",
    "sol",
    "tra",
    "qua",
    "fen",
    "gal",
    "rix",
    "hal",
    "cor",
]


def _brands(n: int, rng: random.Random) -> list[str]:
    names: set[str] = set()
    while len(names) < n:
        names.add(
            (
                rng.choice(SYLLABLES) + rng.choice(SYLLABLES) + rng.choice(["", "a", "o", "ex"])
            ).capitalize()
        )
    return sorted(names)


def build_store(n_products: int, *, n_shoppers: int, seed: int, log) -> dict:
    """Write the synthetic store with COPY; return what the benchmark needs to send requests."""
    from django.db import connection

    from catalog.models import Brand, Category
    from catalog.services import catalog_truncate
    from training import vectors
    from training.ml.encoders import encode_texts, load_encoder
    from training.models import ModelVersion

    rng = random.Random(seed)
    catalog_truncate()
    ModelVersion.objects.all().delete()
    started = time.perf_counter()
    leaves: list[tuple[int, str, str]] = []  # (id, external id, noun)
    for dept, nouns in DEPARTMENTS.items():
        root = Category.objects.create(external_id=dept, name=dept.capitalize(), path=dept, depth=0)
        for noun in nouns:
            for style in STYLES[:2]:
                ext = f"{dept}-{noun.replace(' ', '-')}-{style}"
                leaf = Category.objects.create(
                    external_id=ext,
                    name=f"{style.capitalize()} {noun}",
                    parent=root,
                    path=f"{dept}/{ext}",
                    depth=1,
                )
                leaves.append((leaf.pk, ext, noun))
    brand_names = _brands(300, rng)
    brands = {b.name: b.pk for b in Brand.objects.bulk_create([Brand(name=n) for n in brand_names])}
    now = datetime.now(UTC)
    titles: list[str] = []
    product_words: list[list[str]] = []
    with (
        connection.cursor() as cursor,
        cursor.copy(
            "COPY catalog_product (external_id, title, description, category_id, brand_id, price, currency, stock, "
            "attributes, image_url, active, search_text, needs_embedding, created_at, updated_at) FROM STDIN"
        ) as copy,
    ):
        for i in range(n_products):
            leaf_id, leaf_ext, noun = (
                leaves[i % len(leaves)] if i < len(leaves) else rng.choice(leaves)
            )
            brand = rng.choice(brand_names)
            adjective, material = rng.choice(ADJECTIVES), rng.choice(ADJECTIVES)
            style = rng.choice(STYLES)
            title = f"{brand} {adjective} {noun} {style} {rng.randint(1, 99)}"
            description = (
                f"A {material} {noun} for {style} use by {brand}. {adjective.capitalize()} finish, "
                f"{rng.choice(ADJECTIVES)} design and a {rng.randint(1, 5)}-year warranty."
            )
            titles.append(title)
            product_words.append([brand.lower(), adjective, *noun.split(), style, material])
            copy.write_row(
                (
                    f"b{i:07d}",
                    title,
                    description,
                    leaf_id,
                    brands[brand],
                    Decimal(rng.randint(200, 50000)) / 100,
                    "EUR",
                    rng.choice([0, 3, 10, 25, 40]),
                    json.dumps({"colour": adjective}),
                    "",
                    True,
                    f"{brand} | {leaf_ext.split('-')[0].capitalize()} > {noun}",
                    False,
                    now,
                    now,
                )
            )
    log(f"{n_products} products written in {time.perf_counter() - started:.1f} s")

    # Vectors: each vocabulary word once through MiniLM, each product the mean of its words.
    step = time.perf_counter()
    model = load_encoder(None, device="cpu")
    vocabulary = sorted({w for words in product_words for w in words})
    word_vectors = encode_texts(model, vocabulary, batch_size=256)
    index_of = {w: i for i, w in enumerate(vocabulary)}
    nrng = np.random.default_rng(seed)
    matrix = np.zeros((n_products, word_vectors.shape[1]), dtype=np.float32)
    for i, words in enumerate(product_words):
        matrix[i] = word_vectors[[index_of[w] for w in words]].mean(axis=0)
    matrix += nrng.normal(0, 0.02, matrix.shape).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    version = ModelVersion.objects.create(
        task="retriever",
        name="bench MiniLM",
        base="sentence-transformers/all-MiniLM-L6-v2",
        dimension=384,
        is_active=True,
        status="ready",
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM catalog_product ORDER BY external_id")
        pks = [row[0] for row in cursor.fetchall()]
    vectors.write_embeddings(version.pk, pks, matrix, ["0" * 32] * len(pks))
    log(f"vectors written in {time.perf_counter() - step:.1f} s")
    step = time.perf_counter()
    vectors.ensure_hnsw_index(version.pk, 384)
    log(f"HNSW index built in {time.perf_counter() - step:.1f} s")

    # Shoppers with a taste (a few leaves) and 10-60 events each over 30 days.
    step = time.perf_counter()
    by_leaf: dict[int, list[int]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, category_id FROM catalog_product")
        for pk, leaf in cursor.fetchall():
            by_leaf[leaf].append(pk)
        with cursor.copy(
            "COPY catalog_shopper (external_id, segment, country, attributes, category_interests, "
            "profile_version, created_at) FROM STDIN"
        ) as copy:
            for s in range(n_shoppers):
                copy.write_row((f"bench-shopper-{s}", "bench", "DE", "{}", "{}", 1, now))
        cursor.execute("SELECT id FROM catalog_shopper ORDER BY id")
        shopper_ids = [row[0] for row in cursor.fetchall()]
        start = now - timedelta(days=30)
        n_events = 0
        with cursor.copy(
            "COPY catalog_event (event_id, shopper_id, product_id, type, query, position, value, "
            "review, session, request_id, timestamp, received_at) FROM STDIN"
        ) as copy:
            for s, shopper in enumerate(shopper_ids):
                taste = [lid for lid, _, _ in rng.sample(leaves, 3)]
                for e in range(rng.randint(10, 60)):
                    product = rng.choice(by_leaf[rng.choice(taste)])
                    kind = rng.choices(["view", "click", "add_to_cart", "purchase"], [10, 4, 2, 1])[
                        0
                    ]
                    moment = start + timedelta(minutes=rng.randint(0, 30 * 24 * 60))
                    copy.write_row(
                        (
                            f"be-{s}-{e}",
                            shopper,
                            product,
                            kind,
                            "",
                            None,
                            None,
                            "",
                            f"bs-{s}-{e // 5}",
                            "",
                            moment,
                            moment,
                        )
                    )
                    n_events += 1
        for table_name in (
            "catalog_product",
            "catalog_event",
            "catalog_shopper",
            "training_productembedding",
        ):
            cursor.execute(f"ANALYZE {table_name}")
    log(f"{n_shoppers} shoppers, {n_events} events written in {time.perf_counter() - step:.1f} s")
    return {
        "titles": titles,
        "leaves": leaves,
        "brands": brand_names,
        "model": model,
        "version": version,
        "shoppers": [f"bench-shopper-{s}" for s in range(n_shoppers)],
        "words": product_words,
    }


def make_queries(store: dict, n: int, *, seed: int) -> list[dict]:
    """``n`` distinct queries: 85% plain, 10% in one leaf category, 5% one brand; 10% with a typo."""
    rng = random.Random(seed + 1)
    seen: set[str] = set()
    out: list[dict] = []
    while len(out) < n:
        words = rng.choice(store["words"])
        pick = rng.random()
        if pick < 0.4:
            text = f"{rng.choice(ADJECTIVES)} {words[2]}"
        elif pick < 0.7:
            text = f"{words[0]} {words[2]}"
        elif pick < 0.9:
            text = f"{words[1]} {words[2]} for {rng.choice(STYLES)}"
        else:
            text = (
                f"{rng.choice(ADJECTIVES)} {rng.choice(ADJECTIVES)} {words[2]} {rng.choice(STYLES)}"
            )
        if rng.random() < 0.1 and len(text) > 6:
            i = rng.randrange(1, len(text) - 1)
            text = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        params: dict = {"q": text}
        kind = rng.random()
        if kind < 0.10:
            params["category"] = rng.choice(store["leaves"])[1]
        elif kind < 0.15:
            params["brand"] = rng.choice(store["brands"])
        key = json.dumps(params, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(params)
    return out


def _timings(header: str) -> dict[str, float]:
    out = {}
    for part in header.split(","):
        name, _, rest = part.strip().partition(";")
        if rest.startswith("dur="):
            out[name] = float(rest[4:])
    return out


def bare_search(params: dict, store: dict) -> dict[str, float]:
    """The same encode + lexical SQL + semantic SQL as the pipeline runs, without it."""
    from recommend import selectors
    from recommend.serving import search
    from recommend.serving.retrievers import PgVectorIndex, PostgresLexicalIndex
    from training.ml.encoders import encode_texts

    search_params = search.SearchParams(
        q=params["q"], category=params.get("category"), brand=params.get("brand")
    )
    filters = search.build_filters(search_params)
    from recommend.serving import loaders

    retriever = selectors.served_models(selectors.default_strategy("search")).retriever
    prepared = search.prepare_query(
        search.normalise(params["q"], 256),
        selectors.serving_config().synonyms,
        loaders.known_words(retriever),
    )
    out = {}
    started = time.perf_counter()
    vector = encode_texts(store["model"], [prepared.semantic_text], batch_size=1)[0]
    out["encode"] = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    PostgresLexicalIndex().search(prepared.lexical_text, search.MIN_CANDIDATES, filters)
    out["lexical"] = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    PgVectorIndex(store["version"].pk, 384).search_planned(
        vector, search.MIN_CANDIDATES, filters or None
    )
    out["semantic"] = (time.perf_counter() - started) * 1000
    out["total"] = out["encode"] + out["lexical"] + out["semantic"]
    return out


def run_scale(n_products: int, args, log) -> dict:
    from django.test import Client

    from platform_core.models import ApiClient
    from platform_core.services import api_client_create
    from recommend import services
    from recommend.serving import loaders

    store = build_store(n_products, n_shoppers=max(args.shoppers * 2, 500), seed=args.seed, log=log)
    ApiClient.objects.filter(name="bench").delete()
    _, key = api_client_create(name="bench", scopes="read")
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {key}")
    reset_serving_caches()
    loaders._encoders.put(store["version"].pk, store["model"])  # the process has its encoder loaded
    services.aggregates_refresh()
    queries = make_queries(store, args.queries + 20, seed=args.seed)
    warmup, queries = queries[:20], queries[20:]
    for (
        params
    ) in warmup:  # load the encoder, build the spelling vocabulary, filter stats, connections
        client.get("/api/v1/search", params)
        bare_search(params, store)
    from django.core.cache import cache

    from recommend import aggregates
    from recommend.serving import retrievers

    keep = (aggregates.latest(), retrievers.filter_stats())
    cache.clear()  # cold: no cached results, no cached query vectors
    aggregates.store(keep[0])
    served, bare, stages = [], [], defaultdict(list)
    for i, params in enumerate(queries):
        if i % 2:
            bare.append(bare_search(params, store))
        started = time.perf_counter()
        response = client.get("/api/v1/search", params)
        served.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:300]
        for name, ms in _timings(response["Server-Timing"]).items():
            stages[name].append(ms)
        if not i % 2:
            bare.append(bare_search(params, store))
    recs, recs_stages = [], defaultdict(list)
    shoppers = store["shoppers"][: args.shoppers]
    services.shopper_profiles_refresh(external_ids=shoppers)
    for n, shopper in enumerate(shoppers + [None] * 20):
        params = (
            {"shopper": shopper, "size": 10} if shopper else {"size": 10, "session": f"anon-{n}"}
        )
        started = time.perf_counter()
        response = client.get("/api/v1/recommendations", params)
        recs.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:300]
        for name, ms in _timings(response["Server-Timing"]).items():
            recs_stages[name].append(ms)
    services.searchlogs_flush()
    result = {
        "served": served,
        "bare": bare,
        "stages": stages,
        "recs": recs,
        "recs_stages": recs_stages,
        "queries": len(queries),
    }
    if args.experiment_queries:
        result.update(run_experiment_phase(client, store, args, log))
    return result


def _personal_queries(store: dict, n: int, *, seed: int) -> list[dict]:
    """``n`` distinct queries, each from a known shopper (two in three) or an anonymous session:
    the requests an experiment assigns and exposes."""
    rng = random.Random(seed)
    out = []
    for i, params in enumerate(make_queries(store, n, seed=seed)):
        if rng.random() < 2 / 3:
            params["shopper"] = rng.choice(store["shoppers"])
        else:
            params["session"] = f"bench-session-{seed}-{i}"
        out.append(params)
    return out


def run_experiment_phase(client, store: dict, args, log) -> dict:
    """Search with an A/B experiment running on the surface, next to the same kind of traffic
    (known shoppers and anonymous sessions, distinct queries, caches cold) without one.

    The two phases alternate in blocks of 50 requests (the experiment is started and stopped
    between blocks), so drift of the machine's load falls on both alike. Also timed: the
    exposure queueing inside each request (``exposure_record``) and the batched flush."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.cache import cache

    from recommend import aggregates
    from recommend.experiments import services as experiment_services
    from recommend.experiments.models import Experiment, Exposure
    from recommend.experiments.selectors import clear_running_cache
    from recommend.models import Strategy
    from recommend.serving import retrievers

    user, _ = get_user_model().objects.get_or_create(
        username="bench-operator", defaults={"is_staff": True}
    )
    user.groups.add(Group.objects.get_or_create(name="operator")[0])
    base = Strategy.objects.get(surface="search", is_default=True)
    other, _ = Strategy.objects.get_or_create(
        name="bench variant",
        surface="search",
        defaults={"lexical_weight": base.lexical_weight, "semantic_weight": base.semantic_weight},
    )
    Exposure.objects.all().delete()
    Experiment.objects.filter(name__startswith="bench latency").delete()  # an earlier run's
    queries = _personal_queries(store, 2 * args.experiment_queries, seed=args.seed + 100)
    keep = (aggregates.latest(), retrievers.filter_stats())
    cache.clear()
    aggregates.store(keep[0])

    queue_ms: list[float] = []
    real_record = experiment_services.exposure_record

    def timed_record(**kwargs):
        started = time.perf_counter()
        real_record(**kwargs)
        if kwargs["ctx"].variant:
            queue_ms.append((time.perf_counter() - started) * 1000)

    experiment_services.exposure_record = timed_record  # the view calls it through the module
    served = {"without": [], "with": []}
    variants: dict[str, int] = defaultdict(int)
    pending = flushed = 0
    flush_ms = 0.0
    try:
        for block in range(0, len(queries), 50):
            running = (block // 50) % 2 == 1
            if running:
                experiment = experiment_services.experiment_create(
                    name=f"bench latency {block}",
                    surface="search",
                    hypothesis="latency only",
                    actor=user,
                    salt=f"bench-{block}",
                    variants=[
                        experiment_services.VariantSpec("control", base, 50, True),
                        experiment_services.VariantSpec("treatment", other, 50),
                    ],
                )
                experiment_services.experiment_start(experiment=experiment, actor=user)
            for params in queries[block : block + 50]:
                started = time.perf_counter()
                response = client.get("/api/v1/search", params)
                served["with" if running else "without"].append(
                    (time.perf_counter() - started) * 1000
                )
                assert response.status_code == 200, response.content[:300]
                if running:
                    variants[str(response.json()["variant"])] += 1
            if running:  # the batch flush beat would run, timed here before the stop flushes
                pending += experiment_services.exposures_pending()
                started = time.perf_counter()
                flushed += experiment_services.exposures_flush()
                flush_ms += (time.perf_counter() - started) * 1000
                experiment_services.experiment_stop(experiment=experiment, actor=user)
                clear_running_cache()
    finally:
        experiment_services.exposure_record = real_record
    log(
        f"experiment phase: {len(served['with'])} requests with an experiment running "
        f"(variants {dict(variants)}), {len(served['without'])} without; {pending} exposures queued, "
        f"flushed {flushed} in {flush_ms:.0f} ms ({flush_ms / max(flushed, 1) * 1000:.0f} µs per row)"
    )
    return {
        "exp_with": served["with"],
        "exp_without": served["without"],
        "exp_queue": queue_ms,
        "exp_flush_ms": flush_ms,
        "exp_flushed": flushed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", default="10000,100000")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--shoppers", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--experiment-queries",
        type=int,
        default=500,
        help="requests with and (as many) without an A/B experiment running; 0 skips the phase",
    )
    args = parser.parse_args()
    setup_django(DATABASE)
    scales = [int(s) for s in args.scales.split(",") if s.strip()]
    results = {}
    for n in scales:
        print(f"--- {n:,} products", flush=True)
        results[n] = run_scale(n, args, log=lambda m: print(f"  {m}", flush=True))
    print()
    headers = [
        "",
        *[f"{n // 1000}k p50" for n in scales],
        *[f"{n // 1000}k p95" for n in scales],
        *[f"{n // 1000}k p99" for n in scales],
    ]

    def row(label, getter):
        values = [getter(results[n]) for n in scales]
        return [
            label,
            *[percentile(v, 50) for v in values],
            *[percentile(v, 95) for v in values],
            *[percentile(v, 99) for v in values],
        ]

    rows = [row("search: server (ms)", lambda r: r["served"])]
    for stage in STAGES:
        rows.append(row(f"  {stage}", lambda r, s=stage: r["stages"].get(s, [])))
    rows.append(row("search: bare encode+SQL", lambda r: [b["total"] for b in r["bare"]]))
    for stage in ("encode", "lexical", "semantic"):
        rows.append(row(f"  bare {stage}", lambda r, s=stage: [b[s] for b in r["bare"]]))
    rows.append(row("recommendations: server", lambda r: r["recs"]))
    for stage in RECS_STAGES:
        rows.append(row(f"  {stage}", lambda r, s=stage: r["recs_stages"].get(s, [])))
    if args.experiment_queries:
        rows.append(row("search, shoppers, no experiment", lambda r: r["exp_without"]))
        rows.append(row("search, shoppers, experiment running", lambda r: r["exp_with"]))
        rows.append(row("  exposure queueing in the request", lambda r: r["exp_queue"]))
    print(
        table(
            headers,
            rows,
            title=f"Latency in ms, one client, {args.queries} distinct queries, caches cold",
        )
    )
    print()
    for n in scales:
        r = results[n]
        bare = [b["total"] for b in r["bare"]]
        print(
            f"{n:,} products: search p95 {percentile(r['served'], 95):.1f} ms (target < 50), "
            f"overhead served/bare p50 {percentile(r['served'], 50) / percentile(bare, 50):.2f}x, "
            f"p95 {percentile(r['served'], 95) / percentile(bare, 95):.2f}x (target < 1.5x); "
            f"recommendations p95 {percentile(r['recs'], 95):.1f} ms"
        )
        if args.experiment_queries:
            print(
                f"{n:,} products, experiment running vs not (same traffic shape): p50 "
                f"{percentile(r['exp_with'], 50):.1f} vs {percentile(r['exp_without'], 50):.1f} ms, p95 "
                f"{percentile(r['exp_with'], 95):.1f} vs {percentile(r['exp_without'], 95):.1f} ms; exposure "
                f"queueing p50 {percentile(r['exp_queue'], 50) * 1000:.0f} µs, p95 "
                f"{percentile(r['exp_queue'], 95) * 1000:.0f} µs; flush {r['exp_flush_ms'] / max(r['exp_flushed'], 1) * 1000:.0f} µs per row"
            )
    reset_serving_caches()


if __name__ == "__main__":
    main()
