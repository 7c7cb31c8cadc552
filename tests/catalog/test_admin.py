"""Admin pages: fixed query counts as rows grow, no full COUNT(*) on events, Import page,
zero-result report, shopper actions, saves through the services."""

import re
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Category, Event, ImportRun, Product, Shopper
from platform_core.models import AuditLog
from tests.factories import (
    BrandFactory,
    CategoryFactory,
    EventFactory,
    ProductFactory,
    SearchLogFactory,
    ShopperFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client, operator_user):
    client.force_login(operator_user)
    return client


def _grow(n: int) -> None:
    """n more products (over a few categories and brands), shoppers and 3n events, search logs."""
    root = CategoryFactory(external_id="root")
    cats = [CategoryFactory(parent=root) for _ in range(3)]
    brands = [BrandFactory() for _ in range(3)]
    products = [ProductFactory(category=cats[i % 3], brand=brands[i % 3]) for i in range(n)]
    shoppers = [ShopperFactory() for _ in range(n)]
    for i in range(3 * n):
        EventFactory(shopper=shoppers[i % n], product=products[i % n])
    for i in range(n):
        SearchLogFactory(shopper=shoppers[i], result_count=i % 2)


CHANGELISTS = ["product", "event", "shopper", "searchlog", "category", "brand", "importrun"]


@pytest.mark.parametrize("model", CHANGELISTS)
def test_changelist_query_count_does_not_grow_with_rows(
    operator_client, django_assert_max_num_queries, model
):
    url = reverse(f"admin:catalog_{model}_changelist")
    _grow(5)
    with CaptureQueriesContext(connection) as small:
        assert operator_client.get(url).status_code == 200
    _grow(25)
    with django_assert_max_num_queries(12):
        response = operator_client.get(url)
    assert response.status_code == 200
    with CaptureQueriesContext(connection) as large:
        operator_client.get(url)
    assert len(large) == len(small)


def test_changelists_with_filters_and_search(operator_client, django_assert_max_num_queries):
    _grow(10)
    Product.objects.filter(pk=Product.objects.order_by("pk")[0].pk).update(
        price=Decimal("120"), stock=0
    )
    root_path = Category.objects.get(external_id="root").path
    urls = [
        reverse("admin:catalog_product_changelist")
        + f"?category_path={root_path}&price_range=100-250&stock=out&active__exact=1&q=Product",
        reverse("admin:catalog_event_changelist")
        + "?type__exact=view&q=shopper&"
        + urlencode(
            {
                "timestamp__gte": "2024-01-01 00:00:00+00:00",
                "timestamp__lt": "2030-01-01 00:00:00+00:00",
            }
        ),
        reverse("admin:catalog_shopper_changelist") + "?segment=mainstream&country=DE",
        reverse("admin:catalog_searchlog_changelist") + "?zero_results=yes&q=running",
    ]
    for url in urls:
        with django_assert_max_num_queries(12):
            response = operator_client.get(url)
        assert response.status_code == 200, url
    product_page = operator_client.get(urls[0]).content.decode()
    assert product_page.count('class="action-select"') == 1  # only the 120 € product out of stock


def test_event_list_never_counts_the_whole_table(operator_client):
    _grow(5)
    with CaptureQueriesContext(connection) as queries:
        operator_client.get(reverse("admin:catalog_event_changelist"))
    counts = [
        q["sql"]
        for q in queries
        if re.search(r"COUNT\(\*\)", q["sql"]) and "catalog_event" in q["sql"]
    ]
    assert counts and all("LIMIT" in sql for sql in counts), counts


def test_estimated_paginator_uses_statistics_for_big_tables(monkeypatch):
    from catalog.admin.common import EstimatedCountPaginator

    _grow(10)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_event")
    monkeypatch.setattr(EstimatedCountPaginator, "EXACT_UP_TO", 5)
    with CaptureQueriesContext(connection) as queries:
        count = EstimatedCountPaginator(Event.objects.all(), 20).count
    assert count == 30 and "pg_class" in queries[0]["sql"] and len(queries) == 1
    filtered = EstimatedCountPaginator(Event.objects.filter(type="view"), 20).count
    assert filtered >= 6  # beyond the exact bound: the planner's estimate


@pytest.mark.parametrize("model", ["product", "shopper"])
def test_change_page_with_events_has_a_fixed_query_count(
    operator_client, django_assert_max_num_queries, model
):
    product = ProductFactory()
    shopper = ShopperFactory()
    obj = product if model == "product" else shopper
    url = reverse(f"admin:catalog_{model}_change", args=[obj.pk])
    for _ in range(3):
        EventFactory(product=product, shopper=shopper)
    with CaptureQueriesContext(connection) as few:
        assert operator_client.get(url).status_code == 200
    for _ in range(80):
        EventFactory(
            product=product,
            shopper=ShopperFactory() if model == "product" else shopper,
            query="red shoes",
        )
    with django_assert_max_num_queries(len(few) + 1):
        response = operator_client.get(url)
    page = response.content.decode()
    shown = page.count("red shoes")
    assert shown == (20 if model == "product" else 50)


