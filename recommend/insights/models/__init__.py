"""The insight tables, one module per insight; each is re-exported here for Django."""

from recommend.insights.models.churn import ChurnRun, ChurnScore
from recommend.insights.models.forecast import DemandForecast, ForecastRun
from recommend.insights.models.profiles import ProfileSnapshot, Segment, ShopperInsight
from recommend.insights.models.sentiment import (
    ReviewSentiment,
    SentimentDaily,
    SentimentPhrase,
    SentimentSource,
    SentimentSpike,
    SentimentState,
    SeriesLevel,
)

__all__ = [
    "ChurnRun",
    "ChurnScore",
    "DemandForecast",
    "ForecastRun",
    "ProfileSnapshot",
    "ReviewSentiment",
    "Segment",
    "SentimentDaily",
    "SentimentPhrase",
    "SentimentSource",
    "SentimentSpike",
    "SentimentState",
    "SeriesLevel",
    "ShopperInsight",
]
