"""Issue 13 §4: the experiment form's minimum sample size is the live calculator's answer, the
variant lists hold the experiment's surface's strategies, guardrails read as words."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from recommend.experiments.models import Experiment
from tests.factories import StrategyFactory
from tests.factories.experiments import ExperimentFactory, VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client, operator_user):
    client.force_login(operator_user)
    return client


def _row(html: str) -> str:
    return re.search(r'<span id="aisle-sample-size">(.*?)</span>', html, re.S).group(1)


def _calculator(client, **values) -> str:
    return client.get(reverse("admin:experiments_experiment_sample_size"), values).content.decode()


def test_the_minimum_sample_size_row_is_the_live_calculators_answer(operator_client):
    add = operator_client.get(reverse("admin:experiments_experiment_add")).content.decode()
    defaults = {
        f: Experiment._meta.get_field(f).default
        for f in ("baseline_rate", "minimum_detectable_effect", "power", "alpha")
    }
    # a new experiment's row answers for the form's starting values, as the calculator does
    assert (
        _row(add)
        == _calculator(operator_client, **defaults)
        == ("<strong>14,751</strong> exposed units per variant")
    )
    assert add.count('id="aisle-sample-size"') == 1 and ">Minimum sample size" in add

    draft = ExperimentFactory(baseline_rate=0.3, minimum_detectable_effect=0.1, min_sample_size=0)
    html = operator_client.get(
        reverse("admin:experiments_experiment_change", args=[draft.pk])
    ).content.decode()
    assert (
        _row(html)
        == _calculator(
            operator_client, baseline_rate=0.3, minimum_detectable_effect=0.1, power=0.8, alpha=0.05
        )
        == "<strong>3,763</strong> exposed units per variant"
    )
    assert _calculator(operator_client, baseline_rate="", minimum_detectable_effect="0.1") == (
        "enter a baseline rate in (0, 1) and a non-zero effect"
    )


def test_the_variant_lists_hold_only_the_experiments_surface_strategies(operator_client):
    search = StrategyFactory(name="search semantic", surface="search")
    recs = StrategyFactory(name="recs cf heavy", surface="recommendations")
    experiment = ExperimentFactory(surface="search")
    VariantFactory(
        experiment=experiment, key="control", strategy=search, is_control=True, share=100
    )
    html = operator_client.get(
        reverse("admin:experiments_experiment_change", args=[experiment.pk])
    ).content.decode()
    select = re.search(r'<select name="variants-0-strategy".*?</select>', html, re.S).group(0)
    assert "search semantic" in select and "recs cf heavy" not in select

    add = operator_client.get(reverse("admin:experiments_experiment_add")).content.decode()
    select = re.search(r'<select name="variants-0-strategy".*?</select>', add, re.S).group(0)
    assert f'data-surface="recommendations" value="{recs.pk}"' in select or (
        f'value="{recs.pk}" data-surface="recommendations"' in select
    )
    assert "recs cf heavy (recommendations)" in select and "aisle/experiment-variants.js" in add


def test_guardrails_read_as_words(operator_client):
    experiment = ExperimentFactory(
        status=Experiment.Status.RUNNING,
        started_at=timezone.now(),
        guardrails=["zero_result_rate", "latency"],
        min_sample_size=3763,
    )
    VariantFactory(experiment=experiment, key="control", is_control=True)
    VariantFactory(experiment=experiment, key="treatment")
    change = operator_client.get(
        reverse("admin:experiments_experiment_change", args=[experiment.pk])
    ).content.decode()
    assert "zero-result rate, mean latency" in change and "zero_result_rate" not in change
    assert "<strong>3,763</strong> exposed units per variant" in change
    results = operator_client.get(
        reverse("admin:experiments_experiment_results", args=[experiment.pk])
    ).content.decode()
    assert "guardrails: zero-result rate, mean latency" in results
    assert "zero_result_rate" not in results.split("Primary metric")[1].split("</tr>")[0]
