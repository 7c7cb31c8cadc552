"""The one attribution rule (:mod:`recommend.analytics.logic.attribution`) written as SQL: the
only copy of it in a query. The rollups (dashboards, search analytics, product impressions)
and the experiments' results both build their queries with :func:`attributed_events_sql`, and
a test holds the query to the plain-Python rule on the same cases.

1. An event that carries a request id belongs to the served request with that id.
2. Otherwise it belongs to the latest request of the same session served at most 30 minutes
   before the event that showed the event's product.
3. Otherwise (``recorded=True`` only) to the latest event-recorded search click of the same
   session and product within 30 minutes, which stands for its search.
"""

from __future__ import annotations

from recommend.analytics.logic.attribution import WINDOW

#: the attribution window as a PostgreSQL interval (the plain rule's ``WINDOW``)
WINDOW_SQL = f"interval '{int(WINDOW.total_seconds())} seconds'"
#: how an event-recorded query is normalised in SQL (lower case, whitespace collapsed)
EVENT_QUERY_SQL = "lower(regexp_replace(btrim({col}), '\\s+', ' ', 'g'))"

#: the event types attribution credits to a request
ENGAGEMENT_TYPES_SQL = "('click', 'add_to_cart', 'purchase')"


def attributed_events_sql(
    *, where: str = "true", events: str = "catalog_event", recorded: bool = True
) -> str:
    """A query of the events (``{events} e``) that satisfy ``where``, each with the request
    it belongs to: ``id, type, product_id, timestamp, value, kind, request_id, endpoint, query,
    position``. ``kind`` is ``'served'`` (a served request: ``request_id`` is its id and
    ``position`` where it showed the product), ``'recorded'`` (an event-recorded search click,
    empty ``request_id``) or NULL (no request). ``events``: ``catalog_event`` or a relation of
    some of its rows (with at least ``id, type, product_id, timestamp, value, session,
    request_id, shopper_id``), e.g. a CTE of the events a caller can use.

    ``recorded=False`` leaves rule 3 out: for callers that only count served requests (an
    experiment's exposures are served requests) the result is the same — rule 3 only applies
    where rules 1 and 2 found nothing — and each event costs one lookup less.
    """
    rule_3 = f"""
      UNION ALL
      (SELECT 3, c.timestamp, 'recorded', '', 'search', {EVENT_QUERY_SQL.format(col="c.query")},
              c.position
         FROM catalog_event c
        WHERE e.session <> '' AND e.product_id IS NOT NULL AND c.shopper_id = e.shopper_id
          AND c.session = e.session AND c.type = 'click' AND c.query <> ''
          AND c.product_id = e.product_id
          AND c.timestamp > e.timestamp - {WINDOW_SQL} AND c.timestamp <= e.timestamp
        ORDER BY c.timestamp DESC, c.id DESC LIMIT 1)"""
    return f"""
SELECT e.id, e.type, e.product_id, e.timestamp, e.value, a.kind, a.request_id, a.endpoint,
       a.query, a.position
  FROM {events} e
  LEFT JOIN LATERAL (
    SELECT * FROM (
      (SELECT 1 AS prio, s.timestamp AS at, 'served' AS kind, s.request_id, s.endpoint, s.query,
              array_position(s.shown, e.product_id) AS position
         FROM analytics_servedrequest s
        WHERE e.request_id <> '' AND s.request_id = e.request_id)
      UNION ALL
      (SELECT 2, s.timestamp, 'served', s.request_id, s.endpoint, s.query,
              array_position(s.shown, e.product_id)
         FROM analytics_servedrequest s
        WHERE e.session <> '' AND e.product_id IS NOT NULL AND s.session = e.session
          AND s.timestamp > e.timestamp - {WINDOW_SQL} AND s.timestamp <= e.timestamp
          AND s.shown @> ARRAY[e.product_id]
        ORDER BY s.timestamp DESC, s.id DESC LIMIT 1){rule_3 if recorded else ""}
    ) candidates ORDER BY prio, at DESC LIMIT 1
  ) a ON true
 WHERE ({where})
"""
