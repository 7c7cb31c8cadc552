"""The training examples of ``finetune_retriever``: pairs mined from the logs, synthetic pairs
written from the catalogue (``pairs=synthetic``), or both (``pairs=mixed``)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from training import datasets
from training.context import JobContext
from training.models import ModelVersion


@dataclass
class RetrieverExamples:
    """What the runner trains on and evaluates with."""

    examples: list[tuple[str, ...]]
    snapshot: dict[str, Any]
    #: held-out judgments: the mined test queries, else the synthetic test queries
    test_judgments: dict[str, dict[int, float]]
    test_label: str
    #: the mined pairs' data (split, source rows) when the logs were mined: what the runner freezes
    mined: Any = None


def retriever_examples(
    ctx: JobContext, p: dict[str, Any], *, parent: ModelVersion | None, device
) -> RetrieverExamples:
    """Build the examples the ``pairs`` parameter asks for; logs the counts by pair kind."""
    from training.ml.synthetic_queries import training_examples
    from training.synthetic_data import retriever_negatives, synthetic_data

    mode = p.get("pairs") or "mined"
    examples: list[tuple[str, ...]] = []
    kinds: dict[str, int] = {}
    snapshot: dict[str, Any] = {}
    test_judgments: dict[str, dict[int, float]] = {}
    test_label = ""
    data = None
    if mode in ("mined", "mixed"):
        data = datasets.retriever_data(seed=p["seed"], days=p["days"])
        train_pairs = list(data.split.train)
        if p["max_pairs"]:
            train_pairs = train_pairs[: p["max_pairs"]]  # mine_query_pairs sorts heaviest first
        texts = datasets.product_texts_by_id(
            pair.product_id for pair in data.split.train + data.split.test
        )
        negatives = datasets.shown_not_engaged(days=p["days"]) if p["hard_negatives"] else None
        if negatives is not None:
            texts.update(
                datasets.product_texts_by_id(pid for ids in negatives.values() for pid in ids)
            )
        mined = datasets.training_triples(train_pairs, negatives=negatives, texts=texts)
        examples += mined
        kinds["mined"] = len(mined)
        snapshot = dict(data.snapshot)
        counts = data.snapshot["split"]["counts"]
        ctx.log(
            f"{data.snapshot['pairs']} pairs from {data.snapshot['events']} events; split by query "
            f"(seed {p['seed']}): train {counts['train']}, valid {counts['valid']}, test {counts['test']}"
        )
        test_judgments, test_label = data.judgments("test"), "mined test queries"
    if mode in ("synthetic", "mixed"):
        synthetic = synthetic_data(
            seed=p["seed"],
            per_rule=p.get("synthetic_per_rule") or 1,
            max_products=p.get("synthetic_products") or None,
            device=device.device if device is not None else None,
            log=ctx.log,
        )
        train = list(synthetic.split.train)
        if p["max_pairs"] and mode == "synthetic" and len(train) > p["max_pairs"]:
            # a seeded sample across the catalogue (the pairs come product by product)
            train = random.Random(p["seed"]).sample(train, p["max_pairs"])
        texts = datasets.product_texts_by_id(pair.product_id for pair in train)
        negatives = {}
        if p["hard_negatives"] and parent is not None:
            from training.runners.embed import load_version_encoder

            negatives = retriever_negatives(
                train, version=parent, model=load_version_encoder(parent, device), texts=texts
            )
        made = training_examples(train, texts, negatives)
        examples += made
        kinds["synthetic"] = len(made)
        ctx.log(
            f"{synthetic.snapshot['pairs']} synthetic pairs from {synthetic.snapshot['products']} "
            f"products ({', '.join(f'{r} {n}' for r, n in synthetic.snapshot['rules'].items())}); "
            f"{len(made)} in training, {len(negatives)} with a hard negative from the current retriever"
        )
        if mode == "synthetic":
            snapshot = dict(synthetic.snapshot)
            test_judgments = synthetic.judgments("test")
            test_label = "synthetic test queries (the rules' own phrasing: a sanity figure)"
        else:
            snapshot["synthetic"] = synthetic.snapshot
    snapshot["pair_kinds"] = kinds
    if len(examples) < p["min_pairs"]:
        hint = (
            "Import products (pairs=synthetic writes them from the catalogue)."
            if mode != "mined"
            else "Import events or run the demo store, or train on synthetic queries (pairs=synthetic)."
        )
        raise ValidationError(
            f"Only {len(examples)} training pairs were found; at least {p['min_pairs']} are "
            f"needed (param min_pairs). {hint}"
        )
    return RetrieverExamples(
        examples=examples,
        snapshot=snapshot,
        test_judgments=test_judgments,
        test_label=test_label,
        mined=data,
    )
