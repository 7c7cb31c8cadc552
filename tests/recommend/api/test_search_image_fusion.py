"""The text-to-image retriever of text search (issue 17 §2): on a small demo store with a base
retriever, embed_images trains the image tower in the retriever's text space; a strategy with an
image weight fuses the pictures' vectors as one more list (the explanation names it), the
default strategy does not, and a tower trained in another text space is left out, with the
reason in the timing header."""

from __future__ import annotations

import numpy as np
import pytest

from catalog.services.demo import demo_store_build
from recommend.models import Strategy
from training import bootstrap, services
from training.models import Job, ModelVersion, Task

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def store_with_pictures(settings, tmp_path, operator_user, serving_state):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    settings.JOB_TORCH_THREADS = 1
    demo_store_build(products=120, shoppers=5, days=2, seed=5, truth_dir=tmp_path / "truth")
    retriever = bootstrap.retriever_run()
    assert retriever is not None and retriever.is_active
    job = services.job_run(
        job_id=services.job_launch(
            kind="embed_images",
            params={"device": "cpu", "epochs": 6, "batch_size": 32, "holdout": 0.2},
            user=operator_user,
        ).pk
    )
    assert job.status == Job.Status.SUCCEEDED, job.error
    return retriever, job.result_version


def _search(storefront, q: str):
    response = storefront.get("/api/v1/search", {"q": q, "size": 20})
    assert response.status_code == 200, response.content
    return response


def _image_ranked(results) -> list[dict]:
    return [r for r in results if (r["explanation"]["retrievers"].get("image") or {}).get("rank")]


def test_the_image_retriever_joins_the_fusion_only_when_the_strategy_weights_it(
    store_with_pictures, storefront, serving_state
):
    from django.core.cache import cache

    from platform_core import caches

    retriever, image = store_with_pictures
    # the tower learnt in the retriever's space: a query is comparable with the pictures
    assert image.hyperparameters["text_version"] == retriever.pk
    assert image.metrics["baseline_text_only"]["category_precision@10"] >= 0

    off = _search(storefront, "red kettle").json()["results"]
    assert off and not _image_ranked(off)

    Strategy.objects.update_or_create(
        surface="search", is_default=True, defaults={"name": "with pictures", "image_weight": 1.0}
    )
    cache.clear()
    caches.reset_all()
    response = _search(storefront, "red kettle")
    on = _image_ranked(response.json()["results"])
    assert on, response["Server-Timing"]  # the note says how many pictures were asked
    first = on[0]["explanation"]["retrievers"]["image"]
    assert first["rank"] >= 1 and -1 <= first["score"] <= 1
    assert "image_retriever" in response["Server-Timing"]

    # a tower trained against another text space is not compared with this query's vector
    ModelVersion.objects.filter(pk=image.pk).update(
        hyperparameters={**image.hyperparameters, "text_version": retriever.pk + 1000}
    )
    cache.clear()
    caches.reset_all()
    response = _search(storefront, "red kettle")
    assert not _image_ranked(response.json()["results"])
    assert "trained against text space" in response["Server-Timing"]


def test_a_title_finds_pictures_of_its_category_above_chance(store_with_pictures):
    """The shared space, checked directly: a product's title vector (the query side) against
    every product picture's vector ranks same-category pictures above chance."""
    from catalog.images.models import ImageEmbedding
    from training.ml.encoders import encode_texts
    from training.runners.embed import load_version_encoder

    retriever, image = store_with_pictures
    rows = list(
        ImageEmbedding.objects.filter(model_version=image).values_list(
            "product_id", "product__category_id", "product__title", "vector"
        )
    )
    categories = np.array([r[1] for r in rows])
    pictures = np.array([np.asarray(r[3], dtype=np.float32) for r in rows])
    titles = encode_texts(load_version_encoder(retriever, None), [r[2] for r in rows])
    top = np.argsort(-(titles @ pictures.T), axis=1)[:, :10]
    precision = float(
        np.mean([(categories[row] == categories[i]).mean() for i, row in enumerate(top)])
    )
    chance = float(np.mean([(categories == c).mean() for c in categories]))
    assert precision > 2 * chance, (precision, chance)
    assert image.task == Task.IMAGE
