"""Offline evaluation of CF models the way the recommender literature does it: each held-out
shopper gets a full ranking over the model's catalogue with their already-seen items left out,
scored by Recall@K and NDCG@K (binary gains), catalogue coverage and novelty; and a sanity verdict
that says whether the figures can be trusted."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from training.ml import metrics
from training.ml.cf.data import Interactions
from training.ml.cf.models import CFModel


def _eligible(
    model: CFModel, train: Interactions, test: Interactions, exclude: Interactions | None
) -> list[tuple[Hashable, int, set[Hashable]]]:
    found = []
    for user_id in test.user_ids:
        row = model.user_index.get(user_id)
        if row is None:
            continue
        relevant = test.items_of(user_id) - train.items_of(user_id)
        if exclude is not None:
            relevant -= exclude.items_of(user_id)
        if relevant:
            found.append((user_id, row, relevant))
    return found


def evaluate_cf(
    model: CFModel,
    train: Interactions,
    test: Interactions,
    k: int = 20,
    *,
    ks: Sequence[int] = (),
    exclude: Interactions | None = None,
    max_users: int | None = None,
    seed: int = 0,
    batch_size: int = 256,
    per_user: dict[Hashable, float] | None = None,
) -> dict[str, float]:
    """Recall@k, NDCG@k (for ``k`` and each of ``ks``), coverage, novelty and the number of users.

    Evaluates each test user known to the model; the relevant items are their test items
    minus their training items and minus their ``exclude`` items (e.g. the validation period
    when scoring the test period), and none of those is ranked. Items new in the test period
    stay relevant, so a model is not flattered by leaving them out. Coverage is the share of the
    model's items that appear in any user's top ``k``. Novelty is the mean self-information
    of the recommended items, ``-log2 p(i)`` in bits, where ``p(i)`` is the share of the model's
    users who interacted with ``i`` in its training data (add-one smoothed): a model that only
    recommends what everybody already has scores near 0, and every halving of an item's
    popularity adds one bit. ``max_users`` evaluates a seeded sample of the eligible users
    (``users`` then counts the sample). ``per_user``: a dict that receives each evaluated
    user's NDCG@k (the data_value job's paired bootstrap over shoppers).
    """
    cutoffs = sorted({k, *ks})
    eligible = _eligible(model, train, test, exclude)
    if max_users is not None and len(eligible) > max_users:
        picked = np.random.default_rng(seed).choice(len(eligible), max_users, replace=False)
        eligible = [eligible[i] for i in sorted(picked)]
    n_items = model.n_items
    depth = min(cutoffs[-1], n_items)
    hits = np.zeros((len(eligible), cutoffs[-1]), dtype=bool)
    n_relevant = np.array([len(relevant) for _, _, relevant in eligible], dtype=np.int64)
    recommended = np.zeros(n_items, dtype=bool)
    information = self_information(model)
    novelty_sum, novelty_count = 0.0, 0
    for start in range(0, len(eligible) if depth > 0 else 0, batch_size):
        batch = eligible[start : start + batch_size]
        rows = np.array([row for _, row, _ in batch], dtype=np.int64)
        scores = np.array(model.batch_scores(rows), dtype=np.float32)
        if model.positive_scores_only:
            scores[scores <= 0] = -np.inf
        relevant = np.zeros_like(scores, dtype=bool)
        for b, (user_id, row, items) in enumerate(batch):
            seen = set(
                model.user_items.indices[
                    model.user_items.indptr[row] : model.user_items.indptr[row + 1]
                ]
            )
            for source in (train, exclude):
                if source is not None:
                    seen.update(
                        model.item_index[i]
                        for i in source.items_of(user_id)
                        if i in model.item_index
                    )
            if seen:
                scores[b, list(seen)] = -np.inf
            columns = [model.item_index[i] for i in items if i in model.item_index]
            relevant[b, columns] = True
        top = np.argpartition(-scores, depth - 1, axis=1)[:, :depth]
        values = np.take_along_axis(scores, top, axis=1)
        order = np.lexsort((top, -values), axis=-1)  # best first, ties by lower index
        top = np.take_along_axis(top, order, axis=1)
        found = np.isfinite(np.take_along_axis(values, order, axis=1))
        hits[start : start + len(batch), :depth] = np.take_along_axis(relevant, top, axis=1) & found
        shown = top[:, :k][found[:, :k]]
        recommended[shown] = True
        novelty_sum += float(information[shown].sum())
        novelty_count += int(shown.size)
    out: dict[str, float] = {}
    for cutoff in cutoffs:
        recall, ndcg = metrics.recall_ndcg_from_hits(hits, n_relevant, cutoff)
        out[f"recall@{cutoff}"] = recall
        out[f"ndcg@{cutoff}"] = ndcg
    out["coverage"] = float(recommended.sum()) / n_items if n_items else 0.0
    out["novelty"] = novelty_sum / novelty_count if novelty_count else 0.0
    out["users"] = float(len(eligible))
    if per_user is not None:
        for (user_id, _, _), row, n in zip(eligible, hits, n_relevant, strict=True):
            per_user[user_id] = metrics.recall_ndcg_from_hits(row[None, :], n[None], k)[1]
    return out


def self_information(model: CFModel) -> np.ndarray:
    """``-log2 p(i)`` per item column of ``model``: ``p(i)`` is the add-one smoothed share of
    the model's users with an interaction with item ``i`` in its training matrix."""
    matrix = model.user_items
    n_users = matrix.shape[0]
    users_per_item = np.bincount(matrix.indices, minlength=model.n_items)[: model.n_items]
    return -np.log2((users_per_item + 1.0) / (n_users + 1.0))


def sanity(
    chosen: dict[str, float], baseline: dict[str, float], *, k: int, min_users: int
) -> tuple[bool, str]:
    """``(sane, reason)``: sane when at least ``min_users`` shoppers were evaluated and the
    chosen model's NDCG@k is above zero and at least the popularity baseline's on the same
    split."""
    key = f"ndcg@{k}"
    users = int(chosen.get("users", 0))
    mine, theirs = chosen.get(key, 0.0), baseline.get(key, 0.0)
    problems = []
    if users < min_users:
        problems.append(
            f"only {users} shoppers evaluated (fewer than {min_users}): too few to trust"
        )
    if mine <= 0:
        problems.append(f"NDCG@{k} is 0: the model found none of the held-out items")
    elif mine < theirs:
        problems.append(
            f"NDCG@{k} {mine:.4f} is below the popularity baseline's {theirs:.4f} on the same split"
        )
    if problems:
        return False, "; ".join(problems)
    return True, f"{users} shoppers evaluated; NDCG@{k} {mine:.4f} ≥ popularity {theirs:.4f}"


def evaluable_users(
    train: Interactions, test: Interactions, exclude: Interactions | None = None
) -> int:
    """How many users of ``test`` can be evaluated: known from ``train`` and with at least one
    held-out item that is not among their training (or ``exclude``) items."""
    count = 0
    for user_id in test.user_ids:
        if user_id not in train.user_index:
            continue
        relevant = test.items_of(user_id) - train.items_of(user_id)
        if exclude is not None:
            relevant -= exclude.items_of(user_id)
        count += bool(relevant)
    return count
