"""The insight tables, one module per insight; each is re-exported here for Django."""

from recommend.insights.models.churn import ChurnRun, ChurnScore
from recommend.insights.models.forecast import DemandForecast, ForecastRun

__all__ = ["ChurnRun", "ChurnScore", "DemandForecast", "ForecastRun"]
