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

The default ``--max-lists`` rebuilds every search of the default demo store (~26,000 search
events, ~8,000 lists with an engagement), so the test period holds several hundred lists with a
purchase; with 4,000 (the previous default) it held ~50 and no difference under ±0.05 could be
told from noise.

Figures per seed (the training seed; the split is fixed), all on the held-out lists:

* **NDCG@10 by purchases**: gain 1 for a purchased item, averaged over the held-out lists with
  a purchase (``--held-out``: the test period, or valid + test);
* the **paired bootstrap** (95%) of the per-list difference from today's ranker (one head,
  trained on the features it had before the heads: no stock, rating or price match);
* **click AUC** (a two-headed ranker's click head; a single head's only score) and **purchase
  AUC** (the row's serving score) over every shown item;
* the two-headed ranker ordered by purchases (``pCTR · pCVR``, the strategy default), by clicks
  (its click head alone), and by the blend ``pCTR · pCVR^w`` whose ``w`` the **valid** period
  chose (never the test lists; fixed at 0.5 with ``--held-out valid+test``);
* a bound, not a model: today's order with the out-of-stock items moved last — what the one
  signal of the demo's purchases that clicks lack (shoppers click out-of-stock products but
  cannot buy them) can add at most;
* the fusion order (what serving does without a ranker) as the floor.

