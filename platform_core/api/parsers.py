"""The API's JSON parser: bounded in size and depth, strict, and never a 500.

DRF's own ``JSONParser`` lets Django read the whole body first (``request.body``, bounded by
``DATA_UPLOAD_MAX_MEMORY_SIZE``, whose ``RequestDataTooBig`` would surface as a 500) and turns
only ``ValueError`` into a 400, so JSON nested 100,000 deep raised ``RecursionError`` — a 500.
This parser is not a subclass of it, so DRF hands it the raw stream: it refuses a declared
``Content-Length`` over ``settings.API_MAX_BODY_BYTES`` before reading a byte (413), reads at
most that much, and answers every malformed body with a 400 ``parse_error``.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework import renderers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

# Deeper than any request the API defines (an events batch with nested attributes is < 15);
# bounded well below Python's recursion limit so nothing downstream (serialisers, json.dumps,
# repr in messages) can recurse out of stack on a parsed body.
MAX_JSON_DEPTH = 64


def body_too_large(*, limit: int, sent: int | None):
    # imported here: exceptions imports rest_framework.views, whose APIView reads
    # DEFAULT_PARSER_CLASSES (this module) while it is defined — a circular import otherwise
    from platform_core.api.exceptions import ApiError

    return ApiError(
        f"The request body is larger than the {limit:,} bytes the API accepts; send smaller batches.",
        code="body_too_large",
        status_code=413,
        details={"max_bytes": limit, "sent_bytes": sent},
    )


def declared_length(request) -> int | None:
    meta = getattr(request, "META", {})
    try:
        return int(meta.get("CONTENT_LENGTH") or meta.get("HTTP_CONTENT_LENGTH") or 0)
    except (TypeError, ValueError):
        return None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON (numbers must be finite)")


def _too_deep(value: Any, limit: int) -> bool:
    """Whether lists/objects nest deeper than ``limit`` (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


class JSONParser(BaseParser):
    """``application/json`` bodies up to ``API_MAX_BODY_BYTES``, nested at most 64 deep;
    NaN/Infinity, invalid UTF-8 and malformed JSON are a 400."""

    media_type = "application/json"
    renderer_class = renderers.JSONRenderer

    def parse(self, stream, media_type=None, parser_context=None):
        context = parser_context or {}
        limit = settings.API_MAX_BODY_BYTES
        declared = declared_length(context.get("request"))
        if declared is not None and declared > limit:
            raise body_too_large(limit=limit, sent=declared)
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise body_too_large(limit=limit, sent=None)
        encoding = context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(
                f"JSON parse error - the body is not {encoding} text ({getattr(exc, 'reason', exc)})."
            ) from None
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except RecursionError:
            raise ParseError(
                f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep."
            ) from None
        except ValueError as exc:  # JSONDecodeError, NaN, a number of 5,000 digits
            raise ParseError(f"JSON parse error - {exc}") from None
        if isinstance(data, (dict, list)) and _too_deep(data, MAX_JSON_DEPTH):
            raise ParseError(f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep.")
        return data
