"""Passage vectors per retriever version: a retriever is promoted only when the knowledge
base's vectors for it exist; embedding a retriever (or the embed_knowledge job) writes them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from catalog.knowledge.models import Article, PassageEmbedding
from catalog.knowledge.selectors import missing_passage_vector_count
from catalog.knowledge.services import passages_rebuild
from tests import factories
from training import selectors, services, vectors
from training.knowledge_vectors import index_name
from training.models import Task
from training.runners.embed import embed_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def knowledge(db):
    for external_id, title, body in (
        ("returns", "Returns", "Return items within 30 days for a refund."),
        ("shipping", "Shipping", "Delivery takes two to four working days."),
    ):
        Article.objects.create(
            external_id=external_id, title=title, body=body, updated="2026-01-01T00:00:00Z"
        )
    return passages_rebuild()


def _with_product_vectors(version, products):
    import numpy as np

    matrix = np.random.default_rng(0).normal(size=(len(products), 384)).astype(np.float32)
    vectors.write_embeddings(
        version.pk, [p.pk for p in products], matrix, ["0" * 32] * len(products)
    )


def test_promotion_is_refused_until_the_knowledge_base_has_vectors(operator_user, knowledge):
    products = factories.ProductFactory.create_batch(2)
    version = factories.ModelVersionFactory(task=Task.RETRIEVER)
    _with_product_vectors(version, products)
    with pytest.raises(ValidationError, match="no vectors for 2 knowledge-base passage"):
        services.model_promote(version=version, user=operator_user)
    # embedding the retriever (what embed_catalog, fine-tuning and the bootstrap run) writes them
    embed_version(
        None,
        version,
        items=vectors.active_product_texts(),
        batch_size=16,
        device="cpu",
        build_index=True,
    )
    assert missing_passage_vector_count(version.pk) == 0
    assert PassageEmbedding.objects.filter(model_version=version).count() == knowledge
    services.model_promote(version=version, user=operator_user)
    assert selectors.active_version(Task.RETRIEVER) == version
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [index_name(version.pk)])
        assert cursor.fetchone() is not None
    # a changed article is stale under the version until embedded again
    article = Article.objects.get(external_id="returns")
    article.body = "Return items within 60 days."
    article.save()
    passages_rebuild(article_ids=[article.pk])
    assert missing_passage_vector_count(version.pk) == 1


def test_the_embed_knowledge_job_embeds_the_served_retrievers(operator_user, knowledge):
    from django.core.management import call_command

    version = factories.ModelVersionFactory(task=Task.RETRIEVER, is_active=True)
    assert missing_passage_vector_count(version.pk) == knowledge
    call_command("run_job", "embed_knowledge", "--inline")
    assert missing_passage_vector_count(version.pk) == 0


def test_the_incremental_embedding_catches_up_with_a_changed_knowledge_base(knowledge):
    from django.core.management import call_command

    products = factories.ProductFactory.create_batch(2)
    version = factories.ModelVersionFactory(task=Task.RETRIEVER, is_active=True)
    call_command("run_job", "embed_catalog", "--inline")  # products and passages
    assert missing_passage_vector_count(version.pk) == 0
    article = Article.objects.get(external_id="returns")
    article.body = "Return items within 60 days."
    article.save()
    passages_rebuild(article_ids=[article.pk])  # no product changed
    assert missing_passage_vector_count(version.pk) == 1
    call_command("run_job", "embed_catalog", "--param", "incremental=true", "--inline")
    assert missing_passage_vector_count(version.pk) == 0
    assert PassageEmbedding.objects.filter(model_version=version).count() == knowledge
    assert len(products) == 2


def test_a_quantised_child_is_checked_against_its_parents_passage_vectors(operator_user, knowledge):
    """An int8 child serves in its parent's vector space: the knowledge base's vectors it
    needs are the parent's, so promotion must not ask for vectors of its own (it did: a
    quantize job within tolerance was refused on a fresh make run)."""
    products = factories.ProductFactory.create_batch(2)
    parent = factories.ModelVersionFactory(task=Task.RETRIEVER)
    _with_product_vectors(parent, products)
    embed_version(
        None,
        parent,
        items=vectors.active_product_texts(),
        batch_size=16,
        device="cpu",
        build_index=False,
    )
    child = factories.ModelVersionFactory(
        task=Task.RETRIEVER,
        parent=parent,
        vector_space=parent,
        precision="int8",
        metrics={"ndcg@10": 0.80, "parent_same_split": {"ndcg@10": 0.80}},
    )
    assert missing_passage_vector_count(child.pk) == knowledge  # none under its own id
    services.model_promote(version=child, user=operator_user)
    assert selectors.active_version(Task.RETRIEVER) == child
