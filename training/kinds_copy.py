"""The job kind of drafted product copy (``catalog.copywriting``): ``generate_copy`` drafts
descriptions for products whose own are missing or thin, or promotion lines per shopper segment
for the campaigns' products, for a person to approve."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from training.jobs import Param, register_job_kind
from training.kinds import DEVICE


def _validate_generate_copy(params: dict) -> None:
    if params["min_chars"] >= params["max_chars"]:
        raise ValidationError({"max_chars": ["must be more than the minimum length"]})


register_job_kind(
    "generate_copy",
    title="Draft product descriptions",
    summary="Drafts descriptions for products whose own are missing or thin, checks each "
    "against the guardrails and leaves them in the approval queue; publishes nothing.",
    scales_with="products",
    queue="cpu",
    runner="training.runners.generate_copy.run",
    validate=_validate_generate_copy,
    help="For the products named (external ids) or else every active product whose description "
    "has fewer than min_words words: drafts a description with the generator model "
    "(AISLE_GENERATOR_MODEL, batched, bf16/fp16 on a GPU) or, with none configured, the offline "
    "template/extractive drafter (the product's own title, brand, category and attributes, and "
    "sentences from the best-written descriptions of similar products by the active retriever's "
    "stored vectors). Every draft is checked: no number, colour, material, size or other "
    "attribute value the product does not have, no banned word, length bounds, no near-copy of "
    "another product's description; a failing draft is marked, not hidden. The drafts wait in "
    "Catalog → Copy drafts for a person to edit, approve or reject. With 'promotion lines', it "
    "drafts instead one line per shopper segment (from the latest shopper_segments run) for the "
    "products of every campaign that has not ended (or the products named); an approved line "
    "is what /api/v1/promotions shows that segment's shoppers.",
    params=[
        DEVICE,
        Param(
            "promotion_lines",
            bool,
            False,
            "draft a promotion line per shopper segment for the campaigns' products instead of "
            "descriptions",
            label="Promotion lines per segment",
        ),
        Param(
            "products",
            str,
            "",
            "comma-separated external ids to draft for (empty: every thin description)",
            label="Products",
        ),
        Param(
            "min_words",
            int,
            12,
            "a description under this many words is thin",
            min=0,
            max=1000,
            label="Thin under (words)",
        ),
        Param("limit", int, 0, "draft at most this many products (0: all)", min=0, label="Limit"),
        Param(
            "neighbours",
            int,
            5,
            "similar well-written products the offline drafter reads",
            min=1,
            max=50,
            label="Similar products",
        ),
        Param("min_chars", int, 80, "a draft's minimum length", min=0, label="Minimum characters"),
        Param(
            "max_chars", int, 1200, "a draft's maximum length", min=1, label="Maximum characters"
        ),
        Param(
            "duplicate_threshold",
            float,
            0.8,
            "a draft this similar to another product's description is a copy (Jaccard of "
            "word 3-grams)",
            min=0.0,
            max=1.0,
            label="Copy threshold",
        ),
        Param("batch_size", int, 16, "products per generator batch", min=1, max=512, label="Batch"),
        Param(
            "max_new_tokens",
            int,
            160,
            "the generator's longest draft, in tokens",
            min=8,
            max=1024,
            label="Generator tokens",
        ),
    ],
)
