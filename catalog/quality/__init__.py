"""The data quality report: what in the store's data would mislead search and training.

``logic`` is plain Python (no Django): the checks' rules — title normalisation, robust z-scores,
duplicate groups, orphan categories, bot-like shoppers — tested on lists. ``selectors`` reads
the rows each check needs with bounded SQL and runs the rules; the writes (the report row, the
exclude-from-training flags, merging duplicates) live in :mod:`catalog.services.quality`.
"""
