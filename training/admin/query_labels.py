"""Training → Query labels, and Label queries: unlabelled logged queries with a peek at their
sessions, labelled in bulk."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from training import labelling_queue, services
from training.admin.common import error_text
from training.classifier_labels import intent_labels
from training.models import QueryLabel, QueryToLabel


@admin.register(QueryLabel)
class QueryLabelAdmin(admin.ModelAdmin):
    list_display = ("query", "label", "user", "updated_at")
    list_filter = ("label",)
    search_fields = ("query",)
    list_select_related = ("user",)
    readonly_fields = ("user", "created_at", "updated_at")

    def save_model(self, request, obj, form, change):
        services.query_labels_save(labels={obj.query: obj.label}, user=request.user)


@admin.register(QueryToLabel)
class LabelQueriesAdmin(admin.ModelAdmin):
    """Training → Label queries: unlabelled logged queries with a peek at their sessions."""

    per_page = 50

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path(
                "",
                self.admin_site.admin_view(self.labelling_view),
                name="training_querytolabel_changelist",
            )
        ]

    def labelling_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        can_save = request.user.has_perm("training.add_querylabel") and request.user.has_perm(
            "training.change_querylabel"
        )
        if request.method == "POST":
            if not can_save:
                raise PermissionDenied
            labels = {}
            for key, value in request.POST.items():
                if key.startswith("query_"):
                    label = request.POST.get(f"label_{key[6:]}", "")
                    if label:
                        labels[value] = label
            try:
                saved = services.query_labels_save(labels=labels, user=request.user)
            except ValidationError as exc:
                self.message_user(request, error_text(exc), messages.ERROR)
            else:
                self.message_user(request, f"Saved {saved} label(s).", messages.SUCCESS)
            return HttpResponseRedirect(request.get_full_path())
        search = request.GET.get("q", "").strip()
        items = labelling_queue.unlabelled_queries(search=search)
        page = Paginator(items, self.per_page).get_page(request.GET.get("p"))
        labelling_queue.attach_peeks(list(page.object_list))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Label queries",
            "page": page,
            "rows": list(enumerate(page.object_list)),
            "labels": intent_labels(),
            "search": search,
            "total": len(items),
            "labelled": QueryLabel.objects.count(),
            "can_save": can_save,
            "saved_labels_url": reverse("admin:training_querylabel_changelist"),
        }
        return TemplateResponse(request, "admin/training/querytolabel/label.html", context)
