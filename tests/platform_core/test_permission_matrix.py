"""Who may open each page: every admin and Academy URL the resolver knows × anonymous, learner,
learner in a lab, analyst, operator and superuser, against a table written down here.

The URL list is generated from the resolver, so a new page fails this test until a row for it
says who may see it. Rows are written per route (``admin/catalog/product/<path:object_id>/change/``),
filled with real objects. A failing run prints the statuses it got in the table's format;
``PERMISSION_MATRIX_PRINT=1`` prints the whole table as it stands, to start a new row from (then
decide each cell: the table is a decision, not a recording).

Cells, in the order of ``USERS``:

- ``L``: sent to the login page of the URL's area (the admin's for /admin/, the Academy's for
  /academy/): not let in at all;
- ``302``: any other redirect (the view did its work or sent the user on);
- a status code otherwise (``403`` refused by a permission, ``404`` not there for this user,
  ``405`` not this method).

The learner in a lab holds the permissions the curriculum's catalog import lab grants (read from
its ``module.yaml``) and, for the lab's duration, staff access scoped to those models
(``courses.admin_access``). POST rows send a request that is harmless when allowed (promote the
active version, roll back a task with nothing to roll back, cancel a finished job, start an
experiment that is not a draft ...), so one database serves the whole table.
"""

from __future__ import annotations

import logging
import os
import time

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern

from tests.platform_core.permission_world import World

USERS = ("anon", "learner", "lab", "analyst", "operator", "super")

# Top-level routes that are not admin or Academy pages: public by design, with their own tests.
NOT_IN_THE_MATRIX = ("api/v1/", "api/schema/", "api/docs/", "healthz", "readyz", "metrics")

