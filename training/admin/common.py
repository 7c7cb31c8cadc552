"""What the training admin pages share: service errors as messages, JSON fields shown as tables."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.html import format_html, format_html_join


def error_text(exc: ValidationError | PermissionDenied) -> str:
    """A service's refusal as one admin message line."""
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return "; ".join(
                f"{k}: {' '.join(m for e in v for m in e.messages)}"
                for k, v in exc.error_dict.items()
            )
        return " ".join(exc.messages)
    return str(exc)


LIST_ITEMS_SHOWN = 50


def _entries(value, name: str = ""):
    """(name, text) pairs of a JSON value: nested objects as dotted names, short lists inline."""
    if isinstance(value, dict):
        if not value and name:
            yield name, "—"
        for key, item in value.items():
            yield from _entries(item, f"{name}.{key}" if name else str(key))
    elif isinstance(value, list):
        if all(not isinstance(item, dict | list) for item in value):
            yield name, ", ".join(_text(item) for item in value) or "—"
        elif all(isinstance(item, list) for item in value):  # a matrix (a confusion matrix)
            yield name, " | ".join(", ".join(_text(cell) for cell in row) for row in value)
        else:
            for i, item in enumerate(value[:LIST_ITEMS_SHOWN]):
                yield from _entries(item, f"{name}[{i}]")
            if len(value) > LIST_ITEMS_SHOWN:
                yield name, f"… {len(value) - LIST_ITEMS_SHOWN} more"
    else:
        yield name, _text(value)


def _text(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:,.1f}"
    return str(value)


def value_table(value, *, empty: str = "—") -> str:
    """A JSON field (metrics, parameters, timings) as a two-column table, never raw JSON."""
    rows = list(_entries(value or {}))
    if not rows:
        return empty
    return format_html(
        '<table class="aisle-values">{}</table>',
        format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
    )
