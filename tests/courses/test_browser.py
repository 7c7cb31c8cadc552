"""A learner's journey in a real browser (Playwright driving Debian's Chromium): sign in, open a
course, complete a lesson, fail then pass a quiz, post in the discussion, do the import lab in the
real admin (download the file, upload it, read the rejections, upload the fixed file), run the
check, and open the certificate. Screenshots go to test-artifacts/academy/."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tests.conftest import CHROMIUM

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "academy"
COURSE = "responsible-and-efficient-ai"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's Chromium is not installed: apt-get install -y chromium",
    ),
]


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
    page = context.new_page()
    outside: list[str] = []

    def only_local(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:  # the portal must load nothing from the internet
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.outside_requests, page.dialogs = outside, dialogs
    yield page
    context.close()


def _prepare(learner):
    """The shipped curriculum, the catalogue's categories, and a learner who has already done
    everything in the last course except one lesson and one quiz."""
    from catalog.services.imports import catalog_import_file
    from courses import curriculum_sync, services
    from courses.models import Course, LearningPath, Quiz
    from tests.courses.test_lab_checks import CATEGORIES_CSV

    curriculum_sync.curriculum_load(root=Path(services.__file__).parent / "curriculum")
    assert catalog_import_file(
        kind="categories", source=CATEGORIES_CSV, fmt="csv", filename="c.csv"
    ).ok
    services.path_follow(user=learner, path=LearningPath.objects.get(slug="merchandiser"))
    course = Course.objects.get(slug=COURSE)
    modules = list(course.modules.order_by("order"))
    for module in modules:
        for lesson in module.lessons.order_by("order"):
            if not (module == modules[0] and lesson.order == 3):
                services.lesson_complete(user=learner, lesson=lesson)
    for quiz in Quiz.objects.filter(module__in=modules[1:]):
        services.quiz_submit(
            user=learner, quiz=quiz, answers={q.pk: q.correct for q in quiz.questions.all()}
        )
    first = Course.objects.get(slug="language-models-for-commerce")
    for lesson in first.modules.order_by("order").first().lessons.all():
        services.lesson_complete(user=learner, lesson=lesson)
    return course, modules[0]


def _shot(page, name: str, *, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.evaluate("window.scrollTo(0, 0); document.activeElement && document.activeElement.blur()")
    page.screenshot(path=str(path), full_page=full_page)
    return path


@pytest.mark.django_db(transaction=True)
def test_learner_journey(page, live_server, tmp_path):
    from courses.models import Attempt, Certificate, Lab, LabAttempt, Post
    from tests.courses.test_lab_checks import fix_lab_csv
    from tests.factories import UserFactory

    learner = UserFactory(
        username="maya", first_name="Maya", last_name="Okafor", role="learner", is_staff=False
    )
    course, privacy = _prepare(learner)
    quiz = privacy.quiz
    base = live_server.url

    # Sign in; the skip link is the first thing the keyboard reaches.
    page.goto(f"{base}/academy/")
    assert page.url.startswith(f"{base}/academy/login/")
    page.get_by_label("Username").fill("maya")
    page.get_by_label("Password").fill("pass-1234")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/academy/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    assert page.get_by_role("heading", name="Welcome back, Maya").is_visible()
    assert page.get_by_text("Next up").is_visible()
    _shot(page, "dashboard")

    # Open the course and the one lesson left; mark it complete (htmx swaps the box).
    page.get_by_role("link", name="Courses", exact=True).click()
    page.get_by_role("link", name=re.compile("Responsible and efficient AI")).first.click()
    assert page.get_by_role("heading", name="Responsible and efficient AI").is_visible()
    lesson = privacy.lessons.get(order=3)
    page.locator(".module-card").first.get_by_role(
        "link", name=re.compile(re.escape(lesson.title))
    ).click()
    page.wait_for_selector("#mark-complete")
    _shot(page, "lesson")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: one column, nothing cut off
    _shot(page, "lesson-phone", full_page=False)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1360, "height": 900})
    page.click("#mark-complete")
    page.wait_for_selector("text=Lesson completed")
    assert page.locator("#course-sidebar [aria-current=page] .step-icon").count() == 1

    # Discussion under the lesson: a post with a script renders as text.
    page.get_by_label("Topic").fill("Is a hashed email anonymous?")
    page.get_by_label("Message").fill(
        'I think not. <script>alert("pwned")</script> **Pseudonymous**, right?'
    )
    page.get_by_role("button", name="Post thread").click()
    page.wait_for_selector("summary:has-text('Is a hashed email anonymous?')")
    page.click("summary:has-text('Is a hashed email anonymous?')")
    assert page.locator(".post-body strong", has_text="Pseudonymous").is_visible()
    assert page.locator(".post-body script").count() == 0 and page.dialogs == []
    assert Post.objects.filter(thread__lesson=lesson, body__contains="<script>").exists()

    # The quiz: submit blank (fail), read which questions were wrong (the explanations wait for
    # a pass or the last attempt), wait out the cool-down, then pass.
    page.goto(f"{base}/academy/courses/{COURSE}/{privacy.slug}/quiz/")
    page.click("#submit-quiz")
    page.wait_for_selector("text=Not passed yet")
    assert page.locator(".feedback.wrong").count() == quiz.questions.count()
    assert page.locator(".explanation").count() == 0
    page.goto(f"{base}/academy/courses/{COURSE}/{privacy.slug}/quiz/")
    assert page.locator("#quiz-cooldown").is_visible()
    first = Attempt.objects.get(user=learner, quiz=quiz)
    Attempt.objects.filter(pk=first.pk).update(created_at=first.created_at - timedelta(minutes=11))
    page.reload()
    for q in quiz.questions.all():
        if q.kind == "ordering":
            for position, index in enumerate(q.correct, start=1):
                page.get_by_label(f"Position of: {q.choices[index]}").select_option(str(position))
        else:
            for index in q.correct:
                page.get_by_label(q.choices[index], exact=True).check()
    _shot(page, "quiz")
    page.click("#submit-quiz")
    page.wait_for_selector("text=Passed — well done!")
    _shot(page, "quiz-result")

    # The lab (in the data-quality module): start it, download the file, import it in the real
    # admin, fix it, check.
    lab = Lab.objects.get(slug="import-fix-rejected-rows")
    assert lab.module.slug == "data-quality-and-value"
    page.goto(f"{base}/academy/labs/{lab.slug}/")
    page.click("#start-lab")
    page.wait_for_selector("#run-check")
    with page.expect_download() as download_info:
        page.click("#download-lab-file")
    original = tmp_path / "lab.csv"
    download_info.value.save_as(original)
    assert original.read_text().count("\n") == 201

    page.goto(f"{base}/admin/catalog/product/import/")
    page.set_input_files("input[type=file]", str(original))
    page.click("input[type=submit]")
    page.wait_for_selector("#import-report")
    assert "REJECTED" in page.inner_text("#import-report")
    assert page.locator("#import-errors tbody tr").count() == 20
    fixed = tmp_path / "lab-fixed.csv"
    fixed.write_bytes(
        fix_lab_csv(
            original.read_bytes(),
            {"running-shoes", "rain-jackets", "coffee-grinders", "chef-knives"},
        )
    )
    page.set_input_files("input[type=file]", str(fixed))
    page.click("input[type=submit]")
    page.wait_for_selector("#import-report")
    assert "200 created" in page.inner_text("#import-report") or "imported" in page.inner_text(
        "#import-report"
    )
    page.goto(f"{base}/admin/training/job/")  # not this lab's page: the admin refuses
    assert "/admin/login/" in page.url

    page.goto(f"{base}/academy/labs/{lab.slug}/")
    page.click("#run-check")
    page.wait_for_selector("text=Check passed")
    assert page.locator(".check-item.ok").count() == 3
    _shot(page, "lab")
    assert LabAttempt.objects.get(user=learner, lab=lab).status == "passed"

    # Every lesson, quiz and lab done: the certificate exists and its public page verifies it.
    certificate = Certificate.objects.get(user=learner, course=course)
    assert certificate.issued_at <= timezone.now()
    page.goto(f"{base}/academy/certificates/")
    page.get_by_role("link", name="Open public page").click()
    page.wait_for_selector("text=Verified: this certificate is genuine")
    assert (
        page.get_by_text("Maya Okafor").is_visible()
        and page.get_by_text(certificate.code).first.is_visible()
    )
    _shot(page, "certificate")

    page.goto(f"{base}/academy/")
    _shot(page, "dashboard-after")
    assert page.outside_requests == []
    for name in ("dashboard", "lesson", "quiz", "quiz-result", "lab", "certificate"):
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 10_000


@pytest.mark.django_db(transaction=True)
def test_author_previews_a_lesson_and_reads_the_report(page, live_server):
    from courses import services
    from courses.models import Course, Lesson
    from tests.factories import UserFactory

    learner = UserFactory(username="ravi", role="learner", is_staff=False)
    _prepare(learner)
    UserFactory(username="author", is_superuser=True)
    base = live_server.url
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", "author")
    page.fill("#id_password", "pass-1234")
    page.click("input[type=submit]")

    lesson = Lesson.objects.get(slug="cosine-similarity")
    page.goto(f"{base}/admin/courses/lesson/{lesson.pk}/change/")
    page.fill("#id_body", "# Draft\n\nA **bold** claim. <script>alert('x')</script>")
    page.get_by_role("button", name="Preview the text above").click()
    page.wait_for_selector("#lesson-markdown-preview strong")
    assert page.inner_text("#lesson-markdown-preview strong") == "bold" and page.dialogs == []
    assert page.locator("#lesson-markdown-preview script").count() == 0

    course = Course.objects.get(slug="responsible-and-efficient-ai")
    services.course_enroll(
        user=UserFactory(username="newcomer", role="learner", is_staff=False), course=course
    )
    page.goto(f"{base}/admin/courses/course/{course.pk}/report/")
    assert page.locator("svg[role=img] rect").count() > 8
    assert page.get_by_text("completion rate").is_visible()
    _shot(page, "admin-report")
    assert page.outside_requests == []
