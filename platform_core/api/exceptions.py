"""Every API error is ``{"error": {"code": "...", "message": "...", "details": ...}}``."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """Raise from a view or service with a code, a message and optional details."""

    def __init__(
        self, message: str, *, code: str = "invalid", status_code: int = 400, details=None
    ):
        self.status_code = status_code
        self.error_code = code
        self.details = details
        super().__init__(detail=message, code=code)


def error_body(code: str, message: str, details=None) -> dict:
    return {"error": {"code": code, "message": message, "details": details}}


def _first_message(detail) -> str:
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        inner = _first_message(value)
        return inner if key in ("non_field_errors", "detail") else f"{key}: {inner}"
    return str(detail)


def _request_too_big(request) -> ApiError:
    """Django's own limit (``DATA_UPLOAD_MAX_MEMORY_SIZE``, on form bodies and on anything that
    reads ``request.body``) as the API's 413, not a 500."""
    try:
        sent = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else None
    except (TypeError, ValueError):
        sent = None
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return ApiError(
        f"The request body is larger than the {limit:,} bytes accepted here.",
        code="body_too_large",
        status_code=413,
        details={"max_bytes": limit, "sent_bytes": sent},
    )


def json_exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        exc = _request_too_big(context.get("request"))
    elif isinstance(exc, SuspiciousOperation):  # too many fields, a malformed multipart body
        exc = ApiError(str(exc) or "The request is malformed.", code="bad_request")
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.messages)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled API error", exc_info=exc)
        return Response(
            error_body("server_error", "An unexpected error occurred; it has been logged."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, ApiError):
        body = error_body(exc.error_code, str(exc.detail), exc.details)
    elif isinstance(exc, exceptions.ValidationError):
        body = error_body("invalid", _first_message(exc.detail), exc.detail)
    elif isinstance(exc, exceptions.NotAuthenticated):
        body = error_body(
            "not_authenticated",
            "Send an API key: `Authorization: Api-Key <key>` "
            "(storefront endpoints), or sign in as staff (session or `Authorization: Token <token>`).",
        )
    elif isinstance(exc, exceptions.Throttled):
        body = error_body("throttled", str(exc.detail), {"retry_after_seconds": exc.wait})
    else:
        codes = exc.get_codes() if hasattr(exc, "get_codes") else "error"
        code = codes if isinstance(codes, str) else "error"
        body = error_body(code, _first_message(exc.detail))
    response.data = body
    return response


def _api_path(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    """``handler404``: the API's JSON error under ``/api/``, the site's 404 page elsewhere."""
    if _api_path(request):
        return JsonResponse(error_body("not_found", f"No endpoint at {request.path}."), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """``handler500``: the API's JSON error under ``/api/``, the site's 500 page elsewhere."""
    if _api_path(request):
        return JsonResponse(
            error_body("server_error", "An unexpected error occurred; it has been logged."),
            status=500,
        )
    return defaults.server_error(request)
