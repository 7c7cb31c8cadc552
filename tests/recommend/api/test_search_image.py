"""Search by image through the real API on a small demo store: the embed_images job trains
the in-platform image tower, then POST /search/image (multipart and base64) and
GET /products/{id}/visually-similar answer with filters, facets and explanations; bad
pictures are 413/415 JSON in the house format."""

from __future__ import annotations

import base64
import io
import json
import random

import pytest
from PIL import Image

from catalog.demo.images import png_bytes, random_view, render_spec
from catalog.models import Product
from catalog.services.demo import demo_store_build
from training import services
from training.models import Job, ModelVersion, Task

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def image_store(settings, tmp_path, operator_user, serving_state):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    settings.JOB_TORCH_THREADS = 1
    demo_store_build(products=120, shoppers=5, days=2, seed=5, truth_dir=tmp_path / "truth")
    specs = json.loads((tmp_path / "truth" / "images.json").read_text())["products"]
    job = services.job_run(
        job_id=services.job_launch(
            kind="embed_images",
            params={"device": "cpu", "epochs": 3, "batch_size": 48, "holdout": 0.2},
            user=operator_user,
        ).pk
    )
    assert job.status == Job.Status.SUCCEEDED, job.error
    return specs, job


def _png_bytes_small() -> bytes:
    return png_bytes(Image.new("RGB", (8, 8), (9, 9, 9)))


def _query_png(spec: dict, seed: int = 1) -> bytes:
    return png_bytes(render_spec(spec, view=random_view(random.Random(seed))))


def test_embed_images_registers_an_active_image_version_with_figures(image_store):
    _, job = image_store
    version = ModelVersion.objects.get(task=Task.IMAGE)
    assert version.is_active and version.dimension == 384 and version.pk == job.result_version_id
    m = version.metrics
    assert m["vectors"] == Product.objects.filter(active=True).count() > 100
    assert m["heldout_products"] > 0 and m["sane"]
    assert {"view_recall@10", "category_precision@10", "baseline_colour_histogram"} <= set(m)
    assert job.progress == 1.0


def test_search_by_image_multipart_and_base64(image_store, storefront):
    specs, _ = image_store
    external_id, spec = sorted(specs.items())[0]
    upload = io.BytesIO(_query_png(spec))
    upload.name = "query.png"
    response = storefront.post("/api/v1/search/image?size=5", {"image": upload}, format="multipart")
    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["results"]) == 5 and body["total"] >= 5
    first = body["results"][0]
    assert first["explanation"]["retrievers"]["image"]["rank"] == 1
    assert body["facets"]["category"] and body["image_model"]["version"]
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)

    category = spec["category"]
    response = storefront.post(
        f"/api/v1/search/image?category={category}",
        {"image_base64": base64.b64encode(_query_png(spec, 2)).decode()},
        format="json",
    )
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert results and {r["product"]["category"]["id"] for r in results} == {category}

    similar = storefront.get(f"/api/v1/products/{external_id}/visually-similar?size=4")
    assert similar.status_code == 200, similar.content
    ids = [r["product"]["id"] for r in similar.json()["results"]]
    assert len(ids) == 4 and external_id not in ids
    assert storefront.get("/api/v1/products/nope/visually-similar").status_code == 404


