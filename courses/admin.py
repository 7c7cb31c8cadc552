"""Academy admin: author and reorder courses / modules / lessons (inlines with order fields), preview
lessons as learners see them, edit quizzes and labs, see enrolments, attempts, lab results,
certificates and the discussion, and a per-course report with a chart."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from courses import charts, selectors, services
from courses.forms import QuestionAdminForm
from courses.models import (
    Attempt,
    Certificate,
    Course,
    Enrollment,
    Lab,
    LabAttempt,
    LabResult,
    LearningPath,
    LearningPathCourse,
    Lesson,
    Module,
    Post,
    Question,
    Quiz,
    QuizGrant,
    Thread,
)
from courses.rendering import render_markdown, split_leading_heading, word_count


def _edit_link(obj, label: str = "Edit") -> str:
    if obj is None or not obj.pk:
        return "—"
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label)


# --- courses ----------------------------------------------------------------------------------------


class ModuleInline(admin.TabularInline):
    model = Module
    fields = ("order", "slug", "title", "edit")
    readonly_fields = ("edit",)
    extra = 0
    ordering = ("order", "id")
    show_change_link = True

    @admin.display(description="Lessons, quiz, lab")
    def edit(self, obj):
        return _edit_link(obj, "Edit module")


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "slug",
        "level",
        "order",
        "published",
        "module_count",
        "enrolment_count",
        "report_link",
    )
    list_editable = ("order", "published")
    list_filter = ("level", "published")
    search_fields = ("title", "slug", "summary")
    prepopulated_fields = {"slug": ("title",)}
    inlines = (ModuleInline,)
    fields = ("title", "slug", "summary", "level", "pass_mark", "roles", "order", "published")

    def get_queryset(self, request):
        from django.db.models import Count

        return (
            super()
            .get_queryset(request)
            .annotate(
                _modules=Count("modules", distinct=True),
                _enrolments=Count("enrollments", distinct=True),
            )
        )

    @admin.display(description="Modules", ordering="_modules")
    def module_count(self, obj):
        return obj._modules

    @admin.display(description="Enrolments", ordering="_enrolments")
    def enrolment_count(self, obj):
        return obj._enrolments

    @admin.display(description="Report")
    def report_link(self, obj):
        return format_html(
            '<a href="{}">Report</a>', reverse("admin:courses_course_report", args=[obj.pk])
        )

    def get_urls(self):
        urls = super().get_urls()
        return [
            path(
                "<int:course_id>/report/",
                self.admin_site.admin_view(self.report_view),
                name="courses_course_report",
            ),
            *urls,
        ]

    def report_view(self, request, course_id: int):
        course = get_object_or_404(Course, pk=course_id)
        if not self.has_view_permission(request, course):
            raise Http404
        report = selectors.course_report(course=course)
        chart = charts.grouped_bar_chart(
            title=f"{course.title}: completion and pass rates per module",
            groups=[m.module.title for m in report.modules],
            series=[
                charts.Series(
                    "Lesson completion", "#3b3fd8", [m.lesson_completion for m in report.modules]
                ),
                charts.Series(
                    "Quiz average score",
                    "#8b8ff0",
                    [
                        None if m.quiz_average is None else m.quiz_average / 100
                        for m in report.modules
                    ],
                ),
                charts.Series(
                    "Quiz pass rate", "#0f9d84", [m.quiz_pass_rate for m in report.modules]
                ),
                charts.Series(
                    "Lab pass rate", "#e0892b", [m.lab_pass_rate for m in report.modules]
                ),
            ],
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Report: {course.title}",
            "course": course,
            "report": report,
            "chart": mark_safe(chart),
            "opts": self.model._meta,
            "original": course,
        }
        return TemplateResponse(request, "admin/courses/course/report.html", context)


class LessonInline(admin.TabularInline):
    model = Lesson
    fields = ("order", "slug", "title", "minutes", "words", "edit")
    readonly_fields = ("words", "edit")
    extra = 0
    ordering = ("order", "id")

    @admin.display(description="Words")
    def words(self, obj):
        return word_count(obj.body) if obj.pk else "—"

    @admin.display(description="")
    def edit(self, obj):
        return _edit_link(obj, "Edit text")


@admin.register(Module)
class ModuleAdmin(admin.ModelAdmin):
    list_display = ("title", "course", "order", "lesson_count", "quiz_link", "lab_link")
    list_filter = ("course",)
    list_editable = ("order",)
    search_fields = ("title", "slug", "course__title")
    list_select_related = ("course", "quiz", "lab")
    inlines = (LessonInline,)
    ordering = ("course__order", "order")

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(_lessons=Count("lessons"))

    @admin.display(description="Lessons", ordering="_lessons")
    def lesson_count(self, obj):
        return obj._lessons

    @admin.display(description="Quiz")
    def quiz_link(self, obj):
        return _edit_link(getattr(obj, "quiz", None), "Quiz")

    @admin.display(description="Lab")
    def lab_link(self, obj):
        return _edit_link(getattr(obj, "lab", None), "Lab")


@admin.register(Lesson)
class LessonAdmin(admin.ModelAdmin):
    list_display = ("title", "module", "order", "minutes", "updated_at", "preview_link")
    list_filter = ("module__course",)
    search_fields = ("title", "slug", "body")
    list_select_related = ("module__course",)
    fields = ("module", "order", "slug", "title", "minutes", "body")
    ordering = ("module__course__order", "module__order", "order")
    change_form_template = "admin/courses/lesson/change_form.html"

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "body":
            field.widget.attrs.update(
                {"rows": 28, "class": "aisle-markdown-editor"}
            )  # aisle/admin.css (CSP)
        return field

    @admin.display(description="Preview")
    def preview_link(self, obj):
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">Preview</a>',
            reverse("admin:courses_lesson_preview", args=[obj.pk]),
        )

    def get_urls(self):
        urls = super().get_urls()
        return [
            path(
                "<int:lesson_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="courses_lesson_preview",
            ),
            path(
                "preview-markdown/",
                self.admin_site.admin_view(require_POST(self.preview_markdown_view)),
                name="courses_lesson_preview_markdown",
            ),
            *urls,
        ]

    def preview_view(self, request, lesson_id: int):
        """The saved lesson as learners see it (sanitised), in the admin."""
        lesson = get_object_or_404(Lesson.objects.select_related("module__course"), pk=lesson_id)
        if not self.has_view_permission(request, lesson):
            raise Http404
        heading, body = split_leading_heading(lesson.body)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Preview: {lesson.title}",
            "lesson": lesson,
            "heading": heading or lesson.title,
            "body_html": render_markdown(body),
            "opts": self.model._meta,
            "original": lesson,
            "words": word_count(lesson.body),
        }
        return TemplateResponse(request, "admin/courses/lesson/preview.html", context)

    def preview_markdown_view(self, request):
        """htmx: render the Markdown being edited (not yet saved) for the preview panel."""
        if not (self.has_change_permission(request) or self.has_add_permission(request)):
            raise Http404
        body = request.POST.get("body", "")
        heading, rest = split_leading_heading(body)
        html = format_html(
            '<p class="help">{} words · rendered and sanitised exactly as in the portal</p>{}{}',
            word_count(body),
            format_html("<h1>{}</h1>", heading) if heading else "",
            render_markdown(rest),
        )
        return HttpResponse(html)


class QuestionInline(admin.StackedInline):
    model = Question
    form = QuestionAdminForm
    extra = 0
    ordering = ("order", "id")


@admin.register(Quiz)
class QuizAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "module",
        "pass_mark",
        "max_attempts",
        "cooldown_minutes",
        "question_count",
    )
    list_filter = ("module__course",)
    search_fields = ("title", "module__title")
    list_select_related = ("module__course",)
    inlines = (QuestionInline,)

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(_questions=Count("questions"))

    @admin.display(description="Questions", ordering="_questions")
    def question_count(self, obj):
        return obj._questions


@admin.register(Lab)
class LabAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "module", "check_name", "permission_list")
    list_filter = ("module__course", "check_name")
    search_fields = ("title", "slug")
    list_select_related = ("module__course",)
    readonly_fields = ("group_name",)

    @admin.display(description="Permissions")
    def permission_list(self, obj):
        return ", ".join(obj.permissions)

    @admin.display(description="Permission group")
    def group_name(self, obj):
        return services.lab_group_name(obj) if obj.pk else "—"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.lab_group_sync(lab=obj)


class LearningPathCourseInline(admin.TabularInline):
    model = LearningPathCourse
    fields = ("order", "course")
    extra = 0
    ordering = ("order",)
    autocomplete_fields = ("course",)


@admin.register(LearningPath)
class LearningPathAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "role")
    list_filter = ("role",)
    search_fields = ("title", "slug")
    inlines = (LearningPathCourseInline,)


# --- learners ---------------------------------------------------------------------------------------


class ReadOnlyAdmin(admin.ModelAdmin):
    """Learner records are written by the portal's services, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Enrollment)
