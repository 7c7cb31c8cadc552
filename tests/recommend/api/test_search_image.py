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


#: the small shop of the precision test: the demo generator's store, cut down to its largest
#: categories (a shop of a few kinds of product, each in several colours and patterns)
SMALL_SHOP = {"products": 600, "seed": 5, "categories": 6}
#: the job's epochs in the precision test (1 epoch fails it: image 0.150 vs histogram 0.218
#: and text only 0.211, 38 held-out products)
EPOCHS = 30


def _small_shop(tmp_path) -> dict:
    """Build the demo store and keep active only the products of its ``categories`` largest
    categories; returns the pictures' truth (external id → spec)."""
    from django.db.models import Count

    demo_store_build(
        products=SMALL_SHOP["products"],
        shoppers=5,
        days=2,
        seed=SMALL_SHOP["seed"],
        truth_dir=tmp_path / "truth",
    )
    largest = (
        Product.objects.filter(active=True)
        .values("category")
        .annotate(n=Count("id"))
        .order_by("-n", "category")[: SMALL_SHOP["categories"]]
    )
    kept = [row["category"] for row in largest]
    Product.objects.exclude(category__in=kept).update(active=False)
    return json.loads((tmp_path / "truth" / "images.json").read_text())["products"]


def precision_against_baselines(storefront, specs: dict, *, views: int, seed: int) -> dict:
    """The bench's measurement (``bench/image_search.py``) at test size: each product the
    active version held out, drawn again under ``views`` other views, queries
    ``/search/image``; a hit is a top-10 product of its category *and* colour (its own product
    left out). The colour histogram of the same query pictures and the product's own title
    vector (text-only similarity) are scored on the same queries."""
    import numpy as np

    from catalog.images import selectors as image_selectors
    from catalog.images.logic.pixels import bytes_array
    from training.ml.encoders import encode_texts, load_encoder
    from training.ml.image_encoder import colour_histograms
    from training.runners.embed_images import _holdout

    version = ModelVersion.objects.get(task=Task.IMAGE, is_active=True)
    rows = image_selectors.main_images()
    ext = {r.product_id: r.external_id for r in rows}
    labels = [(specs[r.external_id]["category"], specs[r.external_id]["colour"]) for r in rows]
    params = version.job.params
    held = np.flatnonzero(_holdout(rows, params.get("holdout", 0.2), params.get("seed", 42)))
    pictures = np.stack([bytes_array(image_selectors.read_image_bytes(r.path), 64) for r in rows])
    hist_index = colour_histograms(pictures)
    titles = encode_texts(load_encoder(None, device="cpu"), [r.title for r in rows])
    position = {r.external_id: i for i, r in enumerate(rows)}
    rng = random.Random(seed)

    def precision(order, i) -> float:
        return sum(labels[j] == labels[i] for j in [j for j in order if j != i][:10]) / 10

    figures = {"image": [], "histogram": [], "text only": []}
    for i in held:
        spec = specs[ext[rows[i].product_id]]
        figures["text only"].append(precision(list(np.argsort(-(titles @ titles[i]))), i))
        for _ in range(views):
            query = render_spec(spec, view=random_view(rng))
            upload = io.BytesIO(png_bytes(query))
            upload.name = "q.png"
            response = storefront.post(
                "/api/v1/search/image?size=11", {"image": upload}, format="multipart"
            )
            assert response.status_code == 200
            found = [position[r["product"]["id"]] for r in response.json()["results"]]
            figures["image"].append(precision(found, i) / views)
            hist = np.argsort(-(hist_index @ colour_histograms(np.asarray(query)[None])[0]))
            figures["histogram"].append(precision(list(hist), i) / views)
    return {name: float(np.sum(values)) / len(held) for name, values in figures.items()} | {
        "queried products": len(held)
    }


@pytest.mark.slow
def test_precision_through_the_api_beats_both_baselines_on_a_small_shop(
    settings, tmp_path, storefront, serving_state, one_torch_thread
):
    """The Done-when measure on a small shop: precision@10 (same category and colour) of
    search by image above the colour histogram's and text-only similarity's on the same
    queries. Measured: image 0.272, histogram 0.218, text only 0.211 (38 held-out products of
    the ~125 active, 3 views each; the tower without the silhouette's moments: 0.261). On a
    shop of the demo's 34 categories at ~9 products each the tower does not beat text-only
    (0.095 vs 0.142 on 300 products): too few pictures a category to learn the shapes."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    specs = _small_shop(tmp_path)
    job = services.job_run(
        job_id=services.job_launch(
            kind="embed_images",
            params={"device": "cpu", "epochs": EPOCHS, "batch_size": 32, "holdout": 0.3},
            user=None,
        ).pk
    )
    assert job.status == Job.Status.SUCCEEDED, job.error
    figures = precision_against_baselines(storefront, specs, views=3, seed=3)
    print(figures)
    assert figures["queried products"] >= 20
    assert figures["image"] > figures["histogram"], figures
    assert figures["image"] > figures["text only"], figures


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
