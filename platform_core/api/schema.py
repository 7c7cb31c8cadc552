"""OpenAPI description of the API-key scheme (drf-spectacular extension).

Imported from ``PlatformConfig.ready()`` so that drf-spectacular finds it: every endpoint that
authenticates with :class:`~platform_core.api.authentication.ApiKeyAuthentication` then lists
the ``ApiKey`` security requirement, and Swagger UI's "Authorize" button sends the header.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from platform_core.api.authentication import KEYWORD


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "platform_core.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": f"`{KEYWORD} <key>`: a key from the admin's API clients page "
            "(shown once when created or rotated).",
        }
