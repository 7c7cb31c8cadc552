"""The built-in job kinds. Runners are dotted paths, imported only in the worker that runs them."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

from training.activation import VersionPolicy
from training.jobs import REQUIRED, Param, register_job_kind, set_version_policy

DEVICE = Param(
    "device",
    str,
    "auto",
    "auto (CUDA when available, else CPU), cpu, cuda or cuda:N",
    label="Device",
)
SEED = Param(
    "seed",
    int,
    42,
    "seed of the 70/15/15 split and of training (recorded with the version)",
    label="Seed",
)


def text_classifier_params(
    *, epochs: int, batch_size: int, learning_rate: float, counted: str, max_examples: bool
) -> list[Param]:
    """The parameters of a job that fine-tunes a text classifier
    (``training.runners.classifier.train_and_log`` reads them), with the job's own defaults: the
    base encoder, epochs, batch size and learning rate, at most (with ``max_examples``) and at
    least how many examples, the version's name, the seed and the device. ``counted`` says which
    examples the minimum counts ("labelled", "training")."""
    params = [
        Param(
            "base",
            str,
            settings.DEFAULT_ENCODER,
            "encoder to fine-tune (Hugging Face id or local path)",
            label="Base encoder",
        ),
        Param(
            "epochs",
            int,
            epochs,
            "passes over the training examples",
            min=1,
            max=100,
            label="Epochs",
        ),
        Param(
            "batch_size", int, batch_size, "examples per step", min=1, max=4096, label="Batch size"
        ),
        Param(
            "learning_rate",
            float,
            learning_rate,
            "optimizer learning rate",
            min=0,
            max=1,
            label="Learning rate",
        ),
    ]
    if max_examples:
        params.append(
            Param(
                "max_examples",
                int,
                None,
                "use at most this many examples",
                min=1,
                label="At most this many examples",
            )
        )
    return [
        *params,
        Param(
            "min_examples",
            int,
            20,
            f"fail unless at least this many {counted} examples are found",
            min=2,
            label="At least this many examples",
        ),
        Param("name", str, "", "version name (default: generated)", label="Version name"),
        SEED,
        DEVICE,
    ]


def judged_csv_rule(params: dict) -> None:
    """A judged CSV must live under DATA_DIR (a relative path is taken from there): a job reads
    it on the worker, so the parameter must not reach arbitrary files."""
    raw = params.get("judged_csv")
    if not raw:
        return
    root = Path(settings.DATA_DIR).resolve()
    path = (root / raw).resolve()
    if path != root and root not in path.parents:
        raise ValidationError(
            {"judged_csv": [f"must be a file under DATA_DIR ({root}), e.g. demo/relevance.csv."]}
        )
    if not path.is_file():
        raise ValidationError({"judged_csv": [f"{path} does not exist."]})
    params["judged_csv"] = str(path)


def _classifier_rules(params: dict) -> None:
    if params["task"] == "sentiment" and params["labels"] not in ("auto", "ratings"):
        raise ValidationError(
            {"labels": ["sentiment labels come from ratings: use labels=auto (or ratings)."]}
        )
    if params["task"] == "intent" and params["labels"] == "ratings":
        raise ValidationError(
            {"labels": ["intent labels are auto, manual or weak (ratings are for sentiment)."]}
        )


def _cf_rules(params: dict) -> None:
    from training.ml.cf.selection import FAMILIES

    names = [name.strip() for name in params["models"].split(",") if name.strip()]
    unknown = sorted(set(names) - set(FAMILIES))
    if not names or unknown:
        raise ValidationError(
            {"models": [f"a comma list of {', '.join(FAMILIES)}; got {params['models']!r}."]}
        )


def _ranker_rules(params: dict) -> None:
    if params["alpha"] <= 0 and params["beta"] <= 0:
        raise ValidationError({"beta": ["alpha and beta cannot both be 0: the loss would be 0."]})


register_job_kind(
    "embed_catalog",
    title="Embed the catalog",
    summary="Turns every product into a vector with a retriever, so semantic search and “similar items” can find it.",
    scales_with="products",
    queue="gpu",
    runner="training.runners.embed.run",
    help="Encode every active product (title, brand, category, description) with a retriever version, "
    "write the vectors with COPY and build the version's HNSW index. incremental=true re-embeds only "
    "products whose text changed, for every retriever version that is active or pinned by a strategy.",
    params=[
        Param(
            "version",
            int,
            None,
            "retriever version id (default: the active one; ignored when incremental)",
            min=1,
            label="Retriever version",
            version_of="retriever",
        ),
        Param(
            "incremental",
            bool,
            False,
            "only products whose text hash changed, for every served retriever",
            label="Only changed products",
        ),
        Param(
            "batch_size", int, 128, "texts per forward pass", min=1, max=4096, label="Batch size"
        ),
        Param(
            "build_index",
            bool,
            True,
            "build the version's HNSW index after writing",
            label="Build the search index",
        ),
        DEVICE,
    ],
)

register_job_kind(
    "finetune_retriever",
    title="Fine-tune the retriever",
    summary="Teaches the search encoder what your shoppers mean, from the searches that ended in a click, cart or purchase.",
    scales_with="events",
    queue="gpu",
    runner="training.runners.retriever.run",
    help="Contrastive fine-tuning (in-batch negatives) of the retriever on (query, engaged product) pairs "
    "mined from the search log and search events followed by click / cart / purchase (or, with "
    "pairs=synthetic / mixed, queries written from the catalogue alone); then embeds the "
    "catalogue for the new version and evaluates Recall@10, NDCG@10 and MRR on the held-out queries "
    "next to the active version.",
    params=[
        Param(
            "base_version",
            int,
            None,
            "retriever version to start from (default: the active one)",
            min=1,
            label="Start from retriever version",
            version_of="retriever",
        ),
        Param(
            "mode",
            str,
            "full",
            "full fine-tuning or a LoRA adapter",
            choices=("full", "lora"),
            label="Training mode",
        ),
        Param("epochs", int, 1, "passes over the training pairs", min=1, max=100, label="Epochs"),
        Param(
            "batch_size",
            int,
            64,
            "pairs per step (in-batch negatives)",
            min=2,
            max=4096,
            label="Batch size",
        ),
        Param(
            "learning_rate",
            float,
            None,
            "default 2e-5 (full) or 2e-4 (lora)",
            min=0,
            max=1,
            label="Learning rate",
        ),
        Param("lora_r", int, 8, "LoRA rank (mode=lora)", min=1, max=256, label="LoRA rank"),
        Param(
            "max_seq_len",
            int,
            64,
            "tokens kept per query / product text while training",
            min=8,
            max=512,
            label="Maximum tokens per text",
        ),
        Param(
            "hard_negatives",
            bool,
            False,
            "add a negative per pair: a shown-but-not-engaged product (mined pairs), the "
            "current retriever's best wrong match (synthetic pairs)",
            label="Add hard negatives",
        ),
        Param(
            "pairs",
            str,
            "mined",
            "mined: (query, engaged product) pairs from the search log; synthetic: queries written "
            "from the catalogue alone (title and attribute spans, category + attribute, brand + "
            "type, and generated ones when AISLE_GENERATOR_MODEL is set), for a store with no "
            "logs; mixed: both",
            choices=("mined", "synthetic", "mixed"),
            label="Training pairs",
        ),
        Param(
            "synthetic_per_rule",
            int,
            1,
            "synthetic queries each rule writes per product",
            min=1,
            max=10,
            label="Synthetic queries per rule",
        ),
        Param(
            "synthetic_products",
            int,
            None,
            "write synthetic queries for a seeded sample of this many products (default: all)",
            min=1,
            label="Products to write queries for",
        ),
        Param(
            "max_pairs",
            int,
            None,
            "use at most this many training pairs (the heaviest)",
            min=1,
            label="At most this many pairs",
        ),
        Param(
            "min_pairs",
            int,
            20,
            "fail unless at least this many training pairs are found",
            min=1,
            label="At least this many pairs",
        ),
        Param(
            "days", int, None, "only events of the last N days", min=1, label="Only the last N days"
        ),
        Param(
            "judged_csv",
            str,
            "",
            "also evaluate on a judged CSV under DATA_DIR (query,product_id,...,grade), e.g. demo/relevance.csv",
            label="Judged relevance file",
        ),
        Param("name", str, "", "version name (default: generated)", label="Version name"),
        SEED,
        DEVICE,
    ],
    validate=judged_csv_rule,
    versions=VersionPolicy(metric="ndcg@10"),
)

register_job_kind(
    "finetune_classifier",
    title="Fine-tune a classifier",
    summary="Trains the query-intent classifier (browse / buy / review …) or the review-sentiment classifier.",
    scales_with="events",
    queue="gpu",
    runner="training.runners.classifier.run",
    help="Fine-tune a text classifier: query intent (labels from the labelling page, else weak labels from "
    "what the session did next) or review sentiment (labels from ratings). Accuracy, macro-F1, confusion.",
    params=[
        Param(
            "task",
            str,
            REQUIRED,
            "which classifier",
            choices=("intent", "sentiment"),
            label="Classifier",
        ),
        Param(
            "labels",
            str,
            "auto",
            "intent: auto (manual labels over weak ones), manual or weak; sentiment: ratings",
            choices=("auto", "manual", "weak", "ratings"),
            label="Where the labels come from",
        ),
        *text_classifier_params(
            epochs=3, batch_size=32, learning_rate=5e-5, counted="labelled", max_examples=True
        ),
    ],
    validate=_classifier_rules,
    versions=VersionPolicy(metric="macro_f1"),
)

register_job_kind(
    "train_cf",
    title="Train collaborative filtering",
    summary="Learns “shoppers who engaged with this also engaged with …” from the interaction log, for recommendations.",
    scales_with="events",
    queue="cpu",
    runner="training.runners.cf.run",
    help="Collaborative filtering from interactions: cosine item-kNN, EASE, implicit ALS and BPR, a "
    "small hyper-parameter grid each, selected on validation NDCG@k and refitted on all interactions "
    "for serving; Recall/NDCG@k (and @10), coverage and novelty on the test part next to popularity, "
    "with a sanity verdict (metrics sane / sanity).",
    params=[
        Param(
            "split",
            str,
            "per_user_time",
            "evaluation protocol: per_user_time (each shopper's latest products held out), "
            "per_user_random (seeded, per shopper: the published benchmarks') or global_time",
            choices=("per_user_time", "per_user_random", "global_time"),
            label="Evaluation split",
        ),
        Param(
            "search",
            str,
            "grid",
            "grid: a small grid around the values below; fixed: those values only",
            choices=("grid", "fixed"),
            label="Hyper-parameter search",
        ),
        Param(
            "models",
            str,
            "item_item,ease,implicit_mf,bpr",
            "candidate families (comma list)",
            label="Model families to try",
        ),
        Param(
            "factors",
            int,
            64,
            "ALS / BPR latent factors",
            min=1,
            max=1024,
            label="Latent factors (ALS / BPR)",
        ),
        Param("iterations", int, 15, "ALS iterations", min=1, max=500, label="ALS iterations"),
        Param(
            "regularization",
            float,
            0.01,
            "ALS L2 regularisation",
            min=0,
            label="ALS regularisation",
        ),
        Param("alpha", float, 1.0, "ALS confidence scale", min=0, label="ALS confidence scale"),
        Param(
            "top_k",
            int,
            50,
            "item-kNN neighbours kept per item",
            min=1,
            max=10000,
            label="Item-kNN neighbours per item",
        ),
        Param(
            "shrink", float, 0.0, "item-kNN similarity shrinkage", min=0, label="Item-kNN shrinkage"
        ),
        Param(
            "ease_lambda",
            float,
            100.0,
            "EASE L2 regularisation λ",
            min=0,
            label="EASE regularisation λ",
        ),
        Param(
            "ease_max_items",
            int,
            8000,
            "EASE runs only up to this many items (dense items² matrices; see docs/training.md)",
            min=0,
            label="EASE item limit",
        ),
        Param(
            "k",
            int,
            20,
            "cut-off of Recall@k / NDCG@k",
            min=1,
            max=1000,
            label="Cut-off k of Recall@k / NDCG@k",
        ),
        Param(
            "min_eval_users",
            int,
            100,
            "fewer evaluated shoppers than this marks the evaluation not sane",
            min=1,
            label="Shoppers needed for a sane evaluation",
        ),
        Param(
            "eval_users",
            int,
            5000,
            "validation scores each candidate on a seeded sample of this many shoppers (0: all)",
            min=0,
            label="Shoppers sampled for validation",
        ),
        Param(
            "days", int, None, "only events of the last N days", min=1, label="Only the last N days"
        ),
        Param("name", str, "", "version name (default: generated)", label="Version name"),
        Param(
            "tune_fusion",
            bool,
            False,
            "once the job succeeded (and its version's activation is decided), launch "
            "tune_recommendations for the default recommendations strategy",
            label="Then tune the fusion weights",
        ),
        SEED,
    ],
    validate=_cf_rules,
)

register_job_kind(
    "evaluate",
    title="Evaluate a version",
    summary="Scores any model version next to the active one on the same held-out data, without changing what is served.",
    scales_with="events",
    queue="gpu",
    runner="training.runners.evaluate.run",
    help="Evaluate any version against the active version of its task on the same split "
    "(retriever: Recall/NDCG@k, MRR; classifiers: accuracy, macro-F1; cf: Recall/NDCG@k); "
    "retriever and cf versions on a stored snapshot's exact rows.",
    params=[
        Param(
            "version",
            int,
            REQUIRED,
            "the version to evaluate",
            min=1,
            label="Version to evaluate",
            version_of="any",
        ),
        Param(
            "seed",
            int,
            None,
            "split seed (default: the one recorded with the version)",
            label="Split seed",
        ),
        Param(
            "k",
            int,
            None,
            "cut-off (default 10 for retrievers, 20 for cf)",
            min=1,
            max=1000,
            label="Cut-off k",
        ),
        Param(
            "judged_csv",
            str,
            "",
            "retriever: evaluate on a judged CSV under DATA_DIR instead of the held-out split",
            label="Judged relevance file",
        ),
        Param(
            "snapshot",
            int,
            None,
            "score on the stored snapshot of this version (its exact train/valid/test rows), so "
            "two versions are compared on the same rows; default: the evaluated version's own "
            "snapshot when it has one, else its split re-derived from the live tables",
            min=1,
            label="Stored snapshot of version",
            version_of="any",
        ),
        DEVICE,
    ],
    validate=judged_csv_rule,
)

register_job_kind(
    "train_ranker",
    title="Train the search ranker",
    summary="Learns how to order search results from what shoppers clicked, on top of the fused lexical and semantic scores.",
    scales_with="search_logs",
    queue="cpu",
    runner="training.runners.ranker.run",
    help="Learn the search ranker from the search log and events: features lexical score, semantic score, "
    "profile similarity, CF score, popularity, price and shown position (fixed at serving); loss "
    "alpha*BCE(click) + beta*pairwise logistic; AUC and NDCG@10 against fusion on a time split.",
    params=[
        Param(
            "alpha",
            float,
            1.0,
            "weight of the click BCE term",
            min=0,
            label="Click loss weight (α)",
        ),
        Param(
            "beta",
            float,
            1.0,
            "weight of the pairwise ranking term",
            min=0,
            label="Ranking loss weight (β)",
        ),
        Param(
            "model",
            str,
            "linear",
            "linear, or mlp (one hidden ReLU layer)",
            choices=("linear", "mlp"),
            label="Model",
        ),
        Param(
            "heads",
            str,
            "two",
            "two: a click head and a purchase head (ESMM: pCTR and pCTR*pCVR over every shown "
            "item; the strategy picks how they combine); one: the click head only",
            choices=("two", "one"),
            label="Heads",
        ),
        Param(
            "gamma",
            float,
            1.0,
            "weight of the purchase head's terms (two heads only)",
            min=0,
            label="Purchase loss weight (γ)",
        ),
        Param("epochs", int, 30, "passes over the training lists", min=1, max=1000, label="Epochs"),
        Param(
            "learning_rate", float, 0.05, "Adam learning rate", min=0, max=10, label="Learning rate"
        ),
        Param(
            "max_lists",
            int,
            4000,
            "use at most this many of the most recent lists",
            min=10,
            label="At most this many lists",
        ),
        Param(
            "list_size",
            int,
            20,
            "items per rebuilt list (search sessions without a log row)",
            min=2,
            max=100,
            label="Items per rebuilt list",
        ),
        Param(
            "min_lists",
            int,
            30,
            "fail unless at least this many lists with an engagement are found",
            min=3,
            label="At least this many lists",
        ),
        Param(
            "days",
            int,
            None,
            "only searches of the last N days",
            min=1,
            label="Only the last N days",
        ),
        Param(
            "position",
            str,
            "auto",
            "shown position as a feature (corrects position bias; fixed at serving): "
            "on, off, or auto = the better on the validation period",
            choices=("auto", "on", "off"),
            label="Shown position as a feature",
        ),
        Param("name", str, "", "version name (default: generated)", label="Version name"),
        Param("seed", int, 42, "training seed (recorded with the version)", label="Seed"),
    ],
    validate=_ranker_rules,
    versions=VersionPolicy(metric="ndcg@10"),
)

register_job_kind(
    "data_quality",
    title="Check the data quality",
    summary="Finds duplicate products, price outliers, bot-like shoppers and other data problems, "
    "with fixes to apply in the admin.",
    scales_with="events",
    queue="cpu",
    runner="training.runners.data_quality.run",
    help="Data quality report (catalog): duplicate and near-duplicate products, missing or very short "
    "titles and descriptions, price outliers per category, events on unknown or inactive products, "
    "bot-like shoppers, orphan categories, reviews without ratings; counts, examples and fix actions "
    "on Catalog → Data quality reports. Runs after every file import too.",
    params=[
        Param(
            "near_duplicate_cosine",
            float,
            0.99,
            "near-duplicates: cosine of the active retriever's vectors at or above this (0.97 "
            "also finds variants such as sizes and editions)",
            min=0.5,
            max=1.0,
            label="Near-duplicate similarity",
        ),
        Param(
            "min_title_chars",
            int,
            4,
            "titles shorter than this are reported",
            min=1,
            label="Shortest title (characters)",
        ),
        Param(
            "min_description_chars",
            int,
            20,
            "descriptions shorter than this",
            min=0,
            label="Shortest description (characters)",
        ),
        Param(
            "outlier_z",
            float,
            3.5,
            "robust z-score (median / MAD) beyond which a price or a shopper's event rate is an outlier",
            min=1,
            label="Outlier threshold (robust z-score)",
        ),
        Param(
            "bot_min_events_per_hour",
            int,
            50,
            "a bot-like shopper has at least this many events in its busiest hour",
            min=1,
            label="Bot: events in the busiest hour",
        ),
        Param(
            "trigger",
            str,
            "on_demand",
            "what started the report",
            choices=("on_demand", "import"),
            label="Started by",
        ),
        Param("import_run", int, None, "the import that triggered it", min=1, label="Import run"),
    ],
)

# train_cf's activation policy, declared apart from its entry: NDCG at the job's cut-off decides
# promote_if_better (versions trained with another k are never compared).
set_version_policy("train_cf", VersionPolicy(metric=lambda params: f"ndcg@{params['k']}"))
