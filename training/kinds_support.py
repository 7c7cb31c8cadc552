"""The job kind of the support-category classifier: ``train_support_category``.

It learns which part of the help centre a support question is about (returns, shipping,
payment, account, product question) from the knowledge base's own categories and the labels
operators give support questions in the admin (Catalog → Support labels). Serving reads the
active version on the answers path (``recommend.serving.support_category``)."""

from __future__ import annotations

from training.activation import VersionPolicy
from training.jobs import register_evaluator, register_job_kind
from training.kinds import text_classifier_params

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
    params=text_classifier_params(
        epochs=10, batch_size=16, learning_rate=3e-4, counted="training", max_examples=False
    ),
    versions=VersionPolicy(metric="macro_f1"),
)


def _evaluate(ctx, version, active):
    from training.runners.support_category import evaluate

    return evaluate(ctx, version, active)


register_evaluator("support_category", _evaluate)  # the ``evaluate`` job scores its versions
