"""Pieces the catalog's admin pages share: a paginator that never counts a big table, the
read-only inlines of a row's recent events."""

from __future__ import annotations

from django.contrib import admin
from django.core.paginator import Paginator
from django.forms.models import BaseInlineFormSet
from django.utils.functional import cached_property

from catalog import selectors

RECENT_PRODUCT_EVENTS = 20
SHOPPER_TIMELINE_EVENTS = 50


class EstimatedCountPaginator(Paginator):
    """Counts without scanning a big table: the unfiltered list uses PostgreSQL's row
    estimate (``pg_class.reltuples``); a filtered list counts at most ``EXACT_UP_TO`` rows and
    falls back to the planner's estimate beyond that."""

    EXACT_UP_TO = 10_000

    @cached_property
    def count(self) -> int:
        qs = self.object_list
        if not qs.query.where:
            estimate = selectors.table_row_estimate(qs.model._meta.db_table)
            if estimate > self.EXACT_UP_TO:
                return estimate
        bounded = qs.order_by()[: self.EXACT_UP_TO + 1].count()
        if bounded <= self.EXACT_UP_TO:
            return bounded
        return max(selectors.query_row_estimate(qs), bounded)


class BigTableAdmin(admin.ModelAdmin):
    """List settings for tables that grow without bound."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def recent_formset(limit: int, related: tuple[str, ...]):
    class RecentFormSet(BaseInlineFormSet):
        """Only the ``limit`` most recent rows (a sliced, evaluated list)."""

        def get_queryset(self):
            if not hasattr(self, "_recent"):
                self._recent = list(super().get_queryset().select_related(*related)[:limit])
            return self._recent

    return RecentFormSet


class EventsInlineMixin:
    """The events inline is for reading; it is left out of POSTs so saving the parent never
    validates a list that moved meanwhile."""

    events_inline: type

    def get_inline_instances(self, request, obj=None):
        inlines = super().get_inline_instances(request, obj)
        if request.method != "GET" or obj is None:
            inlines = [i for i in inlines if not isinstance(i, self.events_inline)]
        return inlines
