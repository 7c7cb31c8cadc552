"""Writes of the catalog app, one module per action: ``imports`` (the one import service:
files, admin upload, bulk API), ``events`` (event ingestion), ``export``, ``privacy`` (forget /
export a shopper), ``demo`` (build / empty the demo store) and ``edits`` (hand edits from the
admin). ``report`` and ``rows`` hold what the importers share. Reads live in
:mod:`catalog.selectors`.

Every way in — ``import_catalog`` / ``import_events``, the admin Import page,
``POST /api/v1/products/bulk`` and ``POST /api/v1/events`` — validates with
:mod:`catalog.formats` and writes here, in bulk: each chunk of rows travels as one JSON
parameter into ``INSERT ... SELECT FROM json_to_recordset(...)`` (one statement per chunk, not
one per row); the demo store uses COPY.
"""
