"""REST API: launch / follow / cancel jobs and list model versions (staff auth and permissions)."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests import factories
from training.models import Job, Task

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_operator_launches_a_job_with_a_token_and_follows_it(
    operator_user, django_capture_on_commit_callbacks
):
    api = client_for(operator_user)
    with django_capture_on_commit_callbacks() as queued:
        resp = api.post(
            "/api/v1/jobs", {"kind": "train_cf", "params": {"factors": "8", "k": 10}}, format="json"
        )
    assert resp.status_code == 201, resp.json()
    body = resp.json()
    assert body["kind"] == "train_cf" and body["status"] == "queued" and body["queue"] == "cpu"
    assert (
        body["params"]["factors"] == 8 and body["params"]["iterations"] == 15
    )  # converted, defaults filled
    assert body["created_by"] == operator_user.username and body["queue_position"] == 1
    assert len(queued) == 1  # the Celery task is sent only after the commit

    detail = api.get(f"/api/v1/jobs/{body['id']}")
    assert detail.status_code == 200 and detail.json()["progress"] == 0.0

    cancel = api.post(f"/api/v1/jobs/{body['id']}/cancel")
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"
    again = api.post(f"/api/v1/jobs/{body['id']}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "finished"


def test_a_job_says_what_the_activation_policy_did_with_its_version(operator_user):
    job = factories.JobFactory(kind="train_cf", status="succeeded")
    Job.objects.filter(pk=job.pk).update(
        activation="kept", activation_reason="not better than the active version on ndcg@20"
    )
    body = client_for(operator_user).get(f"/api/v1/jobs/{job.pk}").json()
    assert body["activation"] == "kept"
    assert body["activation_reason"].startswith("not better")
    assert body["schedule"] is None


def test_session_auth_works_for_staff(operator_user):
    api = APIClient()
    api.force_login(operator_user)
    resp = api.post("/api/v1/jobs", {"kind": "embed_catalog"}, format="json")
    assert resp.status_code == 201


@pytest.mark.parametrize(
    "params, field, fragment",
    [
        ({"factors": "many"}, "factors", "must be an integer"),
        ({"factors": 0}, "factors", "at least 1"),
        ({"nope": 1}, "nope", "unknown parameter"),
    ],
)
def test_invalid_params_are_explained(operator_user, params, field, fragment):
    resp = client_for(operator_user).post(
        "/api/v1/jobs", {"kind": "train_cf", "params": params}, format="json"
    )
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == "invalid_params"
    assert fragment in error["details"][field][0] and field in error["message"]
    assert not Job.objects.exists()


def test_unknown_kind_and_missing_required_param(operator_user):
    api = client_for(operator_user)
    resp = api.post("/api/v1/jobs", {"kind": "make_coffee"}, format="json")
    assert resp.status_code == 400 and "Unknown job kind" in resp.json()["error"]["message"]
    resp = api.post("/api/v1/jobs", {"kind": "finetune_classifier", "params": {}}, format="json")
    assert resp.status_code == 400 and "task" in resp.json()["error"]["details"]
    resp = api.post(
        "/api/v1/jobs",
        {"kind": "finetune_classifier", "params": {"task": "sentiment", "labels": "weak"}},
        format="json",
    )
    assert resp.status_code == 400 and "ratings" in resp.json()["error"]["message"]


def test_permissions(analyst_user, learner_user, storefront):
    anonymous = APIClient().post("/api/v1/jobs", {"kind": "embed_catalog"}, format="json")
    assert (
        anonymous.status_code in (401, 403)
        and anonymous.json()["error"]["code"] == "not_authenticated"
    )
    # A storefront API key is not staff.
    assert storefront.post(
        "/api/v1/jobs", {"kind": "embed_catalog"}, format="json"
    ).status_code in (401, 403)
    # Analysts read jobs and models but cannot launch or cancel.
    analyst = client_for(analyst_user)
    denied = analyst.post("/api/v1/jobs", {"kind": "embed_catalog"}, format="json")
    assert denied.status_code == 403 and "training.add_job" in denied.json()["error"]["message"]
    job = factories.JobFactory()
    assert analyst.get(f"/api/v1/jobs/{job.pk}").status_code == 200
    assert analyst.post(f"/api/v1/jobs/{job.pk}/cancel").status_code == 403
    assert analyst.get("/api/v1/models").status_code == 200
    # Learners are not staff of the training app.
    assert client_for(learner_user).get(f"/api/v1/jobs/{job.pk}").status_code == 403
    assert Job.objects.count() == 1


def test_models_endpoint_filters_by_task(analyst_user):
    factories.ModelVersionFactory(task=Task.RETRIEVER, metrics={"ndcg@10": 0.41})
    factories.ModelVersionFactory(task=Task.CF, metrics={"ndcg@20": 0.1}, is_active=True)
    api = client_for(analyst_user)
    rows = api.get("/api/v1/models?task=retriever").json()
    assert [r["task"] for r in rows] == ["retriever"] and rows[0]["metrics"] == {"ndcg@10": 0.41}
    assert len(api.get("/api/v1/models").json()) == 2
    assert api.get("/api/v1/models?task=cf&active=true").json()[0]["is_active"] is True
    bad = api.get("/api/v1/models?task=oracle")
    assert bad.status_code == 400 and bad.json()["error"]["details"]["task"]
    assert api.get("/api/v1/jobs/999999").status_code == 404


def test_schema_documents_the_endpoints(admin_user):
    api = APIClient()
    api.force_login(admin_user)
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    text = schema.content.decode()
    for route in (
        "/api/v1/jobs",
        "/api/v1/jobs/{id}",
        "/api/v1/jobs/{id}/cancel",
        "/api/v1/models",
    ):
        assert route in text
