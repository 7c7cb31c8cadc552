"""The file contract in plain Python: reading, line numbers, columns, values, event ids."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from catalog.formats.events import clean_event
from catalog.formats.reading import FileFormatError, check_columns, read_rows
from catalog.formats.records import clean_product
from catalog.formats.values import Invalid, as_timestamp


def test_csv_rows_keep_their_line_numbers_across_quoted_newlines():
    text = 'external_id,title,price\na,"Two\nlines",1\n\nb,B,2\n'
    parsed = read_rows(text.encode(), fmt="csv")
    assert [(r.line, r.data["external_id"]) for r in parsed.rows] == [(2, "a"), (5, "b")]


def test_csv_row_with_wrong_cell_count_is_a_row_error():
    parsed = read_rows(b"external_id,title,price\na,A\n", fmt="csv")
    assert parsed.rows == []
    assert parsed.errors[0].line == 2 and "2 values" in parsed.errors[0].reason


def test_missing_required_columns_are_named_and_unknown_ones_warned():
    parsed = read_rows(b"external_id,colour\nx,red\n", fmt="csv")
    with pytest.raises(FileFormatError, match="Missing required columns: title, price"):
        check_columns("products", parsed)
    parsed = read_rows(b"external_id,title,price,colour\nx,X,1,red\n", fmt="csv")
    assert check_columns("products", parsed) == ["Unknown column ignored: colour."]


def test_jsonl_reads_objects_and_reports_bad_lines():
    parsed = read_rows(b'{"external_id": "a"}\n\n[1]\n{oops\n', fmt="jsonl")
    assert [r.line for r in parsed.rows] == [1]
    assert [(e.line, e.reason.split(" (")[0]) for e in parsed.errors] == [
        (3, "each line must be a JSON object"),
        (4, "not valid JSON"),
    ]


def test_product_values_are_parsed_and_checked():
    clean, problems = clean_product(
        {
            "external_id": " a ",
            "title": "T",
            "price": "19.9",
            "stock": "3",
            "active": "no",
            "attributes": '{"size": "M"}',
            "currency": "usd",
            "category": "",
            "brand": "",
        }
    )
    assert problems == []
    assert clean == {
        "external_id": "a",
        "title": "T",
        "price": Decimal("19.90"),
        "stock": 3,
        "active": False,
        "attributes": {"size": "M"},
        "currency": "USD",
        "category": None,
        "brand": None,
    }
    _, problems = clean_product(
        {
            "external_id": "a",
            "title": "",
            "price": "12,50",
            "stock": "-1",
            "attributes": "[1]",
            "image_url": "ftp://x",
        }
    )
    fields = dict(problems)
    assert set(fields) == {"title", "price", "stock", "attributes", "image_url"}
    assert "not a number" in fields["price"] and "is required" in fields["title"]


def test_timestamps_without_zone_are_utc():
    assert as_timestamp("2024-06-01T10:00:00") == datetime(2024, 6, 1, 10, tzinfo=UTC)
    plus2 = as_timestamp("2024-06-01T12:00:00+02:00")
    assert plus2 == datetime(2024, 6, 1, 10, tzinfo=UTC) and plus2.tzinfo == UTC
    assert as_timestamp("2024-06-01T10:00:00Z").utcoffset() == timedelta(0)
    with pytest.raises(Invalid):
        as_timestamp("yesterday")


def test_missing_event_id_is_a_stable_hash_of_the_event():
    row = {"shopper": "s1", "type": "view", "product": "p1", "timestamp": "2024-06-01T10:00:00"}
    first, _ = clean_event(row)
    same_instant = {
        **row,
        "timestamp": datetime(2024, 6, 1, 12, tzinfo=timezone(timedelta(hours=2))),
    }
    second, _ = clean_event(same_instant)
    other, _ = clean_event({**row, "product": "p2"})
    assert first["event_id"] == second["event_id"] != other["event_id"]
    _, problems = clean_event(row, require_event_id=True)
    assert ("event_id", "is required (the key is missing)") in problems


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"type": "view"}, "product"),
        ({"type": "search", "product": ""}, "query"),
        ({"type": "rating", "product": "p"}, "value"),
        ({"type": "rating", "product": "p", "value": 7}, "value"),
        ({"type": "review", "product": "p", "value": 4}, "review"),
        ({"type": "jump", "product": "p"}, "type"),
    ],
)
def test_event_rules_per_type(row, field):
    _, problems = clean_event({"shopper": "s", "timestamp": "2024-01-01T00:00:00Z", **row})
    assert field in [f for f, _ in problems]


def test_category_paths_flag_unknown_parents_and_cycles():
    from catalog.selectors import category_paths

    paths, problems = category_paths({"a": None, "b": "a", "c": "b", "x": "y", "p": "q", "q": "p"})
    assert paths == {"a": "a", "b": "a/b", "c": "a/b/c"}
    assert "unknown parent 'y'" in problems["x"][0]
    assert "cycle" in problems["p"][0] and "cycle" in problems["q"][0]
