"""Admin of the catalog, one module per page: the category tree and brands (``categories``),
products with the Import page (``products``), shoppers, events and the search log
(``shoppers``), import runs (``imports``); ``common`` holds what they share. Importing the
modules registers their pages."""

from catalog.admin import categories, imports, products, quality, shoppers  # noqa: F401 (registration)