class EnrollmentAdmin(ReadOnlyAdmin):
    list_display = ("user", "course", "enrolled_at", "completed_at")
    list_filter = ("course", ("completed_at", admin.EmptyFieldListFilter), "enrolled_at")
    search_fields = ("user__username", "user__email", "course__title")
    list_select_related = ("user", "course")
    date_hierarchy = "enrolled_at"


@admin.register(Attempt)
class AttemptAdmin(ReadOnlyAdmin):
    list_display = ("user", "quiz", "number", "score", "passed", "created_at")
    list_filter = ("passed", "quiz__module__course", "quiz")
    search_fields = ("user__username", "quiz__title")
    list_select_related = ("user", "quiz")
    actions = ("grant_attempt", "reset_attempts")

    def has_reset_permission(self, request) -> bool:
        """Deleting a learner's failed attempts is its own permission (``courses.reset_attempt``),
        held by no role: viewing the attempts, as operators do, is not enough."""
        return request.user.has_perm("courses.reset_attempt")

    @admin.action(
        description="Reset these learners' failed attempts at these quizzes (gives them new tries)",
        permissions=["reset"],
    )
    def reset_attempts(self, request, queryset):
        pairs = {(a.quiz_id, a.user_id): a for a in queryset.select_related("quiz", "user")}
        total = 0
        for attempt in pairs.values():
            total += services.quiz_attempts_reset(
                quiz=attempt.quiz, user=attempt.user, actor=request.user
            )
        messages.success(request, f"Deleted {total} failed attempt(s).")

    @admin.action(
        description="Grant these learners one more attempt at these quizzes (history kept)",
        permissions=["reset"],
    )
    def grant_attempt(self, request, queryset):
        pairs = {(a.quiz_id, a.user_id): a for a in queryset.select_related("quiz", "user")}
        for attempt in pairs.values():
            services.quiz_attempts_grant(quiz=attempt.quiz, user=attempt.user, actor=request.user)
        messages.success(request, f"Granted one more attempt to {len(pairs)} learner(s).")


