"""Train / valid / test splits that can be stored as dataset snapshots.

- ``split_by_key``: every item with the same key (a normalised query, a shopper) lands in
  one split. The split of a key depends only on the key, the seed and the ratios: a key is
  hashed with the seed into [0, 1) and compared with the cumulative ratios. So the result does
  not depend on input order, and a key keeps its split when more data arrives later (a test
  query never drifts into a later snapshot's training set). The price: the shares follow the
  ratios only on average, so a handful of keys can leave a split small or empty.
- ``split_by_time``: oldest items train, newest test; items with equal timestamps never
  straddle a boundary.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")

SPLIT_NAMES = ("train", "valid", "test")


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
