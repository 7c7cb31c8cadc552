"""The job kind of the support-category classifier: ``train_support_category``.

It learns which part of the help centre a support question is about (returns, shipping,
payment, account, product question) from the knowledge base's own categories and the labels
operators give support questions in the admin (Catalog → Support labels). Serving reads the
active version on the answers path (``recommend.serving.support_category``)."""

from __future__ import annotations

from django.conf import settings

from training.activation import VersionPolicy
from training.jobs import Param, register_evaluator, register_job_kind
from training.kinds import DEVICE, SEED

register_job_kind(
    "train_support_category",
    title="Train the support-category classifier",
    summary="Learns whether a support question is about returns, shipping, payment, the account "
    "or a product, so answers from that part of the help centre come first.",
    scales_with="products",
    queue="gpu",
    runner="training.runners.support_category.run",
    help="Fine-tune a text classifier on the knowledge base (each article's title, section names "
    "and sentences labelled with its category, each product question as product_question) and "
    "the operators' support labels; split 70/15/15 by text. Accuracy, macro-F1 and per-label "
    "figures on the test part, next to the keyword rules, the majority category and the active "
    "version on the same texts.",
    params=[
        Param(
            "base",
            str,
            settings.DEFAULT_ENCODER,
            "encoder to fine-tune (Hugging Face id or local path)",
            label="Base encoder",
        ),
        Param(
            "epochs", int, 10, "passes over the training examples", min=1, max=100, label="Epochs"
        ),
        Param("batch_size", int, 16, "examples per step", min=1, max=4096, label="Batch size"),
        Param(
            "learning_rate",
            float,
            3e-4,
            "optimizer learning rate",
            min=0,
            max=1,
            label="Learning rate",
        ),
        Param(
            "min_examples",
            int,
            20,
            "fail unless at least this many training examples are found",
            min=2,
            label="At least this many examples",
        ),
        Param("name", str, "", "version name (default: generated)", label="Version name"),
        SEED,
        DEVICE,
    ],
    versions=VersionPolicy(metric="macro_f1"),
)


def _evaluate(ctx, version, active):
    from training.runners.support_category import evaluate

    return evaluate(ctx, version, active)


register_evaluator("support_category", _evaluate)  # the ``evaluate`` job scores its versions
