"""The serving path's hot statements, bound on the server: prepared once per connection, and a
query vector sent in pgvector's binary form; ``hnsw.ef_search`` set only when it changes.

Django's PostgreSQL cursor binds parameters on the client (psycopg's ``ClientCursor``): every
statement is parsed, analysed and planned anew, and a vector parameter travels as text.
:func:`bound_cursor` is a server-binding cursor wrapped as Django wraps its own (query logging,
``execute_wrapper``), so that:

- a statement run more than ``prepare_threshold`` times on a connection (the database
  settings' option, :func:`platform_core.connection_urls.database_settings`) is prepared, and
  PostgreSQL keeps its plan (``plan_cache_mode`` auto: a generic plan where it costs no more
  than the custom ones). The lexical retriever's one statement spent 1.0-1.3 ms of its 5-6 ms
  in planning on a 10k-product catalogue. The ORM's client-side cursors never prepare;
- the text form of a 384-float query vector (about 8 KB, written twice in a nearest-neighbour
  statement) took the serving process 0.35 ms to write and the server two parses:
  :class:`VectorParam` is the 1.5 KB binary form, packed by numpy.

A ``SET LOCAL hnsw.ef_search`` in front of every walk was a statement of its own (and, bound on
the server, would be a round trip of its own): :func:`use_ef_search` sets it once per
connection in autocommit, and locally in a transaction, where a session setting would be undone
by a rollback. Every statement that walks an HNSW index states its ``ef_search`` this way, so
none depends on what the connection's previous walk set.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np
from django.db import connection as default_connection
from django.db.backends.postgresql.base import ServerBindingCursor
from psycopg import pq
from psycopg.adapt import Dumper

#: The attribute of Django's connection wrapper holding ``[psycopg connection, the ef_search of
#: its session or None]``: a reconnect (a new psycopg connection) starts over.
_STATE = "_aisle_bound_sql"


class VectorParam:
    """A query vector as a statement parameter, in pgvector's binary form: ``%s::vector`` (the
    cast tells the server the parameter's type; its binary input reads this)."""

    __slots__ = ("data",)

    def __init__(self, vector: Sequence[float] | np.ndarray) -> None:
        values = np.asarray(vector, dtype=">f4").ravel()
        # vector_recv: int16 dimension, int16 unused, then big-endian float4s
        self.data = struct.pack(">HH", values.shape[0], 0) + values.tobytes()


class _VectorDumper(Dumper):
    format = pq.Format.BINARY
    oid = 0  # unknown: the server infers vector from the statement's cast

    def dump(self, obj: VectorParam) -> bytes:
        return obj.data


def _state(db) -> list:
    """This connection's ``[psycopg connection, session ef_search]``, registering the vector
    dumper the first time a psycopg connection is seen."""
    db.ensure_connection()
    raw = db.connection
    state = getattr(db, _STATE, None)
    if state is None or state[0] is not raw:
        raw.adapters.register_dumper(VectorParam, _VectorDumper)
        state = [raw, None]
        setattr(db, _STATE, state)
    return state


def bound_cursor(db=default_connection):
    """A cursor of ``db`` (a Django PostgreSQL connection) that binds parameters on the server,
    so :class:`VectorParam` travels in binary. ``%s`` placeholders as usual; use it as a context
    manager like ``connection.cursor()``."""
    db.close_if_health_check_failed()  # as Django's own cursor(): checked, then connected
    _state(db)
    with db.wrap_database_errors:  # wrapped as Django wraps its cursors (logging, wrappers)
        return db._prepare_cursor(ServerBindingCursor(db.connection))


def use_ef_search(cursor, ef_search: int) -> None:
    """Make ``hnsw.ef_search`` ``ef_search`` for ``cursor``'s next statement: in autocommit, a
    session setting sent only when the connection's differs; in a transaction, ``SET LOCAL``
    (a session setting made there would be undone by a rollback, unknown to this record)."""
    ef = int(ef_search)
    db = cursor.db
    state = _state(db)
    if not db.connection.autocommit:
        cursor.execute(f"SET LOCAL hnsw.ef_search = {ef}")
        return
    if state[1] != ef:
        state[1] = None  # unknown until the SET has run
        cursor.execute(f"SET hnsw.ef_search = {ef}")
        state[1] = ef