@admin.register(QuizGrant)
class QuizGrantAdmin(ReadOnlyAdmin):
    list_display = ("user", "quiz", "extra_attempts", "granted_by", "created_at")
    list_filter = ("quiz__module__course", "quiz")
    search_fields = ("user__username", "quiz__title", "granted_by__username")
    list_select_related = ("user", "quiz", "granted_by")
    date_hierarchy = "created_at"


class LabResultInline(admin.TabularInline):
    model = LabResult
    fields = ("checked_at", "passed", "items")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(LabAttempt)
class LabAttemptAdmin(ReadOnlyAdmin):
    list_display = ("user", "lab", "status", "started_at", "ended_at", "granted_staff")
    list_filter = ("status", "lab")
    search_fields = ("user__username", "lab__title")
    list_select_related = ("user", "lab")
    inlines = (LabResultInline,)


class RevokeActionForm(ActionForm):
    reason = forms.CharField(
        required=False, label="Reason (revoke)", max_length=2000, widget=forms.TextInput()
    )


@admin.register(Certificate)
class CertificateAdmin(ReadOnlyAdmin):
    list_display = (
        "code",
        "learner_name",
        "course_title",
        "issued_at",
        "revoked_at",
        "public_page",
    )
    list_filter = ("course", ("revoked_at", admin.EmptyFieldListFilter), "issued_at")
    search_fields = ("code", "learner_name", "user__username")
    list_select_related = ("course", "user")
    action_form = RevokeActionForm
    actions = ("revoke",)

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("courses.revoke_certificate")

    @admin.action(
        description="Revoke these certificates (give the reason; the public page shows it)",
        permissions=["revoke"],
    )
    def revoke(self, request, queryset):
        reason = request.POST.get("reason", "")
        try:
            for certificate in queryset.select_related("user"):
                services.certificate_revoke(
                    certificate=certificate, actor=request.user, reason=reason
                )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return
        messages.success(request, f"Revoked {queryset.count()} certificate(s).")

    @admin.display(description="Public page")
    def public_page(self, obj):
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">Verify</a>',
            reverse("academy:certificate", args=[obj.code]),
        )


class PostInline(admin.TabularInline):
    model = Post
    fields = ("author", "created_at", "body", "hidden")
    readonly_fields = ("author", "created_at", "body")
    extra = 0


@admin.register(Thread)
class ThreadAdmin(admin.ModelAdmin):
    list_display = ("title", "lesson", "author", "created_at", "last_post_at")
    list_filter = ("lesson__module__course",)
    search_fields = ("title", "posts__body")
    list_select_related = ("lesson", "author")
    inlines = (PostInline,)


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ("thread", "author", "created_at", "hidden")
    list_filter = ("hidden",)
    search_fields = ("body", "author__username")
    list_select_related = ("thread", "author")
    actions = ("hide_posts",)

    @admin.action(description="Hide selected posts", permissions=["change"])
    def hide_posts(self, request, queryset):
        for post in queryset:
            services.post_hide(post=post, actor=request.user)
        messages.success(request, f"Hid {queryset.count()} post(s).")
