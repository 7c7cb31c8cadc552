"""The job kind that drives simulated shoppers through the real API: ``simulate_traffic``. The
Academy's A/B-test lab launches it from the admin (a learner has no shell), and an operator uses
it to see an experiment collect days of traffic in minutes on the demo store. It trains nothing
and creates no model version."""

from __future__ import annotations

from training.jobs import Param, register_job_kind

register_job_kind(
    "simulate_traffic",
    title="Simulate shopper traffic",
    summary="Sends the demo store's simulated shoppers through the real API for some days of "
    "simulated time: they search, open recommendations, click, add to cart and buy, so running "
    "experiments collect exposures and results.",
    scales_with="events",
    queue="cpu",
    runner="training.runners.simulate.run",
    help="The traffic simulator (recommend/experiments/logic/simulator.py) as a job: the demo "
    "store's shoppers, with their hidden tastes, call search, recommendations and similar items "
    "through the real API in this worker, and click and buy from what they were shown (position "
    "bias included). One simulated clock, starting the midnight after the latest event, stamps "
    "requests, exposures and events; buffers are flushed after every day. The same as "
    "`manage.py simulate_traffic`. Needs the demo store and its hidden truth (DATA_DIR/demo).",
    params=[
        Param(
            "shoppers", int, 300, "demo shoppers to simulate", min=1, max=20000, label="Shoppers"
        ),
        Param("days", int, 7, "simulated days", min=1, max=60, label="Days"),
        Param(
            "seed",
            int,
            1,
            "the simulation's seed (the same seed, the same shoppers and choices)",
            min=0,
            label="Seed",
        ),
        Param(
            "sessions_per_day",
            float,
            1.0,
            "mean sessions per shopper per day",
            min=0.05,
            max=20.0,
            label="Sessions per shopper per day",
        ),
        Param(
            "plant_variant",
            str,
            "",
            "a teaching aid: the experiment variant key whose lists the shoppers click more "
            "often (empty: none; the real effect of the strategies is all there is)",
            label="Planted effect: variant",
        ),
        Param(
            "plant_factor",
            float,
            1.0,
            "how much more often a list of that variant gets a click (1.3: 30 % more)",
            min=0.1,
            max=5.0,
            label="Planted effect: factor",
        ),
        Param(
            "search_share",
            float,
            0.7,
            "share of sessions that search (the rest open recommendations)",
            min=0.0,
            max=1.0,
            label="Search share",
        ),
    ],
)
