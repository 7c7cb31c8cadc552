"""``simulate_traffic``: :func:`recommend.experiments.simulation.traffic_simulate` with the
job's progress (one step per simulated day) and cancellation (between days)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from recommend.experiments.simulation import SimulationError, traffic_simulate
from training.context import JobContext


def run(ctx: JobContext) -> None:
    p = ctx.params
    days = p["days"]
    if p["plant_variant"]:
        ctx.log(
            f"planted effect: lists of variant {p['plant_variant']!r} are clicked "
            f"{p['plant_factor']:g}× as often (a teaching aid)"
        )

    def day_end(day: int, report) -> None:
        ctx.message(f"day {day + 1} of {days}: {report.sessions} sessions so far")
        ctx.progress((day + 1) / days, day + 1, days, None, {})
        ctx.check_cancel()

    try:
        report = traffic_simulate(
            shoppers=p["shoppers"],
            days=days,
            seed=p["seed"],
            sessions_per_day=p["sessions_per_day"],
            search_share=p["search_share"],
            plant={p["plant_variant"]: p["plant_factor"]} if p["plant_variant"] else None,
            log=ctx.log,
            on_day_end=day_end,
        )
    except SimulationError as exc:
        raise ValidationError(str(exc)) from None
    ctx.log(report.summary())
    ctx.finish(
        None,
        {
            "sessions": report.sessions,
            "requests": dict(report.requests),
            "events": dict(report.events),
            "variants": dict(report.variants),
            "errors": len(report.errors),
        },
    )
