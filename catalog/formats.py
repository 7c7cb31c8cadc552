"""The file contract storefronts depend on: columns, parsing and per-row validation.

Plain Python (no Django): reads CSV and JSON Lines into rows that remember their line
number, checks the header against the contract, and turns each row into clean Python values
or a list of ``(field, reason)`` problems. ``catalog.services`` resolves references against
the database and writes; the commands, the admin upload page and the API all go through it.

Rules shared by every kind (documented in docs/catalog.md):

* CSV needs a header row; JSON Lines holds one object per line; blank lines are skipped.
* A CSV cell left empty takes the column's default. A column absent from the file (or a key
  absent from a JSON object) leaves the stored value of an existing row untouched and takes
  the default for a new row.
* Times are ISO 8601; a time without a zone is UTC. Event times lie in the years 1970-2100.
* Text is refused when it holds NUL (PostgreSQL cannot store it) or a lone UTF-16 surrogate
  (not a character; a JSON escape like ``"\\ud800"`` makes one), anywhere: plain fields and the
  keys and values of ``attributes``. Numbers must be finite and fit their column. A bad value
  rejects its row with a reason; it never reaches the database.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from catalog.csv_safety import SafeCsvWriter, formula_unescape
from platform_core.timeparse import utc_within_years

KINDS = ("products", "categories", "shoppers", "events")
FORMATS = ("csv", "jsonl")
EVENT_TYPES = ("search", "view", "click", "add_to_cart", "purchase", "rating", "review")
MAX_PRICE = Decimal("9999999999.99")  # Product.price is NUMERIC(12, 2)
MAX_INT = 2_147_483_647  # integer columns (stock, position)
# Event times: PostgreSQL and Python share no wider safe range (datetime overflows on the UTC
# conversion of year 1 or 9999 with an offset), and a shop's events outside it are a mistake.
EVENT_YEAR_MIN, EVENT_YEAR_MAX = 1970, 2100
MAX_ATTRIBUTE_DEPTH = 10  # nesting of lists/objects inside an ``attributes`` object
MAX_ATTRIBUTES_JSON = 100_000  # characters of an ``attributes`` object written as JSON
# PostgreSQL's tsvector (the full-text column) holds at most 1 MB: 100,000 characters of words
# stay well below it, and no shop writes a longer product description.
MAX_DESCRIPTION = 100_000
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True)
class Column:
    """One column of the contract (CSV header name; the same key in JSON Lines)."""

    name: str
    type: str
    required: bool
    help: str


COLUMNS: dict[str, tuple[Column, ...]] = {
    "products": (
        Column("external_id", "text ≤128", True, "The storefront's id of the product (unique)."),
        Column("title", "text ≤500", True, "Product name as shown to shoppers."),
        Column("description", "text ≤100000", False, "Free text; empty by default."),
        Column(
            "category",
            "category external id",
            False,
            "The category's external_id; empty for none; an unknown id is an error.",
        ),
        Column("brand", "text ≤200", False, "Brand name; created when new; empty for none."),
        Column("price", "decimal ≥0, 2 places", True, "Price in `currency`, e.g. 19.90."),
        Column("currency", "ISO 4217 code", False, "Three letters; default EUR."),
        Column("stock", "integer ≥0", False, "Units in stock; default 0 (out of stock)."),
        Column("image_url", "http(s) URL", False, "Absolute image address; empty by default."),
        Column(
            "attributes",
            "JSON object",
            False,
            'E.g. {"colour": "red", "size": "M"}; default {}. Values are searchable.',
        ),
        Column(
            "active",
            "boolean",
            False,
            "true/false (also 1/0, yes/no); default true. Inactive products are never served.",
        ),
    ),
    "categories": (
        Column("external_id", "text ≤128, no '/'", True, "The storefront's id of the category."),
        Column("name", "text ≤200", True, "Display name."),
        Column(
            "parent",
            "category external id",
            False,
            "The parent's external_id (in the same file or already imported); empty for a top-level category.",
        ),
    ),
    "shoppers": (
        Column(
            "external_id", "text ≤128", True, "The storefront's id of the shopper (pseudonymous)."
        ),
        Column("segment", "text ≤64", False, "A marketing segment, e.g. bargain, premium."),
        Column("country", "ISO 3166 alpha-2", False, "Two letters, e.g. DE."),
        Column("signup_date", "ISO 8601 date", False, "E.g. 2024-03-01."),
        Column("attributes", "JSON object", False, "Any other profile fields; default {}."),
    ),
    "events": (
        Column(
            "event_id",
            "text ≤128",
            False,
            "Idempotency key. Optional in files (a stable hash of shopper, type, product, "
            "timestamp and query stands in); required by POST /api/v1/events.",
        ),
        Column("shopper", "shopper external id", True, "Unknown shoppers are created."),
        Column("type", "one of " + ", ".join(EVENT_TYPES), True, "What the shopper did."),
        Column(
            "product",
            "product external id",
            False,
            "Required for every type but search; an unknown product is an error.",
        ),
        Column(
            "timestamp",
            "ISO 8601 date-time",
            True,
            "When it happened; a time without a zone is UTC.",
        ),
        Column("query", "text ≤500", False, "The search text (required for search events)."),
        Column(
            "position",
            "integer ≥0",
            False,
            "Rank of the product in the result the shopper acted on.",
        ),
        Column(
            "value",
            "number",
            False,
            "The rating 1-5 (required for rating, optional for review) or the price paid (purchase).",
        ),
        Column("review", "text", False, "Review text (required for review events)."),
        Column("session", "text ≤128", False, "The storefront's session id."),
        Column(
            "request_id",
            "text ≤64",
            False,
            "The request_id of the served search/recommendation this event answers (links it to an experiment variant).",
        ),
    ),
}


def storable(text: str) -> str:
    """Text with NUL and lone surrogates written as escapes (``\\x00``, ``\\ud800``), for
    messages that quote what a client sent."""
    if _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def column_names(kind: str) -> tuple[str, ...]:
    return tuple(c.name for c in COLUMNS[kind])


def required_columns(kind: str, *, require_event_id: bool = False) -> tuple[str, ...]:
    names = [c.name for c in COLUMNS[kind] if c.required]
    if kind == "events" and require_event_id:
        names.insert(0, "event_id")
    return tuple(names)


# --- Reading files ---------------------------------------------------------------------------


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


# --- Values ----------------------------------------------------------------------------------


class Invalid(ValueError):
    """A value that breaks the contract; the message is the reason shown to the user."""


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _show(value: Any) -> str:
    """A short, printable quote of a value for a message (repr escapes NUL and surrogates)."""
    try:
        text = value if isinstance(value, str) else json.dumps(value, default=str)
    except (ValueError, TypeError, RecursionError):
        text = type(value).__name__
    return repr(text if len(text) <= 40 else text[:37] + "...")


def unstorable_reason(text: str) -> str | None:
    """Why PostgreSQL (or UTF-8) cannot take this text, or None when it can."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character"
    return f"contains a lone surrogate ({found.group()!r} at position {found.start()}), which is not valid Unicode"


