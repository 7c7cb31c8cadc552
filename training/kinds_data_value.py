"""The ``data_value`` job kind: what each training data source of a model task is worth
(ablation by source on a frozen held-out split, with paired bootstrap intervals) and what more
data would likely add (a learning curve with a power-law fit). An analysis: it trains models
it throws away and creates no model version; its figures are a ``DataValueReport``."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from training.jobs import Param, register_job_kind
from training.kinds import judged_csv_rule

#: the tasks the runner measures (their sources: ``training.ml.data_value_sources``)
MEASURED_TASKS = ("ranker", "cf", "retriever")


def _data_value_rules(params: dict) -> None:
    if params["task"] not in MEASURED_TASKS:
        raise ValidationError(
            {"task": [f"data value is measured for {', '.join(MEASURED_TASKS)} so far."]}
        )
    if params.get("labels_csv"):
        if params["task"] != "retriever":
            raise ValidationError({"labels_csv": ["operator labels are a retriever source."]})
        checked = {"judged_csv": params["labels_csv"]}
        try:
            judged_csv_rule(checked)
        except ValidationError as exc:
            raise ValidationError({"labels_csv": exc.message_dict["judged_csv"]}) from exc
        params["labels_csv"] = checked["judged_csv"]


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
    "flagged rows; retriever: pairs mined from clicks, add-to-cart and purchases, operator "
    "labels, synthetic queries, and each product field it reads) and score every run on one "
    "frozen held-out split (seeded, or the version's stored snapshot); the change of the "
    "key metric per source gets a paired bootstrap interval over the held-out lists or shoppers "
    "(useful when its lower bound is above 0). Learning curve: retrain on nested 10/20/40/70/100 "
    "% samples, fit a power law and project a doubling of the data. Retriever runs fine-tune "
    "with capped steps and re-rank a fixed pool per held-out query (its judged products plus the "
    "base encoder's top candidates from stored vectors): no run re-embeds the catalogue. "
    "Writes a data-value report "
    "(Training → Data-value reports); trains analysis models only, never a promotable version.",
    params=[
        Param(
            "task",
            str,
            "ranker",
            "the model task whose data is valued: ranker, cf or retriever",
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
            "max_queries",
            int,
            40,
            "retriever: score a seeded sample of this many held-out queries (0: all)",
            min=0,
            label="Held-out queries at most",
        ),
        Param(
            "pool_depth",
            int,
            20,
            "retriever: base-encoder candidates per held-out query in its fixed re-rank pool "
            "(the pools' union is what each run encodes: on the 4,899-product demo store, 100 "
            "per query covers 97 % of the catalogue with 200 queries, 70 % with 60)",
            min=10,
            max=1000,
            label="Re-rank pool depth",
        ),
        Param(
            "max_steps",
            int,
            10,
            "retriever: optimizer steps per fine-tune at most (one pass over a seeded sample)",
            min=1,
            max=2000,
            label="Steps per fine-tune",
        ),
        Param(
            "batch_size",
            int,
            16,
            "retriever: pairs per step (in-batch negatives)",
            min=2,
            max=512,
            label="Batch size",
        ),
        Param(
            "learning_rate",
            float,
            None,
            "retriever: learning rate of each fine-tune (default: the mode's, 2e-4 LoRA, 2e-5 full)",
            min=0.0,
            label="Learning rate",
        ),
        Param(
            "max_seq_len",
            int,
            32,
            "retriever: tokens per text in training and in the pool",
            min=16,
            max=512,
            label="Tokens per text",
        ),
        Param(
            "synthetic_products",
            int,
            300,
            "retriever: write synthetic queries for a seeded sample of this many products (0: "
            "no synthetic source)",
            min=0,
            label="Products with synthetic queries",
        ),
        Param(
            "labels_csv",
            str,
            "",
            "retriever: operator-labelled pairs, a judged CSV under DATA_DIR "
            "(query,product_id,...,grade; grade > 0 makes a pair; held-out queries left out)",
            label="Operator labels file",
        ),
        Param(
            "sources",
            str,
            "",
            "measure only these sources (comma-separated names; default: every source of the task)",
            label="Sources",
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
