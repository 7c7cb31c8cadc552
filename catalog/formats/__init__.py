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

The package, by what each module parses: :mod:`~catalog.formats.contract` (kinds and columns),
:mod:`~catalog.formats.values` (the field rules every kind shares),
:mod:`~catalog.formats.reading` (files and API batches into rows),
:mod:`~catalog.formats.records` (products, categories, shoppers),
:mod:`~catalog.formats.events` (events) and :mod:`~catalog.formats.writing` (export).
"""
