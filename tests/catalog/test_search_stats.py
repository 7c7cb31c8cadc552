"""BM25's term and corpus statistics follow every product write (triggers, migration 0005)."""

from __future__ import annotations

import pytest
from django.db import connection

from catalog.models import Product
from catalog.search_stats import (
    search_stats_computed,
    search_stats_differences,
    search_stats_rebuild,
    search_stats_stored,
)
from catalog.services.demo import catalog_truncate
from catalog.services.edits import product_save
from catalog.services.imports import products_import_objects
from tests.factories.catalog import ProductFactory

pytestmark = pytest.mark.django_db


def df(word: str) -> int:
    return search_stats_stored().terms.get(word, 0)


def test_insert_update_deactivate_delete_keep_the_statistics_exact():
    a = ProductFactory(title="Red kettle", description="A steel kettle.", attributes={})
    ProductFactory(title="Blue kettle", description="", attributes={})
    assert df("kettl") == 2 and df("red") == 1 and df("blue") == 1
    stored = search_stats_stored()
    assert stored.documents == 2
    assert stored.lexemes == sum(
        len(v.split()) for v in Product.objects.values_list("search_vector", flat=True)
    )

    # The text changes: the old words leave, the new ones arrive.
    a.title = "Green kettle"
    product_save(product=a, changed_fields=["title"])
    assert df("red") == 0 and df("green") == 1 and df("kettl") == 2

    # Deactivated products are not searchable: they leave the statistics, and come back.
    Product.objects.filter(pk=a.pk).update(active=False)
    assert df("green") == 0 and df("kettl") == 1 and search_stats_stored().documents == 1
    Product.objects.filter(pk=a.pk).update(active=True)
    assert df("green") == 1 and search_stats_stored().documents == 2

    # An update that changes neither the text nor active leaves the statistics as they are.
    before = search_stats_stored()
    Product.objects.update(stock=0)
    assert search_stats_stored() == before

    Product.objects.filter(pk=a.pk).delete()
    assert df("green") == 0 and df("steel") == 0 and df("kettl") == 1
    assert search_stats_differences() == []


def test_bulk_writes_import_and_truncate_keep_the_statistics_exact():
    Product.objects.bulk_create(
        [
            Product(
                external_id=f"b-{n}",
                title=f"Walking boot size {n}",
                description="leather" if n % 2 else "",
                price=1,
            )
            for n in range(30)
        ]
    )
    assert df("boot") == 30 and df("leather") == 15
    report = products_import_objects(
        objects=[
            {"external_id": "b-1", "title": "Running shoe", "price": "3.00", "active": True},
            {"external_id": "n-1", "title": "Running boot", "price": "4.00", "active": False},
        ]
    )
    assert not report.errors
    assert df("boot") == 29 and df("run") == 1 and df("shoe") == 1
    assert search_stats_differences() == []
    # A raw SQL write is seen too.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE catalog_product SET title = 'Trail boot' WHERE external_id = 'b-2'")
    assert df("trail") == 1 and search_stats_differences() == []

    catalog_truncate()
    assert search_stats_stored().documents == 0 and search_stats_stored().terms == {}


def test_rebuild_repairs_statistics_that_drifted():
    ProductFactory(title="Red kettle", attributes={})
    with connection.cursor() as cursor:
        cursor.execute("UPDATE catalog_searchtermstat SET documents = 7 WHERE lexeme = 'red'")
    assert search_stats_differences()
    rebuilt = search_stats_rebuild()
    assert search_stats_differences() == []
    assert rebuilt == search_stats_computed()
