"""A/B experiments on serving strategies: a Django app of its own (label ``experiments``).

``models`` (Experiment, Variant, Assignment, Exposure), ``admin``, ``services`` (writes),
``selectors`` (reads and results), ``privacy`` (forget/export hooks), ``simulation`` (the
Django side of the traffic simulator), and ``logic/``: plain Python with no Django
(assignment hashing, statistics, analysis, the simulator, the lift chart).
"""
