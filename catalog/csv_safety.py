"""CSV files a spreadsheet opens as data, never as formulas. Plain Python, no Django.

Every CSV file Aisle writes (``export_catalog``, the Academy's lab files) goes through
:class:`SafeCsvWriter`; every CSV file it reads goes through :func:`formula_unescape`, so an
exported file imports back to the same rows.

The rule follows OWASP's "CSV Injection" guidance and ASVS 5.0 requirement 1.2.10:

* A **text** value whose first character is ``=``, ``+``, ``-``, ``@``, tab, carriage return
  (OWASP's list) or NUL (ASVS adds it) is written with a single quote ``'`` in front. Excel,
  LibreOffice and Google Sheets take a leading quote as "this cell is text" and do not show it.
* Every field is enclosed in double quotes, with inner double quotes doubled (RFC 4180), so a
  separator inside a value (``,`` or the ``;`` some locales use) can never start a new cell
  whose first character is one of the above.
* **Numbers** (``int``, ``float``, ``Decimal``) and other typed values (dates, booleans, JSON
  objects) are written as their literal: ``-1.5`` is a number to a spreadsheet, not a formula,
  and it must stay a number. Only ``str`` values are escaped, whatever column they are in.
* To make the escape reversible, a text value that already starts with one or more quotes
  followed by one of those characters (``'=x``) gets one more quote (``''=x``). Reading a CSV
  cell removes exactly one quote from a cell that matches ``'+`` then one of the characters,
  so ``unescape(escape(s)) == s`` for every string, and an exported catalogue imported again
  never grows quotes. (A spreadsheet that saves a cell typed as ``'=x`` writes ``=x``; the
  importer reads a cell ``'=x`` from any other tool as ``=x`` too.)

JSON Lines files are not touched: no spreadsheet opens them as a sheet.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable
from typing import IO, Any

# OWASP CSV Injection: = + - @ tab (0x09) carriage return (0x0D); ASVS 5.0 1.2.10 adds NUL.
FORMULA_TRIGGERS = "=+-@\t\r\x00"
ESCAPE = "'"

_NEEDS_ESCAPE = re.compile(r"'*[=+\-@\t\r\x00]")
_ESCAPED = re.compile(r"'+[=+\-@\t\r\x00]")


def formula_escape(text: str) -> str:
    """``text`` as a spreadsheet-safe cell: one quote in front when it starts (after any quotes)
    with a formula trigger; otherwise unchanged."""
    return ESCAPE + text if _NEEDS_ESCAPE.match(text) else text


def formula_unescape(text: str) -> str:
    """The inverse of :func:`formula_escape`, applied to every cell a CSV reader returns."""
    return text[1:] if _ESCAPED.match(text) else text


def _plain(value: Any) -> str:
    return "" if value is None else str(value)


class SafeCsvWriter:
    """A ``csv.writer`` (every field quoted, ``\\n`` line ends) whose text values are escaped.

    ``format_value`` turns a non-text value into its cell text (default ``str``, ``None`` →
    empty); its result is written as it is, so a formatter must not turn text into something
    that starts with a trigger (numbers, dates, ``true``/``false`` and JSON never do).
    """

    def __init__(self, handle: IO[str], *, format_value: Callable[[Any], str] = _plain):
        self._writer = csv.writer(handle, lineterminator="\n", quoting=csv.QUOTE_ALL)
        self._format = format_value

    def cell(self, value: Any) -> str:
        if isinstance(value, str):
            return formula_escape(value)
        return self._format(value)

    def writerow(self, values: Iterable[Any]) -> None:
        self._writer.writerow([self.cell(v) for v in values])
