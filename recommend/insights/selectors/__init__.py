"""Reads of the insights, one module per insight (the admin pages and alert rules use them)."""
