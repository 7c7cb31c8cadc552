"""The store's data: catalogue, shoppers, their events and the log of served searches.

Vectors are not a column of Product: they live per model version in
``training.ProductEmbedding`` so two retrievers can be served side by side.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Func, Q

# Full-text configuration of the generated search column (stemming for English text; words of
# other languages still match exactly).
SEARCH_CONFIG = "english"
# The configuration of its unstemmed twin, ``search_vector_exact``: the words as written
# (lower-cased), so BM25 can tell "lighting" typed and found from "lighting" found as "light".
EXACT_SEARCH_CONFIG = "simple"
#: The SQL function (migration ``0009_product_search_terms``) that gives, for each lexeme of a
#: full-text vector in its order, its occurrences by field weight ``{A, B, C, D}``.
TERM_COUNTS_FUNCTION = "catalog_search_term_counts"


def _search_vector(config: str) -> SearchVector:
    """The full-text vector of a product's title (weight A), brand/category/attributes (B)
    and description (C) under ``config``."""
    return (
        SearchVector("title", weight="A", config=config)
        + SearchVector("search_text", weight="B", config=config)
        + SearchVector("description", weight="C", config=config)
    )


class Category(models.Model):
    """A node of the category tree. ``path`` (external ids joined by '/') makes subtree
    filters a prefix match; the import service keeps it current."""

    external_id = models.CharField(max_length=128, unique=True)
    name = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=1000, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["path"]
        verbose_name_plural = "categories"
        indexes = [
            models.Index(
                fields=["path"],
                name="catalog_category_path_like",
                opclasses=["varchar_pattern_ops"],
            )
        ]

    def __str__(self) -> str:
        return self.name


class Brand(models.Model):
    name = models.CharField(max_length=200, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    """A sellable item. ``needs_embedding`` is raised when its text changes (import, admin,
    API) so the incremental embedding job re-encodes it for every served retriever."""

    external_id = models.CharField(max_length=128, unique=True)
    title = models.CharField(max_length=500)
    description = models.TextField(blank=True)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products"
    )
    brand = models.ForeignKey(
        Brand, null=True, blank=True, on_delete=models.SET_NULL, related_name="products"
    )
    price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR")
    stock = models.IntegerField(default=0)
    attributes = models.JSONField(default=dict, blank=True)
    image_url = models.URLField(max_length=1000, blank=True)
    active = models.BooleanField(default=True)
    # Brand, category path names and attribute values: text that lives in other rows or
    # JSON, denormalised so the generated full-text column can include it.
    search_text = models.TextField(blank=True, editable=False)
    search_vector = models.GeneratedField(
        expression=_search_vector(SEARCH_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    # The same three fields unstemmed (stop words kept): never matched on (no index), only
    # read to score the candidates ``search_vector`` matched (recommend.serving.retrievers).
    search_vector_exact = models.GeneratedField(
        expression=_search_vector(EXACT_SEARCH_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    # ``search_vector`` as BM25 reads it (recommend.serving.bm25_sql): its lexemes in order,
    # and beside each its occurrences by field weight ({A, B, C, D}). Looking a query's words
    # up in these arrays costs a fraction of cutting each candidate's vector down to them,
    # for the same term frequencies; PostgreSQL keeps them current on every write.
    search_terms = models.GeneratedField(
        expression=Func(
            _search_vector(SEARCH_CONFIG),
            function="tsvector_to_array",
            output_field=ArrayField(models.TextField()),
        ),
        output_field=ArrayField(models.TextField()),
        db_persist=True,
    )
    search_term_counts = models.GeneratedField(
        expression=Func(
            _search_vector(SEARCH_CONFIG),
            function=TERM_COUNTS_FUNCTION,
            output_field=ArrayField(ArrayField(models.SmallIntegerField())),
        ),
        output_field=ArrayField(ArrayField(models.SmallIntegerField())),
        db_persist=True,
    )
    needs_embedding = models.BooleanField(default=True, db_index=True)
    # Fix actions of the data quality report: never a silent deletion.
    exclude_from_training = models.BooleanField(
        default=False,
        db_default=False,  # raw INSERTs and COPY (imports, ingestion, demo) omit the column
        help_text="Training jobs run with exclude_flagged=true leave its events out.",
    )
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_duplicates",
        help_text="The product this duplicate was merged into (its events moved there).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["external_id"]
        # Not an add/change/delete action, so no role gets it by its app's actions: see
        # platform_core.roles (operators) and courses.labs.NEVER_GRANTED_BY_LABS.
        permissions = [
            (
                "full_sync_product",
                "Can import with full sync (deactivate products absent from the file)",
            ),
        ]
        indexes = [
            # New entries wait in GIN's pending list until a vacuum (or the list's limit)
            # merges them, and every search reads through the list: after a bulk write the
            # default 4 MB made the lexical stage 2.5 times as slow (bench/README.md).
            GinIndex(
                fields=["search_vector"], name="catalog_product_fts", gin_pending_list_limit=256
            ),
            models.Index(fields=["category", "active"]),
            models.Index(fields=["brand", "active"]),
            models.Index(fields=["price"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(price__gte=0), name="catalog_product_price_nonnegative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.external_id})"

    @property
    def in_stock(self) -> bool:
        return self.stock > 0


class Shopper(models.Model):
    """A storefront customer, known by the storefront's id. Profile fields are filled by
    imports (segment, country, attributes) and by serving (category interests)."""

    external_id = models.CharField(max_length=128, unique=True)
    segment = models.CharField(max_length=64, blank=True)
    country = models.CharField(max_length=2, blank=True)
    signup_date = models.DateField(null=True, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    category_interests = models.JSONField(default=dict, blank=True, editable=False)
    # Bumped whenever a new event changes the profile: part of the cache key of personal results.
    profile_version = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    exclude_from_training = models.BooleanField(
        default=False,
        db_default=False,  # raw INSERTs and COPY (imports, ingestion, demo) omit the column
        help_text="Training jobs run with exclude_flagged=true leave its events out (e.g. a bot).",
    )
    promotions_opt_out = models.BooleanField(
        default=False,
        db_default=False,  # raw INSERTs and COPY (imports, ingestion, demo) omit the column
        help_text="The shopper opted out of personalised promotions: /promotions serves them none.",
    )

    class Meta:
        ordering = ["external_id"]

    def __str__(self) -> str:
        return self.external_id


class EventType(models.TextChoices):
    SEARCH = "search", "search"
    VIEW = "view", "view"
    CLICK = "click", "click"
    ADD_TO_CART = "add_to_cart", "add to cart"
    PURCHASE = "purchase", "purchase"
    RATING = "rating", "rating"
    REVIEW = "review", "review"


class Event(models.Model):
    """A shopper's action. ``event_id`` makes ingestion idempotent; ``request_id`` links an
    event to the served result (and so to the experiment variant) it answers."""

    event_id = models.CharField(max_length=128, unique=True)
    shopper = models.ForeignKey(Shopper, on_delete=models.CASCADE, related_name="events")
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    type = models.CharField(max_length=16, choices=EventType.choices)
    query = models.CharField(max_length=500, blank=True)
    position = models.PositiveIntegerField(null=True, blank=True)
    value = models.FloatField(
        null=True, blank=True, help_text="Rating (rating/review) or price paid (purchase)."
    )
    review = models.TextField(blank=True)
    session = models.CharField(max_length=128, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    timestamp = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    exclude_from_training = models.BooleanField(
        default=False,
        db_default=False,  # raw INSERTs and COPY (imports, ingestion, demo) omit the column
        help_text="Training jobs run with exclude_flagged=true leave it out.",
    )

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [
            models.Index(fields=["shopper", "timestamp"]),
            models.Index(fields=["product", "type"]),
            models.Index(fields=["type", "timestamp"]),
            models.Index(
                fields=["request_id"], name="catalog_event_request_id", condition=~Q(request_id="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} by {self.shopper_id} at {self.timestamp:%Y-%m-%d %H:%M}"


class SearchLog(models.Model):
    """Every search the API served: analytics, autocomplete, training pairs, zero-result report."""

    query = models.CharField(max_length=500)
    normalised_query = models.CharField(max_length=500, db_index=True)
    corrected_query = models.CharField(max_length=500, blank=True)
    shopper = models.ForeignKey(
        Shopper, null=True, blank=True, on_delete=models.CASCADE, related_name="searches"
    )
    session = models.CharField(max_length=128, blank=True)
    result_count = models.PositiveIntegerField()
    latency_ms = models.FloatField()
    request_id = models.CharField(max_length=64, unique=True)
    intent = models.CharField(max_length=32, blank=True)
    strategy = models.CharField(max_length=120, blank=True)
    variant = models.CharField(max_length=120, blank=True)
    filters = models.JSONField(default=dict, blank=True)
    shown_products = models.JSONField(
        default=list, blank=True, help_text="External ids in served order."
    )
    timestamp = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [
            models.Index(fields=["shopper", "timestamp"]),
            # The admin's zero-result report scans only the searches that found nothing.
            models.Index(
                fields=["timestamp"], name="catalog_searchlog_zero", condition=Q(result_count=0)
            ),
        ]

    def __str__(self) -> str:
        return f"“{self.query}” ({self.result_count} results)"


class SearchTermStat(models.Model):
    """How many active products' full-text vectors hold one lexeme: the document frequency
    BM25's idf reads (``recommend.serving.retrievers``).

    Kept current inside PostgreSQL by statement-level triggers on ``catalog_product``
    (migration ``0005_search_term_stats``): every insert, update of the text or of ``active``,
    delete, COPY and TRUNCATE applies its change in the same transaction, whichever writer
    made it (import service, demo store, admin, bulk SQL). ``catalog.search_stats`` rebuilds
    the table from scratch and checks it.
    """

    lexeme = models.TextField(primary_key=True)
    documents = models.IntegerField(default=0)

    class Meta:
        verbose_name = "search term statistic"

    def __str__(self) -> str:
        return f"{self.lexeme}: {self.documents}"


class SearchExactTermStat(models.Model):
    """:class:`SearchTermStat` of the unstemmed vectors (``Product.search_vector_exact``), kept
    by the same triggers."""

    lexeme = models.TextField(primary_key=True)
    documents = models.IntegerField(default=0)

    class Meta:
        verbose_name = "search exact-term statistic"

    def __str__(self) -> str:
        return f"{self.lexeme}: {self.documents}"


class SearchCorpusStat(models.Model):
    """The one row of corpus totals BM25 needs: active products and the sum of their
    ``length(search_vector)`` (distinct lexemes per product, BM25's document length) and of
    their ``length(search_vector_exact)``, kept by the same triggers as
    :class:`SearchTermStat`."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    documents = models.BigIntegerField(default=0)
    lexemes = models.BigIntegerField(default=0)
    exact_lexemes = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        verbose_name = "search corpus statistic"

    def __str__(self) -> str:
        return f"{self.documents} products, {self.lexemes} lexemes"


class ImportRun(models.Model):
    """One file import (command, admin upload or bulk API), with its per-row report."""

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", "succeeded"
        PARTIAL = "partial", "imported valid rows, rejected others"
        REJECTED = "rejected", "rejected (nothing imported)"
        FAILED = "failed", "failed"

    kind = models.CharField(max_length=16)
    source = models.CharField(max_length=16, default="command")  # command | admin | api
    filename = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    total_rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    deactivated = models.PositiveIntegerField(
        default=0, help_text="Products deactivated by a full sync."
    )
    duration_seconds = models.FloatField(default=0)
    errors = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    user = models.ForeignKey("platform_core.User", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} import {self.filename or ''} ({self.status})"


class DataQualityReport(models.Model):
    """One run of the data quality checks (after an import, or on demand): per check a count,
    a bounded list of examples and the ids the fix actions act on."""

    class Trigger(models.TextChoices):
        IMPORT = "import", "after an import"
        ON_DEMAND = "on_demand", "on demand"

    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.ON_DEMAND)
    # training.Job's id, kept as a plain number: the catalog does not depend on training.
    job_id = models.PositiveBigIntegerField(null=True, blank=True)
    import_run = models.ForeignKey(ImportRun, null=True, blank=True, on_delete=models.SET_NULL)
    totals = models.JSONField(default=dict, help_text="Products, shoppers, events checked.")
    counts = models.JSONField(default=dict, help_text="Items found, by check.")
    checks = models.JSONField(default=list, help_text="Per check: label, count, examples, ids.")
    settings = models.JSONField(default=dict, help_text="Thresholds the checks used.")
    issues_found = models.PositiveIntegerField(default=0)
    duration_seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "data quality report"

    def __str__(self) -> str:
        return f"Data quality report #{self.pk} ({self.issues_found} issues)"

    def check_result(self, name: str) -> dict | None:
        """The stored findings of one check, or None."""
        return next((c for c in self.checks if c.get("name") == name), None)
