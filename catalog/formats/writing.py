"""Writing files (export): rows of one kind as CSV (formula cells escaped) or JSON Lines, the
inverse of the readers and parsers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import IO, Any

from catalog.csv_safety import SafeCsvWriter
from catalog.formats.contract import column_names


def cell(value: Any) -> str:
    """A value as a CSV cell (the inverse of the parsers above)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def json_value(value: Any) -> Any:
    """A value as a JSON Lines value."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


class RowWriter:
    """Writes rows of one kind as CSV (header first) or JSON Lines."""

    def __init__(self, handle: IO[str], *, kind: str, fmt: str):
        self.handle, self.fmt, self.columns = handle, fmt, column_names(kind)
        if fmt == "csv":
            # text cells a spreadsheet would run as a formula are escaped (catalog.csv_safety)
            self._csv = SafeCsvWriter(handle, format_value=cell)
            self._csv.writerow(self.columns)

    def write(self, row: dict[str, Any]) -> None:
        if self.fmt == "csv":
            self._csv.writerow([row.get(c) for c in self.columns])
        else:
            obj = {c: json_value(row.get(c)) for c in self.columns}
            self.handle.write(json.dumps(obj, ensure_ascii=False, sort_keys=False) + "\n")
