"""Factories for recommend."""

__all__: list[str] = []
