"""Training → Data-value reports: the report page shows the summary, both charts and the
table; the CSV holds the ablation and the curve; the version and the job link to it."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from training.models import DataValueReport, Job, ModelVersion, Task

pytestmark = pytest.mark.django_db

ABLATION = [
    {
        "source": "purchases",
        "title": "purchases",
        "kind": "event",
        "rows": 210,
        "change": 0.21,
        "low": 0.17,
        "high": 0.25,
        "metric_without": 0.52,
        "verdict": "useful",
    },
    {
        "source": "clicks",
        "title": "clicks",
        "kind": "event",
        "rows": 430,
        "change": -0.004,
        "low": -0.02,
        "high": 0.012,
        "metric_without": 0.734,
        "verdict": "no measurable value",
    },
    {
        "source": "add_to_cart",
        "title": "add-to-cart events",
        "kind": "event",
        "rows": 0,
        "skipped": "no training list has one (zero rows)",
    },
]
CURVE = {
    "points": [
        {"size": 20, "metric": 0.55, "fraction": 0.1},
        {"size": 40, "metric": 0.62, "fraction": 0.2},
        {"size": 80, "metric": 0.67, "fraction": 0.4},
        {"size": 140, "metric": 0.7, "fraction": 0.7},
        {"size": 200, "metric": 0.73, "fraction": 1.0},
    ],
    "a": 1.1,
    "b": 0.25,
    "b_interval": [0.18, 0.33],
    "doubling_gain": 0.038,
    "doubling_interval": [0.02, 0.055],
    "doubling_size": 400,
    "held_out_units": 40,
}


@pytest.fixture
def report(operator_user):
    version = ModelVersion.objects.create(task=Task.RANKER, name="ranker under study")
    job = Job.objects.create(kind="data_value", status=Job.Status.SUCCEEDED, queue="cpu")
    return DataValueReport.objects.create(
        task="ranker",
        version=version,
        job=job,
        metric="NDCG@10",
        baseline=0.73,
        held_out_units=40,
        unit="result lists",
        split={"method": "seeded hash", "seed": 42, "train": 200, "held_out": 40},
        ablation=ABLATION,
        curve=CURVE,
        summary=["Purchases carry most of the value: leaving them out costs 0.210 NDCG@10."],
        notes=["Each retrain: linear ranker."],
        duration_seconds=31.0,
    )


def test_report_page_shows_the_summary_both_charts_and_the_table(client, operator_user, report):
    client.force_login(operator_user)
    page = client.get(reverse("admin:training_datavaluereport_change", args=[report.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Purchases carry most of the value" in html
    assert 'aria-label="value of each data source"' in html
    assert 'aria-label="learning curve"' in html and "×2: +0.038" in html
    assert "not measured: no training list has one (zero rows)" in html
    assert "no measurable value" in html and "0.170 to 0.250" in html
    assert reverse("admin:training_datavaluereport_csv", args=[report.pk]) in html
    listing = client.get(reverse("admin:training_datavaluereport_changelist"))
    assert listing.status_code == 200 and "purchases (+0.210, useful)" in listing.content.decode()
    assert (
        client.get(
            reverse("admin:training_datavaluereport_changelist"), {"task": "ranker", "q": "study"}
        ).status_code
        == 200
    )


def test_csv_holds_the_ablation_and_the_curve(client, analyst_user, report):
    client.force_login(analyst_user)
    response = client.get(reverse("admin:training_datavaluereport_csv", args=[report.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    sections = [r["section"] for r in rows]
    assert sections == ["ablation"] * 3 + ["curve"] * 5 + ["doubling"]
    assert rows[0]["source"] == "purchases" and rows[0]["low"] == "0.17"
    assert rows[2]["skipped"].startswith("no training list")
    assert rows[-1]["size"] == "400" and rows[-1]["change"] == "0.038"


def test_the_version_and_the_job_link_to_their_reports(client, operator_user, report):
    client.force_login(operator_user)
    url = reverse("admin:training_datavaluereport_change", args=[report.pk])
    version_page = client.get(
        reverse("admin:training_modelversion_change", args=[report.version_id])
    )
    assert version_page.status_code == 200 and url in version_page.content.decode()
    job_page = client.get(reverse("admin:training_job_change", args=[report.job_id]))
    assert job_page.status_code == 200 and url in job_page.content.decode()


def test_a_retriever_report_shows_its_pairs_fields_and_pool(client, operator_user):
    version = ModelVersion.objects.create(task=Task.RETRIEVER, name="retriever under study")
    rows = [
        {**ABLATION[0], "source": "purchase_pairs", "title": "pairs mined from purchases"},
        {**ABLATION[1], "source": "description", "title": "product descriptions", "kind": "field"},
        {
            "source": "labels",
            "title": "operator labels",
            "kind": "pairs",
            "rows": 0,
            "skipped": "no training pair comes from it (zero rows)",
        },
    ]
    report = DataValueReport.objects.create(
        task="retriever",
        version=version,
        metric="NDCG@10",
        baseline=0.61,
        held_out_units=120,
        unit="queries",
        split={
            "method": "seeded hash of the query",
            "seed": 42,
            "train": 900,
            "pairs": {"click": 700, "purchase": 210, "label": 0, "synthetic": 300},
            "pool_products": 4100,
            "base_metric": 0.55,
        },
        ablation=rows,
        curve=CURVE,
        summary=["Pairs mined from purchases carry most of the value."],
        notes=["No run re-embeds the catalogue: each held-out query re-ranks a fixed pool."],
    )
    client.force_login(operator_user)
    page = client.get(reverse("admin:training_datavaluereport_change", args=[report.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Pairs mined from purchases carry most of the value" in html
    assert "same 120 held-out queries" in html
    assert all(f"{kind} {n}" in html for kind, n in report.split["pairs"].items())
    assert "4100 products in the re-rank pools" in html and "fine-tune: NDCG@10 0.550" in html
    assert "product descriptions" in html and "not measured: no training pair comes" in html
    assert 'aria-label="learning curve"' in html and "No run re-embeds the catalogue" in html
