"""Template helpers of the Academy portal."""

from __future__ import annotations

from django import template
from django.urls import reverse

from courses.rendering import render_markdown, render_post

register = template.Library()


@register.simple_tag
def step_url(course, step) -> str:
    """The page of a course step (lesson, quiz or lab)."""
    if step is None:
        return ""
    if step.kind == "lesson":
        return reverse("academy:lesson", args=[course.slug, step.module.slug, step.lesson.slug])
    if step.kind == "quiz":
        return reverse("academy:quiz", args=[course.slug, step.module.slug])
    return reverse("academy:lab", args=[step.lab.slug])


@register.filter
def markdown_post(text: str):
    """A forum post, rendered and sanitised."""
    return render_post(text)


@register.filter
def markdown_lesson(text: str):
    return render_markdown(text)


@register.filter
def pct(value, digits: int = 0) -> str:
    """0.734 → '73%'; None → '—'."""
    if value is None:
        return "—"
    return f"{100 * float(value):.{int(digits)}f}%"


@register.filter
def ordinal(n) -> str:
    n = int(n)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@register.filter
def initials(user) -> str:
    name = (user.get_full_name() or user.username or "?").strip()
    parts = [p for p in name.replace(".", " ").split() if p]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


@register.filter
def kind_label(kind: str) -> str:
    return {
        "lesson": "Lesson",
        "quiz": "Quiz",
        "lab": "Lab",
        "single": "Choose one",
        "multiple": "Choose all that apply",
        "ordering": "Put in order",
    }.get(kind, kind)


@register.filter
def role_names(user) -> str:
    """The user's permission roles (operator, analyst, learner), not their lab groups."""
    from platform_core.models import Role

    held = getattr(user, "roles", None) or set()
    return ", ".join(r for r in Role.values if r in held) or "staff"
