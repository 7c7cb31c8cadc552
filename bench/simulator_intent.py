"""Does intent that acts beat intent that is only logged? A simulated A/B test on the demo store.

    .venv/bin/python bench/simulator_intent.py [--products 300] [--shoppers 600] [--days 6]

Issue 18 §1 asks for this measurement, labelled as simulated. The script builds the demo store in
a database of its own (``aisle_bench_simulator_intent``, dropped first) and runs ``make run``'s
bootstrap: the packaged retriever and the documented intent rules. It then creates two search
strategies that differ only in their intent behaviours:

- **intent logged only** (control): every intent row has zero weights and no diversification,
  snippets or answers-first. The intent is still detected and logged;
- **intent acts** (treatment): the shipped defaults (``recommend.engine.intent_actions.DEFAULTS``).
  Buy favours in-stock items, purchase propensity and price match; review favours ratings;
  browse diversifies; support puts answers first.

A 50/50 experiment runs over the strategies, and the traffic simulator's shoppers
(``recommend.experiments.logic.simulator``) search through the real API for several simulated
days. Each shopper has a hidden intent per query (browse/buy/review) that sets their click and
cart propensities. The simulator was NOT changed for this measurement, so its shoppers do not
react to intent in any way tuned to the feature.

The script prints each arm's CTR and conversion rate, the treatment's lift with its 95 % interval
and p-value for both, and the verdict.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._serving import drop_bench_database, reset_serving_caches, setup_django

DATABASE = "aisle_bench_simulator_intent"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--shoppers", type=int, default=600, help="store and simulated shoppers")
    parser.add_argument("--history-days", type=int, default=20)
    parser.add_argument("--days", type=int, default=6, help="simulated days of the experiment")
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args()


def main() -> None:
    args = arguments()
    drop_bench_database(DATABASE)
    setup_django(DATABASE)
    import torch
    from django.conf import settings
    from django.contrib.auth.models import Group

    from catalog.demo.generator import DEFAULT_END
    from catalog.services.demo import demo_store_build
    from platform_core.models import User
    from recommend.engine.intent_actions import DEFAULTS
    from recommend.experiments import services
    from recommend.experiments.selectors import clear_running_cache, experiment_results
    from recommend.experiments.services import VariantSpec
    from recommend.experiments.simulation import traffic_simulate
    from recommend.models import IntentBehaviour, Strategy
    from training import bootstrap

    settings.JOB_TORCH_THREADS = 1
    settings.INTENT_BOOTSTRAP_TRAIN = False  # the documented rules serve, as with no worker yet
    torch.set_num_threads(1)
    reset_serving_caches()
    clear_running_cache()
    started = time.monotonic()
    truth = Path(tempfile.mkdtemp(prefix="aisle-bench-simintent-")) / "demo"
    demo_store_build(
        products=args.products,
        shoppers=args.shoppers,
        days=args.history_days,
        seed=args.seed,
        truth_dir=truth,
        end=DEFAULT_END,
    )
    operator, _ = User.objects.get_or_create(username="bench-operator", defaults={"is_staff": True})
    operator.groups.add(Group.objects.get(name="operator"))
    bootstrap.run()
    built = time.monotonic() - started

    common = {"surface": "search", "use_intent": True}
    logged = Strategy.objects.create(name="intent logged only", **common)
    acts = Strategy.objects.create(name="intent acts", **common)
    for label, behaviour in DEFAULTS.items():
        IntentBehaviour.objects.update_or_create(
            strategy=acts, intent=label, defaults=IntentBehaviour.default_fields(behaviour)
        )
        IntentBehaviour.objects.update_or_create(
            strategy=logged,
            intent=label,
            defaults={
                "in_stock_weight": 0.0,
                "purchase_weight": 0.0,
                "price_match_weight": 0.0,
                "rating_weight": 0.0,
                "strength": 0.0,
                "diversify": False,
                "review_snippets": False,
                "answers_first": False,
            },
        )
    experiment = services.experiment_create(
        name="intent acts vs logged",
        surface="search",
        hypothesis="Ranking by the detected intent finds what shoppers mean to do.",
        actor=operator,
        salt="intent-acts-vs-logged",
        sequential=False,
        baseline_rate=0.65,
        minimum_detectable_effect=0.05,
        variants=[VariantSpec("logged", logged, 50, True), VariantSpec("acts", acts, 50)],
    )
    services.experiment_start(experiment=experiment, actor=operator)
    t = time.monotonic()
    report = traffic_simulate(
        shoppers=args.shoppers,
        days=args.days,
        sessions_per_day=2.0,
        seed=7,
        start=datetime(2026, 11, 2, tzinfo=UTC),
        truth_dir=truth,
        search_share=1.0,
        similar_after_click=0.0,
    )
    simulated = time.monotonic() - t
    if report.errors:
        sys.exit(f"simulator errors: {report.errors[:5]}")
    analysis = experiment_results(experiment).analysis
    print("SIMULATED traffic (a teaching and testing aid, not shoppers):")
    print(report.summary())
    arms = {a.key: a for a in analysis.arms}
    print(f"\n{'arm':<22}{'shoppers':>9}{'searches':>10}{'CTR':>8}{'conversion':>12}")
    for key, name in (("logged", "intent logged only"), ("acts", "intent acts")):
        arm = arms[key]
        print(
            f"{name:<22}{arm.units:>9}{arm.exposures:>10}{arm.values['ctr']:>8.3f}"
            f"{arm.values['conversion_rate']:>12.3f}"
        )
    for metric, comparison in arms["acts"].comparisons.items():
        if comparison is None or metric not in ("ctr", "conversion_rate"):
            continue
        print(
            f"{metric:<16} lift {comparison.rel_lift:+.1%} (95% CI {comparison.ci_low:+.1%} to "
            f"{comparison.ci_high:+.1%}), p = {comparison.p_value:.2g}"
        )
    print(f"verdict: {analysis.outcome}; {analysis.sentence}")
    print(
        f"wall time {time.monotonic() - started:.0f} s (store + bootstrap {built:.0f} s, "
        f"traffic {simulated:.0f} s)"
    )


if __name__ == "__main__":
    main()
