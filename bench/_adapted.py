"""The synthetic-query adaptation rows of ``bench/relevance.py`` (``--store-seed``).

A demo store generated with a given seed (catalogue only: no shoppers, no events, so no logs
to mine) is written into the bench database with its categories, brands and attributes; its
judged queries are those of the held-out grammar (``catalog.demo.judged_heldout``), which
share no frame with the demo's query frames nor with the synthesis rules. The base encoder
is measured first; then the real ``finetune_retriever`` job (``pairs=synthetic``: queries
written from the catalogue, hard negatives from the base retriever) fine-tunes it and embeds
the catalogue, and every row is measured again with the adapted version serving the semantic
side. The difference of the hybrid rows, query by query, gets a paired bootstrap interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

#: (adapted row, base row) pairs whose per-query difference gets a bootstrap interval
PAIRED = (
    ("hybrid (default)", "hybrid (default)"),
    ("semantic only", "semantic only"),
)


def store_rows(seed: int, products: int):
    """(held-out-grammar judged rows, {external id: pk} of the active products in the
    database) of the demo store ``seed``, generated again (its catalogue is already written)."""
    from catalog.demo import generate_store
    from catalog.models import Product

    store = generate_store(products=products, shoppers=0, days=1, seed=seed)
    ids = dict(Product.objects.filter(active=True).values_list("external_id", "pk"))
    return store.extras["judged_heldout"]["relevance"], ids


def load_store(seed: int, products: int, log: Callable[[str], None]):
    """Write the catalogue of the demo store ``seed`` into the (emptied) bench database;
    returns what :func:`store_rows` returns."""
    from catalog.demo import generate_store
    from catalog.services.demo import _demo_store_write, catalog_truncate

    started = time.perf_counter()
    store = generate_store(products=products, shoppers=0, days=1, seed=seed)
    catalog_truncate()
    _demo_store_write(store)
    log(
        f"store seed {seed}: {len(store.products)} products written in "
        f"{time.perf_counter() - started:.0f} s"
    )
    return store_rows(seed, products)


def adapt(
    version, *, seed: int, max_pairs: int, epochs: int, batch_size: int, log: Callable[[str], None]
):
    """The ``finetune_retriever`` job with synthetic pairs from ``version``; the new version."""
    from training import services

    params = {
        "pairs": "synthetic",
        "base_version": version.pk,
        "mode": "full",
        "epochs": epochs,
        "batch_size": batch_size,
        "hard_negatives": True,
        "max_pairs": max_pairs,
        "min_pairs": 10,
        "seed": seed,
        "device": "cpu",
        "name": f"synthetic-query fine-tune (bench, seed {seed})",
    }
    started = time.perf_counter()
    job = services.job_run(job_id=services.job_launch(kind="finetune_retriever", params=params).pk)
    if job.status != "succeeded":
        raise SystemExit(f"finetune_retriever {job.status}: {job.error}")
    for line in (job.log or "").splitlines():
        log(f"job: {line}")
    log(f"fine-tune job: {time.perf_counter() - started:.0f} s")
    return job.result_version


def paired_intervals(base: dict, adapted: dict) -> dict[str, tuple[float, float, float]]:
    """``{row: (mean difference, low, high)}`` of adapted minus base NDCG@10 per query."""
    from training.ml.metrics import paired_bootstrap

    out = {}
    for adapted_row, base_row in PAIRED:
        a = adapted["per_query"].get(adapted_row, {})
        b = base["per_query"].get(base_row, {})
        queries = sorted(set(a) & set(b))
        if queries:
            out[adapted_row] = paired_bootstrap(
                np.array([a[q] for q in queries]), np.array([b[q] for q in queries])
            )
    return out
