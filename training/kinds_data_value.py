"""The ``data_value`` job kind: what each training data source of a model task is worth
(ablation by source on a frozen held-out split, with paired bootstrap intervals) and what more
data would likely add (a learning curve with a power-law fit). An analysis: it trains models
it throws away and creates no model version; its figures are a ``DataValueReport``."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from training.jobs import Param, register_job_kind

#: the tasks the runner measures today (the source registry names more: retriever sources wait
#: for their runner, ``training.ml.data_value_sources``)
MEASURED_TASKS = ("ranker", "cf")


def _data_value_rules(params: dict) -> None:
    if params["task"] not in MEASURED_TASKS:
        raise ValidationError(
            {"task": [f"data value is measured for {', '.join(MEASURED_TASKS)} so far."]}
        )


register_job_kind(
    "data_value",
    title="Measure what the training data is worth",
    summary="Retrains a model with each data source left out and on growing samples, and reports "
    "which sources carry the value and what more data would add. Creates no model version.",
    scales_with="events",
    queue="cpu",
    runner="training.runners.data_value.run",
    help="Ablation by source: retrain the task's model with each source left out (ranker: "
    "clicks, add-to-cart, purchases, shown position, flagged rows; CF: each interaction type, "
    "flagged rows) and score every run on one frozen held-out split (seeded); the change of the "
    "key metric per source gets a paired bootstrap interval over the held-out lists or shoppers "
    "(useful when its lower bound is above 0). Learning curve: retrain on nested 10/20/40/70/100 "
    "% samples, fit a power law and project a doubling of the data. Writes a data-value report "
    "(Training → Data-value reports); trains analysis models only, never a promotable version.",
    params=[
        Param(
            "task",
            str,
            "ranker",
            "the model task whose data is valued: ranker or cf",
            choices=("ranker", "cf", "retriever"),
            label="Model task",
        ),
        Param(
            "version",
            int,
            None,
            "the version whose training settings are reused (default: the task's active one)",
            version_of="any",
            label="Model version",
        ),
        Param("seed", int, 42, "seed of the held-out split, samples and bootstrap", label="Seed"),
        Param(
            "epochs",
            int,
            None,
            "ranker: passes over the lists per retrain (default: the version's, capped at 30)",
            min=1,
            max=200,
            label="Epochs per retrain",
        ),
        Param(
            "max_lists",
            int,
            3000,
            "ranker: use at most this many of the most recent result lists",
            min=50,
            label="Lists at most",
        ),
        Param(
            "list_size",
            int,
            20,
            "ranker: items per rebuilt list (search sessions without a log row)",
            min=2,
            max=200,
            label="List size",
        ),
        Param(
            "max_users",
            int,
            2000,
            "cf: score a seeded sample of this many held-out shoppers (0: all)",
            min=0,
            label="Held-out shoppers at most",
        ),
        Param(
            "curve",
            bool,
            True,
            "also retrain on nested 10/20/40/70/100 % samples and fit the learning curve",
            label="Learning curve",
        ),
        Param(
            "bootstrap",
            int,
            2000,
            "bootstrap resamples of the held-out units per interval",
            min=100,
            max=20000,
            label="Bootstrap resamples",
        ),
    ],
    validate=_data_value_rules,
)