def as_text(value: Any, *, max_length: int | None = None, strip: bool = True) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise Invalid(f"must be text, not {_type_name(value)}")
    text = str(value)
    text = text.strip() if strip else text
    if max_length is not None and len(text) > max_length:
        raise Invalid(f"is {len(text)} characters long; at most {max_length} allowed")
    reason = unstorable_reason(text)
    if reason:
        raise Invalid(reason)
    return text


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list"}.get(type(value), type(value).__name__)


def as_identifier(value: Any, *, max_length: int = 128) -> str:
    if isinstance(value, float):
        raise Invalid(f"{_show(value)} is not an identifier")
    text = as_text(value, max_length=max_length)
    if not text:
        raise Invalid("is required (empty)")
    return text


def as_price(value: Any) -> Decimal:
    if _blank(value):
        raise Invalid("is required")
    if isinstance(value, bool):
        raise Invalid(f"{_show(value)} is not a number")
    if not isinstance(value, (str, int, float, Decimal)):
        raise Invalid(f"must be a number, not {_type_name(value)}")
    try:
        amount = (
            Decimal(str(value).strip().replace(" ", ""))
            if not isinstance(value, Decimal)
            else value
        )
    except (InvalidOperation, ValueError):
        raise Invalid(
            f"{_show(value)} is not a number (use a dot for decimals, e.g. 19.90)"
        ) from None
    if not amount.is_finite():
        raise Invalid(f"{_show(value)} is not a finite number")
    if amount < 0:
        raise Invalid(f"{_show(value)} is negative; a price is 0 or more")
    # the size first: quantize() of a huge number (1e30) overflows the decimal context
    if amount > MAX_PRICE:
        raise Invalid(f"{_show(value)} is too large (at most {MAX_PRICE})")
    if amount != amount.quantize(Decimal("0.01")):
        raise Invalid(f"{_show(value)} has more than 2 decimal places")
    return amount.quantize(Decimal("0.01"))