def test_product_change_page_saves_through_the_service(operator_client):
    product = ProductFactory(title="Old title", attributes={"color": "red"})
    Product.objects.filter(pk=product.pk).update(needs_embedding=False)
    url = reverse("admin:catalog_product_change", args=[product.pk])
    EventFactory(product=product)
    data = {
        "external_id": product.external_id,
        "title": "New title",
        "description": product.description,
        "category": product.category_id,
        "brand": product.brand_id,
        "price": "25.00",
        "currency": "EUR",
        "stock": "3",
        "active": "on",
        "image_url": "",
        "attributes": '{"color": "blue"}',
    }
    response = operator_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    product.refresh_from_db()
    assert (product.title, product.needs_embedding) == ("New title", True)
    assert product.search_text.endswith("blue")
    assert AuditLog.objects.filter(action="product.change", object_id=str(product.pk)).exists()


def test_category_admin_keeps_the_path(operator_client):
    parent = CategoryFactory(external_id="shoes", name="Shoes")
    response = operator_client.post(
        reverse("admin:catalog_category_add"),
        {"external_id": "trail", "name": "Trail", "parent": parent.pk},
    )
    assert response.status_code == 302
    child = Category.objects.get(external_id="trail")
    assert (child.path, child.depth) == ("shoes/trail", 1)
    response = operator_client.post(
        reverse("admin:catalog_category_change", args=[parent.pk]),
        {"external_id": "shoes", "name": "Shoes", "parent": child.pk},
    )
    assert response.status_code == 200 and "under itself" in response.content.decode()


def test_import_page(operator_client):
    CategoryFactory(external_id="bags", name="Bags")
    url = reverse("admin:catalog_import")
    listing = operator_client.get(reverse("admin:catalog_product_changelist")).content.decode()
    assert url in listing
    assert operator_client.get(url).status_code == 200
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = b"external_id,title,price,category\nb1,Bag,10,bags\nb2,,x,hats\n"
    response = operator_client.post(
        url, {"file": SimpleUploadedFile("p.csv", bad), "kind": "products"}
    )
    page = response.content.decode()
    assert response.status_code == 200 and "REJECTED" in page
    assert re.search(r"<td>3</td><td>title</td><td>is required", page)
    assert (
        re.search(r"<td>3</td><td>price</td>", page) and "unknown category &#x27;hats&#x27;" in page
    )
    assert not Product.objects.exists()
    response = operator_client.post(
        url, {"file": SimpleUploadedFile("p.csv", bad), "kind": "products", "skip_invalid": "on"}
    )
    assert Product.objects.get().external_id == "b1"
    run = ImportRun.objects.filter(source="admin").first()
    assert run.user.username == "oper" and run.status == "partial"
    detail = operator_client.get(
        reverse("admin:catalog_importrun_change", args=[run.pk])
    ).content.decode()
    assert "unknown category" in detail


def test_import_page_needs_the_add_permission(client, analyst_user):
    client.force_login(analyst_user)
    assert client.get(reverse("admin:catalog_import")).status_code == 403


def test_zero_result_report(operator_client):
    for _ in range(3):
        SearchLogFactory(query="Blue Sneakers", result_count=0)
    SearchLogFactory(query="umbrella hat", result_count=0)
    SearchLogFactory(query="running shoes", result_count=12)
    page = operator_client.get(reverse("admin:catalog_zero_results"), {"days": 7}).content.decode()
    assert page.index("blue sneakers") < page.index("umbrella hat")
    assert "running shoes" not in page
    assert re.search(r"<td>blue sneakers</td>\s*<td>Blue Sneakers</td>\s*<td>3</td>", page)


def test_shopper_admin_actions_forget_and_export(operator_client):
    keep, gone = ShopperFactory(external_id="keep"), ShopperFactory(external_id="gone")
    EventFactory(shopper=gone)
    EventFactory(shopper=keep)
    url = reverse("admin:catalog_shopper_changelist")
    exported = operator_client.post(
        url, {"action": "export_shoppers", "_selected_action": [gone.pk]}
    )
    assert exported["Content-Type"] == "application/json"
    assert (
        exported.json()["shopper"]["external_id"] == "gone" and len(exported.json()["events"]) == 1
    )
    confirm = operator_client.post(
        url, {"action": "forget_shoppers", "_selected_action": [gone.pk]}
    )
    assert confirm.status_code == 200 and "cannot be undone" in confirm.content.decode()
    assert Shopper.objects.filter(external_id="gone").exists()
    done = operator_client.post(
        url, {"action": "forget_shoppers", "_selected_action": [gone.pk], "confirm": "yes"}
    )
    assert done.status_code == 302
    assert list(Shopper.objects.values_list("external_id", flat=True)) == ["keep"]
    assert Event.objects.count() == 1
    assert AuditLog.objects.filter(action="shopper.forget", actor__username="oper").exists()
