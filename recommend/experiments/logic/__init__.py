"""A/B experiment maths in plain Python: deterministic assignment and statistics (no Django)."""
