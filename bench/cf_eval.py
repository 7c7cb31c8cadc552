"""CF candidates on a synthetic log the size of a public check-in log, next to popularity.

    .venv/bin/python bench/cf_eval.py [--users 30000] [--items 41000] [--per-user 27]
                                      [--split per_user_time|per_user_random] [--search grid|fixed]
                                      [--eval-users 5000] [--seed 0]
    .venv/bin/python bench/cf_eval.py --ease-ceiling 2000 5000 10000

The first form generates a log with taste clusters and a long tail of popularity in which each
shopper's history is one block of time (shoppers arrive one after another), splits it per
shopper, runs ``training.ml.cf.select`` (what ``train_cf`` runs, without the database), scores
the chosen model and popularity on the test part, refits the chosen one on everything, and
prints each candidate's time and validation figures, the test figures, the wall time and the
peak memory. The budget of issue 14 is 10 minutes and 8 GB for 810k interactions on 2 cores.

``--ease-ceiling`` fits EASE (one λ) on logs of the given item counts, each in a fresh process,
and prints time and peak memory: what ``ease_max_items`` is set from.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from training.ml import cf
from training.ml.splits import split_per_user


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def synthetic_rows(users: int, items: int, per_user: int, seed: int) -> list[tuple]:
    """``(user, item, 1.0, t)`` rows: 300 taste clusters, Zipf popularity inside each; a user
    draws 75% of their items from one or two favourite clusters and the rest from the whole
    catalogue by popularity; user ``u``'s times are ``u * 1000 + position``."""
    rng = np.random.default_rng(seed)
    clusters = 300
    item_cluster = rng.integers(0, clusters, items)
    popularity = 1.0 / np.arange(1, items + 1) ** 0.8
    rng.shuffle(popularity)
    members = [np.flatnonzero(item_cluster == c) for c in range(clusters)]
    weights = [popularity[m] / popularity[m].sum() for m in members]
    global_p = popularity / popularity.sum()
    rows = []
    lengths = np.clip(rng.geometric(1 / per_user, users), 3, 20 * per_user)
    for u in range(users):
        n = int(lengths[u])
        favourites = rng.choice(clusters, 2, replace=False)
        own = int(n * 0.75)
        picks = [
            rng.choice(
                members[c], size=min(own // 2 + 1, len(members[c])), replace=False, p=weights[c]
            )
            for c in favourites
        ]
        picked = np.unique(np.concatenate([*picks, rng.choice(items, n - own, p=global_p)]))
        rng.shuffle(picked)
        rows += [(u, int(i), 1.0, u * 1000 + t) for t, i in enumerate(picked[:n])]
    return rows


def ease_ceiling(counts: list[int]) -> None:
    if len(counts) > 1:
        for n in counts:  # one process each, so each peak is its own
            subprocess.run([sys.executable, __file__, "--ease-ceiling", str(n)], check=True)
        return
    n_items = counts[0]
    rows = synthetic_rows(users=30_000, items=n_items, per_user=27, seed=1)
    inter = cf.build_interactions(rows)
    before = peak_gb()
    started = time.perf_counter()
    model = cf.EASE.fit(inter, lam=200.0)
    seconds = time.perf_counter() - started
    print(
        f"EASE items {inter.n_items:>6}: fit {seconds:7.1f} s, peak memory {peak_gb():5.2f} GB "
        f"(before the fit {before:4.2f} GB), served neighbour lists "
        f"{model.similarity.data.nbytes * 2 / 1e6:.0f} MB",
        flush=True,
    )


def log_arguments(description: str) -> argparse.ArgumentParser:
    """A parser with the synthetic log's size (issue 14's check-in log by default), split and seed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--users", type=int, default=30_000)
    parser.add_argument("--items", type=int, default=41_000)
    parser.add_argument("--per-user", type=int, default=27)
    parser.add_argument("--split", default="per_user_time")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def main() -> None:
    parser = log_arguments(__doc__.split("\n")[0])
    parser.add_argument("--search", default="grid", choices=("grid", "fixed"))
    parser.add_argument("--models", default="item_item,ease,implicit_mf,bpr")
    parser.add_argument("--eval-users", type=int, default=5000)
    parser.add_argument("--ease-max-items", type=int, default=8_000)
    parser.add_argument("--ease-ceiling", type=int, nargs="+")
    args = parser.parse_args()
    if args.ease_ceiling:
        ease_ceiling(args.ease_ceiling)
        return

    wall = time.perf_counter()
    rows = synthetic_rows(args.users, args.items, args.per_user, args.seed)
    split = split_per_user(
        rows, lambda r: r[0], lambda r: r[1], lambda r: r[3], method=args.split, seed=args.seed
    )
    train, valid, test = (
        cf.build_interactions(part) for part in (split.train, split.valid, split.test)
    )
    print(
        f"{len(rows)} interactions, {train.n_users} shoppers, {train.n_items} items; "
        f"{args.split}: {split.summary()['counts']} ({time.perf_counter() - wall:.1f} s)",
        flush=True,
    )
    space = cf.search_space(
        grid=args.search == "grid",
        families=args.models.split(","),
        ease_max_items=args.ease_max_items,
        seed=args.seed,
    )
    for family, why in cf.skipped_families(space, train).items():
        print(f"skipped {family}: {why}")

    def show(c: cf.Candidate) -> None:
        print(
            f"  {c.name:<78} {c.seconds:7.1f} s  valid recall@20 {c.valid['recall@20']:.4f} "
            f"ndcg@20 {c.valid['ndcg@20']:.4f}  (peak {peak_gb():.2f} GB)",
            flush=True,
        )

    started = time.perf_counter()
    candidates, best, model = cf.select(
        space, train, valid, k=20, ks=(10,), max_users=args.eval_users, on_candidate=show
    )
    selection_s = time.perf_counter() - started
    popularity = cf.PopularityModel.fit(train)
    pop_valid = cf.evaluate_cf(
        popularity, train, valid, ks=(10,), max_users=args.eval_users, seed=args.seed
    )
    print(
        f"  {'popularity':<78} {'':9}  valid recall@20 {pop_valid['recall@20']:.4f} ndcg@20 {pop_valid['ndcg@20']:.4f}"
    )
    started = time.perf_counter()
    chosen = cf.evaluate_cf(model, train, test, ks=(10,), exclude=valid)
    baseline = cf.evaluate_cf(popularity, train, test, ks=(10,), exclude=valid)
    test_s = time.perf_counter() - started
    started = time.perf_counter()
    everything = cf.build_interactions([*split.train, *split.valid, *split.test])
    served = cf.refit(best, everything)
    refit_s = time.perf_counter() - started
    sane, reason = cf.sanity(chosen, baseline, k=20, min_users=100)
    print(
        f"chosen {best.name}; selection {selection_s:.0f} s, test {test_s:.0f} s, refit {refit_s:.0f} s"
    )
    for name, figures in (("chosen", chosen), ("popularity", baseline)):
        print(
            f"test {name:<11} recall@20 {figures['recall@20']:.4f} ndcg@20 {figures['ndcg@20']:.4f} "
            f"recall@10 {figures['recall@10']:.4f} ndcg@10 {figures['ndcg@10']:.4f} "
            f"coverage {figures['coverage']:.3f} novelty {figures['novelty']:.2f} bits "
            f"on {figures['users']:.0f} shoppers"
        )
    print(f"sane: {sane} ({reason})")
    print(
        f"served artifact arrays: {sum(a.nbytes for a in served._arrays().values()) / 1e6:.0f} MB "
        f"+ interactions {served.user_items.data.nbytes * 2 / 1e6:.0f} MB; "
        f"wall {time.perf_counter() - wall:.0f} s, peak memory {peak_gb():.2f} GB"
    )


if __name__ == "__main__":
    main()
