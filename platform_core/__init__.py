"""Aisle's project package (settings, urls, Celery app) and its platform-wide app.

Named ``platform_core`` rather than ``platform``: ``platform`` is a standard-library module that
Django (through ``uuid``), torch and Celery import; a package of that name would shadow it.
"""

from platform_core.celery import app as celery_app

__all__ = ["celery_app"]
