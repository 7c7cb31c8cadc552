"""Train / valid / test splits that can be stored as dataset snapshots.

- ``split_by_key``: every item with the same key (a normalised query, a shopper) lands in
  one split. The split of a key depends only on the key, the seed and the ratios: a key is
  hashed with the seed into [0, 1) and compared with the cumulative ratios. So the result does
  not depend on input order, and a key keeps its split when more data arrives later (a test
  query never drifts into a later snapshot's training set). The price: the shares follow the
  ratios only on average, so a handful of keys can leave a split small or empty.
- ``split_by_time``: oldest items train, newest test; items with equal timestamps never
  straddle a boundary.
- ``split_per_user``: the recommender literature's protocols. Each user's own items are split
  (by time: their last ones are held out; or at random, seeded), so every user with enough
  history is in train *and* in valid/test, whatever the shape of the log. All rows of one
  (user, item) pair land in the same split, so a held-out item is new to the user.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")

SPLIT_NAMES = ("train", "valid", "test")
PER_USER_METHODS = ("per_user_time", "per_user_random")


def _check_ratios(ratios: Sequence[float]) -> tuple[float, float, float]:
    if len(ratios) != 3 or any(r < 0 for r in ratios):
        raise ValueError(f"ratios must be three non-negative numbers, got {ratios!r}")
    total = float(sum(ratios))
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"ratios must sum to 1, got {total}")
    return (float(ratios[0]), float(ratios[1]), float(ratios[2]))


def key_digest(key: Hashable) -> str:
    """Stable, seed-free short hash of a key, for recording a split without the raw keys."""
    return hashlib.sha256(str(key).encode("utf-8")).hexdigest()[:16]


def key_fraction(key: Hashable, seed: int) -> float:
    """Map ``(seed, key)`` to a reproducible number in [0, 1).

    Keys are compared by ``str(key)``, so ``1`` and ``"1"`` share a split.
    """
    digest = hashlib.sha256(f"{seed}\x1f{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


@dataclass
class Split(Generic[T]):
    """Three disjoint lists of items, plus what is needed to describe how they were made."""

    train: list[T]
    valid: list[T]
    test: list[T]
    method: str
    ratios: tuple[float, float, float]
    seed: int | None = None
    keys: dict[str, set[Hashable]] = field(default_factory=dict)
    boundaries: dict[str, Any] = field(default_factory=dict)

    def parts(self) -> dict[str, list[T]]:
        """The three lists by name."""
        return {"train": self.train, "valid": self.valid, "test": self.test}

    def summary(self, id_fn: Callable[[T], Hashable] | None = None) -> dict[str, Any]:
        """JSON-ready description for a dataset snapshot.

        Always: method, seed, ratios, item counts (and key counts for a key split). For a key
        split, the sorted ``key_digest`` of each split's keys; for a time split, the
        boundaries. With ``id_fn``, the sorted ids of each split's items as well.
        """
        parts = self.parts()
        summary: dict[str, Any] = {
            "method": self.method,
            "seed": self.seed,
            "ratios": list(self.ratios),
            "counts": {name: len(items) for name, items in parts.items()},
        }
        if self.keys:
            summary["key_counts"] = {name: len(self.keys.get(name, ())) for name in SPLIT_NAMES}
            summary["key_hashes"] = {
                name: sorted(key_digest(k) for k in self.keys.get(name, ())) for name in SPLIT_NAMES
            }
        if self.boundaries:
            summary["boundaries"] = {
                name: value.isoformat() if hasattr(value, "isoformat") else value
                for name, value in self.boundaries.items()
            }
        if id_fn is not None:
            summary["ids"] = {
                name: sorted((id_fn(item) for item in items), key=str)
                for name, items in parts.items()
            }
        return summary


def split_by_key(
    items: Iterable[T],
    key_fn: Callable[[T], Hashable],
    seed: int,
    ratios: Sequence[float] = (0.7, 0.15, 0.15),
) -> Split[T]:
    """Split items so that all items sharing ``key_fn(item)`` fall in one split.

    Reproducible for a seed and independent of input order; within a split, items keep their
    input order.
    """
    checked = _check_ratios(ratios)
    train_ratio, valid_ratio, _ = checked
    cut_train, cut_valid = train_ratio, train_ratio + valid_ratio
    result: Split[T] = Split([], [], [], method="key", ratios=checked, seed=seed)
    result.keys = {name: set() for name in SPLIT_NAMES}
    parts = result.parts()
    assigned: dict[Hashable, str] = {}
    for item in items:
        key = key_fn(item)
        name = assigned.get(key)
        if name is None:
            fraction = key_fraction(key, seed)
            if fraction < cut_train:
                name = "train"
            elif fraction < cut_valid:
                name = "valid"
            else:
                name = "test"
            assigned[key] = name
            result.keys[name].add(key)
        parts[name].append(item)
    return result


def split_by_time(
    items: Iterable[T],
    time_fn: Callable[[T], Any],
    ratios: Sequence[float] = (0.7, 0.15, 0.15),
) -> Split[T]:
    """Oldest ``ratios[0]`` of items train, the next ``ratios[1]`` valid, the newest test.

    Items are sorted by ``time_fn`` (any comparable value, e.g. aware datetimes). A boundary
    that falls inside a run of equal timestamps moves to the end of the run, so equal times
    share a split; ``boundaries`` records the first time of valid and of test.
    """
    checked = _check_ratios(ratios)
    train_ratio, valid_ratio, _ = checked
    ordered = sorted(items, key=time_fn)
    times = [time_fn(item) for item in ordered]
    n = len(ordered)

    def cut(position: int) -> int:
        while 0 < position < n and times[position] == times[position - 1]:
            position += 1
        return position

    end_train = cut(round(n * train_ratio))
    end_valid = max(end_train, cut(round(n * (train_ratio + valid_ratio))))
    result: Split[T] = Split(
        ordered[:end_train],
        ordered[end_train:end_valid],
        ordered[end_valid:],
        method="time",
        ratios=checked,
    )
    if end_train < n:
        result.boundaries["valid_from"] = times[end_train]
    if end_valid < n:
        result.boundaries["test_from"] = times[end_valid]
    return result


def split_per_user(
    items: Iterable[T],
    user_fn: Callable[[T], Hashable],
    item_fn: Callable[[T], Hashable],
    time_fn: Callable[[T], Any],
    *,
    method: str = "per_user_time",
    seed: int = 0,
    ratios: Sequence[float] = (0.7, 0.15, 0.15),
    min_items: int = 3,
) -> Split[T]:
    """Split each user's distinct items into train / valid / test.

    ``per_user_time`` orders a user's items by the first time the user met each one and holds
    out the newest; ``per_user_random`` orders them by a seeded hash of ``(user, item)`` (the
    protocol of the published benchmarks). A user with ``n >= min_items`` distinct items gets
    ``max(1, round(n * ratio))`` items in valid and in test (when that ratio is above 0) and
    keeps at least one in train; users with fewer items train only. Rows keep their input order
    within a split; ``boundaries`` records how many users have valid and test items.
    """
    checked = _check_ratios(ratios)
    if method not in PER_USER_METHODS:
        raise ValueError(f"method must be one of {PER_USER_METHODS}, got {method!r}")
    rows = list(items)
    first_seen: dict[Hashable, dict[Hashable, Any]] = {}
    for row in rows:
        pairs = first_seen.setdefault(user_fn(row), {})
        item, when = item_fn(row), time_fn(row)
        if item not in pairs or when < pairs[item]:
            pairs[item] = when
    assignment: dict[tuple[Hashable, Hashable], int] = {}
    held_out_users = [0, 0, 0]
    for user, pairs in first_seen.items():
        if method == "per_user_time":
            ordered = sorted(pairs, key=lambda item: (pairs[item], str(item)))
        else:
            ordered = sorted(pairs, key=lambda item: key_fraction(f"{user}\x1f{item}", seed))
        n = len(ordered)
        n_valid = n_test = 0
        if n >= min_items:
            n_test = max(1, round(n * checked[2])) if checked[2] > 0 else 0
            n_valid = max(1, round(n * checked[1])) if checked[1] > 0 else 0
            while n - n_valid - n_test < 1:  # keep one item to learn the user from
                if n_valid >= n_test and n_valid > 0:
                    n_valid -= 1
                else:
                    n_test -= 1
        n_train = n - n_valid - n_test
        for position, item in enumerate(ordered):
            part = 0 if position < n_train else 1 if position < n_train + n_valid else 2
            assignment[(user, item)] = part
        held_out_users[0] += n_train > 0
        held_out_users[1] += n_valid > 0
        held_out_users[2] += n_test > 0
    result: Split[T] = Split([], [], [], method=method, ratios=checked)
    if method == "per_user_random":
        result.seed = seed
    parts = (result.train, result.valid, result.test)
    for row in rows:
        parts[assignment[(user_fn(row), item_fn(row))]].append(row)
    result.boundaries = {
        "users": {name: held_out_users[i] for i, name in enumerate(SPLIT_NAMES)},
        "min_items": min_items,
    }
    return result
