"""Online A/B test of a fine-tuned retriever against the base encoder, with the real packaged
model, end to end on a small demo store: the retriever fine-tuning job (`finetune_retriever`)
makes the candidate version, two search strategies pin the two versions, simulated shoppers
judge what each serves through the real API, the experiment computes its verdict, and the
fine-tuned arm is shipped.

Sized to prove the path, not the effect: 80 shoppers, a 2-step fine-tune and one simulated
day (about two hundred searches) cannot show a few per cent of click-through with any
power, so the test asserts what holds at this size: the job chain completes, both arms get
exposures from their shoppers, and a verdict with a confidence interval is read on a planned
sample the run reaches. Whether the fine-tuned retriever really wins online (600 shoppers, 3
epochs, ~13,000 searches: CTR 0.663 -> 0.697, +5.1%, 95% CI +1.9% to +8.4%, on 2026-12-05)
is ``bench/simulator_finetuned.py``, which prints its run beside that one.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from catalog.demo.generator import DEFAULT_END
from catalog.services.demo import demo_store_build
from recommend.experiments import services
from recommend.experiments.selectors import clear_running_cache, experiment_results
from recommend.experiments.services import VariantSpec
from recommend.experiments.simulation import traffic_simulate
from tests.factories import StrategyFactory
from training import bootstrap, vectors
from training import services as training_services
from training.models import Job

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.django_db,
    pytest.mark.slow,
    # 43 s of CPU; 10.5 min of wall time under a load average of 20 on 2 cores (setup included)
    pytest.mark.timeout(1200),
]


STORE = {"products": 100, "shoppers": 80, "days": 14, "seed": 42}
FINETUNE = {
    "epochs": 1,
    "batch_size": 32,
    "max_pairs": 64,
    "max_seq_len": 32,
    "learning_rate": 1e-4,
    "seed": 42,
    "device": "cpu",
}
TRAFFIC = {"shoppers": 80, "days": 1, "sessions_per_day": 2.0}


@pytest.fixture(autouse=True)
def _fresh_running_cache(serving_state):
    clear_running_cache()
    yield
    clear_running_cache()


def test_finetuned_retriever_runs_an_online_experiment_against_the_base_encoder(
    operator_user, tmp_path
):
    demo_store_build(**STORE, truth_dir=tmp_path / "demo", end=DEFAULT_END)
    base = bootstrap.run()  # the packaged MiniLM, embedded and active
    job = training_services.job_launch(
        kind="finetune_retriever",
        user=operator_user,
        params=FINETUNE,
    )
    job = training_services.job_run(job_id=job.pk)
    assert job.status == Job.Status.SUCCEEDED, job.error
    tuned = job.result_version
    assert tuned.pk != base.pk and tuned.parent_id == base.pk
    assert tuned.metrics["train_steps"] == 2  # 64 pairs, 32 a step, one epoch
    assert tuned.metrics["embed"]["products"] == len(vectors.active_product_texts())

    # semantic retrieval only, no ranker or intent: the retriever is the only difference
    common = {
        "surface": "search",
        "lexical_weight": 0.0,
        "semantic_weight": 1.0,
        "use_ranker": False,
        "use_intent": False,
    }
    control = StrategyFactory(name="base encoder", retriever_version=base, **common)
    treatment = StrategyFactory(name="fine-tuned retriever", retriever_version=tuned, **common)
    experiment = services.experiment_create(
        name="fine-tuned vs base",
        surface="search",
        hypothesis="Fine-tuning on the store's own queries "
        "finds the products shoppers mean, so more searches end in a click.",
        actor=operator_user,
        salt="finetuned-vs-base",
        sequential=False,
        # a planned sample this small run reaches (22 shoppers per arm), so a verdict is read
        baseline_rate=0.65,
        minimum_detectable_effect=0.5,
        variants=[VariantSpec("base", control, 50, True), VariantSpec("finetuned", treatment, 50)],
    )
    services.experiment_start(experiment=experiment, actor=operator_user)

    report = traffic_simulate(
        **TRAFFIC,
        seed=7,
        start=datetime(2026, 11, 2, tzinfo=UTC),
        truth_dir=tmp_path / "demo",
        search_share=1.0,
        similar_after_click=0.0,
    )
    assert not report.errors, report.errors
    assert report.requests["search"] > 150
    analysis = experiment_results(experiment).analysis
    print(f"\n{report.summary()}\n{analysis.sentence}")
    arms = {a.key: a for a in analysis.arms}
    assert arms["base"].units + arms["finetuned"].units <= TRAFFIC["shoppers"]
    for arm in arms.values():  # each arm reaches the planned sample, so a verdict is read
        assert arm.units >= experiment.min_sample_size and arm.exposures > 40, arm
        assert 0 < arm.values["ctr"] < 1, arm.values
    (result,) = analysis.treatments
    assert result.key == "finetuned"
    assert math.isfinite(result.primary.rel_lift)
    assert result.primary.ci_low < result.primary.rel_lift < result.primary.ci_high
    assert analysis.outcome in ("winner", "loser", "no detectable difference"), analysis.sentence
    assert result.verdict.outcome == analysis.outcome

    finetuned = experiment.variants.get(key="finetuned")
    services.experiment_ship(experiment=experiment, actor=operator_user, variant=finetuned)
    treatment.refresh_from_db()
    assert treatment.is_default
