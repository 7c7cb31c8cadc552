"""The labs done as a learner would, with the real job on CPU on a small demo store (300
products): the lab's own instructions (parameters as the lab names them, defaults otherwise)
reach its pass bar. The checks' edge cases (labels from before the lab, someone else's job, the
wrong task) are held with recorded jobs in ``test_lab_checks.py``; here the bar itself is proven
reachable. Each job's duration is printed: the lab text says how long it takes."""

from __future__ import annotations

import csv
import time
from collections import defaultdict

import pytest

from courses import services
from tests.courses.conftest import build_course
from training import services as training_services
from training.ml.pairs import normalize_query
from training.models import Job

pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def demo(lab_store):
    """The lab store (``tests/courses/lab_store.py``: built once a session, copied in)."""
    return lab_store


def _run(job) -> Job:
    started = time.monotonic()
    job = training_services.job_run(job_id=job.pk)
    print(f"\n{job.kind} {job.params}: {job.status} in {time.monotonic() - started:.0f} s")
    assert job.status == Job.Status.SUCCEEDED, job.error
    return job


def test_intent_lab_reaches_its_bar_with_sixty_labels(demo, learner_user):
    """Step 2: label at least 60 queries, every intent represented (the learner follows the
    lesson's rules; the demo store's hidden truth stands in for them). Step 3: the job with
    task=intent, labels=manual and the default parameters."""
    sc = build_course(slug="intent-course", check_name="intent_classifier_f1")
    services.lab_start(user=learner_user, lab=sc.lab)
    assert not services.lab_check(user=learner_user, lab=sc.lab).passed  # nothing done yet

    by_intent: dict[str, list[str]] = defaultdict(list)
    with open(demo["query_intents"], newline="") as handle:
        for row in csv.DictReader(handle):
            by_intent[row["intent"]].append(normalize_query(row["query"]))
    labels = {q: intent for intent, queries in by_intent.items() for q in queries[:20]}
    assert len(labels) == 60
    training_services.query_labels_save(labels=labels, user=learner_user)
    job = training_services.job_launch(
        kind="finetune_classifier",
        params={"task": "intent", "labels": "manual", "device": "cpu"},
        user=learner_user,
    )
    job = _run(job)
    result = services.lab_check(user=learner_user, lab=sc.lab)
    print(result.items)
    assert result.passed, result.items


def test_retriever_lab_reaches_its_bar_with_the_quick_run_parameters(
    lab_store_embedded, learner_user
):
    """Step 2: Launch a job, Fine-tune the retriever, with the lab's quick-run parameters (on
    the store as `make run` leaves it: the packaged encoder, embedded and active)."""
    sc = build_course(slug="retriever-course", check_name="retriever_beats_active")
    services.lab_start(user=learner_user, lab=sc.lab)
    assert not services.lab_check(user=learner_user, lab=sc.lab).passed  # nothing done yet

    job = training_services.job_launch(
        kind="finetune_retriever",
        params={
            "device": "cpu",
            "epochs": 1,
            "batch_size": 32,
            "max_pairs": 256,
            "max_seq_len": 32,
            "learning_rate": 1e-4,
            "judged_csv": "demo/relevance.csv",
        },
        user=learner_user,
    )
    _run(job)
    result = services.lab_check(user=learner_user, lab=sc.lab)
    print(result.items)
    assert result.passed, result.items


#: Step 3 of the A/B-test lab: the traffic job's parameters as the lab gives them
AB_LAB_TRAFFIC = {
    "shoppers": 150,
    "days": 3,
    "seed": 1,
    "plant_variant": "treatment",
    "plant_factor": 1.5,
}


def test_ab_lab_reaches_its_bar_with_the_labs_traffic_job(lab_store_embedded, learner_user):
    """The A/B-test lab as the curriculum ships it, done by a learner (not an operator) with
    its own permissions: two strategies, a 50/50 experiment, the traffic job, ship the winner."""
    from django.contrib.auth import get_user_model

    from courses.models import Lab
    from recommend.experiments import services as experiments
    from recommend.experiments.selectors import clear_running_cache, experiment_results
    from recommend.models import Strategy
    from recommend.services import strategy_save

    lab = Lab.objects.get(slug="ab-test-ship-winner")
    services.lab_start(user=learner_user, lab=lab)
    learner = get_user_model().objects.get(pk=learner_user.pk)  # the lab's permissions
    assert not learner.has_role("operator")
    assert not services.lab_check(user=learner, lab=lab).passed  # nothing done yet

    # 1. two strategies that differ in one thing (the lab's example)
    heavy, balanced = (
        Strategy(name=name, surface="search", lexical_weight=lex, semantic_weight=1 - lex)
        for name, lex in (("lab-lexical-heavy", 0.8), ("lab-balanced", 0.5))
    )
    for strategy in (heavy, balanced):
        strategy_save(strategy=strategy, actor=learner)
    # 2. the experiment, 50/50, started
    experiment = experiments.experiment_create(
        name="lab: balanced vs lexical-heavy",
        surface="search",
        hypothesis="balanced fusion raises search CTR",
        baseline_rate=0.5,  # step 2's sample-size inputs
        minimum_detectable_effect=0.2,
        variants=[
            experiments.VariantSpec("control", heavy, 50, True),
            experiments.VariantSpec("treatment", balanced, 50),
        ],
        actor=learner,
    )
    experiments.experiment_start(experiment=experiment, actor=learner)
    clear_running_cache()
    # 3. the lab's traffic job, launched as the learner
    _run(training_services.job_launch(kind="simulate_traffic", params=AB_LAB_TRAFFIC, user=learner))
    result = services.lab_check(user=learner, lab=lab)
    assert not result.passed  # not shipped yet
    assert {label: ok for label, ok, _ in result.items}["Both variants received simulated traffic"]
    # 4. the results page declares the winner; 5. ship it
    results = experiment_results(experiment)
    print("VERDICT", results.analysis.outcome, results.analysis.sentence)
    assert results.recommended_variant_id == experiment.variants.get(key="treatment").pk
    experiments.experiment_ship(experiment=experiment, actor=learner)
    result = services.lab_check(user=learner, lab=lab)
    print(result.items)
    assert result.passed, result.items
    assert Strategy.objects.get(pk=balanced.pk).is_default
