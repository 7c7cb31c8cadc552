"""Factories for catalog."""

__all__: list[str] = []