def test_bad_pictures_are_413_and_415_json(image_store, storefront, settings):
    not_image = io.BytesIO(b"%PDF-1.4 definitely not a picture")
    not_image.name = "x.png"
    response = storefront.post("/api/v1/search/image", {"image": not_image}, format="multipart")
    assert (
        response.status_code == 415 and response.json()["error"]["code"] == "unsupported_media_type"
    )
    response = storefront.post("/api/v1/search/image", {"image_base64": "***"}, format="json")
    assert response.status_code == 400 and "error" in response.json()
    twice = io.BytesIO(_png_bytes_small())
    twice.name = "q.png"
    response = storefront.post(
        "/api/v1/search/image", {"image": twice, "image_base64": "AA=="}, format="multipart"
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"

    buffer = io.BytesIO()
    Image.new("RGB", (400, 400), (1, 2, 3)).save(buffer, format="PNG")
    settings.IMAGE_MAX_PIXELS = 100 * 100
    big = io.BytesIO(buffer.getvalue())
    big.name = "big.png"
    response = storefront.post("/api/v1/search/image", {"image": big}, format="multipart")
    assert response.status_code == 413 and response.json()["error"]["code"] == "image_too_large"
    settings.IMAGE_MAX_BYTES = 100
    response = storefront.post(
        "/api/v1/search/image",
        {"image_base64": base64.b64encode(buffer.getvalue()).decode()},
        format="json",
    )
    assert response.status_code == 413


def test_no_active_image_encoder_answers_an_empty_list(storefront, serving_state):
    upload = io.BytesIO(png_bytes(Image.new("RGB", (8, 8))))
    upload.name = "q.png"
    response = storefront.post("/api/v1/search/image", {"image": upload}, format="multipart")
    assert response.status_code == 200, response.content
    assert response.json()["results"] == [] and response.json()["image_model"] is None
    assert "no image encoder" in response["Server-Timing"]


def test_the_admin_search_by_image_page_shows_the_look_alikes(image_store, client, analyst_user):
    specs, _ = image_store
    _, spec = sorted(specs.items())[3]
    client.force_login(analyst_user)
    page = client.get("/admin/catalog/search-by-image/")
    assert page.status_code == 200 and b"search-by-image" in page.content
    upload = io.BytesIO(_query_png(spec, 4))
    upload.name = "q.png"
    page = client.post(
        "/admin/catalog/search-by-image/", {"image": upload, "category": spec["category"]}
    )
    assert page.status_code == 200 and b"errornote" not in page.content, page.content[-3000:]
    assert page.content.count(b'class="image-result"') >= 1
    assert b"data:image/png;base64," in page.content


@pytest.mark.slow
def test_precision_through_the_api_against_the_baselines_on_a_small_store(image_store, storefront):
    """The bench's measurement at test size: held-out products drawn again under another view
    query the API; a hit is a top-10 product of the same category (and, stricter, the same
    colour). The colour histogram and the title vectors are scored on the same queries."""
    import numpy as np

    from catalog.images import selectors as image_selectors
    from catalog.images.logic.pixels import bytes_array
    from training.ml.image_encoder import colour_histograms
    from training.runners.embed_images import _holdout

    specs, _ = image_store
    longer = services.job_run(
        job_id=services.job_launch(
            kind="embed_images",
            params={"device": "cpu", "epochs": 40, "batch_size": 32, "holdout": 0.2},
            user=None,
        ).pk
    )
    assert longer.status == Job.Status.SUCCEEDED, longer.error
    services.model_promote(version=longer.result_version, user=None)
    rows = image_selectors.main_images()
    ext = dict(Product.objects.values_list("id", "external_id"))
    labels = [
        (specs[ext[r.product_id]]["category"], specs[ext[r.product_id]]["colour"]) for r in rows
    ]
    held = np.flatnonzero(_holdout(rows, 0.2, 42))
    pictures = np.stack([bytes_array(image_selectors.read_image_bytes(r.path), 64) for r in rows])
    hist_index = colour_histograms(pictures)
    by_external = {ext[r.product_id]: i for i, r in enumerate(rows)}
    rng = random.Random(3)
    scores = {"image": [], "histogram": []}
    category = {"image": [], "histogram": []}
    own = {"image": [], "histogram": []}
    for i in held:
        spec = specs[ext[rows[i].product_id]]
        query = render_spec(spec, view=random_view(rng))
        upload = io.BytesIO(png_bytes(query))
        upload.name = "q.png"
        response = storefront.post(
            "/api/v1/search/image?size=11", {"image": upload}, format="multipart"
        )
        assert response.status_code == 200
        found = [by_external[r["product"]["id"]] for r in response.json()["results"]]
        hist = np.argsort(-(hist_index @ colour_histograms(np.asarray(query)[None])[0]))
        for name, order in (("image", found), ("histogram", list(hist))):
            own[name].append(i in order[:10])
            top = [j for j in order if j != i][:10]
            scores[name].append(sum(labels[j] == labels[i] for j in top) / 10)
            category[name].append(sum(labels[j][0] == labels[i][0] for j in top) / 10)
    figures = {
        name: {
            "own product in top 10": float(np.mean(own[name])),
            "precision@10 category and colour": float(np.mean(scores[name])),
            "precision@10 category": float(np.mean(category[name])),
        }
        for name in own
    }
    print(figures)
    # Another photograph of the very product is found (chance: 10 of ~120) more often than the
    # colour histogram finds it, and the top 10 hold no fewer products of the query's category.
    # (Measured: own product 0.90 vs 0.76, category 0.05 vs 0.03: at ~3 products a category
    # the category figures are small here; same category *and* colour is the bench's figure on
    # a larger store. Before the category term the histogram won: 0.88 vs 0.94 own product.)
    assert figures["image"]["own product in top 10"] >= 0.6
    assert (
        figures["image"]["own product in top 10"] > figures["histogram"]["own product in top 10"]
    ), figures
    assert (
        figures["image"]["precision@10 category"] >= figures["histogram"]["precision@10 category"]
    ), figures


def test_the_admin_search_by_image_page_says_when_no_encoder_is_active(
    client, analyst_user, serving_state
):
    client.force_login(analyst_user)
    page = client.get("/admin/catalog/search-by-image/")
    assert page.status_code == 200
    text = " ".join(page.content.decode().split())
    # the intro used to name the encoder in a blank: "... answers with . Nothing is logged."
    assert "answers with ." not in text and "None is active yet" in text
    assert "no image encoder is active: run the embed_images job" in text