def as_int(value: Any, *, minimum: int | None = None, default: int | None = None) -> int | None:
    if _blank(value):
        return default
    if isinstance(value, bool):
        raise Invalid(f"{_show(value)} is not a whole number")
    if isinstance(value, float):
        if not value.is_integer():
            raise Invalid(f"{_show(value)} is not a whole number")
        number = int(value)
    elif isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[+-]?\d+", text):
            raise Invalid(f"{_show(value)} is not a whole number")
        if len(text.lstrip("+-0")) > 10:  # int() of thousands of digits is slow, then refused
            raise Invalid(f"{_show(value)} is too large (at most {MAX_INT})")
        number = int(text)
    else:
        raise Invalid(f"must be a whole number, not {_type_name(value)}")
    if minimum is not None and number < minimum:
        raise Invalid(f"{_show(number)} is below the minimum of {minimum}")
    if abs(number) > MAX_INT:
        raise Invalid(f"{_show(number)} is too large (at most {MAX_INT})")
    return number


def as_float(value: Any) -> float | None:
    if _blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise Invalid(f"{_show(value)} is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Invalid(f"{_show(value)} is not a number") from None
    except OverflowError:  # an int beyond float's range
        raise Invalid(f"{_show(value)} is too large") from None
    if not math.isfinite(number):
        raise Invalid(f"{_show(value)} is not a finite number")
    return number


_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def as_bool(value: Any, *, default: bool) -> bool:
    if _blank(value):
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise Invalid(f"{_show(value)} is not a boolean (use true or false)")


def as_json_object(value: Any) -> dict:
    if _blank(value):
        return {}
    if isinstance(value, dict):
        obj = value
    elif isinstance(value, str):
        try:
            obj = json.loads(value, parse_constant=_refuse_constant)
        except json.JSONDecodeError as exc:
            raise Invalid(f"is not valid JSON ({exc.msg})") from None
        except (ValueError, RecursionError) as exc:  # NaN, 5,000-digit numbers, deep nesting
            raise Invalid(f"is not valid JSON ({str(exc)[:80] or 'nested too deeply'})") from None
    else:
        raise Invalid("must be a JSON object")
    if not isinstance(obj, dict):
        raise Invalid(f"must be a JSON object, not a JSON {type(obj).__name__}")
    _check_json_value(obj)
    size = len(json.dumps(obj, ensure_ascii=False))
    if size > MAX_ATTRIBUTES_JSON:
        raise Invalid(f"is {size} characters of JSON; at most {MAX_ATTRIBUTES_JSON} allowed")
    return obj


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _check_json_value(obj: Any) -> None:
    """Every key and string storable, every number finite, nesting bounded (iteratively: a
    deep object must not blow the stack here either)."""
    stack: list[tuple[Any, int, str]] = [(obj, 1, "")]
    while stack:
        value, depth, where = stack.pop()
        if isinstance(value, dict):
            items = value.items()
        elif isinstance(value, (list, tuple)):
            items = ((f"[{i}]", v) for i, v in enumerate(value))
        elif isinstance(value, str):
            reason = unstorable_reason(value)
            if reason:
                raise Invalid(f"the value at {where or 'the top'} {reason}")
            continue
        elif isinstance(value, float) and not math.isfinite(value):
            raise Invalid(f"the value at {where or 'the top'} is not a finite number")
        elif value is None or isinstance(value, (bool, int, float)):
            continue
        else:
            raise Invalid(f"the value at {where} is not JSON ({_type_name(value)})")
        if depth > MAX_ATTRIBUTE_DEPTH:
            raise Invalid(f"is nested more than {MAX_ATTRIBUTE_DEPTH} levels deep")
        for key, item in items:
            if isinstance(value, dict):
                if not isinstance(key, str):
                    raise Invalid(f"the key {_show(key)} is not text")
                reason = unstorable_reason(key)
                if reason:
                    raise Invalid(f"the key {_show(key)} {reason}")
                path = f"{where}.{key}" if where else key
            else:
                path = f"{where}{key}"
            stack.append((item, depth + 1, path if len(path) <= 40 else path[:37] + "..."))


def as_url(value: Any) -> str:
    text = as_text(value, max_length=1000)
    if text and not re.fullmatch(r"https?://[^\s/$.?#][^\s]*", text, flags=re.IGNORECASE):
        raise Invalid(f"{_show(text)} is not an http(s) URL")
    return text


def as_currency(value: Any) -> str:
    if _blank(value):
        return "EUR"
    text = as_text(value).upper()
    if not re.fullmatch(r"[A-Z]{3}", text):
        raise Invalid(f"{_show(value)} is not a three-letter currency code")
    return text


def as_country(value: Any) -> str:
    if _blank(value):
        return ""
    text = as_text(value).upper()
    if not re.fullmatch(r"[A-Z]{2}", text):
        raise Invalid(f"{_show(value)} is not a two-letter country code")
    return text


def as_date(value: Any) -> date | None:
    if _blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = as_text(value)
    try:
        return date.fromisoformat(text) if len(text) <= 10 else datetime.fromisoformat(text).date()
    except ValueError:
        raise Invalid(f"{_show(value)} is not an ISO 8601 date (YYYY-MM-DD)") from None


def as_timestamp(value: Any) -> datetime:
    """ISO 8601; a time without a zone is UTC. Returned aware, in UTC."""
    if _blank(value):
        raise Invalid("is required")
    if isinstance(value, datetime):
        moment = value
    else:
        text = as_text(value)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise Invalid(
                f"{_show(value)} is not an ISO 8601 date-time (e.g. 2024-05-01T12:30:00Z)"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return utc_within_years(moment, min_year=EVENT_YEAR_MIN, max_year=EVENT_YEAR_MAX)
    except ValueError:
        raise Invalid(
            f"{_show(value)} is outside the years {EVENT_YEAR_MIN} to {EVENT_YEAR_MAX}"
        ) from None


# --- Rows of each kind -----------------------------------------------------------------------

Problems = list[tuple[str, str]]


def _clean(data: dict, spec: dict[str, Any], problems: Problems) -> dict[str, Any]:
    """Apply each present field's parser; collect (field, reason) problems."""
    out: dict[str, Any] = {}
    for name, parse in spec.items():
        if name not in data:
            continue
        try:
            out[name] = parse(data[name])
        except Invalid as exc:
            problems.append((name, str(exc)))
        except (ValueError, TypeError, ArithmeticError, RecursionError) as exc:
            # a parser's blind spot: still this row's problem, never the whole batch's
            problems.append((name, f"{_show(data[name])} cannot be read ({type(exc).__name__})"))
    return out


def _required(data: dict, names: Iterable[str], problems: Problems) -> None:
    for name in names:
        if name not in data:
            problems.append((name, "is required (the key is missing)"))


_PRODUCT_SPEC = {
    "external_id": as_identifier,
    "title": lambda v: as_text(v, max_length=500) or _raise("is required (empty)"),
    "description": lambda v: as_text(v, max_length=MAX_DESCRIPTION),
    "category": lambda v: as_text(v, max_length=128) or None,
    "brand": lambda v: as_text(v, max_length=200) or None,
    "price": as_price,
    "currency": as_currency,
    "stock": lambda v: as_int(v, minimum=0, default=0),
    "image_url": as_url,
    "attributes": as_json_object,
    "active": lambda v: as_bool(v, default=True),
}

PRODUCT_DEFAULTS: dict[str, Any] = {
    "description": "",
    "category": None,
    "brand": None,
    "currency": "EUR",
    "stock": 0,
    "image_url": "",
    "attributes": {},
    "active": True,
}


def _raise(reason: str):
    raise Invalid(reason)


def clean_product(data: dict) -> tuple[dict, Problems]:
    problems: Problems = []
    _required(data, ("external_id", "title", "price"), problems)
    return _clean(data, _PRODUCT_SPEC, problems), problems


def as_category_id(value: Any) -> str:
    text = as_identifier(value)
    if "/" in text:
        raise Invalid(f"{_show(text)} contains '/', which separates the levels of a category path")
    return text


_CATEGORY_SPEC = {
    "external_id": as_category_id,
    "name": lambda v: as_text(v, max_length=200) or _raise("is required (empty)"),
    "parent": lambda v: as_text(v, max_length=128) or None,
}


def clean_category(data: dict) -> tuple[dict, Problems]:
    problems: Problems = []
    _required(data, ("external_id", "name"), problems)
    out = _clean(data, _CATEGORY_SPEC, problems)
    if out.get("parent") and out.get("parent") == out.get("external_id"):
        problems.append(("parent", "a category cannot be its own parent"))
    return out, problems


_SHOPPER_SPEC = {
    "external_id": as_identifier,
    "segment": lambda v: as_text(v, max_length=64),
    "country": as_country,
    "signup_date": as_date,
    "attributes": as_json_object,
}
SHOPPER_DEFAULTS: dict[str, Any] = {
    "segment": "",
    "country": "",
    "signup_date": None,
    "attributes": {},
}


def clean_shopper(data: dict) -> tuple[dict, Problems]:
    problems: Problems = []
    _required(data, ("external_id",), problems)
    return _clean(data, _SHOPPER_SPEC, problems), problems


def _event_type(value: Any) -> str:
    text = as_text(value).lower()
    if text not in EVENT_TYPES:
        raise Invalid(f"{_show(value)} is not an event type (one of {', '.join(EVENT_TYPES)})")
    return text


_EVENT_SPEC = {
    "event_id": lambda v: as_text(v, max_length=128) or None,
    "shopper": as_identifier,
    "type": _event_type,
    "product": lambda v: as_text(v, max_length=128) or None,
    "timestamp": as_timestamp,
    "query": lambda v: as_text(v, max_length=500),
    "position": lambda v: as_int(v, minimum=0),
    "value": as_float,
    "review": lambda v: as_text(v, strip=False).strip(),
    "session": lambda v: as_text(v, max_length=128),
    "request_id": lambda v: as_text(v, max_length=64),
}
EVENT_FIELDS = tuple(_EVENT_SPEC)


def event_id_for(
    *, shopper: str, type: str, product: str | None, timestamp: datetime, query: str
) -> str:
    """The stable stand-in for a missing event_id: the same event always hashes the same."""
    parts = [shopper, type, product or "", timestamp.astimezone(UTC).isoformat(), query or ""]
    return "h:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def clean_event(data: dict, *, require_event_id: bool = False) -> tuple[dict, Problems]:
    """A complete event (every key filled) or its problems."""
    problems: Problems = []
    required = (
        ("event_id", "shopper", "type", "timestamp")
        if require_event_id
        else ("shopper", "type", "timestamp")
    )
    _required(data, required, problems)
    out = _clean(data, _EVENT_SPEC, problems)
    if (
        require_event_id
        and "event_id" in data
        and not out.get("event_id")
        and not any(f == "event_id" for f, _ in problems)
    ):
        problems.append(("event_id", "is required (empty)"))
    kind = out.get("type")
    if kind:
        if (
            kind != "search"
            and not out.get("product")
            and "product" not in {f for f, _ in problems}
        ):
            problems.append(("product", f"is required for a {kind} event"))
        if kind == "search" and not out.get("query") and "query" not in {f for f, _ in problems}:
            problems.append(("query", "is required for a search event"))
        value = out.get("value")
        if kind == "rating" and value is None and "value" not in {f for f, _ in problems}:
            problems.append(("value", "is required for a rating event (1 to 5)"))
        if kind in ("rating", "review") and value is not None and not 1 <= value <= 5:
            problems.append(("value", f"{value:g} is not a rating from 1 to 5"))
        if kind == "purchase" and value is not None and value < 0:
            problems.append(("value", f"{value:g} is negative; the price paid is 0 or more"))
        if kind == "review" and not out.get("review") and "review" not in {f for f, _ in problems}:
            problems.append(("review", "is required for a review event"))
    if problems:
        return out, problems
    event = {
        "shopper": out["shopper"],
        "type": out["type"],
        "product": out.get("product"),
        "timestamp": out["timestamp"],
        "query": out.get("query", ""),
        "position": out.get("position"),
        "value": out.get("value"),
        "review": out.get("review", ""),
        "session": out.get("session", ""),
        "request_id": out.get("request_id", ""),
    }
    event["event_id"] = out.get("event_id") or event_id_for(
        shopper=event["shopper"],
        type=event["type"],
        product=event["product"],
        timestamp=event["timestamp"],
        query=event["query"],
    )
    return event, problems


CLEANERS = {"products": clean_product, "categories": clean_category, "shoppers": clean_shopper}


# --- Writing files (export) ------------------------------------------------------------------


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
