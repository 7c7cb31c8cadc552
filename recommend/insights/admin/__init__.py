"""Admin pages of the insights, one module per insight, imported here so Django finds them."""

from recommend.insights.admin import (
    churn,  # noqa: F401
    forecast,  # noqa: F401
    profiles,  # noqa: F401
    sentiment,  # noqa: F401  (registers its pages)
)
