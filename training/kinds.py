"""The built-in job kinds. Runners are dotted paths, imported only in the worker that runs them."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

from training.activation import VersionPolicy
from training.jobs import REQUIRED, Param, register_job_kind, set_version_policy

DEVICE = Param("device", str, "auto", "auto (CUDA when available, else CPU), cpu, cuda or cuda:N")
SEED = Param(
    "seed", int, 42, "seed of the 70/15/15 split and of training (recorded with the version)"
)


def _judged_csv_rule(params: dict) -> None:
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
        ),
        Param(
            "incremental",
            bool,
            False,
            "only products whose text hash changed, for every served retriever",
        ),
        Param("batch_size", int, 128, "texts per forward pass", min=1, max=4096),
        Param("build_index", bool, True, "build the version's HNSW index after writing"),
        DEVICE,
    ],
)

register_job_kind(
    "finetune_retriever",
    queue="gpu",
    runner="training.runners.retriever.run",
    help="Contrastive fine-tuning (in-batch negatives) of the retriever on (query, engaged product) pairs "
    "mined from the search log and search events followed by click / cart / purchase; then embeds the "
    "catalogue for the new version and evaluates Recall@10, NDCG@10 and MRR on the held-out queries "
    "next to the active version.",
    params=[
        Param(
            "base_version",
            int,
            None,
            "retriever version to start from (default: the active one)",
            min=1,
        ),
        Param("mode", str, "full", "full fine-tuning or a LoRA adapter", choices=("full", "lora")),
        Param("epochs", int, 1, "passes over the training pairs", min=1, max=100),
        Param("batch_size", int, 64, "pairs per step (in-batch negatives)", min=2, max=4096),
        Param("learning_rate", float, None, "default 2e-5 (full) or 2e-4 (lora)", min=0, max=1),
        Param("lora_r", int, 8, "LoRA rank (mode=lora)", min=1, max=256),
        Param(
            "max_seq_len",
            int,
            64,
            "tokens kept per query / product text while training",
            min=8,
            max=512,
        ),
        Param(
            "hard_negatives",
            bool,
            False,
            "add a shown-but-not-engaged product per pair as a negative",
        ),
        Param("max_pairs", int, None, "use at most this many training pairs (the heaviest)", min=1),
        Param(
            "min_pairs", int, 20, "fail unless at least this many training pairs are found", min=1
        ),
        Param("days", int, None, "only events of the last N days", min=1),
        Param(
            "judged_csv",
            str,
            "",
            "also evaluate on a judged CSV under DATA_DIR (query,product_id,...,grade), e.g. demo/relevance.csv",
        ),
        Param("name", str, "", "version name (default: generated)"),
        SEED,
        DEVICE,
    ],
    validate=_judged_csv_rule,
    versions=VersionPolicy(metric="ndcg@10"),
)

register_job_kind(
    "finetune_classifier",
    queue="gpu",
    runner="training.runners.classifier.run",
    help="Fine-tune a text classifier: query intent (labels from the labelling page, else weak labels from "
    "what the session did next) or review sentiment (labels from ratings). Accuracy, macro-F1, confusion.",
    params=[
        Param("task", str, REQUIRED, "which classifier", choices=("intent", "sentiment")),
        Param(
            "labels",
            str,
            "auto",
            "intent: auto (manual labels over weak ones), manual or weak; sentiment: ratings",
            choices=("auto", "manual", "weak", "ratings"),
        ),
        Param(
            "base",
            str,
            settings.DEFAULT_ENCODER,
            "encoder to fine-tune (Hugging Face id or local path)",
        ),
        Param("epochs", int, 3, "passes over the training examples", min=1, max=100),
        Param("batch_size", int, 32, "examples per step", min=1, max=4096),
        Param("learning_rate", float, 5e-5, "optimizer learning rate", min=0, max=1),
        Param("max_examples", int, None, "use at most this many examples", min=1),
        Param(
            "min_examples",
            int,
            20,
            "fail unless at least this many labelled examples are found",
            min=2,
        ),
        Param("name", str, "", "version name (default: generated)"),
        SEED,
        DEVICE,
    ],
    validate=_classifier_rules,
    versions=VersionPolicy(metric="macro_f1"),
)

register_job_kind(
    "train_cf",
    queue="cpu",
    runner="training.runners.cf.run",
    help="Collaborative filtering from interactions: cosine item-kNN, EASE, implicit ALS and BPR, a "
    "small hyper-parameter grid each, selected on validation NDCG@k and refitted on all interactions "
    "for serving; Recall/NDCG@k (and @10) and coverage on the test part next to popularity, with a "
    "sanity verdict (metrics sane / sanity).",
    params=[
        Param(
            "split",
            str,
            "per_user_time",
            "evaluation protocol: per_user_time (each shopper's latest products held out), "
            "per_user_random (seeded, per shopper: the published benchmarks') or global_time",
            choices=("per_user_time", "per_user_random", "global_time"),
        ),
        Param(
            "search",
            str,
            "grid",
            "grid: a small grid around the values below; fixed: those values only",
            choices=("grid", "fixed"),
        ),
        Param("models", str, "item_item,ease,implicit_mf,bpr", "candidate families (comma list)"),
        Param("factors", int, 64, "ALS / BPR latent factors", min=1, max=1024),
        Param("iterations", int, 15, "ALS iterations", min=1, max=500),
        Param("regularization", float, 0.01, "ALS L2 regularisation", min=0),
        Param("alpha", float, 1.0, "ALS confidence scale", min=0),
        Param("top_k", int, 50, "item-kNN neighbours kept per item", min=1, max=10000),
        Param("shrink", float, 0.0, "item-kNN similarity shrinkage", min=0),
        Param("ease_lambda", float, 100.0, "EASE L2 regularisation λ", min=0),
        Param(
            "ease_max_items",
            int,
            8000,
            "EASE runs only up to this many items (dense items² matrices; see docs/training.md)",
            min=0,
        ),
        Param("k", int, 20, "cut-off of Recall@k / NDCG@k", min=1, max=1000),
        Param(
            "min_eval_users",
            int,
            100,
            "fewer evaluated shoppers than this marks the evaluation not sane",
            min=1,
        ),
        Param(
            "eval_users",
            int,
            5000,
            "validation scores each candidate on a seeded sample of this many shoppers (0: all)",
            min=0,
        ),
        Param("days", int, None, "only events of the last N days", min=1),
        Param("name", str, "", "version name (default: generated)"),
        SEED,
    ],
    validate=_cf_rules,
)

register_job_kind(
    "tune_search",
    queue="cpu",
    runner="training.runners.search_tune.run",
    help="Choose a search strategy's fusion (RRF k, lexical and semantic weights) on validation "
    "queries: judged ones when judged_csv is given (split by query into validation and test "
    "halves), else queries mined from the search log with the products engaged after them. Each "
    "query's BM25 and semantic lists are fetched once, every grid setting is scored on "
    "validation NDCG@k, and the chosen one is compared with the settings before and the "
    "defaults on the test queries; writes it to the strategy with that record (settings an "
    "operator edited are kept unless overwrite_operator_weights).",
    params=[
        Param(
            "strategy", str, "", "search strategy id or name (default: the default search strategy)"
        ),
        Param(
            "judged_csv",
            str,
            "",
            "judged CSV under DATA_DIR (query,product_id,...,grade), e.g. demo/relevance.csv; "
            "empty: queries mined from the search log",
        ),
        Param("k", int, 10, "cut-off of the NDCG@k the settings maximise", min=1, max=100),
        Param(
            "max_queries",
            int,
            2000,
            "at most this many validation (and test) queries (0: all)",
            min=0,
        ),
        Param("days", int, None, "mined queries: only the last N days of the search log", min=1),
        Param("apply", bool, True, "write the chosen settings to the strategy (false: report)"),
        Param(
            "overwrite_operator_weights",
            bool,
            False,
            "replace settings an operator edited in the admin since the last tuning",
        ),
        Param("seed", int, 42, "seed of the query split"),
    ],
    validate=_judged_csv_rule,
)

register_job_kind(
    "evaluate",
    queue="gpu",
    runner="training.runners.evaluate.run",
    help="Evaluate any version against the active version of its task on the same split "
    "(retriever: Recall/NDCG@k, MRR; classifiers: accuracy, macro-F1; cf: Recall/NDCG@k).",
    params=[
        Param("version", int, REQUIRED, "the version to evaluate", min=1),
        Param("seed", int, None, "split seed (default: the one recorded with the version)"),
        Param("k", int, None, "cut-off (default 10 for retrievers, 20 for cf)", min=1, max=1000),
        Param(
            "judged_csv",
            str,
            "",
            "retriever: evaluate on a judged CSV under DATA_DIR instead of the held-out split",
        ),
        DEVICE,
    ],
    validate=_judged_csv_rule,
)

register_job_kind(
    "train_ranker",
    queue="cpu",
    runner="training.runners.ranker.run",
    help="Learn the search ranker from the search log and events: features lexical score, semantic score, "
    "profile similarity, CF score, popularity, price and shown position (fixed at serving); loss "
    "alpha*BCE(click) + beta*pairwise logistic; AUC and NDCG@10 against fusion on a time split.",
    params=[
        Param("alpha", float, 1.0, "weight of the click BCE term", min=0),
        Param("beta", float, 1.0, "weight of the pairwise ranking term", min=0),
        Param(
            "model",
            str,
            "linear",
            "linear, or mlp (one hidden ReLU layer)",
            choices=("linear", "mlp"),
        ),
        Param("epochs", int, 30, "passes over the training lists", min=1, max=1000),
        Param("learning_rate", float, 0.05, "Adam learning rate", min=0, max=10),
        Param("max_lists", int, 4000, "use at most this many of the most recent lists", min=10),
        Param(
            "list_size",
            int,
            20,
            "items per rebuilt list (search sessions without a log row)",
            min=2,
            max=100,
        ),
        Param(
            "min_lists",
            int,
            30,
            "fail unless at least this many lists with an engagement are found",
            min=3,
        ),
        Param("days", int, None, "only searches of the last N days", min=1),
        Param(
            "position",
            str,
            "auto",
            "shown position as a feature (corrects position bias; fixed at serving): "
            "on, off, or auto = the better on the validation period",
            choices=("auto", "on", "off"),
        ),
        Param("name", str, "", "version name (default: generated)"),
        Param("seed", int, 42, "training seed (recorded with the version)"),
    ],
    validate=_ranker_rules,
    versions=VersionPolicy(metric="ndcg@10"),
)

# train_cf's activation policy, declared apart from its entry: NDCG at the job's cut-off decides
# promote_if_better (versions trained with another k are never compared).
set_version_policy("train_cf", VersionPolicy(metric=lambda params: f"ndcg@{params['k']}"))
