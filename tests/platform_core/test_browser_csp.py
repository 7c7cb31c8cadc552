"""The Content-Security-Policy in a real browser (Playwright driving Debian's Chromium): the admin
(home, a changelist and a change form of each app, the job page, experiment results, the course
report), the Academy (sign-in, dashboard, a lesson, a quiz and its result, a lab) and the API docs
are visited, and every CSP violation the browser reports is collected — from the page's own
`securitypolicyviolation` events and from the console. There must be none, and the pages that
need their scripts (Swagger UI, htmx) must still work."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.browser_pages import RECORD_VIOLATIONS
from tests.conftest import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's Chromium is not installed: apt-get install -y chromium",
    ),
]


def _seed():
    """One object per admin page worth seeing, and an Academy course with a lesson, quiz and lab."""
    from courses import services as course_services
    from recommend.experiments.models import Exposure
    from tests import factories
    from tests.factories.courses import (
        CourseFactory,
        LabFactory,
        LessonFactory,
        ModuleFactory,
        QuestionFactory,
        QuizFactory,
    )
    from training.models import Job

    admin = factories.UserFactory(username="csp-root", first_name="Ada", is_superuser=True)
    product = factories.ProductFactory()
    job = factories.JobFactory(
        kind="finetune_retriever",
        status=Job.Status.RUNNING,
        progress=0.4,
        step=4,
        total_steps=10,
        heartbeat_at=timezone.now(),
        log="step 4",
        metrics_history=[{"t": 1, "loss": 0.9}, {"t": 2, "loss": 0.7}],
    )
    control = factories.VariantFactory(key="control", is_control=True)
    experiment = control.experiment
    treatment = factories.VariantFactory(experiment=experiment, key="treatment")
    experiment.status = "running"
    experiment.started_at = timezone.now() - dt.timedelta(hours=2)
    experiment.min_sample_size = 200
    experiment.save()
    start = timezone.now() - dt.timedelta(hours=1)
    Exposure.objects.bulk_create(
        [
            Exposure(
                experiment=experiment,
                variant=(control, treatment)[i % 2],
                unit_type="session",
                unit_id=f"s{i}",
                session=f"s{i}",
                request_id=f"csp-{i}",
                timestamp=start + dt.timedelta(seconds=i),
                result_count=10,
            )
            for i in range(120)
        ]
    )
    course = CourseFactory()
    module = ModuleFactory(course=course)
    lesson = LessonFactory(module=module, body="# Hello\n\nSome **Markdown** text.")
    quiz = QuizFactory(module=module)
    QuestionFactory(quiz=quiz)
    lab = LabFactory(module=module)
    course_services.quiz_submit(
        user=admin, quiz=quiz, answers={q.pk: [0] for q in quiz.questions.all()}
    )
    return {
        "admin": admin,
        "product": product,
        "job": job,
        "experiment": experiment,
        "course": course,
        "module": module,
        "lesson": lesson,
        "quiz": quiz,
        "lab": lab,
        "strategy": control.strategy,
    }


def _pages(s) -> list[tuple[str, str | None]]:
    """(url, a selector that proves the page's scripts ran, or None)."""
    course, module = s["course"], s["module"]
    return [
        (reverse("admin:index"), None),
        (reverse("admin:catalog_product_changelist"), None),
        (reverse("admin:catalog_product_change", args=[s["product"].pk]), None),
        (reverse("admin:catalog_event_changelist"), None),
        (reverse("admin:training_job_changelist"), None),
        (reverse("admin:training_job_change", args=[s["job"].pk]), "#job-live"),
        (reverse("admin:training_modelversion_changelist"), None),
        (reverse("admin:recommend_strategy_changelist"), None),
        (reverse("admin:recommend_strategy_change", args=[s["strategy"].pk]), None),
        (reverse("admin:experiments_experiment_change", args=[s["experiment"].pk]), None),
        (
            reverse("admin:experiments_experiment_results", args=[s["experiment"].pk]),
            ".aisle-results",
        ),
        (reverse("admin:courses_course_changelist"), None),
        (reverse("admin:courses_lesson_change", args=[s["lesson"].pk]), "#lesson-markdown-preview"),
        (reverse("admin:courses_course_report", args=[course.pk]), ".academy-kpis"),
        (reverse("admin:platform_core_user_changelist"), None),
        (reverse("admin:platform_core_user_change", args=[s["admin"].pk]), None),
        (reverse("admin:platform_core_apiclient_changelist"), None),
        (reverse("admin:axes_accessattempt_changelist"), None),
        (reverse("academy:dashboard"), None),
        (reverse("academy:catalogue"), None),
        (reverse("academy:course", args=[course.slug]), None),
        (reverse("academy:lesson", args=[course.slug, module.slug, s["lesson"].slug]), None),
        (reverse("academy:quiz", args=[course.slug, module.slug]), None),
        (reverse("academy:quiz_attempt", args=[course.slug, module.slug, 1]), ".score-ring"),
        (reverse("academy:lab", args=[s["lab"].slug]), None),
        (reverse("academy:certificates"), None),
        ("/api/docs/", ".swagger-ui .info .title"),
    ]


@pytest.mark.django_db(transaction=True)
def test_no_page_violates_the_content_security_policy(browser, live_server):
    seeded = _seed()
    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    console: list[str] = []
    page.on(
        "console",
        lambda msg: (
            console.append(f"{page.url}: {msg.text}")
            if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text
            else None
        ),
    )
    violations: dict[str, list[str]] = {}

    def visit(url: str, ready: str | None = None) -> None:
        response = page.goto(f"{base}{url}", wait_until="load")
        assert response is not None and response.status < 400, (url, response and response.status)
        assert "script-src 'self'" in response.headers.get("content-security-policy", ""), url
        if ready:
            page.wait_for_selector(ready, timeout=15_000)
        found = page.evaluate("window.__csp")
        if found:
            violations[url] = found

    # signed out: both sign-in pages
    visit("/admin/login/")
    visit("/academy/login/")
    # sign in through the Academy form (a real POST through the lockout machinery)
    page.get_by_label("Username").fill("csp-root")
    page.get_by_label("Password").fill("pass-1234")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/academy/")

    for url, ready in _pages(seeded):
        visit(url, ready)

    # htmx works under the policy: the lesson editor's preview is fetched and swapped in
    visit(reverse("admin:courses_lesson_change", args=[seeded["lesson"].pk]))
    page.get_by_role("button", name="Preview the text above").click()
    page.wait_for_selector("#lesson-markdown-preview strong", timeout=15_000)
    found = page.evaluate("window.__csp")
    if found:
        violations["lesson preview (htmx)"] = found
    context.close()

    assert violations == {} and console == [], (violations, console)
