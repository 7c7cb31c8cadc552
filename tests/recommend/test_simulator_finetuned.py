"""Online A/B test of a fine-tuned retriever against the base encoder on the demo store, with
the real packaged model: the Training issue's fine-tuning job makes the candidate, two search
strategies pin the two versions, simulated shoppers judge what each serves, and the experiment
should declare the fine-tuned retriever the winner.

Opt-in (``AISLE_ONLINE_FINETUNE_TEST=1``) because on this 300-product store it does not: the
fine-tuned retriever is not better for these shoppers. Measured 2026-12-05 on an idle 2-core
CPU (the whole test runs in about 45 s; seeds as below):

* 8 steps (256 pairs, lr 1e-4): held-out mined queries NDCG@10 0.546 -> 0.528 (recall@10
  0.774 -> 0.828); online 1,189 searches, CTR 0.658 (base) vs 0.649, -1.4%, p = 0.78.
* 54 steps (3 epochs, all 559 pairs, hard negatives): NDCG@10 0.546 -> 0.526; online 2,471
  searches (6 days, 2 sessions a day), CTR 0.656 vs 0.652, -0.6%, p = 0.88.

Click-through saturates here (about two in three lists get a click whichever retriever serves),
so even the +3.6% NDCG@10 that the small fine-tune gains on the judged queries
(``tests/training/test_jobs_kinds.py``) would need tens of thousands of searches to show
online. Run it to check a better recipe or a larger store.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from catalog.services import demo_store_build
from recommend import experiment_services as services
from recommend.experiment_selectors import clear_running_cache, experiment_results
from recommend.experiment_services import VariantSpec
from recommend.experiment_simulation import traffic_simulate
from tests.factories import StrategyFactory
from training import bootstrap
from training import services as training_services
from training.models import Job

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.slow,
    pytest.mark.timeout(3600),
    pytest.mark.skipif(
        not os.environ.get("AISLE_ONLINE_FINETUNE_TEST"),
        reason="opt-in: set AISLE_ONLINE_FINETUNE_TEST=1 (on this store the fine-tuned "
        "retriever does not win yet; see the module docstring)",
    ),
]


@pytest.fixture(autouse=True)
def one_torch_thread(settings):
    """One torch thread, as in the training job tests: on a shared 2-core machine two OpenMP
    threads spin-wait for each other."""
    settings.JOB_TORCH_THREADS = 1
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _fresh_running_cache(serving_state):
    clear_running_cache()
    yield
    clear_running_cache()


def test_finetuned_retriever_wins_an_online_experiment_against_the_base_encoder(
    operator_user, tmp_path
):
    demo_store_build(products=300, shoppers=150, days=20, seed=42, truth_dir=tmp_path / "demo")
    base = bootstrap.run()  # the packaged MiniLM, embedded and active
    job = training_services.job_launch(
        kind="finetune_retriever",
        user=operator_user,
        params={"epochs": 1, "batch_size": 32, "max_pairs": 256, "max_seq_len": 32,
                "learning_rate": 1e-4, "seed": 42, "device": "cpu"},
    )
    job = training_services.job_run(job_id=job.pk)
    assert job.status == Job.Status.SUCCEEDED, job.error
    tuned = job.result_version

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
        baseline_rate=0.5,
        minimum_detectable_effect=0.2,
        variants=[VariantSpec("base", control, 50, True), VariantSpec("finetuned", treatment, 50)],
    )
    services.experiment_start(experiment=experiment, actor=operator_user)

    report = traffic_simulate(
        shoppers=150,
        days=4,
        seed=7,
        start=datetime(2026, 11, 2, tzinfo=UTC),
        truth_dir=tmp_path / "demo",
        sessions_per_day=1.5,
        search_share=1.0,
        similar_after_click=0.0,
    )
    assert not report.errors, report.errors
    analysis = experiment_results(experiment).analysis
    print(
        f"\n{report.summary()}\n{analysis.sentence}\n"
        + "; ".join(
            f"{a.key}: {a.units} shoppers, {a.exposures} searches, CTR {a.values['ctr']:.3f}, "
            f"conversion {a.values['conversion_rate']:.3f}"
            for a in analysis.arms
        )
    )
    assert analysis.outcome == "winner" and analysis.recommended == "finetuned", analysis.sentence

    services.experiment_ship(experiment=experiment, actor=operator_user)
    treatment.refresh_from_db()
    assert treatment.is_default
