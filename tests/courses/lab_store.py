"""The labs' small demo store, built once per test session (per xdist worker) and copied into
each test that asks for it.

Every lab test used to build the 300-product demo store itself, and four of them then embedded
it with the packaged encoder (``training.bootstrap``): the same minute of work, again and again.
Here the first test that asks builds it — inside a transaction that is rolled back, so the
database the other tests see stays empty — and keeps a copy of every table (PostgreSQL's binary
``COPY``), the indexes the build created (the retriever's HNSW index) and the hidden truth's
files. Each test then gets the store back in about a second: inside its own transaction (rolled
back after it, like any ``db`` test) every table is emptied and refilled from the copy, with
triggers and foreign-key checks off while it is (``session_replication_role = replica``: the
copy is a consistent state, and the BM25 statistics the product triggers keep are copied as
they were), and each sequence is moved past the copied ids.

The whole database is copied, not only the rows the build added: a transactional test before
this one (the browser tests) flushes every table, and re-creates content types and permissions
under new ids, which the copied rows must agree with.

What stays outside the database is shared by the session and not copied: the product pictures
under ``MEDIA_ROOT`` and the truth files under ``DATA_DIR/demo`` (written once, read only).

Two stores: ``lab_store`` (the demo store and the curriculum, as ``demo_store_build`` and
``curriculum_load`` leave them) and ``lab_store_embedded`` (that, then ``training.bootstrap``:
the packaged encoder registered, the catalogue embedded with it and active, and the intent
rules). The jobs a lab runs are still run by each test, as a learner, from this state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest

#: the lab store: what every lab's text assumes (300 products, 150 shoppers, 20 days, seed 42)
LAB_STORE = {"products": 300, "shoppers": 150, "days": 20, "seed": 42}


class _Rollback(Exception):
    """Raised to roll the build back once its tables are copied."""


@dataclass
class Snapshot:
    """Every table's rows (binary COPY, generated columns left out), in table order."""

    tables: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    all_tables: list[str] = field(default_factory=list)
    indexes: list[str] = field(default_factory=list)
    truth_files: dict = field(default_factory=dict)
    seconds: float = 0.0


def _tables(cursor) -> list[str]:
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY c.relname"
    )
    return [row[0] for row in cursor.fetchall()]


def _columns(cursor, table: str) -> list[str]:
    cursor.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
        "AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
        [f'public."{table}"'],
    )
    return [row[0] for row in cursor.fetchall()]


def _indexes(cursor) -> dict[str, str]:
    cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
    return dict(cursor.fetchall())


def _relations(cursor) -> set[str]:
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind <> 'i'"
    )
    return {row[0] for row in cursor.fetchall()}


