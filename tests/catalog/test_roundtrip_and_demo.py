"""The demo store: built by the command, exported, re-imported into an empty database."""

import csv
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import F

from catalog import bootstrap
from catalog.models import Brand, Category, Event, Product, Shopper
from catalog.services import demo
from catalog.services.demo import DemoStoreResult, catalog_truncate

SMALL = ("--products", "150", "--shoppers", "40", "--days", "7", "--seed", "7")
SMALL_ARGS = {"products": 150, "shoppers": 40, "days": 7, "seed": 7}


def _snapshot() -> dict:
    return {
        "categories": sorted(
            Category.objects.values_list(
                "external_id", "name", "parent__external_id", "path", "depth"
            )
        ),
        "brands": sorted(Brand.objects.values_list("name", flat=True)),
        "products": sorted(
            (
                p["external_id"],
                p["title"],
                p["description"],
                p["category__external_id"],
                p["brand__name"],
                p["price"],
                p["currency"],
                p["stock"],
                p["image_url"],
                json.dumps(p["attributes"], sort_keys=True),
                p["active"],
                p["search_text"],
            )
            for p in Product.objects.values(
                "external_id",
                "title",
                "description",
                "category__external_id",
                "brand__name",
                "price",
                "currency",
                "stock",
                "image_url",
                "attributes",
                "active",
                "search_text",
            )
        ),
        "shoppers": sorted(
            Shopper.objects.values_list("external_id", "segment", "country", "signup_date")
        ),
        "events": sorted(
            Event.objects.values_list(
                "event_id",
                "shopper__external_id",
                "type",
                "product__external_id",
                "timestamp",
                "query",
                "position",
                "value",
                "review",
                "session",
                "request_id",
            )
        ),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_then_import_into_an_empty_database_gives_the_same_rows(fmt, run_command, tmp_path):
    assert run_command("demo_store", *SMALL, "--truth-dir", str(tmp_path / "truth")).code == 0
    before = _snapshot()
    assert len(before["events"]) > 100 and len(before["categories"]) >= 20
    result = run_command("export_catalog", str(tmp_path / "export"), "--format", fmt)
    assert result.code == 0, result.out
    catalog_truncate()
    assert not Product.objects.exists() and not Event.objects.exists()
    folder = tmp_path / "export"
    for args in (
        (f"categories.{fmt}", "--kind", "categories"),
        (f"products.{fmt}",),
        (f"shoppers.{fmt}", "--kind", "shoppers"),
    ):
        result = run_command("import_catalog", str(folder / args[0]), *args[1:])
        assert result.code == 0, result.out
    result = run_command("import_events", str(folder / f"events.{fmt}"))
    assert result.code == 0, result.out
    assert _snapshot() == before
    # and importing the export again changes nothing
    result = run_command("import_catalog", str(folder / f"products.{fmt}"))
    assert "0 created, 0 updated" in result.out


@pytest.mark.django_db
def test_demo_store_command_writes_the_catalog_and_the_truth(run_command, tmp_path, settings):
    settings.DATA_DIR = tmp_path
    result = run_command("demo_store", *SMALL)
    assert result.code == 0, result.out
    truth = tmp_path / "demo"
    names = {p.name for p in truth.iterdir()}
    assert (
        names
        == {
            "tastes.json",
            "query_intents.csv",
            "review_sentiments.csv",
            "judged_queries.json",
            "relevance.csv",
            "relevance_heldout.csv",  # judged queries in a held-out grammar (catalog/demo/judged_heldout.py)
            "sentiment_spike.json",  # the plantings' truth (catalog.demo.sentiment_spike)
            "churners.json",  # the churner planting's truth (catalog/demo/churners.py)
            "stockouts.json",  # the stock-out planting's (catalog/demo/stockouts.py)
            "zero_results.json",  # searches that found nothing (catalog/demo/zero_results.py)
            "images.json",  # each product's picture spec (catalog/demo/images.py)
            "knowledge.json",  # judged support questions (catalog/demo/knowledge.py)
            "thin_descriptions.json",  # thin descriptions to draft for (catalog/demo/thin_descriptions.py)
        }
    )
    with open(truth / "relevance.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["query", "product_id", "title", "description", "grade"]
        judged = list(reader)
    assert {r["product_id"] for r in judged} <= set(
        Product.objects.values_list("external_id", flat=True)
    )
    searched = set(Event.objects.filter(type="search").values_list("query", flat=True))
    assert not searched & {r["query"] for r in judged}  # judged queries never appear in events
    assert (
        Category.objects.filter(depth__gt=0).exists()
        and Category.objects.filter(parent=None).exists()
    )
    assert not Category.objects.exclude(path__endswith=F("external_id")).exists()
    assert not Product.objects.filter(search_text="").exists()
    assert Shopper.objects.filter(profile_version__gt=0, last_seen_at__isnull=False).exists()
    assert f"{Product.objects.count()} products" in result.out
    # the timeline ends at load time: the pinned store, every time shifted by the same amount
    from catalog.demo import generate_store

    store = generate_store(**SMALL_ARGS)
    generated = {e["event_id"]: e["timestamp"] for e in (*store.events, *store.planted_events())}
    stored = dict(Event.objects.values_list("event_id", "timestamp"))
    shifts = {stored[k] - generated[k] for k in stored}
    assert len(stored) == len(generated) and len(shifts) == 1
    now = datetime.now(UTC)
    assert now - timedelta(days=7, minutes=5) < min(stored.values())
    assert max(stored.values()) <= now
    # a second run refuses; --force replaces
    refused = run_command("demo_store", *SMALL)
    assert refused.code != 0 and "--force" in refused.out
    assert run_command("demo_store", *SMALL, "--force").code == 0
    assert Product.objects.count() == 150


@pytest.mark.django_db
def test_bootstrap_builds_the_demo_store_only_when_the_catalog_is_empty(
    settings, tmp_path, monkeypatch
):
    import io

    from django.core.management.color import no_style

    calls = []
    monkeypatch.setattr(
        demo,
        "demo_store_build",
        lambda **kw: calls.append(kw) or DemoStoreResult({"products": 0}, {"x": tmp_path}, {}),
    )
    settings.DEMO_STORE = False
    bootstrap.run(stdout=io.StringIO(), style=no_style())
    assert calls == []
    settings.DEMO_STORE = True
    out = io.StringIO()
    bootstrap.run(stdout=out, style=no_style())
    assert len(calls) == 1 and "demo store" in out.getvalue()
    Product.objects.create(external_id="x", title="x", price=1)
    bootstrap.run(stdout=io.StringIO(), style=no_style())
    assert len(calls) == 1
