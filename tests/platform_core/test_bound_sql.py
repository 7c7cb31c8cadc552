"""Statements bound on the server (``platform_core.bound_sql``): the binary vector parameter, the
``hnsw.ef_search`` a walk runs with, and which statements get prepared."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from platform_core.bound_sql import VectorParam, bound_cursor, use_ef_search


def _show_ef(cursor) -> int:
    cursor.execute("SHOW hnsw.ef_search")
    return int(cursor.fetchone()[0])


def _ef_sets(queries) -> list[str]:
    return [q["sql"] for q in queries if "hnsw.ef_search =" in q["sql"]]


@pytest.mark.django_db
def test_a_vector_parameter_reaches_the_server_as_the_same_floats():
    vector = np.random.default_rng(3).normal(size=384).astype(np.float32)
    with bound_cursor() as cursor:
        cursor.execute(
            "SELECT %s::vector::text, vector_dims(%s::vector)", [VectorParam(vector)] * 2
        )
        text, dims = cursor.fetchone()
    assert dims == 384
    assert np.array_equal(np.array(text[1:-1].split(","), dtype=np.float32), vector)
    # the cosine it gives is the text literal's (what every walk computed before)
    literal = "[" + ",".join(map(str, vector.tolist())) + "]"
    other = np.random.default_rng(4).normal(size=384).astype(np.float32)
    with bound_cursor() as cursor:
        cursor.execute(
            "SELECT %s::vector <=> %s::vector, %s::vector <=> %s::vector",
            [VectorParam(vector), VectorParam(other), literal, VectorParam(other)],
        )
        binary, text_form = cursor.fetchone()
    assert binary == text_form


@pytest.mark.django_db(transaction=True)
def test_in_autocommit_ef_search_is_set_once_per_connection_and_again_after_a_reconnect():
    assert connection.get_autocommit()
    with CaptureQueriesContext(connection) as queries:
        for ef in (100, 100, 100, 64, 64):
            with bound_cursor() as cursor:
                use_ef_search(cursor, ef)
                assert _show_ef(cursor) == ef
    assert _ef_sets(queries) == ["SET hnsw.ef_search = 100", "SET hnsw.ef_search = 64"]
    connection.close()  # a new session starts at pgvector's default: set again
    with CaptureQueriesContext(connection) as queries, bound_cursor() as cursor:
        use_ef_search(cursor, 64)
        assert _show_ef(cursor) == 64
    assert _ef_sets(queries) == ["SET hnsw.ef_search = 64"]


@pytest.mark.django_db(transaction=True)
def test_in_a_transaction_ef_search_is_local_and_a_rollback_leaves_the_record_true():
    with bound_cursor() as cursor:
        use_ef_search(cursor, 100)  # the session's setting, recorded
    with CaptureQueriesContext(connection) as queries:
        with transaction.atomic():
            with bound_cursor() as cursor:
                use_ef_search(cursor, 300)
                assert _show_ef(cursor) == 300
                use_ef_search(cursor, 300)  # in a transaction: stated every time
            transaction.set_rollback(True)
        with bound_cursor() as cursor:
            assert _show_ef(cursor) == 100  # the local setting ended with the transaction
            use_ef_search(cursor, 100)  # the record still holds: nothing sent
    assert _ef_sets(queries) == ["SET LOCAL hnsw.ef_search = 300"] * 2


@pytest.mark.django_db(transaction=True)
def test_bound_statements_are_prepared_from_their_fifth_run_and_the_orms_never():
    from platform_core.models import ApiClient

    connection.close()  # a fresh session: no statement prepared yet
    for _ in range(6):
        with bound_cursor() as cursor:
            cursor.execute("SELECT %s::int + 1", [41])
            assert cursor.fetchone()[0] == 42
        list(ApiClient.objects.filter(name="nobody"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert prepared == ["SELECT $1::int + 1"]