def _quoted(names: list[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


def _take(connection, build) -> Snapshot:
    """Run ``build()`` in a transaction, copy every table, roll it back."""
    from django.db import transaction

    snapshot = Snapshot()
    started = time.monotonic()
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                indexes_before = _indexes(cursor)
                relations_before = _relations(cursor)
            snapshot.truth_files = build()
            raw = connection.connection  # psycopg's connection, inside the same transaction
            with raw.cursor() as cursor:
                new = _relations(cursor) - relations_before
                assert not new, f"the lab store's build created relations it cannot copy: {new}"
                snapshot.indexes = [
                    sql for name, sql in _indexes(cursor).items() if name not in indexes_before
                ]
                snapshot.all_tables = _tables(cursor)
                for table in snapshot.all_tables:
                    columns = _columns(cursor, table)
                    chunks: list[bytes] = []
                    with cursor.copy(
                        f'COPY "{table}" ({_quoted(columns)}) TO STDOUT (FORMAT binary)'
                    ) as copy:
                        chunks.extend(bytes(chunk) for chunk in copy)
                    cursor.execute(f'SELECT EXISTS (SELECT 1 FROM "{table}")')
                    if cursor.fetchone()[0]:
                        snapshot.tables.append((table, columns, b"".join(chunks)))
            raise _Rollback
    except _Rollback:
        pass
    snapshot.seconds = time.monotonic() - started
    return snapshot


def restore(connection, snapshot: Snapshot) -> None:
    """Empty every table and copy the snapshot in (inside the caller's transaction)."""
    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # no triggers, no FK checks
        try:
            tables = _tables(cursor)
            for table in tables:
                cursor.execute(f'DELETE FROM "{table}"')
            for table, columns, data in snapshot.tables:
                with cursor.copy(
                    f'COPY "{table}" ({_quoted(columns)}) FROM STDIN (FORMAT binary)'
                ) as copy:
                    copy.write(data)
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")
        for sql in snapshot.indexes:
            cursor.execute(sql.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))
        # every sequence past the ids copied in (sequences are not transactional: never back)
        cursor.execute(
            "SELECT s.relname, t.relname, a.attname FROM pg_class s "
            "JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass "
            "JOIN pg_class t ON t.oid = d.refobjid "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid "
            "JOIN pg_namespace n ON n.oid = s.relnamespace "
            "WHERE s.relkind = 'S' AND n.nspname = 'public'"
        )
        copied = {table for table, _columns, _data in snapshot.tables}
        for sequence, table, column in cursor.fetchall():
            if table in copied:
                cursor.execute(
                    f'SELECT setval(\'"{sequence}"\', GREATEST((SELECT max("{column}") FROM '
                    f'"{table}"), (SELECT last_value FROM "{sequence}")))'
                )
        for table in copied:
            cursor.execute(f'ANALYZE "{table}"')


def _build_store(settings) -> dict:
    from catalog.services.demo import demo_store_build
    from courses import curriculum_sync
    from courses.bootstrap import CURRICULUM_DIR

    result = demo_store_build(**LAB_STORE, truth_dir=settings.DATA_DIR / "demo")
    curriculum_sync.curriculum_load(root=CURRICULUM_DIR)
    return {name: str(path) for name, path in result.truth_files.items()}


def _embed_store() -> None:
    from training import bootstrap

    bootstrap.run()  # what `make run` does: the packaged encoder, embedded and active


def _one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    return lambda: torch.set_num_threads(before)


@pytest.fixture(scope="session")
def _lab_snapshots(django_db_setup, django_db_blocker):
    """Built lazily, once per session: {"plain": Snapshot, "embedded": Snapshot}."""
    from django.conf import settings
    from django.db import connection
    from django.test import override_settings

    snapshots: dict[str, Snapshot] = {}

    def get(kind: str) -> Snapshot:
        if kind in snapshots:
            return snapshots[kind]
        with django_db_blocker.unblock(), override_settings(JOB_TORCH_THREADS=1):
            if kind == "plain":
                snapshots[kind] = _take(connection, lambda: _build_store(settings))
            else:
                plain = get("plain")

                def build() -> dict:
                    restore(connection, plain)
                    undo = _one_torch_thread()
                    try:
                        _embed_store()
                    finally:
                        undo()
                    return plain.truth_files

                snapshots[kind] = _take(connection, build)
        print(f"\nlab store ({kind}) built in {snapshots[kind].seconds:.1f} s")
        return snapshots[kind]

    return get


def _restored(request, kind: str) -> dict:
    from django.db import connection

    request.getfixturevalue("db")  # the test's transaction (or its transactional database)
    snapshot = request.getfixturevalue("_lab_snapshots")(kind)
    restore(connection, snapshot)
    return dict(snapshot.truth_files)


@pytest.fixture
def lab_store(request) -> dict:
    """The lab store (demo store and curriculum) in this test's database; returns the hidden
    truth's files (name → path)."""
    return _restored(request, "plain")


@pytest.fixture
def lab_store_embedded(request) -> dict:
    """The lab store, embedded by the packaged encoder, which is the active retriever."""
    return _restored(request, "embedded")
