"""Storefront serving endpoints: search, recommendations, similar, bought-together, trending,
autocomplete. Views validate parameters and shape responses; ``recommend.serving.search``
and ``recommend.serving.recs`` do the work."""

from __future__ import annotations

import functools
import logging
import time
from datetime import UTC, datetime

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from platform_core.api.exceptions import ApiError
from platform_core.api.permissions import HasScope, api_client
from platform_core.api.schema import SIMULATED_TIME_PATTERN
from platform_core.timeparse import parse_iso8601_utc
from recommend.analytics import services as analytics_services
from recommend.api import serializers
from recommend.experiments import services as experiment_services
from recommend.serving import answers, cache, loaders, recs, search
from recommend.serving.context import ServingContext, serving_context
from recommend.serving.filters import ProductFilters, UnknownCategory
from recommend.serving.recs import RecsParams, UnknownProduct

logger = logging.getLogger(__name__)

SIMULATED_TIME_HEADER = "X-Aisle-Simulated-Time"

_ERRORS = {
    400: OpenApiResponse(serializers.ErrorOut, description="Invalid parameters."),
    401: OpenApiResponse(serializers.ErrorOut, description="Missing, unknown or revoked API key."),
    403: OpenApiResponse(
        serializers.ErrorOut,
        description="The key lacks the read scope (or simulate, for the time header).",
    ),
    429: OpenApiResponse(serializers.ErrorOut, description="Throttled."),
}
_SIMULATED = OpenApiParameter(
    SIMULATED_TIME_HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    pattern=SIMULATED_TIME_PATTERN,
    examples=[OpenApiExample("a simulated time", value="2030-06-15T12:00:00Z")],
    description="ISO 8601 time with a UTC offset (within ±14:00, years 1970–2100) to serve at (keys with "
    "the `simulate` scope only): stamps the search log, exposures and the response. Anything "
    "else, an empty value included, is a 400.",
)


def _clean_text(value: str | None) -> str | None:
    """NUL cannot be stored or compared by PostgreSQL, and a lone surrogate cannot be encoded
    as UTF-8 (it would break the JSON response and every query); the rest is the engine's."""
    if not isinstance(value, str):
        return value
    value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return value


def _unknown_category(category: str | None) -> ApiError:
    return ApiError(
        f"Unknown category {category!r}.",
        code="unknown_category",
        details={"category": [f"No category has the external id {category!r}."]},
    )


@functools.cache
def _query_validator(serializer_class: type[serializers.CommonQuery]) -> serializers.CommonQuery:
    """One instance of a query serializer, its fields bound once, validates every request: its
    ``run_validation`` keeps nothing on the instance (``is_valid`` is what stores the data and
    the errors), and the query serializers read no context. A new instance per request deep-
    copied its dozen fields: 0.3–0.4 ms of a search."""
    validator = serializer_class()
    validator.fields  # noqa: B018 (bound here, before any two requests can share it)
    return validator


def _read_by_key(request) -> dict | None:
    """What the request's API-key round trip read for the view (``ServingView.read_with_key``;
    None when the key was not held and nothing rode with it)."""
    return getattr(request._request, "aisle_read_with_key", None)


def _send_writes(ctx: ServingContext) -> None:
    try:
        cache.request_writes_send(ctx)
    except Exception:  # the response has gone: log, never raise into the server
        logger.exception("request %s: its writes could not be sent", ctx.request_id)


