"""Plain-Python algorithms of the insights (no Django, DRF or Celery)."""
