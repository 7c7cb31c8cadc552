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
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._serving import percentile, reset_serving_caches, setup_django, table
from bench._synthetic_store import build_store, make_queries

DATABASE = "aisle_bench_serving"
STAGES = ("encode", "lexical", "semantic", "fusion", "rank", "facets", "explain", "spell")
RECS_STAGES = ("profile", "cf", "semantic", "fusion", "rank", "diversity", "explain")


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
    if args.profile:
        profile_searches(client, make_queries(store, args.profile, seed=args.seed + 1), log)
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


def profile_searches(client, queries: list[dict], log) -> None:
    """cProfile served searches (distinct queries, caches cold) and log the functions with the
    most time of their own and the most cumulative time: what is neither the encoder nor the
    two index lookups is overhead to remove."""
    import cProfile
    import io
    import pstats

    from django.core.cache import cache

    from recommend import aggregates

    keep = aggregates.latest()
    cache.clear()
    aggregates.store(keep)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for params in queries:
        client.get("/api/v1/search", params)
    profiler.disable()
    elapsed = (time.perf_counter() - started) * 1000 / len(queries)
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(30)
        log(f"profile of {len(queries)} searches ({elapsed:.1f} ms each), by {order}:")
        print(out.getvalue(), flush=True)


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
        "--database", default=DATABASE, help="the bench's own database (emptied at each scale)"
    )
    parser.add_argument("--redis-db", type=int, help="the bench's Redis database (emptied)")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="also cProfile N served searches (caches cold) and print where their time goes",
    )
    parser.add_argument(
        "--experiment-queries",
        type=int,
        default=500,
        help="requests with and (as many) without an A/B experiment running; 0 skips the phase",
    )
    args = parser.parse_args()
    setup_django(args.database, **({"redis_db": args.redis_db} if args.redis_db else {}))
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
