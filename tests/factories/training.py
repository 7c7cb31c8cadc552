"""Factories for training."""

__all__: list[str] = []
