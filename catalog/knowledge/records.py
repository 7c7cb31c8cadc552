"""The knowledge base's file contract: columns of ``articles`` and ``product_qa`` rows, and
their cleaners (``(clean values, [(field, reason)])``, as the catalogue's records)."""

from __future__ import annotations

from typing import Any

from catalog.formats.values import (
    MAX_DESCRIPTION,
    Invalid,
    Problems,
    as_bool,
    as_identifier,
    as_text,
    as_timestamp,
    clean_fields,
    refuse,
    require_fields,
    show,
)
from catalog.knowledge.models import Article, Category

KINDS = ("articles", "product_qa")
FORMATS = ("csv", "jsonl", "markdown")

COLUMNS: dict[str, tuple[tuple[str, bool, str], ...]] = {
    "articles": (
        ("external_id", True, "The help centre's id of the article (unique)."),
        ("title", True, "Title as shoppers see it."),
        ("body", True, "Markdown text; cut into passages at headings and paragraphs."),
        ("kind", False, "article, faq or policy; default article."),
        ("category", False, "One of " + ", ".join(Category.values) + "; default other."),
        ("source", False, "Where it comes from (URL, file, team); empty by default."),
        (
            "updated",
            False,
            "ISO 8601 date-time it last changed; default: when it was first imported.",
        ),
        ("active", False, "true/false; default true. Inactive articles are never answered."),
    ),
    "product_qa": (
        ("external_id", True, "The id of the question (unique)."),
        ("product", True, "The product's external id; an unknown one is an error."),
        ("question", True, "The shopper's question."),
        ("answer", True, "The shop's answer."),
        ("source", False, "Where it comes from; empty by default."),
        (
            "updated",
            False,
            "ISO 8601 date-time it last changed; default: when it was first imported.",
        ),
        ("active", False, "true/false; default true."),
    ),
}


def required_columns(kind: str) -> list[str]:
    return [name for name, required, _ in COLUMNS[kind] if required]


def column_names(kind: str) -> list[str]:
    return [name for name, _, _ in COLUMNS[kind]]


def _choice(values: list[str], name: str):
    def parse(value: Any) -> str:
        text = as_text(value, max_length=32).lower().replace(" ", "_")
        if text not in values:
            raise Invalid(f"{show(value)} is not a {name}; use one of {', '.join(values)}")
        return text

    return parse


def _required_text(max_length: int):
    return lambda v: as_text(v, max_length=max_length) or refuse("is required (empty)")


_ARTICLE_SPEC = {
    "external_id": as_identifier,
    "title": _required_text(500),
    "body": _required_text(MAX_DESCRIPTION),
    "kind": _choice(Article.Kind.values, "kind"),
    "category": _choice(Category.values, "category"),
    "source": lambda v: as_text(v, max_length=1000),
    "updated": as_timestamp,
    "active": lambda v: as_bool(v, default=True),
}
_QA_SPEC = {
    "external_id": as_identifier,
    "product": as_identifier,
    "question": _required_text(5000),
    "answer": _required_text(MAX_DESCRIPTION),
    "source": lambda v: as_text(v, max_length=1000),
    "updated": as_timestamp,
    "active": lambda v: as_bool(v, default=True),
}


def _blank_to_default(data: dict, optional: tuple[str, ...]) -> dict:
    """An empty optional cell means the default (CSV has no "missing")."""
    return {k: v for k, v in data.items() if not (k in optional and v in ("", None))}


def clean_article(data: dict) -> tuple[dict, Problems]:
    problems: Problems = []
    data = _blank_to_default(data, ("kind", "category", "source", "updated", "active"))
    require_fields(data, required_columns("articles"), problems)
    clean = clean_fields(data, _ARTICLE_SPEC, problems)
    clean.setdefault("kind", Article.Kind.ARTICLE)
    clean.setdefault("category", Category.OTHER)
    clean.setdefault("source", "")
    clean.setdefault("active", True)
    return clean, problems


def clean_product_question(data: dict) -> tuple[dict, Problems]:
    problems: Problems = []
    data = _blank_to_default(data, ("source", "updated", "active"))
    require_fields(data, required_columns("product_qa"), problems)
    clean = clean_fields(data, _QA_SPEC, problems)
    clean.setdefault("source", "")
    clean.setdefault("active", True)
    return clean, problems
