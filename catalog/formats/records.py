"""Rows of the catalog's records — products, categories, shoppers — cleaned to Python values
or ``(field, reason)`` problems."""

from __future__ import annotations

from typing import Any

from catalog.formats.values import (
    MAX_DESCRIPTION,
    Invalid,
    Problems,
    as_bool,
    as_country,
    as_currency,
    as_date,
    as_identifier,
    as_int,
    as_json_object,
    as_price,
    as_text,
    as_url,
    clean_fields,
    refuse,
    require_fields,
    show,
)

_PRODUCT_SPEC = {
    "external_id": as_identifier,
    "title": lambda v: as_text(v, max_length=500) or refuse("is required (empty)"),
    "description": lambda v: as_text(v, max_length=MAX_DESCRIPTION),
    "category": lambda v: as_text(v, max_length=128) or None,
    "brand": lambda v: as_text(v, max_length=200) or None,
    "price": as_price,
    "currency": as_currency,
    "stock": lambda v: as_int(v, minimum=0, default=0),
    "image_url": as_url,
    "attributes": as_json_object,
    "active": lambda v: as_bool(v, default=True),
}

PRODUCT_DEFAULTS: dict[str, Any] = {
    "description": "",
    "category": None,
    "brand": None,
    "currency": "EUR",
    "stock": 0,
    "image_url": "",
    "attributes": {},
    "active": True,
}


def clean_product(data: dict) -> tuple[dict, Problems]:
    problems: Problems = []
    require_fields(data, ("external_id", "title", "price"), problems)
    return clean_fields(data, _PRODUCT_SPEC, problems), problems


def as_category_id(value: Any) -> str:
    text = as_identifier(value)
    if "/" in text:
        raise Invalid(f"{show(text)} contains '/', which separates the levels of a category path")
    return text


_CATEGORY_SPEC = {
    "external_id": as_category_id,
    "name": lambda v: as_text(v, max_length=200) or refuse("is required (empty)"),
    "parent": lambda v: as_text(v, max_length=128) or None,
}


def clean_category(data: dict) -> tuple[dict, Problems]:
    problems: Problems = []
    require_fields(data, ("external_id", "name"), problems)
    out = clean_fields(data, _CATEGORY_SPEC, problems)
    if out.get("parent") and out.get("parent") == out.get("external_id"):
        problems.append(("parent", "a category cannot be its own parent"))
    return out, problems


_SHOPPER_SPEC = {
    "external_id": as_identifier,
    "segment": lambda v: as_text(v, max_length=64),
    "country": as_country,
    "signup_date": as_date,
    "attributes": as_json_object,
}
SHOPPER_DEFAULTS: dict[str, Any] = {
    "segment": "",
    "country": "",
    "signup_date": None,
    "attributes": {},
}


def clean_shopper(data: dict) -> tuple[dict, Problems]:
    problems: Problems = []
    require_fields(data, ("external_id",), problems)
    return clean_fields(data, _SHOPPER_SPEC, problems), problems


CLEANERS = {"products": clean_product, "categories": clean_category, "shoppers": clean_shopper}
