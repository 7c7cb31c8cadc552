"""Signals the catalogue sends for other apps to act on (receivers connect in their
``AppConfig.ready``), so the catalogue never imports them."""

from django.dispatch import Signal

#: New events were stored, inside the writer's transaction; ``shopper_external_ids``: the
#: shoppers they belong to. Serving recomputes those shoppers' profiles once it commits.
events_stored = Signal()
