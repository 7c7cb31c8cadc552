"""The job kind of the insights' shopper profiles: ``shopper_segments`` (profile snapshots,
profile embeddings and k-means segments, for Insights → shopper profiles and segments). It
trains nothing the serving path uses and creates no model version."""

from __future__ import annotations

from training.jobs import Param, register_job_kind

register_job_kind(
    "shopper_segments",
    title="Profile and segment the shoppers",
    summary="Snapshots the interests of every shopper over categories and brands, embeds their profiles "
    "and groups them into segments with readable names, sizes and conversion rates.",
    scales_with="events",
    queue="cpu",
    runner="training.runners.segments.run",
    help="Shopper profiles (Insights): each shopper's decayed interest shares over categories and "
    "brands as of today (and, on the first run, as of backfill_days ago, so the shopper page shows "
    "the change), their profile embedding under the active retriever (the serving profile's "
    "weighting), then k-means over the embeddings for each k in [k_min, k_max], keeping the k with "
    "the best silhouette; segments are named after the categories their shoppers lean to. Figures "
    "are taken now, or at the last event when the event log stopped earlier (a demo store).",
    params=[
        Param(
            "as_of",
            str,
            "",
            "take the figures at this UTC date (YYYY-MM-DD, the day's start; default: now, or "
            "the last event when the log stopped earlier)",
            label="As of",
        ),
        Param("k_min", int, 2, "fewest segments tried", min=2, max=20, label="Fewest segments"),
        Param("k_max", int, 8, "most segments tried", min=2, max=30, label="Most segments"),
        Param("seed", int, 0, "k-means and silhouette sampling seed", min=0, label="Seed"),
        Param(
            "backfill_days",
            int,
            30,
            "also snapshot the interests as of this many days ago when no snapshot of that day "
            "is stored (0: never)",
            min=0,
            max=365,
            label="Backfill (days)",
        ),
    ],
)
