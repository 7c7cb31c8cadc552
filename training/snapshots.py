"""Frozen snapshots of model versions: where they live, how a job records one, how a job reads
one back, and how forgetting a shopper reaches them.

The files and their checksum are handled by the plain module ``training.ml.snapshots``; here
they meet the registry: a version's ``dataset_snapshot["frozen"]`` records the snapshot's unit,
checksum, part sizes, bytes on disk and the rows dropped by forgetting, and the files lie in
``<artifact dir>/snapshot/``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from training.ml.snapshots import (
    SNAPSHOT_DIRNAME,
    FrozenSplit,
    SnapshotError,
    drop_ids,
    load_snapshot,
    save_snapshot,
)
from training.models import ModelVersion

FROZEN_KEY = "frozen"


def snapshot_path(version: ModelVersion) -> Path | None:
    """The directory of a version's stored snapshot (None when it has no artifact directory)."""
    if not version.artifact_dir:
        return None
    return Path(settings.ARTIFACTS_DIR) / version.artifact_dir / SNAPSHOT_DIRNAME


def frozen_record(version: ModelVersion) -> dict[str, Any] | None:
    """What the version records of its stored snapshot, or None when it has none."""
    return (version.dataset_snapshot or {}).get(FROZEN_KEY)


def _record(frozen: FrozenSplit, directory: Path, previous: Mapping[str, Any] | None) -> dict:
    size = sum(f.stat().st_size for f in directory.iterdir() if f.is_file())
    record = {
        "unit": frozen.unit,
        "checksum": frozen.checksum,
        "counts": frozen.counts(),
        "rows": {kind: int(len(ids)) for kind, ids in frozen.rows.items()},
        "bytes": int(size),
        "dropped": int(frozen.meta.get("dropped", 0)),
    }
    if previous and previous.get("forgotten_shoppers"):
        record["forgotten_shoppers"] = int(previous["forgotten_shoppers"])
    return record


def snapshot_freeze(
    *,
    version: ModelVersion,
    unit: str,
    parts: Mapping[str, Iterable[Any]],
    rows: Mapping[str, Iterable[int]] | None = None,
    meta: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the version's split into its artifact directory and record it on the version.

    Call it once the artifact directory exists (after the model is saved: the artifact is
    written atomically, which would replace a snapshot written before it)."""
    directory = snapshot_path(version)
    if directory is None:
        raise ValueError(f"version #{version.pk} has no artifact directory to freeze into")
    frozen = save_snapshot(
        directory,
        unit=unit,
        parts=parts,
        rows=rows,
        meta={"task": version.task, "version": version.pk, **dict(meta or {})},
    )
    record = _record(frozen, directory, None)
    snapshot = dict(version.dataset_snapshot or {})
    snapshot[FROZEN_KEY] = record
    version.dataset_snapshot = snapshot
    version.save(update_fields=["dataset_snapshot"])
    return record


def snapshot_load(version: ModelVersion) -> FrozenSplit:
    """The version's stored snapshot, checked against the checksum it records; a
    ``ValidationError`` that says what to do when there is none or it does not match."""
    record = frozen_record(version)
    directory = snapshot_path(version)
    if record is None or directory is None:
        raise ValidationError(
            f"Version #{version.pk} has no stored snapshot (versions trained before snapshots "
            "were frozen, and tasks that do not freeze one, re-derive their split)."
        )
    try:
        return load_snapshot(directory, expected_checksum=record.get("checksum"))
    except SnapshotError as exc:
        raise ValidationError(f"Version #{version.pk}: {exc}") from exc


def frozen_versions():
    """Versions that record a stored snapshot."""
    return ModelVersion.objects.filter(dataset_snapshot__has_key=FROZEN_KEY)


def snapshots_drop_shopper_rows(
    *, event_ids: Iterable[int], search_ids: Iterable[int] = ()
) -> dict[int, int]:
    """Remove these events and search-log rows from every stored snapshot; each version records
    the rows dropped. Returns ``{version id: rows dropped}`` for the versions that held any."""
    ids = {"events": list(event_ids), "searches": list(search_ids)}
    out: dict[int, int] = {}
    if not ids["events"] and not ids["searches"]:
        return out
    for version in frozen_versions().order_by("pk"):
        directory = snapshot_path(version)
        if directory is None or not directory.is_dir():
            continue
        try:
            frozen, dropped = drop_ids(directory, ids)
        except SnapshotError:
            continue  # a damaged snapshot is reported when it is read, not here
        if not dropped:
            continue
        previous = frozen_record(version) or {}
        record = _record(frozen, directory, previous)
        record["forgotten_shoppers"] = int(previous.get("forgotten_shoppers", 0)) + 1
        snapshot = dict(version.dataset_snapshot or {})
        snapshot[FROZEN_KEY] = record
        ModelVersion.objects.filter(pk=version.pk).update(dataset_snapshot=snapshot)
        out[version.pk] = dropped
    return out


def forget_frozen_rows(ctx) -> dict[str, int]:
    """Privacy forget hook: the shopper's events and searches leave every stored snapshot.

    In both modes: ``delete`` removes the rows, and an ``anonymise``d shopper's rows must not
    stay traceable through the ids a version kept. The files are rewritten once the forget
    transaction commits (a rolled-back forget leaves them as they were); the hook returns the
    number of snapshot rows that go (``snapshot_rows`` in the forget's counts)."""
    from catalog.models import Event, SearchLog

    event_ids = list(Event.objects.filter(shopper=ctx.shopper).values_list("pk", flat=True))
    search_ids = list(SearchLog.objects.filter(shopper=ctx.shopper).values_list("pk", flat=True))
    if not event_ids and not search_ids:
        return {}
    ids = {"events": event_ids, "searches": search_ids}
    held = 0
    for version in frozen_versions():
        directory = snapshot_path(version)
        if directory is not None and directory.is_dir():
            try:
                held += drop_ids(directory, ids, write=False)[1]
            except SnapshotError:
                continue
    if not held:
        return {}
    transaction.on_commit(
        lambda: snapshots_drop_shopper_rows(event_ids=event_ids, search_ids=search_ids)
    )
    return {"snapshot_rows": held}