# route → (method, expected cells for USERS)
MATRIX: dict[str, tuple[str, str]] = {
    # --- the admin site: staff only; a lab's learner only inside the lab's models
    "admin/": ("GET", "  L   L 200 200 200 200"),
    "admin/login/": ("GET", "200 200 200 302 302 302"),
    "admin/logout/": ("GET", "302 302 405 405 405 405"),
    "admin/password_change/": ("GET", "  L   L   L 200 200 200"),
    "admin/password_change/done/": ("GET", "  L   L   L 200 200 200"),
    "admin/autocomplete/": ("GET", "  L   L 403 403 403 403"),
    "admin/jsi18n/": ("GET", "  L   L 200 200 200 200"),
    "admin/r/<path:content_type_id>/<path:object_id>/": ("GET", "  L   L   L 404 404 404"),
    # --- groups and users, API clients: superusers (operators are excluded from users and clients)
    "admin/auth/group/": ("GET", "  L   L   L 403 403 200"),
    "admin/auth/group/add/": ("GET", "  L   L   L 403 403 200"),
    "admin/auth/group/<path:object_id>/history/": ("GET", "  L   L   L 403 403 200"),
    "admin/auth/group/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 200"),
    "admin/auth/group/<path:object_id>/change/": ("GET", "  L   L   L 403 403 200"),
    "admin/auth/group/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/platform_core/user/<id>/password/": ("GET", "  L   L   L 403 403 200"),
    "admin/platform_core/user/": ("GET", "  L   L   L 403 403 200"),
    "admin/platform_core/user/add/": ("GET", "  L   L   L 403 403 200"),
    "admin/platform_core/user/<path:object_id>/history/": ("GET", "  L   L   L 403 403 200"),
    "admin/platform_core/user/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 200"),
    "admin/platform_core/user/<path:object_id>/change/": ("GET", "  L   L   L 403 403 200"),
    "admin/platform_core/user/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/platform_core/apiclient/": ("GET", "  L   L   L 403 403 200"),
    "admin/platform_core/apiclient/add/": ("GET", "  L   L   L 403 403 200"),
    "admin/platform_core/apiclient/<path:object_id>/history/": ("GET", "  L   L   L 403 403 200"),
    "admin/platform_core/apiclient/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 200"),
    "admin/platform_core/apiclient/<path:object_id>/change/": ("GET", "  L   L   L 403 403 200"),
    "admin/platform_core/apiclient/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    # --- the audit log: operators read it; nobody adds, changes or deletes
    "admin/platform_core/auditlog/": ("GET", "  L   L   L 403 200 200"),
    "admin/platform_core/auditlog/add/": ("GET", "  L   L   L 403 403 403"),
    "admin/platform_core/auditlog/<path:object_id>/history/": ("GET", "  L   L   L 403 200 200"),
    "admin/platform_core/auditlog/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 403"),
    "admin/platform_core/auditlog/<path:object_id>/change/": ("GET", "  L   L   L 403 200 200"),
    "admin/platform_core/auditlog/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    # --- login lockout records: superusers; deleting an attempt lifts a lockout; the logs are read-only
    "admin/axes/accessattempt/": ("GET", "  L   L   L 403 403 200"),
    "admin/axes/accessattempt/add/": ("GET", "  L   L   L 403 403 403"),
    "admin/axes/accessattempt/<path:object_id>/history/": ("GET", "  L   L   L 403 403 200"),
    "admin/axes/accessattempt/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 200"),
    "admin/axes/accessattempt/<path:object_id>/change/": ("GET", "  L   L   L 403 403 200"),
    "admin/axes/accessattempt/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/axes/accesslog/": ("GET", "  L   L   L 403 403 200"),
    "admin/axes/accesslog/add/": ("GET", "  L   L   L 403 403 403"),
    "admin/axes/accesslog/<path:object_id>/history/": ("GET", "  L   L   L 403 403 200"),
    "admin/axes/accesslog/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 403"),
    "admin/axes/accesslog/<path:object_id>/change/": ("GET", "  L   L   L 403 403 200"),
    "admin/axes/accesslog/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/axes/accessfailurelog/": ("GET", "  L   L   L 403 403 200"),
    "admin/axes/accessfailurelog/add/": ("GET", "  L   L   L 403 403 403"),
    "admin/axes/accessfailurelog/<path:object_id>/history/": ("GET", "  L   L   L 403 403 200"),
    "admin/axes/accessfailurelog/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 403"),
    "admin/axes/accessfailurelog/<path:object_id>/change/": ("GET", "  L   L   L 403 403 200"),
    "admin/axes/accessfailurelog/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    # --- dead letters: analysts see them, operators retry / discard (platform_core.roles)
    "admin/platform_core/deadletter/": ("GET", "  L   L   L 200 200 200"),
    "admin/platform_core/deadletter/act/": ("POST", "  L   L   L 403 302 302"),
    # --- alerts: analysts see them, operators change thresholds and acknowledge / resolve (rules
    # come from the registry, alerts from beat: nobody adds or deletes either)
    **{
        f"admin/platform_core/{model}/{page}": ("GET", cells)
        for model in ("alertrule", "alert")
        for page, cells in (
            ("", "  L   L   L 200 200 200"),
            ("add/", "  L   L   L 403 403 403"),
            ("<path:object_id>/history/", "  L   L   L 200 200 200"),
            ("<path:object_id>/delete/", "  L   L   L 403 403 403"),
            ("<path:object_id>/change/", "  L   L   L 200 200 200"),
            ("<path:object_id>/", "  L   L   L 302 302 302"),
        )
    },
    # --- DRF tokens (unused by the API, which takes API keys): superusers
    "admin/authtoken/tokenproxy/": ("GET", "  L   L   L 403 403 200"),
    "admin/authtoken/tokenproxy/add/": ("GET", "  L   L   L 403 403 200"),
    "admin/authtoken/tokenproxy/<path:object_id>/history/": ("GET", "  L   L   L 403 403 200"),
    "admin/authtoken/tokenproxy/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 200"),
    "admin/authtoken/tokenproxy/<path:object_id>/change/": ("GET", "  L   L   L 403 403 200"),
    "admin/authtoken/tokenproxy/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    # --- catalog: analysts read, operators write; the import lab's learner: categories (read),
    # products (add / change, import products), import runs (read)
    "admin/catalog/category/": ("GET", "  L   L 200 200 200 200"),
    "admin/catalog/category/add/": ("GET", "  L   L 403 403 200 200"),
    "admin/catalog/category/<path:object_id>/history/": ("GET", "  L   L 200 200 200 200"),
    "admin/catalog/category/<path:object_id>/delete/": ("GET", "  L   L 403 403 200 200"),
    "admin/catalog/category/<path:object_id>/change/": ("GET", "  L   L 200 200 200 200"),
    "admin/catalog/category/<path:object_id>/": ("GET", "  L   L 302 302 302 302"),
    "admin/catalog/brand/": ("GET", "  L   L   L 200 200 200"),
    "admin/catalog/brand/add/": ("GET", "  L   L   L 403 200 200"),
    "admin/catalog/brand/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/catalog/brand/<path:object_id>/delete/": ("GET", "  L   L   L 403 200 200"),
    "admin/catalog/brand/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/catalog/brand/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/catalog/product/import/": ("GET", "  L   L 200 403 200 200"),
    "admin/catalog/product/": ("GET", "  L   L 200 200 200 200"),
    "admin/catalog/product/add/": ("GET", "  L   L 200 403 200 200"),
    "admin/catalog/product/<path:object_id>/history/": ("GET", "  L   L 200 200 200 200"),
    "admin/catalog/product/<path:object_id>/delete/": ("GET", "  L   L 403 403 200 200"),
    "admin/catalog/product/<path:object_id>/change/": ("GET", "  L   L 200 200 200 200"),
    "admin/catalog/product/<path:object_id>/": ("GET", "  L   L 302 302 302 302"),
    # --- shoppers, events, search logs: outside the lab; events and search logs are read-only logs
    "admin/catalog/shopper/": ("GET", "  L   L   L 200 200 200"),
    "admin/catalog/shopper/add/": ("GET", "  L   L   L 403 200 200"),
    "admin/catalog/shopper/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/catalog/shopper/<path:object_id>/delete/": ("GET", "  L   L   L 403 200 200"),
    "admin/catalog/shopper/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/catalog/shopper/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/catalog/event/": ("GET", "  L   L   L 200 200 200"),
    "admin/catalog/event/add/": ("GET", "  L   L   L 403 403 403"),
    "admin/catalog/event/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/catalog/event/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 403"),
    "admin/catalog/event/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/catalog/event/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/catalog/searchlog/zero-results/": ("GET", "  L   L   L 200 200 200"),
    "admin/catalog/searchlog/": ("GET", "  L   L   L 200 200 200"),
    "admin/catalog/searchlog/add/": ("GET", "  L   L   L 403 403 403"),
    "admin/catalog/searchlog/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/catalog/searchlog/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 403"),
    "admin/catalog/searchlog/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/catalog/searchlog/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    # --- Insights → search analytics pages: analysts and operators read (fix actions are links to
    # the target models' add forms, which keep their own permissions)
    "admin/insights/search/queries/": ("GET", "  L   L   L 200 200 200"),
    "admin/insights/search/problems/": ("GET", "  L   L   L 200 200 200"),
    "admin/insights/search/positions/": ("GET", "  L   L   L 200 200 200"),
    "admin/insights/search/latency/": ("GET", "  L   L   L 200 200 200"),
    # --- Insights → review sentiment pages: analysts and operators read
    "admin/insights/sentiment/trend/": ("GET", "  L   L   L 200 200 200"),
    "admin/insights/sentiment/worst/": ("GET", "  L   L   L 200 200 200"),
    "admin/insights/sentiment/phrases/": ("GET", "  L   L   L 200 200 200"),
    # --- import runs: a read-only log
    "admin/catalog/importrun/": ("GET", "  L   L 200 200 200 200"),
    "admin/catalog/importrun/add/": ("GET", "  L   L 403 403 403 403"),
    "admin/catalog/importrun/<path:object_id>/history/": ("GET", "  L   L 200 200 200 200"),
    "admin/catalog/importrun/<path:object_id>/delete/": ("GET", "  L   L 403 403 403 403"),
    "admin/catalog/importrun/<path:object_id>/change/": ("GET", "  L   L 200 200 200 200"),
    "admin/catalog/importrun/<path:object_id>/": ("GET", "  L   L 302 302 302 302"),
    # data quality reports: records read by analysts; their fixes change rows (operators)
    "admin/catalog/dataqualityreport/": ("GET", "  L   L   L 200 200 200"),
    "admin/catalog/dataqualityreport/add/": ("GET", "  L   L   L 403 403 403"),
    "admin/catalog/dataqualityreport/<int:pk>/fix/": ("POST", "  L   L   L 403 302 302"),
    "admin/catalog/dataqualityreport/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/catalog/dataqualityreport/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 403"),
    "admin/catalog/dataqualityreport/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/catalog/dataqualityreport/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    # --- Catalog → copy drafts: analysts read the queue; operators review (no add: the job drafts)
    "admin/copywriting/copydraft/": ("GET", "  L   L   L 200 200 200"),
    "admin/copywriting/copydraft/add/": ("GET", "  L   L   L 403 403 403"),
    "admin/copywriting/copydraft/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/copywriting/copydraft/<path:object_id>/delete/": ("GET", "  L   L   L 403 200 200"),
    "admin/copywriting/copydraft/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/copywriting/copydraft/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/copywriting/bannedword/": ("GET", "  L   L   L 200 200 200"),
    "admin/copywriting/bannedword/add/": ("GET", "  L   L   L 403 200 200"),
    "admin/copywriting/bannedword/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/copywriting/bannedword/<path:object_id>/delete/": ("GET", "  L   L   L 403 200 200"),
    "admin/copywriting/bannedword/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/copywriting/bannedword/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/images/productimage/": ("GET", "  L   L   L 200 200 200"),
    "admin/catalog/search-by-image/": ("GET", "  L   L   L 200 200 200"),
    "admin/images/productimage/add/": ("GET", "  L   L   L 403 200 200"),
    "admin/images/productimage/<path:object_id>/history/": ("GET", "  L   L   L 302 302 302"),
    "admin/images/productimage/<path:object_id>/delete/": ("GET", "  L   L   L 403 302 302"),
    "admin/images/productimage/<path:object_id>/change/": ("GET", "  L   L   L 302 302 302"),
    "admin/images/productimage/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    # the served-request log: read-only records for analysts and operators
    # --- Insights → churn risk: analysts and operators read the scores and the win-back lists
    "admin/insights/churnscore/": ("GET", "  L   L   L 200 200 200"),
    "admin/insights/churnscore/winback/": ("GET", "  L   L   L 200 200 200"),
    "admin/insights/churnscore/winback.csv": ("GET", "  L   L   L 200 200 200"),
    # --- Insights → demand forecasts (+ the stock-out list, a filter of it): analysts and operators
    "admin/insights/demandforecast/": ("GET", "  L   L   L 200 200 200"),
    # --- knowledge base: analysts read, operators write; passages are read-only for everyone
    "admin/knowledge/article/": ("GET", "  L   L   L 200 200 200"),
    "admin/knowledge/article/add/": ("GET", "  L   L   L 403 200 200"),
    "admin/knowledge/article/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/knowledge/article/<path:object_id>/delete/": ("GET", "  L   L   L 403 200 200"),
    "admin/knowledge/article/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/knowledge/article/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/knowledge/productquestion/": ("GET", "  L   L   L 200 200 200"),
    "admin/knowledge/productquestion/add/": ("GET", "  L   L   L 403 200 200"),
    "admin/knowledge/productquestion/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/knowledge/productquestion/<path:object_id>/delete/": ("GET", "  L   L   L 403 200 200"),
    "admin/knowledge/productquestion/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/knowledge/productquestion/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/knowledge/passage/": ("GET", "  L   L   L 200 200 200"),
    "admin/knowledge/passage/add/": ("GET", "  L   L   L 403 403 403"),
    "admin/knowledge/passage/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/knowledge/passage/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 403"),
    "admin/knowledge/passage/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/knowledge/passage/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    # support labels: operators label questions for the support-category classifier; analysts read
    "admin/knowledge/supportlabel/": ("GET", "  L   L   L 200 200 200"),
    "admin/knowledge/supportlabel/add/": ("GET", "  L   L   L 403 200 200"),
    "admin/knowledge/supportlabel/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/knowledge/supportlabel/<path:object_id>/delete/": ("GET", "  L   L   L 403 200 200"),
    "admin/knowledge/supportlabel/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/knowledge/supportlabel/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    # precomputed answer summaries: written by their job only; operators may delete a bad one
    "admin/knowledge/answersummary/": ("GET", "  L   L   L 200 200 200"),
    "admin/knowledge/answersummary/add/": ("GET", "  L   L   L 403 403 403"),
    "admin/knowledge/answersummary/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/knowledge/answersummary/<path:object_id>/delete/": ("GET", "  L   L   L 403 200 200"),
    "admin/knowledge/answersummary/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/knowledge/answersummary/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/analytics/servedrequest/": ("GET", "  L   L   L 200 200 200"),
    "admin/analytics/servedrequest/add/": ("GET", "  L   L   L 403 403 403"),
    "admin/analytics/servedrequest/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/analytics/servedrequest/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 403"),
    "admin/analytics/servedrequest/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/analytics/servedrequest/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    # Insights → segments and shopper profiles: read-only for analysts and operators (the
    # shopper page is audited)
    "admin/insights/segment/": ("GET", "  L   L   L 200 200 200"),
    "admin/insights/segment/add/": ("GET", "  L   L   L 403 403 403"),
    "admin/insights/segment/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/insights/segment/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 403"),
    "admin/insights/segment/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/insights/segment/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/insights/shopperinsight/": ("GET", "  L   L   L 200 200 200"),
    "admin/insights/shopperinsight/add/": ("GET", "  L   L   L 403 403 403"),
    "admin/insights/shopperinsight/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/insights/shopperinsight/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 403"),
    "admin/insights/shopperinsight/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/insights/shopperinsight/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    # --- training: analysts read, operators promote, roll back, launch, cancel, retry (POST rows
    # promote the active version, roll back with nothing to roll back, act on a finished job)
    "admin/training/modelversion/<int:pk>/promote/": ("POST", "  L   L   L 403 302 302"),
    "admin/training/modelversion/rollback/<str:task>/": ("POST", "  L   L   L 403 302 302"),
    "admin/training/modelversion/": ("GET", "  L   L   L 200 200 200"),
    # the World's version stored no snapshot: 404 for all (test_frozen_snapshots downloads one)
    "admin/training/modelversion/<int:pk>/snapshot/": ("GET", "  L   L   L 404 404 404"),
    # data-value reports: analysis artifacts read by analysts; operators may delete them
    "admin/training/datavaluereport/": ("GET", "  L   L   L 200 200 200"),
    "admin/training/datavaluereport/<int:pk>/csv/": ("GET", "  L   L   L 200 200 200"),
    "admin/training/datavaluereport/add/": ("GET", "  L   L   L 403 403 403"),
    "admin/training/datavaluereport/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/training/datavaluereport/<path:object_id>/delete/": ("GET", "  L   L   L 403 200 200"),
    "admin/training/datavaluereport/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/training/datavaluereport/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/training/modelversion/add/": ("GET", "  L   L   L 403 403 403"),
    "admin/training/modelversion/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/training/modelversion/<path:object_id>/delete/": ("GET", "  L   L   L 403 302 302"),
    # the world's version is the active one: deleting it is refused with a message (redirect)
    "admin/training/modelversion/compare/": ("GET", "  L   L   L 200 200 200"),
    "admin/training/modelversion/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/training/modelversion/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/training/job/launch/": ("GET", "  L   L   L 403 200 200"),
    "admin/training/job/<int:pk>/progress/": ("GET", "  L   L   L 200 200 200"),
    "admin/training/job/<int:pk>/cancel/": ("POST", "  L   L   L 403 302 302"),
    "admin/training/job/<int:pk>/retry/": ("POST", "  L   L   L 403 302 302"),
    "admin/training/job/": ("GET", "  L   L   L 200 200 200"),
    "admin/training/job/add/": ("GET", "  L   L   L 302 302 302"),
    "admin/training/job/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/training/job/<path:object_id>/delete/": ("GET", "  L   L   L 403 200 200"),
    "admin/training/job/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/training/job/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/training/querylabel/": ("GET", "  L   L   L 200 200 200"),
    "admin/training/querylabel/add/": ("GET", "  L   L   L 403 200 200"),
    "admin/training/querylabel/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/training/querylabel/<path:object_id>/delete/": ("GET", "  L   L   L 403 200 200"),
    "admin/training/querylabel/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/training/querylabel/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/training/querytolabel/": ("GET", "  L   L   L 200 200 200"),
    # scheduled retraining: analysts read, operators write
    "admin/training/jobschedule/": ("GET", "  L   L   L 200 200 200"),
    "admin/training/jobschedule/add/": ("GET", "  L   L   L 403 200 200"),
    "admin/training/jobschedule/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/training/jobschedule/<path:object_id>/delete/": ("GET", "  L   L   L 403 200 200"),
    "admin/training/jobschedule/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/training/jobschedule/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/training/jobnotice/": ("GET", "  L   L   L 200 200 200"),
    "admin/training/jobnotice/add/": ("GET", "  L   L   L 403 403 403"),
    "admin/training/jobnotice/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/training/jobnotice/<path:object_id>/delete/": ("GET", "  L   L   L 403 200 200"),
    "admin/training/jobnotice/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/training/jobnotice/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    # --- strategies, rules and experiments: analysts read, operators write (the experiment is
    # stopped: starting or stopping it again is refused after the permission check, and it cannot be deleted)
    "admin/recommend/strategy/": ("GET", "  L   L   L 200 200 200"),
    "admin/recommend/strategy/add/": ("GET", "  L   L   L 403 200 200"),
    "admin/recommend/strategy/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/recommend/strategy/<path:object_id>/delete/": ("GET", "  L   L   L 403 200 200"),
    "admin/recommend/strategy/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/recommend/strategy/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/recommend/synonymset/": ("GET", "  L   L   L 200 200 200"),
    "admin/recommend/synonymset/add/": ("GET", "  L   L   L 403 200 200"),
    "admin/recommend/synonymset/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/recommend/synonymset/<path:object_id>/delete/": ("GET", "  L   L   L 403 200 200"),
    "admin/recommend/synonymset/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/recommend/synonymset/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/recommend/pinnedresult/": ("GET", "  L   L   L 200 200 200"),
    "admin/recommend/pinnedresult/add/": ("GET", "  L   L   L 403 200 200"),
    "admin/recommend/pinnedresult/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/recommend/pinnedresult/<path:object_id>/delete/": ("GET", "  L   L   L 403 200 200"),
    "admin/recommend/pinnedresult/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/recommend/pinnedresult/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/recommend/intentbehaviour/": ("GET", "  L   L   L 200 200 200"),
    "admin/recommend/intentbehaviour/add/": ("GET", "  L   L   L 403 200 200"),
    "admin/recommend/intentbehaviour/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/recommend/intentbehaviour/<path:object_id>/delete/": ("GET", "  L   L   L 403 200 200"),
    "admin/recommend/intentbehaviour/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/recommend/intentbehaviour/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/recommend/boostrule/": ("GET", "  L   L   L 200 200 200"),
    "admin/recommend/boostrule/add/": ("GET", "  L   L   L 403 200 200"),
    "admin/recommend/boostrule/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/recommend/boostrule/<path:object_id>/delete/": ("GET", "  L   L   L 403 200 200"),
    "admin/recommend/boostrule/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/recommend/boostrule/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/experiments/experiment/sample-size/": ("GET", "  L   L   L 200 200 200"),
    "admin/experiments/experiment/<int:pk>/start/": ("POST", "  L   L   L 403 302 302"),
    "admin/experiments/experiment/<int:pk>/stop/": ("POST", "  L   L   L 403 302 302"),
    "admin/experiments/experiment/<int:pk>/ship/": ("GET", "  L   L   L 403 200 200"),
    "admin/experiments/experiment/<int:pk>/results/": ("GET", "  L   L   L 200 200 200"),
    "admin/promotions/campaign/": ("GET", "  L   L   L 200 200 200"),
    "admin/promotions/campaign/add/": ("GET", "  L   L   L 403 200 200"),
    "admin/promotions/campaign/<int:pk>/report/": ("GET", "  L   L   L 200 200 200"),
    "admin/promotions/campaign/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/promotions/campaign/<path:object_id>/delete/": ("GET", "  L   L   L 403 200 200"),
    "admin/promotions/campaign/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/promotions/campaign/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/experiments/experiment/": ("GET", "  L   L   L 200 200 200"),
    "admin/experiments/experiment/add/": ("GET", "  L   L   L 403 200 200"),
    "admin/experiments/experiment/<path:object_id>/history/": ("GET", "  L   L   L 200 200 200"),
    "admin/experiments/experiment/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 403"),
    "admin/experiments/experiment/<path:object_id>/change/": ("GET", "  L   L   L 200 200 200"),
    "admin/experiments/experiment/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    # --- the Academy's admin: operators read it; authoring, moderation and resets are superusers'
    # (or whoever is given courses.* permissions); a report or preview someone may not see is a 404
    "admin/courses/course/<int:course_id>/report/": ("GET", "  L   L   L 404 200 200"),
    "admin/courses/course/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/course/add/": ("GET", "  L   L   L 403 403 200"),
    "admin/courses/course/<path:object_id>/history/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/course/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 200"),
    "admin/courses/course/<path:object_id>/change/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/course/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/courses/module/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/module/add/": ("GET", "  L   L   L 403 403 200"),
    "admin/courses/module/<path:object_id>/history/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/module/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 200"),
    "admin/courses/module/<path:object_id>/change/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/module/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/courses/lesson/<int:lesson_id>/preview/": ("GET", "  L   L   L 404 200 200"),
    "admin/courses/lesson/preview-markdown/": ("POST", "  L   L   L 404 404 200"),
    "admin/courses/lesson/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/lesson/add/": ("GET", "  L   L   L 403 403 200"),
    "admin/courses/lesson/<path:object_id>/history/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/lesson/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 200"),
    "admin/courses/lesson/<path:object_id>/change/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/lesson/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/courses/quiz/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/quiz/add/": ("GET", "  L   L   L 403 403 200"),
    "admin/courses/quiz/<path:object_id>/history/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/quiz/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 200"),
    "admin/courses/quiz/<path:object_id>/change/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/quiz/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/courses/lab/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/lab/add/": ("GET", "  L   L   L 403 403 200"),
    "admin/courses/lab/<path:object_id>/history/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/lab/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 200"),
    "admin/courses/lab/<path:object_id>/change/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/lab/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/courses/learningpath/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/learningpath/add/": ("GET", "  L   L   L 403 403 200"),
    "admin/courses/learningpath/<path:object_id>/history/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/learningpath/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 200"),
    "admin/courses/learningpath/<path:object_id>/change/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/learningpath/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/courses/enrollment/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/enrollment/add/": ("GET", "  L   L   L 403 403 403"),
    "admin/courses/enrollment/<path:object_id>/history/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/enrollment/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 200"),
    "admin/courses/enrollment/<path:object_id>/change/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/enrollment/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/courses/attempt/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/attempt/add/": ("GET", "  L   L   L 403 403 403"),
    "admin/courses/attempt/<path:object_id>/history/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/attempt/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 200"),
    "admin/courses/attempt/<path:object_id>/change/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/attempt/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/courses/quizgrant/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/quizgrant/add/": ("GET", "  L   L   L 403 403 403"),
    "admin/courses/quizgrant/<path:object_id>/history/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/quizgrant/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 200"),
    "admin/courses/quizgrant/<path:object_id>/change/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/quizgrant/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/courses/labattempt/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/labattempt/add/": ("GET", "  L   L   L 403 403 403"),
    "admin/courses/labattempt/<path:object_id>/history/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/labattempt/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 200"),
    "admin/courses/labattempt/<path:object_id>/change/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/labattempt/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/courses/certificate/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/certificate/add/": ("GET", "  L   L   L 403 403 403"),
    "admin/courses/certificate/<path:object_id>/history/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/certificate/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 200"),
    "admin/courses/certificate/<path:object_id>/change/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/certificate/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/courses/thread/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/thread/add/": ("GET", "  L   L   L 403 403 200"),
    "admin/courses/thread/<path:object_id>/history/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/thread/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 200"),
    "admin/courses/thread/<path:object_id>/change/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/thread/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/courses/post/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/post/add/": ("GET", "  L   L   L 403 403 200"),
    "admin/courses/post/<path:object_id>/history/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/post/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 200"),
    "admin/courses/post/<path:object_id>/change/": ("GET", "  L   L   L 403 200 200"),
    "admin/courses/post/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    # --- second-factor devices: superusers
    "admin/otp_totp/totpdevice/<int:pk>/config/": ("GET", "  L   L   L 403 403 200"),
    "admin/otp_totp/totpdevice/<int:pk>/qrcode/": ("GET", "  L   L   L 403 403 200"),
    "admin/otp_totp/totpdevice/": ("GET", "  L   L   L 403 403 200"),
    "admin/otp_totp/totpdevice/add/": ("GET", "  L   L   L 403 403 200"),
    "admin/otp_totp/totpdevice/<path:object_id>/history/": ("GET", "  L   L   L 403 403 200"),
    "admin/otp_totp/totpdevice/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 200"),
    "admin/otp_totp/totpdevice/<path:object_id>/change/": ("GET", "  L   L   L 403 403 200"),
    "admin/otp_totp/totpdevice/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    "admin/otp_static/staticdevice/": ("GET", "  L   L   L 403 403 200"),
    "admin/otp_static/staticdevice/add/": ("GET", "  L   L   L 403 403 200"),
    "admin/otp_static/staticdevice/<path:object_id>/history/": ("GET", "  L   L   L 403 403 200"),
    "admin/otp_static/staticdevice/<path:object_id>/delete/": ("GET", "  L   L   L 403 403 200"),
    "admin/otp_static/staticdevice/<path:object_id>/change/": ("GET", "  L   L   L 403 403 200"),
    "admin/otp_static/staticdevice/<path:object_id>/": ("GET", "  L   L   L 302 302 302"),
    # --- an app's index (catalog here) and unknown admin pages
    "admin/<app_list>": ("GET", "  L   L 200 200 200 200"),
    "admin/<catch-all>": ("GET", "  L   L   L 404 404 404"),
    # --- the Academy portal: any signed-in user (staff learn too); POST-only views answer a GET with
    # 405 once signed in; a quiz attempt is its learner's only; certificates are public (verification)
    "academy/": ("GET", "  L 200 200 200 200 200"),
    "academy/login/": ("GET", "200 302 302 302 302 302"),
    "academy/logout/": ("GET", "405 405 405 405 405 405"),
    "academy/courses/": ("GET", "  L 200 200 200 200 200"),
    "academy/courses/<slug:course_slug>/": ("GET", "  L 200 200 200 200 200"),
    "academy/courses/<slug:course_slug>/enrol/": ("GET", "  L 405 405 405 405 405"),
    "academy/courses/<slug:course_slug>/<slug:module_slug>/quiz/": (
        "GET",
        "  L 200 200 200 200 200",
    ),
    "academy/courses/<slug:course_slug>/<slug:module_slug>/quiz/attempts/<int:number>/": (
        "GET",
        "  L 200 404 404 404 404",
    ),
    "academy/courses/<slug:course_slug>/<slug:module_slug>/<slug:lesson_slug>/": (
        "GET",
        "  L 200 200 200 200 200",
    ),
    "academy/courses/<slug:course_slug>/<slug:module_slug>/<slug:lesson_slug>/complete/": (
        "GET",
        "  L 405 405 405 405 405",
    ),
    "academy/courses/<slug:course_slug>/<slug:module_slug>/<slug:lesson_slug>/threads/": (
        "GET",
        "  L 405 405 405 405 405",
    ),
    "academy/threads/<int:thread_id>/": ("GET", "  L 200 200 200 200 200"),
    "academy/threads/<int:thread_id>/reply/": ("GET", "  L 405 405 405 405 405"),
    "academy/paths/<slug:path_slug>/": ("GET", "  L 200 200 200 200 200"),
    "academy/paths/<slug:path_slug>/follow/": ("GET", "  L 405 405 405 405 405"),
    "academy/labs/<slug:lab_slug>/": ("GET", "  L 200 200 200 200 200"),
    "academy/labs/<slug:lab_slug>/start/": ("GET", "  L 405 405 405 405 405"),
    "academy/labs/<slug:lab_slug>/check/": ("GET", "  L 405 405 405 405 405"),
    "academy/labs/<slug:lab_slug>/leave/": ("GET", "  L 405 405 405 405 405"),
    "academy/labs/<slug:lab_slug>/queue/": ("GET", "  L 200 200 200 200 200"),
    "academy/labs/<slug:lab_slug>/download/": ("GET", "  L 200 200 200 200 200"),
    "academy/certificates/": ("GET", "  L 200 200 200 200 200"),
    "academy/certificates/<str:code>/": ("GET", "200 200 200 200 200 200"),
}


