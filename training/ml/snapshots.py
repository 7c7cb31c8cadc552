"""Frozen dataset snapshots: the exact rows of a train / valid / test split, on disk.

A training job writes its split here (NumPy ``.npy`` files in ``<artifact dir>/snapshot/`` and
a ``manifest.json`` with a checksum), so that ``evaluate`` (and the data-value job) can score
any later version on exactly the same rows, whatever events arrived since. Plain Python and
NumPy: no Django, so any job or notebook can read a snapshot.

A snapshot has a *unit*, what the task splits on:

- ``event``: the parts are event primary keys (``train.npy``, ``valid.npy``, ``test.npy``,
  int64) — collaborative filtering, reviews;
- ``query``: the parts are normalised queries (unicode arrays), and the rows the pairs were
  mined from are kept beside them as primary keys (``rows_events.npy`` for events,
  ``rows_searches.npy`` for search-log rows) — the retriever.

Forgetting a shopper removes their primary keys from every int64 array (:func:`drop_ids`) and
the manifest counts what was dropped; the checksum is recomputed so a reader can still verify
the files against the version's record.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from training.ml.splits import SPLIT_NAMES, Split

__all__ = [
    "PARTS",
    "SNAPSHOT_DIRNAME",
    "FrozenSplit",
    "SnapshotError",
    "drop_ids",
    "load_snapshot",
    "save_snapshot",
    "snapshot_checksum",
    "split_as_frozen",
]

FORMAT = "aisle.snapshot/1"
SNAPSHOT_DIRNAME = "snapshot"
MANIFEST = "manifest.json"
PARTS = ("train", "valid", "test")
UNITS = ("event", "query")
#: Arrays holding event primary keys, by key kind: what forgetting a shopper filters.
ID_KINDS = ("events", "searches")


class SnapshotError(ValueError):
    """A snapshot that is missing, malformed, or does not match its checksum."""


@dataclass
class FrozenSplit:
    """The arrays of one snapshot.

    ``parts`` maps ``train`` / ``valid`` / ``test`` to the unit ids of that part; ``rows``
    maps an id kind (``events``, ``searches``) to the primary keys the parts were built from
    (empty for the ``event`` unit, where the parts are the rows). ``meta`` is free JSON kept
    in the manifest (task, seed, protocol, counts of rows dropped by forgetting).
    """

    unit: str
    parts: dict[str, np.ndarray]
    rows: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    checksum: str = ""

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array by file stem (``train``, ``rows_events``, ...)."""
        out = {name: self.parts[name] for name in PARTS}
        out.update({f"rows_{kind}": ids for kind, ids in self.rows.items()})
        return out

    def counts(self) -> dict[str, int]:
        return {name: int(len(self.parts[name])) for name in PARTS}

    def event_ids(self) -> np.ndarray:
        """Every event primary key the snapshot refers to."""
        if self.unit == "event":
            return np.concatenate([self.parts[name] for name in PARTS])
        return self.rows.get("events", np.zeros(0, dtype=np.int64))


def _as_array(unit: str, values: Iterable[Any]) -> np.ndarray:
    values = list(values)
    if unit == "event":
        return np.asarray(values, dtype=np.int64).reshape(-1)
    # A fixed-width unicode array (no pickle): loads with allow_pickle=False.
    return np.asarray([str(v) for v in values], dtype=str).reshape(-1)


def snapshot_checksum(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 over every array's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}\x1f{array.dtype.str}\x1f{array.shape}\x1e".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def save_snapshot(
    directory: str | os.PathLike[str],
    *,
    unit: str,
    parts: Mapping[str, Iterable[Any]],
    rows: Mapping[str, Iterable[int]] | None = None,
    meta: Mapping[str, Any] | None = None,
) -> FrozenSplit:
    """Write a snapshot into ``directory`` (replacing one already there) and return it.

    The files are written beside the final directory first and renamed into place, so a
    reader never sees half a snapshot.
    """
    if unit not in UNITS:
        raise SnapshotError(f"unknown snapshot unit {unit!r} (one of {', '.join(UNITS)})")
    missing = set(PARTS) - set(parts)
    if missing:
        raise SnapshotError(f"a snapshot needs the parts {', '.join(sorted(missing))}")
    frozen = FrozenSplit(
        unit=unit,
        parts={name: _as_array(unit, parts[name]) for name in PARTS},
        rows={
            kind: np.asarray(list(ids), dtype=np.int64).reshape(-1)
            for kind, ids in (rows or {}).items()
        },
        meta=dict(meta or {}),
    )
    unknown = set(frozen.rows) - set(ID_KINDS)
    if unknown:
        raise SnapshotError(f"unknown row kinds {sorted(unknown)} (one of {ID_KINDS})")
    _write(Path(directory), frozen)
    return frozen


