"""Writes of the insights, one module per insight."""
