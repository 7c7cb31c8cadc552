"""Category trees (paths, cycles, renames reaching products) and shopper upserts."""

from datetime import date

import pytest

from catalog.models import Category, Product, Shopper
from catalog.services.imports import catalog_import_file

pytestmark = pytest.mark.django_db


def _categories(text: str, **kw):
    return catalog_import_file(kind="categories", source=text.encode(), fmt="csv", **kw)


def test_children_may_come_before_parents_and_paths_follow():
    report = _categories(
        "external_id,name,parent\nrunning,Running,shoes\nshoes,Shoes,\ntrail,Trail,running\n"
    )
    assert report.created == 3, report.errors
    assert dict(Category.objects.values_list("external_id", "path")) == {
        "shoes": "shoes",
        "running": "shoes/running",
        "trail": "shoes/running/trail",
    }
    assert Category.objects.get(external_id="trail").depth == 2


def test_unknown_parents_and_cycles_are_row_errors():
    report = _categories("external_id,name,parent\na,A,b\nb,B,a\nc,C,ghost\nd,D,\nx/y,X,\n")
    assert report.status == "rejected" and not Category.objects.exists()
    messages = {(e.line, e.field): e.reason for e in report.errors}
    assert "cycle" in messages[(2, "parent")] and "cycle" in messages[(3, "parent")]
    assert messages[(4, "parent")] == "unknown parent 'ghost'"
    assert "contains '/'" in messages[(6, "external_id")]
    partial = _categories(
        "external_id,name,parent\na,A,b\nb,B,a\nc,C,ghost\nd,D,\n", skip_invalid=True
    )
    assert partial.created == 1 and list(
        Category.objects.values_list("external_id", flat=True)
    ) == ["d"]


def test_moving_and_renaming_a_category_reaches_its_subtree_and_products():
    _categories("external_id,name,parent\nshoes,Shoes,\nrunning,Running,shoes\nsport,Sport,\n")
    catalog_import_file(
        kind="products",
        fmt="csv",
        source=b"external_id,title,price,category,brand\np1,Racer,10,running,Stride\n",
    )
    Product.objects.update(needs_embedding=False)
    again = _categories(
        "external_id,name,parent\nshoes,Shoes,\nrunning,Running,shoes\nsport,Sport,\n"
    )
    assert (again.unchanged, again.updated) == (3, 0)
    moved = _categories("external_id,name,parent\nshoes,Footwear,sport\n")
    assert moved.updated == 1
    assert Category.objects.get(external_id="running").path == "sport/shoes/running"
    product = Product.objects.get()
    assert product.search_text == "Stride | Sport > Footwear > Running" and product.needs_embedding


def test_shoppers_upsert_and_reimport_is_unchanged():
    text = b'external_id,segment,country,signup_date,attributes\ns1,premium,de,2024-03-01,"{""vip"": true}"\ns2,,,,\n'
    first = catalog_import_file(kind="shoppers", source=text, fmt="csv")
    assert first.created == 2
    s1 = Shopper.objects.get(external_id="s1")
    assert (s1.country, s1.signup_date, s1.attributes) == ("DE", date(2024, 3, 1), {"vip": True})
    again = catalog_import_file(kind="shoppers", source=text, fmt="csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    bad = catalog_import_file(
        kind="shoppers", source=b"external_id,country\ns3,Germany\n", fmt="csv"
    )
    assert (
        bad.errors[0].message()
        == "line 2, field country: 'Germany' is not a two-letter country code"
    )
