"""``data_value`` for ``task=retriever``: the retriever's training pairs (mined per event type,
operator labels, synthetic queries) and the product fields it reads, each left out in turn,
and nested samples; every fine-tune scored on the same held-out queries over a fixed re-rank
pool (``training.ml.retriever_value``). Called by ``training.runners.data_value.run``."""

from __future__ import annotations

import random
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from training.context import JobContext
from training.models import ModelVersion

#: fewest held-out queries (and training pairs) worth an interval
MIN_UNITS = 10
#: the event types whose mined pairs are separate sources
PAIR_EVENT_KINDS = ("click", "add_to_cart", "purchase")


def product_fields(product_ids) -> dict[int, Any]:
    """``{product id: ProductFields}`` of the given products (active or not)."""
    from catalog.models import Product
    from training.ml.retriever_value import ProductFields
    from training.vectors import category_labels

    categories = category_labels()
    rows = Product.objects.filter(pk__in=list(set(product_ids))).values_list(
        "pk", "title", "brand__name", "category_id", "description"
    )
    return {
        pk: ProductFields(
            title=title or "",
            brand=brand or "",
            category=categories.get(category_id, "") if category_id else "",
            description=description or "",
        )
        for pk, title, brand, category_id, description in rows.iterator(chunk_size=5000)
    }


def _frozen_split(version: ModelVersion | None, ctx: JobContext):
    """The version's stored query split when it has one (same held-out queries as its own
    evaluation), else None (the job splits by query with its seed)."""
    from training import snapshots

    record = snapshots.frozen_record(version) if version is not None else None
    if not record or record.get("unit") != "query":
        return None
    frozen = snapshots.snapshot_load(version)
    ctx.log(f"held-out queries from version #{version.pk}'s stored snapshot ({record['counts']})")
    return frozen


def training_pairs(ctx: JobContext, p: dict, data, held_out: set[str]) -> tuple[list, dict]:
    """Every training pair with the kinds it came from, and the count per kind."""
    from training import datasets
    from training.ml.pairs import mine_query_pairs
    from training.ml.retriever_value import ValuePair

    train_queries = data.split.keys["train"] | data.split.keys["valid"]
    kinds: dict[tuple[str, int], set[str]] = {}
    for kind in PAIR_EVENT_KINDS:
        for pair in mine_query_pairs(data.rows, weights={kind: 1.0}):
            if pair.query in train_queries:
                kinds.setdefault((pair.query, pair.product_id), set()).add(kind)
    if p["labels_csv"]:
        labelled = datasets.judged_csv(p["labels_csv"])
        for query, grades in labelled.items():
            if query in held_out:
                continue
            for pid, grade in grades.items():
                if grade > 0:
                    kinds.setdefault((query, pid), set()).add("label")
    if p["synthetic_products"]:
        from training.synthetic_data import synthetic_data

        synthetic = synthetic_data(
            seed=p["seed"], max_products=p["synthetic_products"], device="cpu", log=ctx.log
        )
        for pair in synthetic.split.train + synthetic.split.valid + synthetic.split.test:
            if pair.query not in held_out:
                kinds.setdefault((pair.query, pair.product_id), set()).add("synthetic")
    pairs = [
        ValuePair(query=q, product_id=pid, kinds=frozenset(k))
        for (q, pid), k in sorted(kinds.items(), key=lambda item: (item[0][0], item[0][1]))
    ]
    counts = {
        kind: sum(1 for pair in pairs if kind in pair.kinds)
        for kind in (*PAIR_EVENT_KINDS, "label", "synthetic")
    }
    return pairs, counts


