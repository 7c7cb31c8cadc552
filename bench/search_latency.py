"""Serving latency: search and recommendations at 10k and 100k products, next to the bare cost.

    .venv/bin/python bench/search_latency.py [--scales 10000,100000] [--queries 1000] [--shoppers 300]
        [--encoders fp32,int8] [--profile N] [--experiment-queries N]

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
* ``bare``: for every search, the same encode and the same two statements the pipeline sends
  (each hit's row and match text joined to its score, as search reads them) run directly (no
  HTTP, no pipeline), alternating order with the served request so neither gets the warmer
  buffer cache. Beside it, "ids only": the two statements without the rows, the baseline
  before the pipeline read its rows with its hits (issue 19 runs until stop 29).
* ``--encoders fp32,int8``: the searches run once per query encoder, side by side: the store's
  fp32 retriever and an int8 ONNX child of it made here as the ``quantize`` job makes one
  (``training.ml.quantize``; precision int8, serving against its parent's vectors). The default
  search strategy is pinned to each in turn, in blocks of 50 queries (the order swapped every
  block); each request's ``Server-Timing`` names the encoder that served it
  (``encoder;desc="#id int8 in #parent"``), and its bare run uses the same encoder.

Server time is timed as a WSGI server sees it (``bench._serving.timed_get``): until the response
is complete, where gunicorn sends it and the storefront has its answer. A serving request sends
its cached result and log rows after that, from the response's ``close()``, before its worker
takes the next request: "… and its writes (close)" is the time until then, printed beside it.

Printed side by side: p50 / p95 server time per encoder, the per-stage breakdown (from the
``Server-Timing`` header), the bare cost, the overhead ratio, and the load average beside each
figure (the machine may be shared: the ratio served / bare is the comparable figure). Targets
(issue 19 §2): search and recommendations p95 < 25 ms at 10k and 100k products, served / bare
<= 1.25x.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._serving import percentile, reset_serving_caches, setup_django, table, timed_get
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


_bare_runs = 0


def bare_search(params: dict, store: dict, model=None) -> dict[str, float]:
    """The same encode + lexical SQL + semantic SQL as the pipeline runs, without it (``model``:
    the query encoder, default the fp32 one; the index is always the fp32 version's space):
    ``total`` with the statements as search sends them (the hits' rows joined), ``total_ids``
    with ids and scores only; the two run in turns first, so neither always meets the buffers
    the other warmed."""
    global _bare_runs
    _bare_runs += 1
    from recommend import selectors
    from recommend.serving import loaders, search
    from recommend.serving.retrievers import PgVectorIndex, PostgresLexicalIndex
    from training.ml.encoders import encode_texts

    search_params = search.SearchParams(
        q=params["q"], category=params.get("category"), brand=params.get("brand")
    )
    filters = search.build_filters(search_params)
    retriever = selectors.served_models(selectors.default_strategy("search")).retriever
    prepared = search.prepare_query(
        search.normalise(params["q"], 256),
        selectors.serving_config().synonyms,
        loaders.known_words(retriever),
    )
    out = {}
    started = time.perf_counter()
    vector = encode_texts(model or store["model"], [prepared.semantic_text], batch_size=1)[0]
    out["encode"] = (time.perf_counter() - started) * 1000
    for with_rows in (True, False) if _bare_runs % 2 else (False, True):
        suffix = "" if with_rows else "_ids"
        started = time.perf_counter()
        PostgresLexicalIndex().search_split_rows(
            prepared.lexical_text, search.MIN_CANDIDATES, filters, with_rows=with_rows
        )
        out["lexical" + suffix] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        PgVectorIndex(store["version"].pk, 384).search_planned(
            vector, search.MIN_CANDIDATES, filters or None, with_rows=with_rows
        )
        out["semantic" + suffix] = (time.perf_counter() - started) * 1000
        out["total" + suffix] = out["encode"] + out["lexical" + suffix] + out["semantic" + suffix]
    return out


def int8_child(store: dict, log):
    """An int8 ONNX child of the store's retriever, as the ``quantize`` job registers one
    (precision int8, serving against its parent's vectors), loaded into this process."""
    import tempfile

    from recommend.serving import loaders
    from training.ml import quantize
    from training.ml.encoders import load_encoder
    from training.models import ModelVersion

    started = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="aisle-bench-int8-"))
    quantize.quantize_onnx_artifact(store["model"], scratch, meta={"parent": store["version"].pk})
    parent = store["version"]
    child = ModelVersion.objects.create(
        task="retriever",
        name=f"{parent.name} int8",
        base=parent.base,
        parent=parent,
        vector_space=parent,
        precision="int8",
        dimension=parent.dimension,
        status="ready",
        artifact_dir=str(scratch),
    )
    model = load_encoder(scratch, device="cpu", threads=1)  # serving's one intra-op thread
    model.eval()
    loaders._encoders.put(child.pk, model)
    log(f"int8 child #{child.pk} exported and quantised in {time.perf_counter() - started:.1f} s")
    return child, model, scratch


def serve_with(version) -> None:
    """Make the default search strategy serve ``version`` (its retriever slot pinned)."""
    from recommend.models import Strategy
    from recommend.serving.cache import bump_config_generation

    Strategy.objects.filter(surface="search", is_default=True).update(retriever_version=version)
    bump_config_generation()


def search_passes(client, queries: list[dict], store: dict, encoders: dict, log) -> dict:
    """Each query served and run bare under every encoder (``label -> (version, model)``): in
    blocks of 50 queries, the encoders take turns (first one, then the other, swapped every
    block) on the same queries, so load drift and buffer-cache warmth fall on both alike. Each
    query's served request and its bare run alternate order too. Caches are cold for every
    request: a query's vector and result are keyed by the encoding version."""
    from django.core.cache import cache

    from recommend import aggregates

    out = {
        label: {"served": [], "closed": [], "bare": [], "stages": defaultdict(list), "load": []}
        for label in encoders
    }
    labels = list(encoders)
    keep = aggregates.latest()
    cache.clear()  # cold: no cached results, no cached query vectors
    aggregates.store(keep)
    extra = 0
    for b, block in enumerate(range(0, len(queries), 50)):
        order = labels if b % 2 == 0 else labels[::-1]
        for label in order:
            version, model = encoders[label]
            serve_with(version)
            for _ in range(3):  # the new config's process caches, untimed
                extra += 1
                client.get("/api/v1/search", {"q": f"warm {label} {b} {extra}"})
            r = out[label]
            r["load"].append(os.getloadavg()[0])
            for i, params in enumerate(queries[block : block + 50]):
                if i % 2:
                    r["bare"].append(bare_search(params, store, model))
                response, sent_ms, closed_ms = timed_get(client, "/api/v1/search", params)
                r["served"].append(sent_ms)
                r["closed"].append(closed_ms)
                assert response.status_code == 200, response.content[:300]
                timing = response["Server-Timing"]
                assert f"#{version.pk} {'int8' if label == 'int8' else 'fp32'}" in timing, timing
                for name, ms in _timings(timing).items():
                    r["stages"][name].append(ms)
                # The Django/DRF stack around the pipeline: middleware, API-key auth,
                # throttling, the context, the logs' buffers, rendering.
                r["stages"]["outside"].append(r["served"][-1] - _timings(timing)["total"])
                if not i % 2:
                    r["bare"].append(bare_search(params, store, model))
    serve_with(None)
    for label in labels:
        log(
            f"{label}: {len(out[label]['served'])} searches, load average "
            f"{min(out[label]['load']):.1f}-{max(out[label]['load']):.1f}"
        )
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
    first_search = first_search_after_ready(
        client, make_queries(store, 21, seed=args.seed + 2), log
    )
    loaders._encoders.put(store["version"].pk, store["model"])  # the process has its encoder loaded
    encoders = {"fp32": (store["version"], store["model"])}
    scratch = None
    if "int8" in args.encoders:
        child, int8_model, scratch = int8_child(store, log)
        encoders["int8"] = (child, int8_model)
    encoders = {label: encoders[label] for label in args.encoders}
    services.aggregates_refresh()
    queries = make_queries(store, args.queries + 20, seed=args.seed)
    warmup, queries = queries[:20], queries[20:]
    for version, model in encoders.values():
        serve_with(version)
        for params in warmup:  # the encoder, the spelling vocabulary, filter stats, connections
            client.get("/api/v1/search", params)
            bare_search(params, store, model)
    passes = search_passes(client, queries, store, encoders, log)
    if args.profile:
        serve_with(encoders[args.encoders[-1]][0])
        profile_searches(client, make_queries(store, args.profile, seed=args.seed + 1), log)
        serve_with(None)
    recs, recs_closed, recs_stages = [], [], defaultdict(list)
    shoppers = store["shoppers"][: args.shoppers]
    services.shopper_profiles_refresh(external_ids=shoppers)
    recs_load = os.getloadavg()[0]
    for n, shopper in enumerate(shoppers + [None] * 20):
        params = (
            {"shopper": shopper, "size": 10} if shopper else {"size": 10, "session": f"anon-{n}"}
        )
        response, sent_ms, closed_ms = timed_get(client, "/api/v1/recommendations", params)
        recs.append(sent_ms)
        recs_closed.append(closed_ms)
        assert response.status_code == 200, response.content[:300]
        for name, ms in _timings(response["Server-Timing"]).items():
            recs_stages[name].append(ms)
    recs_load = (recs_load, os.getloadavg()[0])
    services.searchlogs_flush()
    if scratch is not None:
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)
    first = passes[args.encoders[0]]
    result = {
        "served": first["served"],
        "bare": first["bare"],
        "stages": first["stages"],
        "passes": passes,
        "recs": recs,
        "recs_closed": recs_closed,
        "recs_stages": recs_stages,
        "recs_load": recs_load,
        "queries": len(queries),
        "first": first_search,
    }
    if args.experiment_queries:
        result.update(run_experiment_phase(client, store, args, log))
    return result


