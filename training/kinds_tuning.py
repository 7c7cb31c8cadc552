"""The job kinds that tune a strategy's fusion on held-out data: ``tune_recommendations``
(per-source weights of a recommendations strategy) and ``tune_search`` (RRF k and the lexical /
semantic weights of a search strategy). They write the strategy's learned settings with their
record (``recommend.models.TUNED_FIELDS``) and create no model version."""

from __future__ import annotations

from training.jobs import Param, register_job_kind
from training.kinds import judged_csv_rule

register_job_kind(
    "tune_recommendations",
    title="Tune the recommendation mix",
    summary="Learns how much each source (CF, profile, interests, trending, bought together) "
    "should weigh in a strategy's recommendations, from the held-out part of the shoppers' history.",
    scales_with="events",
    queue="cpu",
    runner="training.runners.tune.run",
    help="Learn a recommendations strategy's per-source fusion weights (cf, profile, interests, "
    "trending, bought-together) on the validation part of its CF version's split: each source's "
    "candidates rebuilt from the training part, coordinate ascent on NDCG@k of the fused lists, a "
    "source that does not help set to 0; writes them to the strategy with the validation figure "
    "learned vs before (weights an operator set are kept unless overwrite_operator_weights).",
    params=[
        Param(
            "strategy",
            str,
            "",
            "recommendations strategy id or name (default: the default recommendations strategy)",
            label="Strategy",
        ),
        Param(
            "k",
            int,
            20,
            "cut-off of the NDCG@k the weights maximise",
            min=1,
            max=1000,
            label="Cut-off k",
        ),
        Param(
            "max_users",
            int,
            2000,
            "tune on a seeded sample of this many validation shoppers (0: all)",
            min=0,
            label="Shoppers sampled",
        ),
        Param(
            "rounds",
            int,
            3,
            "coordinate-ascent passes over the sources at most",
            min=1,
            max=20,
            label="Tuning rounds",
        ),
        Param(
            "split",
            str,
            "recorded",
            "recorded (the CF version's split), per_user_time, per_user_random or global_time",
            choices=("recorded", "per_user_time", "per_user_random", "global_time"),
            label="Split",
        ),
        Param("seed", int, None, "split seed (default: the CF version's)", label="Split seed"),
        Param(
            "apply",
            bool,
            True,
            "write the learned weights to the strategy (false: report)",
            label="Apply the weights",
        ),
        Param(
            "overwrite_operator_weights",
            bool,
            False,
            "replace weights an operator set in the admin since the last tuning",
            label="Replace an operator's weights",
        ),
    ],
)

register_job_kind(
    "tune_search",
    title="Tune the search mix",
    summary="Chooses how keyword (BM25) and semantic results are blended in a search strategy, "
    "from judged queries or the searches shoppers engaged with.",
    scales_with="search_logs",
    queue="cpu",
    runner="training.runners.search_tune.run",
    help="Choose a search strategy's fusion (RRF k, lexical and semantic weights) on validation "
    "queries: judged ones when judged_csv is given (split by query into validation and test "
    "halves), else queries mined from the search log with the products engaged after them. Each "
    "query's BM25 and semantic lists are fetched once, every grid setting is scored on "
    "validation NDCG@k (selection=lcb: a setting replaces the defaults only when the lower "
    "confidence bound of its gain is above zero), and the chosen one is compared with the "
    "settings before and the defaults on the test queries; writes it to the strategy with that record (settings an "
    "operator edited are kept unless overwrite_operator_weights).",
    params=[
        Param(
            "strategy",
            str,
            "",
            "search strategy id or name (default: the default search strategy)",
            label="Strategy",
        ),
        Param(
            "judged_csv",
            str,
            "",
            "judged CSV under DATA_DIR (query,product_id,...,grade), e.g. demo/relevance.csv; "
            "empty: queries mined from the search log",
            label="Judged queries (CSV)",
        ),
        Param(
            "k",
            int,
            10,
            "cut-off of the NDCG@k the settings maximise",
            min=1,
            max=100,
            label="Cut-off k",
        ),
        Param(
            "max_queries",
            int,
            2000,
            "at most this many validation (and test) queries (0: all)",
            min=0,
            label="Queries at most",
        ),
        Param(
            "days",
            int,
            None,
            "mined queries: only the last N days of the search log",
            min=1,
            label="Only the last N days",
        ),
        Param(
            "apply",
            bool,
            True,
            "write the chosen settings to the strategy (false: report)",
            label="Apply the settings",
        ),
        Param(
            "overwrite_operator_weights",
            bool,
            False,
            "replace settings an operator edited in the admin since the last tuning",
            label="Replace an operator's settings",
        ),
        Param(
            "selection",
            str,
            "lcb",
            "lcb: a small grid around the defaults, a setting chosen only when the lower "
            "confidence bound of its per-query gain over the defaults is above zero (else the "
            "defaults stay, and the job says so); best: the best validation mean of the wide "
            "grid (overfits a few dozen queries)",
            choices=("lcb", "best"),
            label="Selection",
        ),
        Param("seed", int, 42, "seed of the query split", label="Split seed"),
    ],
    validate=judged_csv_rule,
)
