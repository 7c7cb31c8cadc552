"""Knowledge base rows: what support answers are drawn from.

An :class:`Article` (article, FAQ or policy) or a :class:`ProductQuestion` (a question and its
answer about one product) is cut into :class:`Passage` rows, the unit that search returns;
each passage has one :class:`PassageEmbedding` per retriever version (like product vectors,
with a partial HNSW index per version).
"""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from pgvector.django import VectorField

SEARCH_CONFIG = "english"
SEGMENTED_CONFIG = "simple"


class Category(models.TextChoices):
    """What a support question is about (the support-category labels)."""

    RETURNS = "returns", "returns"
    SHIPPING = "shipping", "shipping"
    PAYMENT = "payment", "payment"
    ACCOUNT = "account", "account"
    PRODUCT_QUESTION = "product_question", "product question"
    OTHER = "other", "other"


class Article(models.Model):
    """An article, FAQ entry or policy of the shop's help centre."""

    class Kind(models.TextChoices):
        ARTICLE = "article", "article"
        FAQ = "faq", "FAQ"
        POLICY = "policy", "policy"

    external_id = models.CharField(max_length=128, unique=True)
    title = models.CharField(max_length=500)
    body = models.TextField(help_text="Markdown; cut into passages at headings and paragraphs.")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.ARTICLE)
    category = models.CharField(max_length=32, choices=Category.choices, default=Category.OTHER)
    source = models.CharField(
        max_length=1000, blank=True, help_text="Where it comes from: a URL, a file, a team."
    )
    updated = models.DateTimeField(help_text="When its content last changed at the source.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["external_id"]
        indexes = [models.Index(fields=["category", "active"])]

    def __str__(self) -> str:
        return self.title


class ProductQuestion(models.Model):
    """A shopper's question about one product and the shop's answer."""

    external_id = models.CharField(max_length=128, unique=True)
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.CASCADE, related_name="questions"
    )
    question = models.TextField()
    answer = models.TextField()
    source = models.CharField(max_length=1000, blank=True)
    updated = models.DateTimeField()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["external_id"]

    def __str__(self) -> str:
        return self.question[:80]


class Passage(models.Model):
    """A chunk of an article or a product Q&A pair: what search ranks and answers return.

    Rebuilt by ``services.passages_rebuild`` whenever its source changes (so its id changes
    too, and its vectors are written again)."""

    article = models.ForeignKey(
        Article, null=True, blank=True, on_delete=models.CASCADE, related_name="passages"
    )
    product_question = models.ForeignKey(
        ProductQuestion, null=True, blank=True, on_delete=models.CASCADE, related_name="passages"
    )
    position = models.PositiveIntegerField(default=0)
    heading = models.CharField(max_length=600, help_text="The source's title and section.")
    text = models.TextField()
    category = models.CharField(max_length=32, choices=Category.choices)
    text_hash = models.CharField(max_length=32)
    # The segmented words of heading and text written in a script without spaces (Chinese,
    # Japanese, Thai: catalog.segmentation, per CATALOG_LANGUAGE), indexed with the ``simple``
    # configuration (no stemming, no stop words: the words as segmented); empty otherwise.
    search_text = models.TextField(blank=True, default="", editable=False)
    search_vector = models.GeneratedField(
        expression=SearchVector("heading", weight="A", config=SEARCH_CONFIG)
        + SearchVector("text", weight="B", config=SEARCH_CONFIG)
        + SearchVector("search_text", weight="B", config=SEGMENTED_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["pk"]
        indexes = [GinIndex(fields=["search_vector"], name="knowledge_passage_fts")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(article__isnull=False, product_question__isnull=True)
                | models.Q(article__isnull=True, product_question__isnull=False),
                name="knowledge_passage_one_source",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.heading} #{self.position}"


class PassageEmbedding(models.Model):
    """A passage's vector under one retriever version (a partial HNSW index per version,
    created by ``training.knowledge_vectors``)."""

    passage = models.ForeignKey(Passage, on_delete=models.CASCADE, related_name="embeddings")
    model_version = models.ForeignKey(
        "training.ModelVersion", on_delete=models.CASCADE, related_name="passage_embeddings"
    )
    vector = VectorField()
    text_hash = models.CharField(max_length=32)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "passage"], name="knowledge_embedding_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"passage {self.passage_id} under version {self.model_version_id}"


class SupportLabel(models.Model):
    """An operator's support category for a (normalised) support question: the support-category
    classifier learns from these next to the knowledge base's own categories, and a label here
    wins over what the articles say."""

    query = models.CharField(max_length=500, unique=True, help_text="Normalised question text.")
    category = models.CharField(max_length=32, choices=Category.choices)
    user = models.ForeignKey(
        "platform_core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["query"]

    def __str__(self) -> str:
        return f"“{self.query}” → {self.category}"


class AnswerSummary(models.Model):
    """A generated summary of the answers to a frequent support question, written ahead by the
    ``precompute_answer_summaries`` job so ``/api/v1/answers?summary=true`` serves it without a
    generator call.

    It holds for one retriever (the answers depend on it), one generator, and the exact
    passages it was written from: serving uses it only when the answers it found now are those
    passages, so a knowledge-base change (passages are rebuilt with new ids; the rebuild also
    deletes these rows) or another retriever never serves a stale summary."""

    query = models.CharField(max_length=500, help_text="Normalised question text.")
    retriever = models.ForeignKey(
        "training.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="answer_summaries",
        help_text="The retriever the answers were found with (empty: lexical only).",
    )
    generator = models.CharField(max_length=500, help_text="AISLE_GENERATOR_MODEL that wrote it.")
    passages = models.JSONField(default=list, help_text="The answers' passage ids, in order.")
    text = models.TextField()
    citations = models.JSONField(default=list)
    searches = models.PositiveIntegerField(
        default=0, help_text="How often the question was searched in the window it was picked."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-searches", "query"]
        verbose_name_plural = "answer summaries"
        constraints = [
            models.UniqueConstraint(fields=["query", "retriever"], name="knowledge_summary_unique"),
            models.UniqueConstraint(
                fields=["query"],
                condition=models.Q(retriever__isnull=True),
                name="knowledge_summary_unique_lexical",
            ),
        ]

    def __str__(self) -> str:
        return f"summary of “{self.query}”"