class ServingView(APIView):
    """Base: API-key with the read scope, query validation, context, response stamping."""

    permission_classes = [HasScope]
    required_scope = "read"
    surface = "search"
    endpoint = "search"  # the served-request log's name for this endpoint
    query_serializer: type[serializers.CommonQuery] = serializers.CommonQuery
    # read with the API key's check, in its round trip (platform_core.api.authentication)
    read_with_key = cache.GENERATIONS

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        loaders.use_serving_threads()

    def params(self, request) -> dict:
        """The validated query parameters; invalid ones raise DRF's ``ValidationError`` with
        the field errors ``is_valid(raise_exception=True)`` gives."""
        validated = _query_validator(self.query_serializer).run_validation(request.query_params)
        return {k: _clean_text(v) for k, v in validated.items()}

    def served_at(self, request) -> tuple[datetime, bool]:
        raw = request.headers.get(SIMULATED_TIME_HEADER)
        if raw is None:
            return datetime.now(UTC), False
        client = api_client(request)
        if client is None or not client.has_scope("simulate"):
            raise ApiError(
                f"{SIMULATED_TIME_HEADER} needs an API key with the 'simulate' scope.",
                code="permission_denied",
                status_code=403,
            )
        try:
            # strict: what is accepted here is stored with the search log and the exposures
            return parse_iso8601_utc(raw), True
        except ValueError as exc:
            raise ApiError(
                f"{SIMULATED_TIME_HEADER} must be an ISO 8601 time with a UTC offset within "
                f"±14:00 and a year within 1970–2100: {exc}.",
                code="invalid",
                status_code=400,
            ) from None

    def context(self, request, params: dict) -> ServingContext:
        self.started = time.perf_counter()
        now, simulated = self.served_at(request)
        ctx = serving_context(
            self.surface,
            shopper_external_id=params.get("shopper") or None,
            session=params.get("session") or "",
            now=now,
            simulated=simulated,
            read=_read_by_key(request),
        )
        # The cached result, a fresh query vector and the log rows go to Redis together, in one
        # round trip, once the response has been sent (finalize_response).
        ctx.defer_writes = True
        self.serving_ctx = ctx
        return ctx

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        ctx = getattr(self, "serving_ctx", None)
        if ctx is not None:
            self.serving_ctx = None
            # The server calls close() once it has sent the body (gunicorn after its last write
            # to the socket, Django's ASGI handler after its last message, the test client before
            # it returns): the storefront does not wait on the writes' round trip, and the worker
            # still sends them before it takes its next request. Django's close() swallows a
            # closer's exception: _send_writes logs its own.
            response._resource_closers.append(functools.partial(_send_writes, ctx))
        return response

    def respond(
        self, ctx: ServingContext, body: dict, *, experiment_surface: bool = True
    ) -> Response:
        if "total" not in ctx.timings:  # lists served without stages (cache hits, trending)
            ctx.timings["total"] = (time.perf_counter() - self.started) * 1000
        experiment_services.exposure_record(ctx=ctx, body=body, measured=experiment_surface)
        analytics_services.served_record(ctx=ctx, body=body, endpoint=self.endpoint)
        body = {
            **body,
            "request_id": ctx.request_id,
            "variant": ctx.variant if experiment_surface else None,
            "served_at": ctx.now.isoformat(),
        }
        response = Response(body)
        response["X-Request-ID"] = ctx.request_id
        if ctx.timings or ctx.notes:
            response["Server-Timing"] = ctx.server_timing()
        if ctx.simulated:
            response[SIMULATED_TIME_HEADER] = ctx.now.isoformat()
        return response


class SearchView(ServingView):
    """Hybrid product search with facets and per-item explanations."""

    surface = "search"
    query_serializer = serializers.SearchQuery

    @extend_schema(
        parameters=[serializers.SearchQuery, _SIMULATED],
        responses={200: serializers.SearchOut, **_ERRORS},
        summary="Search products",
        tags=["serving"],
    )
    def get(self, request):
        params = self.params(request)
        ctx = self.context(request, params)
        query = search.SearchParams(
            q=params["q"],
            category=params.get("category"),
            brand=params.get("brand"),
            price_min=params.get("price_min"),
            price_max=params.get("price_max"),
            in_stock=params.get("in_stock"),
            page=params["page"],
            size=params["size"],
            intent=params.get("intent"),
        )
        try:
            body = search.search(query, ctx)
        except UnknownCategory:
            raise _unknown_category(params.get("category")) from None
        return self.respond(ctx, body)


class RecommendationsView(ServingView):
    """Personal recommendations (cold start for unknown or new shoppers)."""

    surface = "recommendations"
    endpoint = "recommendations"
    query_serializer = serializers.RecommendationsQuery

    @extend_schema(
        parameters=[serializers.RecommendationsQuery, _SIMULATED],
        responses={
            200: serializers.ListOut,
            404: OpenApiResponse(serializers.ErrorOut, description="Unknown context product."),
            **_ERRORS,
        },
        summary="Recommendations for a shopper",
        tags=["serving"],
    )
    def get(self, request):
        params = self.params(request)
        ctx = self.context(request, params)
        try:
            results = recs.recommendations(
                RecsParams(
                    size=params["size"],
                    context_product=params.get("context_product"),
                    exclude=params["exclude"],
                    filters=ProductFilters.from_params(params),
                ),
                ctx,
            )
        except UnknownCategory:
            raise _unknown_category(params.get("category")) from None
        except UnknownProduct:
            raise ApiError(
                f"Unknown product {params['context_product']!r}.", code="not_found", status_code=404
            ) from None
        return self.respond(ctx, {"results": results})


class SimilarView(ServingView):
    """Products similar to one product."""

    surface = "similar"
    endpoint = "similar"
    query_serializer = serializers.RecsFilterQuery

    @extend_schema(
        parameters=[serializers.RecsFilterQuery, _SIMULATED],
        responses={
            200: serializers.ListOut,
            404: OpenApiResponse(serializers.ErrorOut, description="Unknown product."),
            **_ERRORS,
        },
        summary="Similar products",
        tags=["serving"],
    )
    def get(self, request, product_id: str):
        params = self.params(request)
        ctx = self.context(request, params)
        try:
            results = recs.similar(
                _clean_text(product_id), params["size"], ctx, ProductFilters.from_params(params)
            )
        except UnknownCategory:
            raise _unknown_category(params.get("category")) from None
        except UnknownProduct:
            raise ApiError(
                f"Unknown product {product_id[:128]!r}.", code="not_found", status_code=404
            ) from None
        return self.respond(ctx, {"results": results})


