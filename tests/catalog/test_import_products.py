"""Product import: validation report, all-or-nothing, skip-invalid, idempotent upsert, full sync."""

from decimal import Decimal

import pytest

from catalog.models import Brand, ImportRun, Product
from catalog.services.imports import catalog_import_file, fulltext_pending_merge
from platform_core.models import AuditLog

pytestmark = pytest.mark.django_db

HEADER = "external_id,title,description,category,brand,price,currency,stock,image_url,attributes,active\n"
GOOD = (
    'p1,Trail runner,Grippy sole,running,Stride,89.90,EUR,4,,"{""color"": ""red""}",true\n'
    "p2,City backpack,,bags,Packwell,49.00,EUR,0,,,true\n"
)
BAD = (
    "p3,Road racer,,running,Stride,12.5O,EUR,2,,,true\n"  # line 4: wrong price
    "p4,Mystery,,hats,Stride,10,EUR,2,,,true\n"  # line 5: unknown category
    "p5,,,bags,Packwell,10,EUR,2,,,true\n"  # line 6: missing title
)


def test_bad_rows_are_refused_with_precise_messages_and_nothing_imported(
    categories, write, run_command
):
    path = write("products.csv", HEADER + GOOD + BAD)
    result = run_command("import_catalog", str(path))
    assert result.code == 1
    assert "line 4, field price: '12.5O' is not a number" in result.out
    assert "line 5, field category: unknown category 'hats'" in result.out
    assert "line 6, field title: is required (empty)" in result.out
    assert Product.objects.count() == 0 and Brand.objects.count() == 0
    run = ImportRun.objects.get(kind="products")
    assert run.status == ImportRun.Status.REJECTED and run.rejected == 3 and run.total_rows == 5
    assert [(e["line"], e["field"]) for e in run.errors] == [
        (4, "price"),
        (5, "category"),
        (6, "title"),
    ]


def test_skip_invalid_imports_the_good_rows(categories, write, run_command):
    path = write("products.csv", HEADER + GOOD + BAD)
    result = run_command("import_catalog", str(path), "--skip-invalid")
    assert result.code == 0, result.out
    assert set(Product.objects.values_list("external_id", flat=True)) == {"p1", "p2"}
    p1 = Product.objects.select_related("brand", "category").get(external_id="p1")
    assert (p1.price, p1.stock, p1.brand.name, p1.category.external_id) == (
        Decimal("89.90"),
        4,
        "Stride",
        "running",
    )
    assert p1.search_text == "Stride | Shoes > Running shoes | red"
    assert p1.needs_embedding
    assert (
        "3 rejected" in result.out
        and ImportRun.objects.get(kind="products").status == ImportRun.Status.PARTIAL
    )


