"""Plain-Python ML code for training jobs: metrics, losses, splits, pair mining, CF, ranker.

No Django imports here; torch is imported only inside the modules that need it.
"""