def _routes(patterns, prefix: str = ""):
    """(route key, URLPattern) for every pattern; regex patterns are keyed by their name."""
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _routes(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            if isinstance(p.pattern, RegexPattern):
                yield f"{prefix}<{p.name or 'catch-all'}>", p
            else:
                yield prefix + str(p.pattern), p


def _matrix_routes() -> list[str]:
    return [
        key
        for key, _ in _routes(get_resolver().url_patterns)
        if key.startswith(("admin/", "academy/"))
    ]


def _cell(route: str, response) -> str:
    if response.status_code in (301, 302):
        login = "/admin/login/" if route.startswith("admin/") else "/academy/login/"
        return "L" if response["Location"].startswith(login) else "302"
    return str(response.status_code)


def _format(route: str, method: str, cells: list[str]) -> str:
    return f'    "{route}": ("{method}", "{" ".join(f"{c:>3}" for c in cells)}"),'


@pytest.fixture
def quiet_request_log():
    """Hundreds of expected 403/404/405s: skip formatting a log line (and traceback) for each."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


@pytest.mark.slow  # every URL for every role: about 20 s here
@pytest.mark.django_db
def test_every_admin_and_academy_url_has_a_decided_status_for_every_role(quiet_request_log):
    routes = _matrix_routes()
    missing = [r for r in routes if r not in MATRIX]
    stale = [r for r in MATRIX if r not in routes]

    world = World()
    clients = {}
    for name, user in world.users.items():
        clients[name] = Client()
        if user is not None:
            clients[name].force_login(user)

    got: dict[str, tuple[str, list[str]]] = {}
    took: dict[str, float] = {}
    for route in routes:
        started = time.perf_counter()
        method = MATRIX.get(route, ("GET", ""))[0]
        url = world.url(route)
        cells = []
        for name in USERS:
            send = clients[name].post if method == "POST" else clients[name].get
            cells.append(_cell(route, send(url, {"body": "# preview"} if method == "POST" else {})))
        got[route] = (method, cells)
        took[route] = time.perf_counter() - started

    if os.environ.get("PERMISSION_MATRIX_PRINT"):
        print("\n" + "\n".join(_format(r, m, c) for r, (m, c) in got.items()))
        print(
            "\nslowest:",
            *(f"{took[r]:.2f}s {r}" for r in sorted(took, key=took.get)[-15:]),
            sep="\n",
        )
    wrong = [r for r in routes if r in MATRIX and MATRIX[r][1].split() != got[r][1]]
    report = []
    if missing:
        report.append(
            "Routes with no row (decide who may see them, add a row):\n"
            + "\n".join(_format(r, *got[r]) for r in missing)
        )
    if stale:
        report.append("Rows for routes that no longer exist:\n" + "\n".join(stale))
    if wrong:
        report.append(
            f"Rows whose statuses differ ({' '.join(USERS)}): expected, then got\n"
            + "\n".join(
                f"{_format(r, *MATRIX[r][:1], MATRIX[r][1].split())}\n{_format(r, *got[r])}"
                for r in wrong
            )
        )
    assert not report, "\n\n".join(report)
    # the POST rows changed nothing: each was refused, or refused after its permission check
    for key, field, value in (
        ("training/modelversion", "is_active", True),
        ("training/job", "status", "succeeded"),
        ("experiments/experiment", "status", "stopped"),
    ):
        obj = world.objects[key]
        obj.refresh_from_db()
        assert getattr(obj, field) == value, key
