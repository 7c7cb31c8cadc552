"""What the OpenAPI schema says about authentication and errors, for every operation at once.

Imported from ``PlatformConfig.ready()`` so that drf-spectacular finds the extensions:

- **Security per kind of endpoint.** Storefront endpoints (permission ``HasScope``) list only
  the ``ApiKey`` scheme; staff endpoints (``IsStaffWithPerm``) list only the session cookie and
  ``Token``. Swagger UI's "Authorize" button then sends the header an endpoint actually reads.
- **One shared set of error responses** (:func:`add_error_responses`, a postprocessing hook in
  ``SPECTACULAR_SETTINGS``): every operation documents each error status it can answer, with
  the house body ``{"error": {"code", "message", "details"}}``, so no view has to remember
  them and a new endpoint cannot forget them. A view's own description of a status is kept.

Schema fuzzing (``tests/test_api_fuzz.py``) checks that no response has a status, content type
or body the schema does not describe.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object

from platform_core.api.authentication import KEYWORD
from platform_core.api.permissions import HasScope, IsStaffWithPerm


def _permissions(auto_schema) -> tuple[bool, bool]:
    """(storefront, staff): which kind of caller the view's permissions admit."""
    perms = auto_schema.view.get_permissions()
    return any(isinstance(p, HasScope) for p in perms), any(
        isinstance(p, IsStaffWithPerm) for p in perms
    )


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "platform_core.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_requirement(self, auto_schema):
        storefront, staff = _permissions(auto_schema)
        return None if staff and not storefront else super().get_security_requirement(auto_schema)

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": f"`{KEYWORD} <key>`: a key from the admin's API clients page "
            "(shown once when created or rotated).",
        }


class StaffSessionScheme(OpenApiAuthenticationExtension):
    """A signed-in staff user's session: staff endpoints only."""

    target_class = "rest_framework.authentication.SessionAuthentication"
    name = "cookieAuth"
    priority = 1  # over drf-spectacular's own (-1)

    def get_security_requirement(self, auto_schema):
        storefront, _ = _permissions(auto_schema)
        return None if storefront else super().get_security_requirement(auto_schema)

    def get_security_definition(self, auto_schema):
        from django.conf import settings

        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "A staff user signed in to the admin (same-origin calls with the CSRF token).",
        }


class StaffTokenScheme(OpenApiAuthenticationExtension):
    """``Authorization: Token <token>`` of a staff user: staff endpoints only."""

    target_class = "rest_framework.authentication.TokenAuthentication"
    name = "tokenAuth"
    match_subclasses = True
    priority = 1

    def get_security_requirement(self, auto_schema):
        storefront, _ = _permissions(auto_schema)
        return None if storefront else super().get_security_requirement(auto_schema)

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.keyword
        )


# --------------------------------------------------------------------------- shared error responses

ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "description": 'Every API error: `{"error": {"code", "message", "details"}}`.',
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {
                    "type": "string",
                    "description": "Stable, machine-readable (e.g. `invalid`, "
                    "`not_found`, `throttled`).",
                },
                "message": {
                    "type": "string",
                    "description": "For people: what was wrong and what to send instead.",
                },
                "details": {
                    "nullable": True,
                    "description": "Per-field messages, limits or a report; may be null.",
                },
            },
            "required": ["code", "message", "details"],
        },
    },
    "required": ["error"],
}

# status → (when it applies, description). "always": every operation; "auth": operations with a
# security requirement; "input": operations with parameters or a body; "path": operations with
# a path parameter; "body": operations with a request body.
ERROR_RESPONSES: dict[str, tuple[str, str]] = {
    "400": ("input", "Invalid parameters, header or body (`details` says which, per field)."),
    "401": ("auth", "No credentials, or an unknown or revoked API key / token."),
    "403": ("auth", "The caller lacks the scope or permission this operation needs."),
    "404": ("path", "No such object, or no endpoint at this path (a malformed path parameter)."),
    "413": ("body", "The body is over the size limit or the batch over its item limit."),
    "415": ("body", "The body is not `application/json`."),
    "429": (
        "always",
        "Throttled: `details.retry_after_seconds` and the `Retry-After` header say when to retry.",
    ),
}
RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer", "minimum": 0},
        "description": "Seconds to wait before the next call.",
    }
}


