"""The insight tables, one module per insight; each is re-exported here for Django."""

from recommend.insights.models.churn import ChurnRun, ChurnScore

__all__ = ["ChurnRun", "ChurnScore"]