def test_reimporting_the_same_file_changes_nothing(categories, write):
    path = write("products.csv", HEADER + GOOD)
    first = catalog_import_file(kind="products", source=path)
    assert (first.created, first.updated) == (2, 0)
    Product.objects.update(needs_embedding=False)
    before = dict(Product.objects.values_list("external_id", "updated_at"))
    again = catalog_import_file(kind="products", source=path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert dict(Product.objects.values_list("external_id", "updated_at")) == before
    assert not Product.objects.filter(needs_embedding=True).exists()


def test_an_import_merges_its_full_text_index_entries_before_the_first_search(categories, write):
    # Left in the GIN pending list, every lexical search would read through them until a vacuum.
    catalog_import_file(kind="products", source=write("a.csv", HEADER + GOOD))

    assert fulltext_pending_merge() == 0  # nothing was left pending
    changed = GOOD.replace("Grippy sole", "Grippy sole with a wide toe box")
    assert catalog_import_file(kind="products", source=write("b.csv", HEADER + changed)).updated
    assert fulltext_pending_merge() == 0
    assert Product.objects.filter(search_vector="wide").count() == 1


def test_a_price_change_updates_without_reembedding_but_a_title_change_reembeds(categories, write):
    catalog_import_file(kind="products", source=write("a.csv", HEADER + GOOD))
    Product.objects.update(needs_embedding=False)
    changed = GOOD.replace("89.90", "79.90").replace("City backpack", "Town backpack")
    report = catalog_import_file(kind="products", source=write("b.csv", HEADER + changed))
    assert (report.updated, report.unchanged) == (2, 0)
    flags = dict(Product.objects.values_list("external_id", "needs_embedding"))
    assert flags == {"p1": False, "p2": True}
    assert Product.objects.get(external_id="p1").price == Decimal("79.90")


def test_columns_absent_from_the_file_keep_their_stored_values(categories, write):
    catalog_import_file(kind="products", source=write("a.csv", HEADER + GOOD))
    report = catalog_import_file(
        kind="products",
        source=write("stock.csv", "external_id,title,price,stock\np1,Trail runner,89.90,0\n"),
    )
    assert report.updated == 1
    p1 = Product.objects.select_related("brand").get(external_id="p1")
    assert (p1.stock, p1.brand.name, p1.description, p1.attributes) == (
        0,
        "Stride",
        "Grippy sole",
        {"color": "red"},
    )


def test_full_sync_deactivates_absent_products(categories, write):
    catalog_import_file(kind="products", source=write("a.csv", HEADER + GOOD))
    only_p1 = HEADER + GOOD.splitlines(keepends=True)[0]
    report = catalog_import_file(kind="products", source=write("b.csv", only_p1), full_sync=True)
    assert report.deactivated == 1 and report.unchanged == 1
    assert dict(Product.objects.values_list("external_id", "active")) == {"p1": True, "p2": False}
    again = catalog_import_file(kind="products", source=write("b.csv", only_p1), full_sync=True)
    assert again.deactivated == 0


def test_missing_required_column_fails_at_once(write, run_command, db):
    path = write("p.csv", "external_id,description,colour\np1,x,red\n")
    result = run_command("import_catalog", str(path))
    assert result.code == 1
    assert "Missing required columns: title, price" in result.out
    assert ImportRun.objects.get(kind="products").status == ImportRun.Status.FAILED


def test_unknown_columns_are_ignored_with_a_warning(write, run_command, db):
    result = run_command(
        "import_catalog", str(write("p.csv", "external_id,title,price,colour\np1,X,1,red\n"))
    )
    assert result.code == 0 and "Unknown column ignored: colour." in result.out
    assert Product.objects.get().attributes == {}


def test_jsonl_import_and_duplicate_ids(categories, write, run_command):
    text = (
        '{"external_id": "j1", "title": "Bag", "price": 10, "category": "bags", "attributes": {"size": "L"}}\n'
        '{"external_id": "j1", "title": "Bag again", "price": 11}\n'
    )
    result = run_command("import_catalog", str(write("p.jsonl", text)))
    assert (
        result.code == 1
        and "line 2, field external_id: 'j1' appears twice (first on line 1)" in result.out
    )
    result = run_command("import_catalog", str(write("p.jsonl", text)), "--skip-invalid")
    assert result.code == 0
    assert Product.objects.get().attributes == {"size": "L"}


def test_import_by_a_user_is_recorded_and_audited(categories, write, operator_user):
    report = catalog_import_file(
        kind="products", source=write("a.csv", HEADER + GOOD), user=operator_user, origin="admin"
    )
    run = ImportRun.objects.get(pk=report.import_run_id)
    assert (run.user, run.source, run.created) == (operator_user, "admin", 2)
    entry = AuditLog.objects.get(action="catalog.import.products")
    assert entry.actor == operator_user and entry.details["created"] == 2


def test_sample_files_import(run_command, db):
    from django.conf import settings

    fixtures = settings.BASE_DIR / "catalog" / "fixtures"
    assert (
        run_command("import_catalog", str(fixtures / "categories.csv"), "--kind", "categories").code
        == 0
    )
    assert run_command("import_catalog", str(fixtures / "products.csv")).code == 0
    result = run_command("import_catalog", str(fixtures / "products.jsonl"))
    assert result.code == 0 and "0 created" in result.out, result.out
    assert (
        run_command("import_catalog", str(fixtures / "shoppers.csv"), "--kind", "shoppers").code
        == 0
    )
    result = run_command("import_events", str(fixtures / "events.csv"))
    assert result.code == 0 and "9 accepted" in result.out, result.out
    assert Product.objects.count() == 5
