"""``score_reviews``: label new review events with the active sentiment model (the star rating
stands in when none is active), then the insights' daily series, spikes and rising phrases
(:mod:`recommend.insights.services.sentiment`). Trains nothing and creates no version."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from recommend.insights.logic.sentiment import SpikeSettings
from recommend.insights.services import sentiment
from training import selectors
from training.context import JobContext
from training.models import Task

NO_MODEL = (
    "No sentiment model is active: the star rating stands in (1-2 stars negative, 3 neutral, "
    "4-5 positive), labelled 'rating' on every row. Train one with finetune_classifier "
    "task=sentiment: its first sane version becomes active and the next run rescores with it."
)


def model_scorer(version, device) -> sentiment.Scorer:
    """The scorer of a sentiment classifier version: its top label, that label's probability
    and the probability of "negative"."""
    from training.runners.classifier import load_classifier

    classifier = load_classifier(version, device)
    negative = classifier.labels.index("negative") if "negative" in classifier.labels else None

    def score(rows: Sequence[tuple[str, float | None]]) -> list[tuple[str, float, float]]:
        probabilities = classifier.predict_proba([text for text, _ in rows])
        out = []
        for row in probabilities:
            best = int(row.argmax())
            p_negative = float(row[negative]) if negative is not None else 0.0
            out.append((classifier.labels[best], float(row[best]), p_negative))
        return out

    return score


def run(ctx: JobContext) -> None:
    p = ctx.params
    version = selectors.active_version(Task.SENTIMENT)
    if version is None:
        ctx.log(NO_MODEL)
        scorer, source, version_id = sentiment.rating_scorer, sentiment.SentimentSource.RATING, None
    else:
        from training.ml.device import pick_device

        device = pick_device(p["device"])
        ctx.set_device(device)
        ctx.log(f"sentiment model: version #{version.pk} {version.name} on {device.device}")
        scorer = model_scorer(version, device)
        source, version_id = sentiment.SentimentSource.MODEL, version.pk
    settings = sentiment.ScoreSettings(
        batch_size=p["batch_size"],
        rescore=p["rescore"],
        as_of=date.fromisoformat(p["as_of"]) if p["as_of"] else None,
        spike=SpikeSettings(
            window_days=p["window_days"],
            min_reviews=p["min_reviews"],
            min_negatives=p["min_negatives"],
            min_lift=p["min_lift"],
            fdr=p["fdr"],
        ),
    )

    def progress(fraction: float, message: str) -> None:
        ctx.check_cancel()
        ctx.message(message)
        ctx.progress(fraction, int(fraction * 100), 100, None, {})

    with ctx.stage("score", 0.0, 1.0):
        figures = sentiment.reviews_score(
            scorer=scorer,
            source=source,
            model_version_id=version_id,
            settings=settings,
            progress=progress,
        )
    ctx.log(
        f"{figures['reviews_scored']} review(s) scored ({source}), {figures['days_recounted']} "
        f"day(s) recounted, {figures['spikes']} spike(s), {figures['phrases']} rising phrase(s)"
    )
    ctx.finish(None, {**figures, "no_model": version is None})
