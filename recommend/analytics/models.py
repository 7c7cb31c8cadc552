"""The served-request log and the rollups that dashboards, analytics pages and alerts read.

:class:`ServedRequest` is one row per served response (every serving endpoint), written in
batches from a Redis buffer (``recommend.analytics.buffers.SERVED``), never in the request.
The rollup tables are maintained by beat (``recommend.analytics.rollups``): each holds hourly
and daily rows (``granularity``), recomputed whole for every bucket touched since the last run,
so a re-run changes nothing. Reads go through ``recommend.analytics.selectors`` only.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models


class Endpoint(models.TextChoices):
    SEARCH = "search", "search"
    RECOMMENDATIONS = "recommendations", "recommendations"
    SIMILAR = "similar", "similar items"
    BOUGHT_TOGETHER = "bought_together", "bought together"
    TRENDING = "trending", "trending"
    ANSWERS = "answers", "answers"
    PROMOTIONS = "promotions", "promotions"
    SEARCH_IMAGE = "search_image", "search by image"
    VISUALLY_SIMILAR = "visually_similar", "visually similar"


class Granularity(models.TextChoices):
    HOUR = "hour", "hour"
    DAY = "day", "day"


class ServedRequest(models.Model):
    """One served response: where (endpoint, strategy surface), for whom (shopper, session),
    what it showed (product ids in order: position = index + 1) and how fast (total and per
    stage, the ``Server-Timing`` stages). ``request_id`` is the response's ``X-Request-ID`` and
    what events carry back; it makes the buffered write idempotent."""

    request_id = models.CharField(max_length=64, unique=True)
    endpoint = models.CharField(max_length=32, choices=Endpoint.choices)
    surface = models.CharField(max_length=32, help_text="The strategy surface served.")
    strategy = models.CharField(max_length=120, blank=True)
    variant = models.CharField(max_length=120, blank=True)
    shopper = models.ForeignKey(
        "catalog.Shopper",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="served_requests",
    )
    session = models.CharField(max_length=128, blank=True)
    query = models.CharField(
        max_length=500, blank=True, help_text="The normalised query (search only)."
    )
    shown = ArrayField(
        models.BigIntegerField(),
        default=list,
        blank=True,
        help_text="Product ids, served order (0: deleted before the row was written).",
    )
    result_count = models.PositiveIntegerField(default=0)
    latency_ms = models.FloatField(default=0)
    timings = models.JSONField(default=dict, blank=True, help_text="Milliseconds per stage.")
    cache_hit = models.BooleanField(default=False)
    timestamp = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [
            # attribution: the same session's requests before an event
            models.Index(fields=["session", "timestamp"], name="analytics_served_session"),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.request_id}"


class RollupState(models.Model):
    """How far the rollups have read: the highest served-request and event ids seen (rows
    above them mark their buckets as touched) and when the last run finished."""

    name = models.CharField(max_length=32, unique=True)
    served_id = models.BigIntegerField(default=0)
    event_id = models.BigIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    buckets = models.PositiveIntegerField(default=0, help_text="Hours recomputed by the last run.")

    def __str__(self) -> str:
        return self.name


class _Rollup(models.Model):
    granularity = models.CharField(max_length=4, choices=Granularity.choices)
    start = models.DateTimeField()

    class Meta:
        abstract = True


class TrafficRollup(_Rollup):
    """Per endpoint and bucket: requests served, zero-result ones, the events attributed to
    them and the requests with at least one of each. For ``search``, ``recorded_searches`` counts searches the storefront recorded only as
    events (no request id) — they count toward volume — and the attributed figures include the
    clicks those event-recorded searches got (see ``logic.attribution``)."""

    endpoint = models.CharField(max_length=32)
    requests = models.BigIntegerField(default=0)
    recorded_searches = models.BigIntegerField(default=0)
    zero_results = models.BigIntegerField(default=0)
    clicks = models.BigIntegerField(default=0)
    add_to_carts = models.BigIntegerField(default=0)
    purchases = models.BigIntegerField(default=0)
    # requests (event-recorded searches included) with at least one attributed click /
    # add-to-cart / purchase: the numerators of CTR and the add-to-cart and purchase rates
    requests_clicked = models.BigIntegerField(default=0)
    requests_carted = models.BigIntegerField(default=0)
    requests_purchased = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["granularity", "start", "endpoint"], name="analytics_traffic_bucket"
            )
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.granularity} {self.start:%Y-%m-%d %H:00}"


class LatencyRollup(_Rollup):
    """Latency histogram per endpoint and stage (``total`` and each ``Server-Timing`` stage):
    requests per bin of ``logic.histogram``; percentiles are read from summed bins."""

    endpoint = models.CharField(max_length=32)
    stage = models.CharField(max_length=32)
    bin = models.SmallIntegerField()
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["granularity", "start", "endpoint", "stage", "bin"],
                name="analytics_latency_bucket",
            )
        ]

    def __str__(self) -> str:
        return f"{self.endpoint}/{self.stage} bin {self.bin} {self.start:%Y-%m-%d %H:00}"


class QueryRollup(_Rollup):
    """Per normalised query and bucket: searches (served and event-recorded), zero-result
    searches, attributed clicks (with the sum of their positions, for the average), add-to-carts
    and purchases, and the searches with at least one click, add-to-cart, purchase (CTR and
    conversion are shares of searches)."""

    query = models.CharField(max_length=500)
    searches = models.BigIntegerField(default=0)
    zero_results = models.BigIntegerField(default=0)
    clicks = models.BigIntegerField(default=0)
    positioned_clicks = models.BigIntegerField(default=0)
    click_position_sum = models.BigIntegerField(default=0)
    add_to_carts = models.BigIntegerField(default=0)
    purchases = models.BigIntegerField(default=0)
    # searches with at least one attributed click / add-to-cart / purchase (CTR, conversion)
    searches_clicked = models.BigIntegerField(default=0)
    searches_carted = models.BigIntegerField(default=0)
    searches_purchased = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["granularity", "start", "query"], name="analytics_query_bucket"
            )
        ]
        indexes = [models.Index(fields=["granularity", "start"], name="analytics_query_start")]

    def __str__(self) -> str:
        return f"“{self.query}” {self.granularity} {self.start:%Y-%m-%d %H:00}"


class PositionRollup(_Rollup):
    """Per endpoint and result position: times a product was shown there and clicked there
    (the position-bias curve)."""

    endpoint = models.CharField(max_length=32)
    position = models.PositiveSmallIntegerField()
    shown = models.BigIntegerField(default=0)
    clicked = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["granularity", "start", "endpoint", "position"],
                name="analytics_position_bucket",
            )
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} #{self.position} {self.start:%Y-%m-%d %H:00}"


class EventRollup(_Rollup):
    """Events per type and bucket (by the event's own time)."""

    type = models.CharField(max_length=16)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["granularity", "start", "type"], name="analytics_event_bucket"
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.granularity} {self.start:%Y-%m-%d %H:00}"


class ProductDayRollup(models.Model):
    """Per product and day: impressions (served requests that showed it) and attributed clicks —
    what exploration reads. Daily only."""

    day = models.DateField()
    product_id = models.BigIntegerField()
    impressions = models.BigIntegerField(default=0)
    clicks = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product_id", "day"], name="analytics_product_day")
        ]
        indexes = [models.Index(fields=["day"], name="analytics_product_day_day")]

    def __str__(self) -> str:
        return f"product {self.product_id} on {self.day}"
