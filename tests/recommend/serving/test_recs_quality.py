"""On a time split of a small demo store, personalised recommendations beat trending on the
held-out purchases (the same evaluation as ``bench/recs.py``)."""

from __future__ import annotations

import pytest

from bench.recs import evaluate, hold_out, recall_ndcg
from catalog.models import Product
from catalog.services.demo import demo_store_build
from recommend import services
from tests.factories.recommend import HashingEncoder, write_vectors
from tests.factories.training import ModelVersionFactory
from training import services as training_services
from training.ml.encoders import product_text

pytestmark = pytest.mark.django_db


def test_recall_ndcg_by_hand():
    recall, ndcg = recall_ndcg([1, 2, 3, 4], {2, 9}, k=3)
    assert recall == 0.5
    assert ndcg == pytest.approx((1 / 1.5849625) / (1 + 1 / 1.5849625))


@pytest.mark.slow  # a 500-product demo store, CF training and 300 shoppers replayed: about 10 s here
def test_personalised_recommendations_beat_trending_on_held_out_purchases(
    storefront, serving_state, hashing_encoder, tmp_path
):
    demo_store_build(products=500, shoppers=400, days=40, seed=5, truth_dir=tmp_path)
    held, _cutoff = hold_out(days=7)
    assert len(held) >= 30
    retriever = ModelVersionFactory(task="retriever", is_active=True, dimension=384)
    products = list(Product.objects.select_related("brand", "category").order_by("pk"))
    texts = [
        product_text(
            p.title, p.brand.name if p.brand else None, p.category.name if p.category else None
        )
        for p in products
    ]
    write_vectors(retriever.pk, [p.pk for p in products], HashingEncoder().many(texts))
    job = training_services.job_launch(kind="train_cf", params={})
    finished = training_services.job_run(job_id=job.pk)
    assert finished.status == "succeeded", finished.error
    finished.result_version.is_active = True
    finished.result_version.save(update_fields=["is_active"])
    services.aggregates_refresh()
    services.shopper_profiles_refresh(shopper_ids=sorted(held)[:300])  # as ingestion stores them
    scores = evaluate(storefront, held, max_shoppers=300)
    personal, trending = scores["recommendations"], scores["trending"]
    assert personal["shoppers"] == trending["shoppers"] >= 30
    assert personal["recall"] > trending["recall"]
    assert personal["ndcg"] > trending["ndcg"]
