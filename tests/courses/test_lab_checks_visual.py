"""The visual-search lab's check against recorded platform state, for the wrong things the
end-to-end test (``test_labs_visual.py``) does not reach: someone else's job, a version that
level with the colour histogram (not above it), the learner's good version left while
another serves, naming the product by its id, the picture asked for before the lab starts, a
catalogue without pictures. Fast: no job runs here."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from PIL import Image

from catalog.images.services import product_image_store
from courses import services
from courses.labs_platform import planted
from courses.labs_visual import required
from courses.models import LabAttempt
from tests.courses.conftest import build_course
from tests.factories.catalog import ProductFactory
from tests.factories.training import JobFactory, ModelVersionFactory
from training import services as training_services
from training.models import Job

pytestmark = pytest.mark.django_db


def _items(result) -> dict[str, bool]:
    return {label: ok for label, ok, _detail in result.items}


def _picture(colour: tuple[int, int, int]) -> bytes:
    image = Image.new("RGB", (64, 64), (245, 245, 240))
    image.paste(Image.new("RGB", (30, 20), colour), (17, 22))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _image_job(user, mine: float, histogram: float = 0.6, active: bool = False) -> Job:
    version = ModelVersionFactory(
        task="image",
        is_active=active,
        metrics={
            "view_recall@10": mine,
            "baseline_colour_histogram": {"view_recall@10": histogram},
        },
    )
    return JobFactory(
        kind="embed_images",
        queue="cpu",
        params={"epochs": 12},
        created_by=user,
        status=Job.Status.SUCCEEDED,
        result_version=version,
    )


@pytest.fixture
def pictured():
    products = [ProductFactory(title=f"Lamp {n}") for n in range(3)]
    for n, product in enumerate(products):
        product_image_store(product=product, data=_picture((40 * n, 90, 200)), source="upload")
    return products


def test_required_is_the_histograms_own_figure():
    assert required(0.6) == pytest.approx(0.6)
    assert required(0.78) == pytest.approx(0.78)


def test_visual_search_check_refuses_the_wrong_things(
    pictured, client, learner_user, operator_user
):
    sc = build_course(slug="visual-course", check_name="visual_search_found")
    sc.lab.question = "Which product is in your query picture?"
    sc.lab.save(update_fields=["question"])

    # the picture before the lab starts: a message, no file
    client.force_login(learner_user)
    response = client.get(reverse("academy:lab_download", args=[sc.lab.slug]))
    assert response.status_code == 302

    services.lab_start(user=learner_user, lab=sc.lab)
    download = client.get(reverse("academy:lab_download", args=[sc.lab.slug]))
    assert download.status_code == 200 and download["Content-Type"] == "image/png"

    # someone else's job, however good, does not count
    _image_job(operator_user, 0.95, active=True)
    items = _items(services.lab_check(user=learner_user, lab=sc.lab))
    assert not items["An embed_images job you launched succeeded"]

    # the learner's: level with the histogram (0.6), not above it
    _image_job(learner_user, 0.6, active=False)
    items = _items(services.lab_check(user=learner_user, lab=sc.lab))
    assert items["An embed_images job you launched succeeded"]
    assert not items["Its encoder finds more held-out products than the colour histogram"]

    # a good one, while the operator's serves
    good = _image_job(learner_user, 0.9).result_version
    items = _items(services.lab_check(user=learner_user, lab=sc.lab))
    assert items["Its encoder finds more held-out products than the colour histogram"]
    assert not items["That version is the active image encoder"]

    # promoted by the learner; the product named by its external id
    training_services.model_promote(version=good, user=learner_user)
    attempt = LabAttempt.objects.get(user=learner_user, lab=sc.lab)
    product_id = planted(user=learner_user, started_at=attempt.started_at)["product"]
    product = next(p for p in pictured if p.pk == product_id)
    wrong = next(p for p in pictured if p.pk != product_id)
    result = services.lab_check(user=learner_user, lab=sc.lab, answer=wrong.title)
    assert _items(result) == {
        "An embed_images job you launched succeeded": True,
        "Its encoder finds more held-out products than the colour histogram": True,
        "That version is the active image encoder": True,
        "You named the product in your query picture": False,
    }
    result = services.lab_check(user=learner_user, lab=sc.lab, answer=product.external_id)
    assert result.passed, result.items


def test_a_catalogue_without_pictures_picks_nothing(learner_user):
    ProductFactory.create_batch(3)
    sc = build_course(slug="visual-course", check_name="visual_search_found")
    services.lab_start(user=learner_user, lab=sc.lab)
    items = {
        label: detail
        for label, _ok, detail in services.lab_check(user=learner_user, lab=sc.lab).items
    }
    assert "leave the lab and start again" in items["You named the product in your query picture"]
