"""What the training admin pages share: service errors as messages, JSON fields shown readable."""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.html import format_html


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


def pretty_json(value) -> str:
    """A JSON field as an indented, read-only block."""
    return format_html(
        '<pre class="aisle-json-pre">{}</pre>',
        json.dumps(value, indent=2, sort_keys=True, default=str),
    )
