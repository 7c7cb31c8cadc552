"""The shopper page and the segments page in the admin: rendered from the job's tables for
analysts and operators, the shopper page audited, searching as the shopper shown with reasons."""

from __future__ import annotations

import pytest
from django.urls import reverse

from platform_core.models import AuditLog
from recommend.insights.models import Segment
from tests.recommend.insights.test_profiles import build_shoppers, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def profiles(serving_store):
    groups = build_shoppers(serving_store)
    run(serving_store)
    return groups


def test_the_shopper_page_shows_profile_neighbours_what_they_see_and_is_audited(
    client, analyst_user, profiles
):
    client.force_login(analyst_user)
    shopper = profiles["run"][0]
    url = reverse("admin:insights_shopperinsight_change", args=[shopper.pk])
    response = client.get(url, {"q": "running shoes"})
    assert response.status_code == 200
    html = response.content.decode()
    segment = Segment.objects.get(name__startswith="Running").name
    assert segment in html
    assert 'aria-label="Interest by category"' in html and "Running" in html
    assert "run-1" in html  # a nearest shopper
    assert 'id="search-results"' in html and "Stridex road running shoes" in html
    assert "lexical #" in html or "semantic #" in html  # the explanation per item
    entry = AuditLog.objects.get(action="view shopper profile")
    assert entry.object_id == str(shopper.pk) and entry.details == {
        "search_as_shopper": "running shoes"
    }


def test_lists_have_filters_and_search_and_no_one_edits(client, operator_user, profiles):
    client.force_login(operator_user)
    segments = client.get(reverse("admin:insights_segment_changelist"))
    assert segments.status_code == 200
    assert "Coffee" in segments.content.decode() and "50.0%" in segments.content.decode()
    coffee = Segment.objects.get(name__startswith="Coffee")
    members = client.get(
        reverse("admin:insights_shopperinsight_changelist"), {"segment__id__exact": coffee.pk}
    )
    assert members.status_code == 200
    assert members.content.decode().count("cof-") >= 6
    assert client.get(reverse("admin:insights_segment_add")).status_code == 403


def test_learners_cannot_open_a_shopper_page(client, learner_user, profiles):
    client.force_login(learner_user)
    url = reverse("admin:insights_shopperinsight_change", args=[profiles["cof"][0].pk])
    assert client.get(url).status_code in (302, 403)
    assert not AuditLog.objects.filter(action="view shopper profile").exists()
