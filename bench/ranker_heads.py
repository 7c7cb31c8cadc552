"""Today's single-head ranker against the two-headed one (click head + ESMM purchase head), on a
demo store's held-out lists: NDCG@10 by purchases with a paired bootstrap interval, and click AUC
per model, side by side.

    .venv/bin/python bench/ranker_heads.py --database aisle_th_demo [--seeds 0,1,2]

``--database`` names a database holding a demo store (``manage.py migrate`` +
``platform_bootstrap`` with ``DATABASE_URL`` pointing at it; set ``DATA_DIR`` as when it was
built so the CF artifacts resolve). The bench only reads it. The training lists are built as
``train_ranker`` builds them (``training.ranking_data.build_dataset``: the search log, else
search sessions rebuilt with today's retrieval; the features serving computes), split by time
70/15/15 as ``train_ranker`` splits them, and both rankers learn from the same train part with
the same hyper-parameters (the job's defaults); the test part is the held-out split every figure
is measured on. ``--cache FILE`` keeps the built lists (JSON) so a rerun skips the retrieval.

Figures per seed (the training seed; the split is fixed):

* **NDCG@10 by purchases**: gain 1 for a purchased item, averaged over the held-out lists with
  a purchase (``--held-out``: the test period, or valid + test — the bench chooses nothing on
  the valid period, so both are unseen; on the demo store the test period alone holds ~50); the two-headed ranker ordered by each serving objective (click, purchase, blend 0.5);
* the **paired bootstrap** of the per-list difference (two heads by purchases − one head), 95%;
* **click AUC** (the click head; the single head's only score) and **purchase AUC** over every
  shown item of the test lists;
* the fusion order (what serving does without a ranker) as the floor.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._serving import setup_django, table


def build_lists(args) -> tuple[list[dict], dict]:
    """``[{list_id, timestamp, rows: [(features, click, engagement)], fusion}]`` and facts."""
    if args.cache and Path(args.cache).exists():
        data = json.loads(Path(args.cache).read_text())
        return data["lists"], data["facts"]
    from recommend import selectors
    from training.ranking_data import build_dataset

    models = selectors.served_models(selectors.default_strategy("search"))
    started = time.monotonic()
    lists, rows, baseline = build_dataset(
        params={
            "max_lists": args.max_lists,
            "list_size": args.list_size,
            "days": None,
            "batch_queries": True,
        },
        retriever=models.retriever,
        cf_version=models.cf,
    )
    out = [
        {
            "list_id": shown.list_id,
            "timestamp": shown.timestamp.isoformat(),
            "source": shown.source,
            "rows": [[dict(r.features), r.click, r.engagement] for r in rows[shown.list_id]],
            "fusion": baseline[shown.list_id],
        }
        for shown in lists
    ]
    facts = {
        "build_seconds": round(time.monotonic() - started, 1),
        "retriever": models.retriever.id if models.retriever else None,
        "cf": models.cf.id if models.cf else None,
    }
    if args.cache:
        Path(args.cache).write_text(json.dumps({"lists": out, "facts": facts}))
    return out, facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, help="a database holding a demo store")
    parser.add_argument("--max-lists", type=int, default=4000)
    parser.add_argument("--list-size", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--model", default="linear", choices=("linear", "mlp"))
    parser.add_argument("--position", default="on", choices=("on", "off"))
    parser.add_argument("--gamma", type=float, default=1.0)
    parser.add_argument(
        "--features",
        default="all",
        choices=("all", "before-intent"),
        help="before-intent: leave out in_stock, rating and price_match (the features before §1)",
    )
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--bootstrap", type=int, default=2000)
    parser.add_argument("--cache", default="")
    parser.add_argument(
        "--held-out",
        default="test",
        choices=("test", "valid+test"),
        help="the lists scored: the test period (as train_ranker), or valid and test together "
        "(neither is learned from here, nor chooses anything: twice the lists, less noise)",
    )
    args = parser.parse_args()
    setup_django(args.database)

    from recommend.serving.features import EXTRA_FEATURES
    from training.ml import metrics
    from training.ml.ranker import FEATURES, POSITION, RankerConfig, RankerRow, train_ranker
    from training.ml.ranker_heads import (
        TwoHeadConfig,
        evaluate_heads,
        list_ndcg,
        purchase_labels,
        purchase_ndcg_per_list,
        train_two_headed,
    )
    from training.ml.splits import split_by_time

    lists, facts = build_lists(args)
    split = split_by_time(
        lists, time_fn=lambda s: datetime.fromisoformat(s["timestamp"]), ratios=(0.7, 0.15, 0.15)
    )

    def rows_of(part) -> list[RankerRow]:
        return [
            RankerRow(list_id=s["list_id"], features=f, click=c, engagement=e)
            for s in part
            for f, c, e in s["rows"]
        ]

    held_out = list(split.test) if args.held_out == "test" else list(split.valid) + list(split.test)
    train, test = rows_of(split.train), rows_of(held_out)
    purchases = purchase_labels([r.engagement for r in train])
    test_purchases = purchase_labels([r.engagement for r in test])
    sources = {}
    for s in lists:
        sources[s["source"]] = sources.get(s["source"], 0) + 1
    print(
        f"database {args.database}: {len(lists)} lists with engagement {sources} "
        f"(built in {facts.get('build_seconds')} s; retriever #{facts.get('retriever')}, "
        f"CF #{facts.get('cf')}); split by time: train {len(split.train)} / valid "
        f"{len(split.valid)} / test {len(split.test)} lists; training rows {len(train)} with "
        f"{int(purchases.sum())} purchases, {int(sum(r.click for r in train))} clicks; test rows "
        f"{len(test)} with {int(test_purchases.sum())} purchases"
    )
    features = FEATURES + EXTRA_FEATURES
    if args.features == "before-intent":
        features = tuple(f for f in features if f not in ("in_stock", "rating", "price_match"))
    if args.position == "off":
        features = tuple(f for f in features if f != POSITION)

    # the floor: fusion's order on the same test lists
    fusion_scores = np.asarray([v for s in held_out for v in s["fusion"]], dtype=np.float32)
    bounds = np.cumsum([0] + [len(s["rows"]) for s in held_out])
    members = [np.arange(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    fusion_ndcg = float(np.mean(list_ndcg(fusion_scores, test_purchases, members)))
    clicks = [r.click > 0 for r in test]
    fusion_auc = metrics.auc(fusion_scores.tolist(), clicks)
    fusion_purchase_auc = metrics.auc(fusion_scores.tolist(), (test_purchases > 0).tolist())

    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        base = RankerConfig(
            model=args.model,
            epochs=args.epochs,
            learning_rate=0.05,
            seed=seed,
            features=features,
        )
        t0 = time.monotonic()
        one = train_ranker(train, base)
        t1 = time.monotonic()
        two = train_two_headed(train, TwoHeadConfig(**vars(base), gamma=args.gamma))
        t2 = time.monotonic()
        single, heads = evaluate_heads(one.scorer, test), evaluate_heads(two.scorer, test)
        mean, low, high = metrics.paired_bootstrap(
            purchase_ndcg_per_list(two.scorer, test),
            purchase_ndcg_per_list(one.scorer, test),
            samples=args.bootstrap,
            seed=seed,
        )
        by = heads["by_objective"]
        if args.features == "all":
            # today's ranker as it was before the heads and the intent features
            before = tuple(f for f in features if f not in ("in_stock", "rating", "price_match"))
            t3 = time.monotonic()
            today = train_ranker(train, replace(base, features=before))
            t4 = time.monotonic()
            old = evaluate_heads(today.scorer, test)
            d, lo, hi = metrics.paired_bootstrap(
                purchase_ndcg_per_list(two.scorer, test),
                purchase_ndcg_per_list(today.scorer, test),
                samples=args.bootstrap,
                seed=seed,
            )
            rows.append(
                [
                    f"today: one head, features before, seed {seed}",
                    old["ndcg@10_purchases"],
                    f"two heads − this: {d:+.4f} [{lo:+.4f}, {hi:+.4f}]",
                    old.get("click_auc"),
                    old.get("purchase_auc"),
                    f"{t4 - t3:.1f}",
                ]
            )
        rows.append(
            [
                f"one head, same features, seed {seed}",
                single["ndcg@10_purchases"],
                "",
                single.get("click_auc"),
                single.get("purchase_auc"),
                f"{t1 - t0:.1f}",
            ]
        )
        rows.append(
            [
                f"two heads by purchase, seed {seed}",
                heads["ndcg@10_purchases"],
                f"{mean:+.4f} [{low:+.4f}, {high:+.4f}]",
                heads.get("click_auc"),
                heads.get("purchase_auc"),
                f"{t2 - t1:.1f}",
            ]
        )
        rows.append([f"  two heads by click, seed {seed}", by["click"], "", "", "", ""])
        rows.append([f"  two heads by blend 0.5, seed {seed}", by["blend"], "", "", "", ""])
    rows.append(["fusion (no ranker)", fusion_ndcg, "", fusion_auc, fusion_purchase_auc, ""])
    print(
        table(
            [
                "model",
                "NDCG@10 by purchases",
                "two − one (95% paired bootstrap)",
                "click AUC",
                "purchase AUC",
                "train s",
            ],
            rows,
            title=f"\n{single['purchase_lists']} held-out lists ({args.held_out}) with a purchase "
            f"({args.model}, position {args.position}, {args.epochs} epochs, γ {args.gamma}, "
            f"features: {args.features})",
        )
    )


if __name__ == "__main__":
    main()
