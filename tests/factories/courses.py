"""Factories for courses."""

__all__: list[str] = []
