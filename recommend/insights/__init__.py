"""Insights an operator opens every morning: shopper profiles and segments, review sentiment with
spike alerts, churn risk and win-back, demand forecast and stock-out risk.

Jobs and beat tasks compute precomputed tables on the ``cpu`` queue; the admin pages read only
those tables, never a scan of the events table inside a request. Algorithms live in
``logic/`` (plain Python, no Django).
"""