class BoughtTogetherView(ServingView):
    """Products bought in the same baskets as one product."""

    surface = "recommendations"
    endpoint = "bought_together"
    query_serializer = serializers.RecsFilterQuery

    @extend_schema(
        parameters=[serializers.RecsFilterQuery, _SIMULATED],
        responses={
            200: serializers.ListOut,
            404: OpenApiResponse(serializers.ErrorOut, description="Unknown product."),
            **_ERRORS,
        },
        summary="Frequently bought together",
        tags=["serving"],
    )
    def get(self, request, product_id: str):
        params = self.params(request)
        ctx = self.context(request, params)
        try:
            results = recs.bought_with(
                _clean_text(product_id), params["size"], ctx, ProductFilters.from_params(params)
            )
        except UnknownCategory:
            raise _unknown_category(params.get("category")) from None
        except UnknownProduct:
            raise ApiError(
                f"Unknown product {product_id[:128]!r}.", code="not_found", status_code=404
            ) from None
        return self.respond(ctx, {"results": results}, experiment_surface=False)


class TrendingView(ServingView):
    """Trending products, store-wide or in one category."""

    surface = "recommendations"
    endpoint = "trending"
    query_serializer = serializers.TrendingQuery

    @extend_schema(
        parameters=[serializers.TrendingQuery, _SIMULATED],
        responses={200: serializers.ListOut, **_ERRORS},
        summary="Trending products",
        tags=["serving"],
    )
    def get(self, request):
        params = self.params(request)
        ctx = self.context(request, params)
        try:
            results = recs.trending(params["size"], ctx, ProductFilters.from_params(params))
        except UnknownCategory:
            raise _unknown_category(params.get("category")) from None
        return self.respond(ctx, {"results": results}, experiment_surface=False)


class AutocompleteView(ServingView):
    """Query suggestions from popular searches, categories and product titles."""

    query_serializer = serializers.AutocompleteQuery

    @extend_schema(
        parameters=[serializers.AutocompleteQuery],
        responses={200: serializers.AutocompleteOut, **_ERRORS},
        summary="Autocomplete",
        tags=["serving"],
    )
    def get(self, request):
        params = self.params(request)
        now, _ = self.served_at(request)
        return Response({"suggestions": recs.autocomplete(params["q"], params["size"], now)})


_ANSWER_EXAMPLE = {
    "query": "how long do I have to send something back",
    "answers": [
        {
            "passage": 12,
            "heading": "Returns and refunds > Return window",
            "text": "You can return any item within 30 days of delivery for a full refund.",
            "category": "returns",
            "source": {
                "type": "article",
                "id": "policy-returns",
                "title": "Returns and refunds",
                "kind": "policy",
                "url": "https://shop.example/help/returns",
                "product": None,
            },
            "score": 0.032787,
            "confidence": 0.81,
            "matched_by": ["lexical", "semantic"],
        }
    ],
    "support_category": {"label": "returns", "score": 0.93, "source": "model", "version": 7},
    "summary": {
        "status": "ok",
        "text": "You can send an item back within 30 days of delivery for a full refund [1].",
        "citations": [12],
    },
    "request_id": "5f0c3c0a2b8e4d7f9a1b2c3d4e5f6a7b",
    "served_at": "2030-06-15T12:00:00Z",
}


class AnswersView(ServingView):
    """Answers to a support question from the knowledge base (hybrid passage search)."""

    surface = "search"
    query_serializer = serializers.AnswersQuery

    @extend_schema(
        parameters=[serializers.AnswersQuery],
        responses={
            200: OpenApiResponse(
                serializers.AnswersOut,
                examples=[OpenApiExample("a returns question", value=_ANSWER_EXAMPLE)],
            ),
            **_ERRORS,
        },
        summary="Answers to a support question",
        tags=["serving"],
    )
    def get(self, request):
        params = self.params(request)
        ctx = serving_context(
            "search",
            shopper_external_id=None,
            session="",
            now=datetime.now(UTC),
            simulated=False,
            read=_read_by_key(request),
        )
        with ctx.stage("support_category"):
            category = answers.question_category(params["q"], params.get("category"))
        with ctx.stage("answers"):
            found = answers.answers(
                params["q"], ctx.models.retriever, size=params["size"], category=category
            )
        body = {
            "query": params["q"][: answers.QUERY_MAX_CHARS],
            "answers": found,
            "support_category": category.as_dict(),
        }
        if params["summary"]:
            with ctx.stage("summary"):
                body["summary"] = answers.summary(params["q"], found, ctx.models.retriever)
        response = Response(
            {**body, "request_id": ctx.request_id, "served_at": ctx.now.isoformat()}
        )
        response["X-Request-ID"] = ctx.request_id
        response["Server-Timing"] = ctx.server_timing()
        return response