def _applies(when: str, operation: dict) -> bool:
    params = operation.get("parameters", [])
    if when == "always":
        return True
    if when == "auth":
        return any(operation.get("security", []))
    if when == "input":
        return bool(params) or "requestBody" in operation
    if when == "path":
        return any(p.get("in") == "path" for p in params)
    if when == "body":
        return "requestBody" in operation
    raise ValueError(when)


# The simulated-time header (``platform_core.timeparse.parse_iso8601_utc``): an ISO 8601 time
# with a UTC offset within ±14:00. The server takes any real date whose year, in UTC, is within
# 1970–2100; the pattern is a plain part of that which every value matching it is accepted in
# (years 1971–2099, days 01–28), so that clients and fuzzers draw only valid times from it.
SIMULATED_TIME_PATTERN = (
    r"^(197[1-9]|19[89][0-9]|20[0-9][0-9])-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
    r"[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
    r"(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9]|[+-]14:00)$"
)
# PostgreSQL cannot store NUL in text or jsonb: every string a request body carries is refused
# when it holds one (catalog.formats for products and events, the jobs API for parameters), and
# so is every text query parameter (DRF's CharField refuses NUL).
NO_NUL_PATTERN = r"^[^\u0000]*$"


def _refuse_nul(node) -> None:
    """Declare the NUL rule on every free-text string of a request schema."""
    if isinstance(node, list):
        for item in node:
            _refuse_nul(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "string" and not ({"pattern", "format", "enum"} & node.keys()):
        node["pattern"] = NO_NUL_PATTERN
    for key, value in node.items():
        if key not in ("enum", "example", "default"):
            _refuse_nul(value)


def _blank_means_absent(parameter: dict) -> None:
    """An optional query parameter sent empty (``?category=``) is taken as not sent (DRF's
    rule for form-style input): say so, so that ``""`` is not a schema violation."""
    if parameter.get("in") != "query" or parameter.get("required"):
        return
    schema = parameter.get("schema", {})
    if schema.get("type") != "string":
        return
    if "enum" in schema and "" not in schema["enum"]:
        schema["enum"] = [*schema["enum"], ""]
    if schema.get("minLength") == 1:
        del schema["minLength"]
    note = "Empty: as if not sent."
    if note not in parameter.get("description", ""):
        parameter["description"] = f"{parameter.get('description', '')} {note}".strip()


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: the shared error responses on every operation, and
    the input rules every endpoint shares (NUL refused in bodies, empty optional query
    parameters ignored)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, component in schemas.items():
        if name.endswith("Request"):  # COMPONENT_SPLIT_REQUEST: the request-side components
            _refuse_nul(component)
    schemas.setdefault(ERROR_COMPONENT, ERROR_SCHEMA)
    ref = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            for parameter in operation.get("parameters", []):
                _blank_means_absent(parameter)
                if parameter.get("in") == "query":  # DRF's CharField refuses NUL too
                    _refuse_nul(parameter.get("schema"))
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            _refuse_nul(body.get("schema"))
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():  # a view's own error without a body shape
                if status.startswith(("4", "5")) and "content" not in response:
                    response["content"] = {"application/json": {"schema": ref}}
            for status, (when, description) in ERROR_RESPONSES.items():
                if status in responses or not _applies(when, operation):
                    continue
                responses[status] = {
                    "description": description,
                    "content": {"application/json": {"schema": ref}},
                }
            if "429" in responses:
                responses["429"].setdefault("headers", RETRY_AFTER)
    return result
