"""Admin of the catalog (the Catalog issue fleshes these pages out)."""

from django.contrib import admin

from catalog.models import Product

admin.site.register(Product)