``--purchase-weight`` weighs a purchased row in the purchase BCE, ``--conversion clicked`` fits
the conversion head on clicked items only (``TwoHeadConfig``) instead of ESMM over every item.
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
    parser.add_argument(
        "--max-lists",
        type=int,
        default=30000,
        help="searches rebuilt at most (the default demo store logs ~26,000: all of them)",
    )
    parser.add_argument("--list-size", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--model", default="linear", choices=("linear", "mlp"))
    parser.add_argument("--position", default="off", choices=("on", "off"))
    parser.add_argument("--gamma", type=float, default=1.0)
    parser.add_argument("--purchase-weight", type=float, default=1.0)
    parser.add_argument("--conversion", default="esmm", choices=("esmm", "clicked"))
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
        "(then the blend is not chosen on the valid period but fixed at 0.5)",
    )
    args = parser.parse_args()
    started = time.monotonic()
    setup_django(args.database)

    from recommend.serving.features import EXTRA_FEATURES
    from training.ml import metrics
    from training.ml.ranker import FEATURES, POSITION, RankerConfig, RankerRow, train_ranker
    from training.ml.ranker_heads import (
        BLEND_GRID,
        TwoHeadConfig,
        choose_blend,
        evaluate_heads,
        list_ndcg,
        purchase_labels,
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
    valid = rows_of(split.valid) if args.held_out == "test" else []
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
        f"{int(purchases.sum())} purchases, {int(sum(r.click for r in train))} clicks; held-out "
        f"rows {len(test)} with {int(test_purchases.sum())} purchases"
    )
    features = FEATURES + EXTRA_FEATURES
    if args.features == "before-intent":
        features = tuple(f for f in features if f not in ("in_stock", "rating", "price_match"))
    if args.position == "off":
        features = tuple(f for f in features if f != POSITION)
    before = tuple(f for f in features if f not in ("in_stock", "rating", "price_match"))

    def log_scores(scorer, rows, weight: float | None = None) -> np.ndarray:
        """The serving score of ``rows``; for a two-headed scorer ``log pCTR + w·log pCVR``."""
        x = np.asarray([[r.features.get(f, 0.0) for f in scorer.features] for r in rows])
        if weight is None:
            return scorer.score(x, fix_position=True)
        return scorer.log_score(x, True, "blend", weight)

    def members_of(rows) -> list[np.ndarray]:
        bounds, last = [], None
        for i, r in enumerate(rows):
            if r.list_id != last:
                bounds.append(i)
                last = r.list_id
        bounds.append(len(rows))
        return [np.arange(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

    test_members = members_of(test)

    def per_list(scores: np.ndarray) -> list[float]:
        return list_ndcg(scores, test_purchases, test_members)

    def versus(scores: np.ndarray, reference: np.ndarray, seed: int) -> str:
        d, lo, hi = metrics.paired_bootstrap(
            per_list(scores), per_list(reference), samples=args.bootstrap, seed=seed
        )
        return f"{d:+.4f} [{lo:+.4f}, {hi:+.4f}]"

    def aucs(scores: np.ndarray) -> tuple[float, float]:
        clicks = [r.click > 0 for r in test]
        return (
            metrics.auc(scores.tolist(), clicks),
            metrics.auc(scores.tolist(), (test_purchases > 0).tolist()),
        )

    # the floor: fusion's order on the same held-out lists
    fusion_scores = np.asarray([v for s in held_out for v in s["fusion"]], dtype=np.float32)
    rows = []
    stock = np.asarray([r.features.get("in_stock", 1.0) for r in test])
    for seed in [int(s) for s in args.seeds.split(",")]:
        base = RankerConfig(
            model=args.model,
            epochs=args.epochs,
            learning_rate=0.05,
            seed=seed,
            features=features,
        )
        t0 = time.monotonic()
        today = train_ranker(train, replace(base, features=before))
        t1 = time.monotonic()
        one = train_ranker(train, base)
        t2 = time.monotonic()
        two = train_two_headed(
            train,
            TwoHeadConfig(
                **vars(base),
                gamma=args.gamma,
                purchase_weight=args.purchase_weight,
                conversion=args.conversion,
            ),
        )
        t3 = time.monotonic()
        today_scores = log_scores(today.scorer, test)
        # how much the stock signal alone can add: today's order with out-of-stock items last
        oracle = today_scores - 1e3 * (stock == 0)
        one_scores = log_scores(one.scorer, test)
        by = {w: log_scores(two.scorer, test, w) for w in BLEND_GRID}
        # the valid period chooses the blend (``choose_blend``, as the train_ranker job does)
        chosen = choose_blend(two.scorer, valid)[0] if valid else None
        chosen = 0.5 if chosen is None else chosen
        heads = evaluate_heads(two.scorer, test)
        rows += [
            [
                f"today: one head, features before, seed {seed}",
                np.mean(per_list(today_scores)),
                "",
                *aucs(today_scores),
                f"{t1 - t0:.1f}",
            ],
            [
                f"one head, same features, seed {seed}",
                np.mean(per_list(one_scores)),
                versus(one_scores, today_scores, seed),
                *aucs(one_scores),
                f"{t2 - t1:.1f}",
            ],
            [
                f"two heads by purchase (w 1), seed {seed}",
                np.mean(per_list(by[1.0])),
                versus(by[1.0], today_scores, seed),
                heads.get("click_auc"),
                heads.get("purchase_auc"),
                f"{t3 - t2:.1f}",
            ],
            [
                f"  two heads by click (w 0), seed {seed}",
                np.mean(per_list(by[0.0])),
                versus(by[0.0], today_scores, seed),
                *aucs(by[0.0]),
                "",
            ],
            [
                f"  two heads, w {chosen} chosen on valid, seed {seed}",
                np.mean(per_list(by[chosen])),
                versus(by[chosen], today_scores, seed),
                heads.get("click_auc"),
                aucs(by[chosen])[1],
                "",
            ],
            [
                f"  bound: today, out-of-stock last, seed {seed}",
                np.mean(per_list(oracle)),
                versus(oracle, today_scores, seed),
                *aucs(oracle),
                "",
            ],
        ]
    rows.append(
        ["fusion (no ranker)", np.mean(per_list(fusion_scores)), "", *aucs(fusion_scores), ""]
    )
    print(
        table(
            [
                "model",
                "NDCG@10 by purchases",
                "− today (95% paired bootstrap)",
                "click AUC",
                "purchase AUC",
                "train s",
            ],
            rows,
            title=f"\n{len(per_list(fusion_scores))} held-out lists ({args.held_out}) with a "
            f"purchase of {len(held_out)} ({args.model}, position {args.position}, "
            f"{args.epochs} epochs, γ {args.gamma}, purchase weight {args.purchase_weight}, "
            f"conversion {args.conversion}, features: {args.features}); "
            f"{time.monotonic() - started:.0f} s in all",
        )
    )


if __name__ == "__main__":
    main()