def first_search_after_ready(client, queries: list[dict], log) -> dict:
    """The first search of a process whose models were just warmed, as a gunicorn worker's are
    before ``/readyz`` turns ready (``recommend.serving.warmup.warm``, run here in the
    foreground): every process cache emptied, loaded models included, and the database
    connection closed; then ``queries`` (distinct, caches cold): the first one's time against
    the p50 of the others. Target (issue 19): the first within 2x the p50."""
    from django.db import connections

    from platform_core import caches
    from recommend.serving import warmup

    caches.reset_all(loaded_models=True)
    connections.close_all()
    # gunicorn builds its WSGI handler (the middleware chain: whitenoise scans the static
    # files) when it loads the app, before the warm-up; the test client on its first request.
    client.handler.load_middleware()
    started = time.perf_counter()
    loaded, errors = warmup.warm()
    warmup.settle_collector()  # as a worker does after its warm-up (warmup._run)
    warm_s = time.perf_counter() - started
    times, stages = [], []
    for params in queries:
        response, sent_ms, _ = timed_get(client, "/api/v1/search", params)
        times.append(sent_ms)
        assert response.status_code == 200, response.content[:300]
        stages.append(_timings(response.get("Server-Timing", "")))
    out = {"warm_s": warm_s, "first": times[0], "next_p50": percentile(times[1:], 50)}
    # where the first search spends its extra time, stage by stage, against the next ones' p50
    out["first_stages"] = {
        name: (ms, percentile([s.get(name, 0.0) for s in stages[1:]], 50))
        for name, ms in stages[0].items()
    }
    out["load"] = os.getloadavg()[0]
    log(
        f"warm-up {warm_s:.1f} s ({', '.join(loaded)}{'; failed: ' + ', '.join(errors) if errors else ''}); "
        f"first search {out['first']:.1f} ms, next {len(times) - 1} p50 {out['next_p50']:.1f} ms"
    )
    log(
        "  first search by stage (ms, first / next p50): "
        + ", ".join(f"{k} {a:.1f}/{b:.1f}" for k, (a, b) in out["first_stages"].items())
    )
    return out


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
                response, sent_ms, _ = timed_get(client, "/api/v1/search", params)
                served["with" if running else "without"].append(sent_ms)
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
        "--encoders",
        default="fp32,int8",
        help="query encoders served side by side: fp32 (the store's retriever) and/or int8 "
        "(its ONNX int8 child, made by this run as the quantize job makes one)",
    )
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
    args.encoders = [e.strip() for e in args.encoders.split(",") if e.strip()]
    if not args.encoders or set(args.encoders) - {"fp32", "int8"}:
        parser.error("--encoders takes fp32 and/or int8")
    setup_django(args.database, **({"redis_db": args.redis_db} if args.redis_db else {}))
    scales = [int(s) for s in args.scales.split(",") if s.strip()]
    results = {}
    for n in scales:
        print(f"--- {n:,} products (load average {_load()})", flush=True)
        results[n] = run_scale(n, args, log=lambda m: print(f"  {m}", flush=True))
    print()
    print(search_table(results, scales, args.encoders, args.queries))
    print()
    print(other_table(results, scales, args))
    print()
    for n in scales:
        r = results[n]
        for label in args.encoders:
            run = r["passes"][label]
            bare = [b["total"] for b in run["bare"]]
            served = run["served"]
            print(
                f"{n:,} products, {label} encoder (load average {min(run['load']):.1f}-"
                f"{max(run['load']):.1f}): search p50 {percentile(served, 50):.1f} / p95 "
                f"{percentile(served, 95):.1f} ms (target p95 < 25), bare encode+SQL p50 "
                f"{percentile(bare, 50):.1f} / p95 {percentile(bare, 95):.1f} ms; served/bare p50 "
                f"{percentile(served, 50) / percentile(bare, 50):.2f}x, p95 "
                f"{percentile(served, 95) / percentile(bare, 95):.2f}x (target <= 1.25x); "
                f"against bare with ids only p50 {_ratio(run, 50, 'total_ids'):.2f}x, p95 "
                f"{_ratio(run, 95, 'total_ids'):.2f}x; with the writes sent after the response "
                f"(until close) p50 {percentile(run['closed'], 50):.1f} / p95 "
                f"{percentile(run['closed'], 95):.1f} ms, "
                f"{percentile(run['closed'], 50) / percentile(bare, 50):.2f}x / "
                f"{percentile(run['closed'], 95) / percentile(bare, 95):.2f}x bare"
            )
        f = r["first"]
        print(
            f"{n:,} products: first search after the warm-up {f['first']:.1f} ms vs p50 "
            f"{f['next_p50']:.1f} ms of the next 20 ({f['first'] / f['next_p50']:.2f}x, target "
            f"<= 2x; fp32 encoder; load average {f['load']:.1f})"
        )
        print(
            f"{n:,} products: recommendations p50 {percentile(r['recs'], 50):.1f} / p95 "
            f"{percentile(r['recs'], 95):.1f} ms (target p95 < 25; load average "
            f"{r['recs_load'][0]:.1f}-{r['recs_load'][1]:.1f})"
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


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def search_table(results: dict, scales: list[int], encoders: list[str], queries: int) -> str:
    """Served vs bare, per stage, each encoder side by side (p50 and p95)."""
    columns = [(n, label) for n in scales for label in encoders]
    headers = [""] + [f"{n // 1000}k {label} p{q}" for n, label in columns for q in (50, 95)]

    def row(name, getter):
        cells = [name]
        for n, label in columns:
            values = getter(results[n]["passes"][label])
            cells += [percentile(values, 50), percentile(values, 95)]
        return cells

    rows = [
        row("search: server (ms)", lambda r: r["served"]),
        row("  … and its writes (close)", lambda r: r["closed"]),
    ]
    for stage in STAGES:
        rows.append(row(f"  {stage}", lambda r, s=stage: r["stages"].get(s, [])))
    rows.append(row("  outside the pipeline", lambda r: r["stages"].get("outside", [])))
    rows.append(row("search: bare encode+SQL", lambda r: [b["total"] for b in r["bare"]]))
    for stage in ("encode", "lexical", "semantic"):
        rows.append(row(f"  bare {stage}", lambda r, s=stage: [b[s] for b in r["bare"]]))
    rows.append(row("bare, ids only", lambda r: [b["total_ids"] for b in r["bare"]]))
    for stage in ("lexical", "semantic"):
        rows.append(
            row(f"  {stage}, ids only", lambda r, s=stage: [b[f"{s}_ids"] for b in r["bare"]])
        )
    for name, key in (("served / bare", "total"), ("served / bare, ids only", "total_ids")):
        rows.append(
            [
                name,
                *[
                    x
                    for n, label in columns
                    for x in (
                        _ratio(results[n]["passes"][label], 50, key),
                        _ratio(results[n]["passes"][label], 95, key),
                    )
                ],
            ]
        )
    return table(
        headers,
        rows,
        title=f"Search latency in ms, one client, {queries} distinct queries per encoder, caches cold",
    )


def _ratio(run: dict, q: float, key: str = "total") -> float:
    return percentile(run["served"], q) / percentile([b[key] for b in run["bare"]], q)


def other_table(results: dict, scales: list[int], args) -> str:
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

    rows = [
        row("recommendations: server", lambda r: r["recs"]),
        row("  … and its writes (close)", lambda r: r["recs_closed"]),
    ]
    for stage in RECS_STAGES:
        rows.append(row(f"  {stage}", lambda r, s=stage: r["recs_stages"].get(s, [])))
    if args.experiment_queries:
        rows.append(row("search, shoppers, no experiment", lambda r: r["exp_without"]))
        rows.append(row("search, shoppers, experiment running", lambda r: r["exp_with"]))
        rows.append(row("  exposure queueing in the request", lambda r: r["exp_queue"]))
    return table(headers, rows, title="Recommendations (and the experiment phase) in ms")


if __name__ == "__main__":
    main()
