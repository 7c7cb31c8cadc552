"""Reading files: CSV and JSON Lines into rows that remember their line number (an API batch:
their index), and the header checked against the contract."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from catalog.csv_safety import formula_unescape
from catalog.formats.contract import column_names, required_columns
from catalog.formats.values import storable


class FileFormatError(ValueError):
    """The file as a whole cannot be read (encoding, header, missing required columns)."""


@dataclass
class RowError:
    """One problem with one row: where (file line or batch index), which field, why."""

    field: str
    reason: str
    line: int | None = None
    index: int | None = None

    def __post_init__(self) -> None:
        # reasons are stored (jsonb) and returned (UTF-8 JSON): never let a quoted value's NUL
        # or lone surrogate through, whichever message quoted it
        self.field, self.reason = storable(self.field), storable(self.reason)

    def as_dict(self) -> dict[str, Any]:
        where = {"line": self.line} if self.line is not None else {"index": self.index}
        return {**where, "field": self.field, "reason": self.reason}

    def message(self) -> str:
        where = f"line {self.line}" if self.line is not None else f"index {self.index}"
        return f"{where}, field {self.field or '(row)'}: {self.reason}"


@dataclass
class SourceRow:
    """A row as read, with where it came from (a file line or an index in an API batch)."""

    data: dict[str, Any]
    line: int | None = None
    index: int | None = None

    def error(self, field: str, reason: str) -> RowError:
        return RowError(field=field, reason=reason, line=self.line, index=self.index)


@dataclass
class ParsedFile:
    columns: list[str]
    rows: list[SourceRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)  # lines that are not rows at all


def detect_format(filename: str, default: str = "csv") -> str:
    name = filename.lower()
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith((".csv", ".tsv")):
        return "csv"
    return default


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"The file is not UTF-8 text (byte {exc.start}).") from None


def read_rows(source: str | Path | bytes | IO, *, fmt: str) -> ParsedFile:
    """Read a CSV or JSON Lines file (a path, bytes, or an open text/binary file)."""
    if isinstance(source, (str, Path)):
        text = _decode(Path(source).read_bytes())
    elif isinstance(source, bytes):
        text = _decode(source)
    else:
        data = source.read()
        text = _decode(data) if isinstance(data, bytes) else data.lstrip("\ufeff")
    if fmt == "csv":
        return _read_csv(text)
    if fmt == "jsonl":
        return _read_jsonl(text)
    raise FileFormatError(f"Unknown format {fmt!r}: use csv or jsonl.")


def _read_csv(text: str) -> ParsedFile:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise FileFormatError("The file is empty: a CSV file needs a header row.") from None
    except csv.Error as exc:
        raise FileFormatError(f"line 1: the header is not valid CSV ({exc}).") from None
    header = [h.strip() for h in header]
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise FileFormatError(f"The header names a column twice: {storable(', '.join(dupes))}.")
    if not any(header):
        raise FileFormatError("The header row is empty.")
    parsed = ParsedFile(columns=header)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            parsed.errors.append(RowError(field="", reason=f"not valid CSV ({exc})", line=start))
            continue
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        if len(cells) != len(header):
            parsed.errors.append(
                RowError(
                    field="",
                    line=start,
                    reason=f"the row has {len(cells)} values but the header has {len(header)} columns",
                )
            )
            continue
        cells = [formula_unescape(c) for c in cells]  # the quote an export put before a formula
        parsed.rows.append(SourceRow(data=dict(zip(header, cells, strict=True)), line=start))
    return parsed


def _read_jsonl(text: str) -> ParsedFile:
    columns: dict[str, None] = {}
    rows: list[SourceRow] = []
    errors: list[RowError] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(
                RowError(
                    field="",
                    reason=f"not valid JSON ({exc.msg} at column {exc.colno})",
                    line=number,
                )
            )
            continue
        except (ValueError, RecursionError) as exc:  # a 5,000-digit number, deep nesting
            reason = str(exc)[:80] or "nested too deeply"
            errors.append(RowError(field="", reason=f"not valid JSON ({reason})", line=number))
            continue
        if not isinstance(obj, dict):
            errors.append(RowError(field="", reason="each line must be a JSON object", line=number))
            continue
        columns.update(dict.fromkeys(obj))
        rows.append(SourceRow(data=obj, line=number))
    return ParsedFile(columns=list(columns), rows=rows, errors=errors)


def rows_from_objects(objects: Iterable[Any]) -> tuple[list[SourceRow], list[RowError]]:
    """An API batch: each item becomes a row known by its index."""
    rows, errors = [], []
    for index, obj in enumerate(objects):
        if isinstance(obj, dict):
            rows.append(SourceRow(data=obj, index=index))
        else:
            errors.append(RowError(field="", reason="each item must be a JSON object", index=index))
    return rows, errors


def check_columns(kind: str, parsed: ParsedFile, *, require_event_id: bool = False) -> list[str]:
    """Raise FileFormatError naming the missing required columns; return warnings for
    unknown ones (which are ignored). In JSON Lines a required key is a missing column when
    no line has it; a line without a key another line has is that row's error."""
    if not parsed.columns:
        return []
    present = set(parsed.columns)
    missing = [
        c for c in required_columns(kind, require_event_id=require_event_id) if c not in present
    ]
    if missing:
        raise FileFormatError(
            f"Missing required column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}. "
            f"The {kind} columns are: {', '.join(column_names(kind))}."
        )
    known = set(column_names(kind))
    unknown = [c for c in parsed.columns if c not in known]
    if unknown:
        names = storable(", ".join(unknown))
        return [f"Unknown column{'s' if len(unknown) > 1 else ''} ignored: {names}."]
    return []