def retriever_figures(ctx: JobContext, version: ModelVersion | None) -> dict[str, Any]:
    """The retriever's pairs and fields, split once, ablated and curved on a fixed pool."""
    from training import datasets, evaluation, selectors
    from training.ml.data_value_sources import sources_for
    from training.ml.device import pick_device
    from training.ml.retriever import RetrieverTrainConfig
    from training.ml.retriever_value import (
        METRIC,
        HeldOut,
        re_rank_pool,
        retriever_data_value,
    )
    from training.runners.embed import load_version_encoder

    p = ctx.params
    if version is None or not selectors.embedding_count(version):
        raise ValidationError(
            "The retriever's data value re-ranks a pool drawn from a version's stored vectors: "
            "embed the catalogue first (embed_catalog), or name a version that has vectors."
        )
    device = pick_device("cpu")
    ctx.set_device(device)
    with ctx.stage("mine pairs", 0.0, 0.05):
        frozen = _frozen_split(version, ctx)
        data = datasets.retriever_data(seed=p["seed"], frozen=frozen, keep_rows=True)
        judgments = {q: g for q, g in data.judgments("test").items() if any(g.values())}
        queries = sorted(judgments)
        if p["max_queries"] and len(queries) > p["max_queries"]:
            queries = sorted(random.Random(p["seed"]).sample(queries, p["max_queries"]))
        judgments = {q: judgments[q] for q in queries}
        train, counts = training_pairs(ctx, p, data, set(data.split.keys["test"]))
    ctx.log(
        f"{len(train)} training pairs ({', '.join(f'{k} {n}' for k, n in counts.items())}); "
        f"{len(queries)} held-out queries"
    )
    if len(queries) < MIN_UNITS or len(train) < MIN_UNITS:
        raise ValidationError(
            f"Only {len(train)} training pairs and {len(queries)} held-out queries: too few to "
            "value the data (serve searches, or import search events, first)."
        )
    with ctx.stage("re-rank pools", 0.05, 0.1):
        base_model = load_version_encoder(version, device.device)
        base_model.max_seq_length = p["max_seq_len"]
        ranked = evaluation.rank_queries(base_model, version, queries, depth=p["pool_depth"])
        wanted = {pair.product_id for pair in train} | {
            pid for pids in ranked.values() for pid in pids
        }
        wanted |= {pid for grades in judgments.values() for pid in grades}
        fields = product_fields(wanted)
        known = set(fields)
        pools = {q: re_rank_pool(judgments[q], ranked.get(q, []), known) for q in queries}
        held_out = HeldOut(judgments=judgments, pools=pools)
    pool_products = len(held_out.products())
    ctx.log(f"re-rank pools: {pool_products} products encoded per run (of the catalogue)")
    hyper = version.hyperparameters or {}
    mode = hyper.get("mode") if version.artifact_dir else None
    config = RetrieverTrainConfig(
        base=version.base or settings.DEFAULT_ENCODER,
        init_artifact_dir=(
            str(settings.ARTIFACTS_DIR / version.artifact_dir) if version.artifact_dir else None
        ),
        mode=mode if mode in ("full", "lora") else "lora",
        batch_size=p["batch_size"],
        lr=p["learning_rate"],
        max_seq_len=p["max_seq_len"],
        seed=p["seed"],
        device=device.device,
    )
    sources = sources_for("retriever")
    if p["sources"]:
        names = {name.strip() for name in p["sources"].split(",") if name.strip()}
        unknown = names - {s.name for s in sources}
        if unknown:
            raise ValidationError(
                f"Unknown retriever source(s) {', '.join(sorted(unknown))}: one of "
                f"{', '.join(s.name for s in sources)}."
            )
        sources = [s for s in sources if s.name in names]

    def progress(done: int, total: int, label: str) -> None:
        ctx.message(f"fine-tune {min(done + 1, total)}/{total}: {label}")
        ctx.progress(done / max(total, 1), done, total, None, {})

    with ctx.stage("fine-tune", 0.1, 1.0):
        figures = retriever_data_value(
            train,
            held_out,
            fields,
            sources,
            config,
            max_steps=p["max_steps"],
            curve=p["curve"],
            bootstrap=p["bootstrap"],
            seed=p["seed"],
            base_model=base_model,
            progress=progress,
            should_cancel=ctx.should_cancel,
        )
    steps = figures.pop("steps")
    cap = figures.pop("cap")
    base_metric = figures.pop("base_metric")
    curve_pairs = figures.pop("curve_pairs")
    notes = [
        f"Each run fine-tunes the {config.mode} retriever from version #{version.pk} "
        f"({config.base}) for at most {p['max_steps']} steps of {p['batch_size']} pairs (one "
        f"pass over a seeded sample of at most {cap} pairs; {min(steps, default=0)} to "
        f"{max(steps, default=0)} steps taken), {p['max_seq_len']} tokens per text.",
        f"No run re-embeds the catalogue: each held-out query re-ranks a fixed pool (its judged "
        f"products plus the top {p['pool_depth']} candidates of version #{version.pk}'s stored "
        f"vectors), {pool_products} products encoded per run.",
        "A product field left out is left out of the texts of training and of the pool alike; "
        "held-out queries keep every judged product (gain: mean engagement weight).",
    ]
    if base_metric is not None:
        notes.append(
            f"Without any fine-tune, version #{version.pk} re-ranks the same pools to "
            f"{METRIC} {base_metric:.3f}."
        )
    if len(train) > cap:
        notes.append(
            f"The training pairs ({len(train)}) exceed a run's cap ({cap}): an ablation measures "
            "what a run's budget of pairs is worth without the source (which pairs it samples), "
            f"and the learning curve grows from 10 % to 100 % of the full run's sample "
            f"({curve_pairs} pairs), so doubling projects a doubled step budget (max_steps)."
        )
    return {
        **figures,
        "metric": METRIC,
        "unit": "queries",
        "split": {
            "method": (
                f"version #{version.pk}'s stored snapshot (by query)"
                if frozen is not None
                else "seeded hash of the query (70/15/15; train + valid learn, test scores)"
            ),
            "seed": p["seed"],
            "train": len(train),
            "held_out": figures["units"],
            "pairs": counts,
            "pool_products": pool_products,
            "base_metric": base_metric,
        },
        "notes": notes,
    }
