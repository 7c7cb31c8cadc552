"""Field rules every kind shares: text PostgreSQL can store, numbers that fit their column,
prices, booleans, JSON objects, URLs, codes, dates and times; each parser returns the clean
value or raises :class:`Invalid` with the reason shown to the user. Also how a row's fields
are run through their parsers (:func:`clean_fields`)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from platform_core.timeparse import utc_within_years

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


def storable(text: str) -> str:
    """Text with NUL and lone surrogates written as escapes (``\\x00``, ``\\ud800``), for
    messages that quote what a client sent."""
    if _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class Invalid(ValueError):
    """A value that breaks the contract; the message is the reason shown to the user."""


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def show(value: Any) -> str:
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
        raise Invalid(f"{show(value)} is not an identifier")
    text = as_text(value, max_length=max_length)
    if not text:
        raise Invalid("is required (empty)")
    return text


def as_price(value: Any) -> Decimal:
    if _blank(value):
        raise Invalid("is required")
    if isinstance(value, bool):
        raise Invalid(f"{show(value)} is not a number")
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
            f"{show(value)} is not a number (use a dot for decimals, e.g. 19.90)"
        ) from None
    if not amount.is_finite():
        raise Invalid(f"{show(value)} is not a finite number")
    if amount < 0:
        raise Invalid(f"{show(value)} is negative; a price is 0 or more")
    # the size first: quantize() of a huge number (1e30) overflows the decimal context
    if amount > MAX_PRICE:
        raise Invalid(f"{show(value)} is too large (at most {MAX_PRICE})")
    if amount != amount.quantize(Decimal("0.01")):
        raise Invalid(f"{show(value)} has more than 2 decimal places")
    return amount.quantize(Decimal("0.01"))


def as_int(value: Any, *, minimum: int | None = None, default: int | None = None) -> int | None:
    if _blank(value):
        return default
    if isinstance(value, bool):
        raise Invalid(f"{show(value)} is not a whole number")
    if isinstance(value, float):
        if not value.is_integer():
            raise Invalid(f"{show(value)} is not a whole number")
        number = int(value)
    elif isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[+-]?\d+", text):
            raise Invalid(f"{show(value)} is not a whole number")
        if len(text.lstrip("+-0")) > 10:  # int() of thousands of digits is slow, then refused
            raise Invalid(f"{show(value)} is too large (at most {MAX_INT})")
        number = int(text)
    else:
        raise Invalid(f"must be a whole number, not {_type_name(value)}")
    if minimum is not None and number < minimum:
        raise Invalid(f"{show(number)} is below the minimum of {minimum}")
    if abs(number) > MAX_INT:
        raise Invalid(f"{show(number)} is too large (at most {MAX_INT})")
    return number


def as_float(value: Any) -> float | None:
    if _blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise Invalid(f"{show(value)} is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Invalid(f"{show(value)} is not a number") from None
    except OverflowError:  # an int beyond float's range
        raise Invalid(f"{show(value)} is too large") from None
    if not math.isfinite(number):
        raise Invalid(f"{show(value)} is not a finite number")
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
    raise Invalid(f"{show(value)} is not a boolean (use true or false)")


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
                    raise Invalid(f"the key {show(key)} is not text")
                reason = unstorable_reason(key)
                if reason:
                    raise Invalid(f"the key {show(key)} {reason}")
                path = f"{where}.{key}" if where else key
            else:
                path = f"{where}{key}"
            stack.append((item, depth + 1, path if len(path) <= 40 else path[:37] + "..."))


def as_url(value: Any) -> str:
    text = as_text(value, max_length=1000)
    if text and not re.fullmatch(r"https?://[^\s/$.?#][^\s]*", text, flags=re.IGNORECASE):
        raise Invalid(f"{show(text)} is not an http(s) URL")
    return text


def as_currency(value: Any) -> str:
    if _blank(value):
        return "EUR"
    text = as_text(value).upper()
    if not re.fullmatch(r"[A-Z]{3}", text):
        raise Invalid(f"{show(value)} is not a three-letter currency code")
    return text


def as_country(value: Any) -> str:
    if _blank(value):
        return ""
    text = as_text(value).upper()
    if not re.fullmatch(r"[A-Z]{2}", text):
        raise Invalid(f"{show(value)} is not a two-letter country code")
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
        raise Invalid(f"{show(value)} is not an ISO 8601 date (YYYY-MM-DD)") from None


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
                f"{show(value)} is not an ISO 8601 date-time (e.g. 2024-05-01T12:30:00Z)"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return utc_within_years(moment, min_year=EVENT_YEAR_MIN, max_year=EVENT_YEAR_MAX)
    except ValueError:
        raise Invalid(
            f"{show(value)} is outside the years {EVENT_YEAR_MIN} to {EVENT_YEAR_MAX}"
        ) from None


Problems = list[tuple[str, str]]


def clean_fields(data: dict, spec: dict[str, Any], problems: Problems) -> dict[str, Any]:
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
            problems.append((name, f"{show(data[name])} cannot be read ({type(exc).__name__})"))
    return out


def require_fields(data: dict, names: Iterable[str], problems: Problems) -> None:
    for name in names:
        if name not in data:
            problems.append((name, "is required (the key is missing)"))


def refuse(reason: str):
    raise Invalid(reason)
