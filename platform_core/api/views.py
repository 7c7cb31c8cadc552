"""Platform endpoints: who am I (check a key)."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from platform_core.api.permissions import HasScope, api_client


class WhoAmIView(APIView):
    """Which API client a key belongs to and its scopes — a storefront's first call."""

    permission_classes = [HasScope]

    @extend_schema(
        responses=inline_serializer(
            "WhoAmI",
            {
                "client": serializers.CharField(),
                "scopes": serializers.ListField(child=serializers.CharField()),
                "public": serializers.BooleanField(),
            },
        )
    )
    def get(self, request):
        client = api_client(request)
        return Response({"client": client.name, "scopes": client.scopes, "public": client.public})