def _write(directory: Path, frozen: FrozenSplit) -> None:
    arrays = frozen.arrays()
    frozen.checksum = snapshot_checksum(arrays)
    manifest = {
        "format": FORMAT,
        "unit": frozen.unit,
        "checksum": frozen.checksum,
        "arrays": {
            name: {"rows": int(len(array)), "dtype": array.dtype.str}
            for name, array in sorted(arrays.items())
        },
        "meta": frozen.meta,
    }
    scratch = directory.with_name(directory.name + ".tmp")
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    try:
        for name, array in arrays.items():
            np.save(scratch / f"{name}.npy", array, allow_pickle=False)
        (scratch / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    old = directory.with_name(directory.name + ".old")
    if directory.exists():
        if old.exists():
            shutil.rmtree(old)
        directory.rename(old)
    scratch.rename(directory)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def load_snapshot(
    directory: str | os.PathLike[str], *, expected_checksum: str | None = None
) -> FrozenSplit:
    """Read a snapshot and verify its files against its manifest (and ``expected_checksum``,
    the one recorded on the version, when given)."""
    directory = Path(directory)
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except FileNotFoundError as exc:
        raise SnapshotError(f"no stored snapshot in {directory}") from exc
    if manifest.get("format") != FORMAT:
        raise SnapshotError(f"{directory} is not a snapshot (format {manifest.get('format')!r})")
    arrays = {
        name: np.load(directory / f"{name}.npy", allow_pickle=False) for name in manifest["arrays"]
    }
    checksum = snapshot_checksum(arrays)
    if checksum != manifest["checksum"]:
        raise SnapshotError(f"the files in {directory} do not match their manifest's checksum")
    if expected_checksum is not None and checksum != expected_checksum:
        raise SnapshotError(
            f"the snapshot in {directory} (checksum {checksum[:12]}…) is not the one recorded "
            f"({expected_checksum[:12]}…)"
        )
    return FrozenSplit(
        unit=manifest["unit"],
        parts={name: arrays[name] for name in PARTS},
        rows={
            name.removeprefix("rows_"): array
            for name, array in arrays.items()
            if name.startswith("rows_")
        },
        meta=dict(manifest.get("meta") or {}),
        checksum=checksum,
    )


def drop_ids(
    directory: str | os.PathLike[str], ids: Mapping[str, Iterable[int]], *, write: bool = True
) -> tuple[FrozenSplit, int]:
    """Remove primary keys from a stored snapshot: ``ids`` maps an id kind (``events``,
    ``searches``) to the keys to drop. Returns the rewritten snapshot and how many entries
    were dropped (nothing is rewritten when none was, nor with ``write=False``: a count).
    The manifest's ``meta`` keeps the running total under ``dropped``."""
    frozen = load_snapshot(directory)
    dropped = 0
    for kind, values in ids.items():
        gone = np.asarray(list(values), dtype=np.int64)
        if not len(gone):
            continue
        targets = (
            [("parts", name) for name in PARTS]
            if frozen.unit == "event" and kind == "events"
            else [("rows", kind)]
            if kind in frozen.rows
            else []
        )
        for holder, name in targets:
            arrays = getattr(frozen, holder)
            keep = ~np.isin(arrays[name], gone)
            dropped += int(len(keep) - keep.sum())
            arrays[name] = arrays[name][keep]
    if dropped and write:
        frozen.meta["dropped"] = int(frozen.meta.get("dropped", 0)) + dropped
        _write(Path(directory), frozen)
    return frozen, dropped


def split_as_frozen(
    items: Iterable[Any], key_fn: Callable[[Any], Any], frozen: FrozenSplit
) -> Split:
    """Put each item in the part its key is stored in (``key_fn(item)``: an event primary key
    for the ``event`` unit, a normalised query for ``query``); items whose key the snapshot
    does not hold (rows that arrived later) are left out."""
    where: dict[Any, str] = {}
    for name in PARTS:
        for key in frozen.parts[name].tolist():
            where[key] = name
    ratios = tuple(frozen.meta.get("ratios") or (0.7, 0.15, 0.15))
    result = Split([], [], [], method="frozen", ratios=ratios, seed=frozen.meta.get("seed"))
    parts = result.parts()
    if frozen.unit == "query":
        result.keys = {name: set() for name in SPLIT_NAMES}
    for item in items:
        key = key_fn(item)
        name = where.get(key)
        if name is None:
            continue
        parts[name].append(item)
        if result.keys:
            result.keys[name].add(key)
    return result
