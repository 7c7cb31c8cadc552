"""Writes of the insights, one module per insight (called by their jobs and beat tasks)."""
