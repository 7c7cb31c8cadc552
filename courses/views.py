"""Academy portal pages. Thin: reads go through ``courses.selectors``, writes through
``courses.services``. Forms work without JavaScript; with htmx (``HX-Request``) the same views
answer with a partial that replaces part of the page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from courses import grading, labs, selectors, services
from courses.forms import PostForm, ThreadForm
from courses.models import Attempt, Certificate, Course, Lab, LearningPath, Lesson, Module, Thread
from courses.rendering import render_markdown, split_leading_heading


def _htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


class AcademyLoginView(auth_views.LoginView):
    template_name = "academy/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return reverse("academy:dashboard")


class AcademyLogoutView(auth_views.LogoutView):
    next_page = "academy:login"


# --- dashboard and catalogue ------------------------------------------------------------------------


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "academy/dashboard.html",
        {"board": selectors.dashboard(user=request.user), "nav": "dashboard"},
    )


@login_required
def catalogue(request: HttpRequest) -> HttpResponse:
    courses = list(selectors.published_courses())
    progress = selectors.courses_progress(user=request.user, courses=courses)
    paths = list(selectors.paths_with_courses())
    return render(
        request,
        "academy/catalogue.html",
        {
            "items": [progress[c.pk] for c in courses if c.pk in progress],
            "paths": paths,
            "nav": "catalogue",
        },
    )


@login_required
def path_detail(request: HttpRequest, path_slug: str) -> HttpResponse:
    path = get_object_or_404(selectors.paths_with_courses(), slug=path_slug)
    steps = list(path.steps.all())
    progress = selectors.courses_progress(user=request.user, courses=[s.course for s in steps])
    return render(
        request,
        "academy/path.html",
        {
            "path": path,
            "items": [
                selectors.for_path_step(progress[s.course_id], s.modules)
                for s in steps
                if s.course_id in progress
            ],
            "following": request.user.path_enrollments.filter(path=path).exists(),
            "nav": "catalogue",
        },
    )


@login_required
@require_POST
def path_follow(request: HttpRequest, path_slug: str) -> HttpResponse:
    path = get_object_or_404(LearningPath, slug=path_slug)
    if request.POST.get("action") == "unfollow":
        services.path_unfollow(user=request.user, path=path)
        messages.info(request, f"You no longer follow the {path.title} path.")
    else:
        services.path_follow(user=request.user, path=path)
        messages.success(
            request, f"You follow the {path.title} path: its courses are on your dashboard."
        )
    return redirect("academy:path", path_slug=path.slug)


def _course_or_404(slug: str) -> Course:
    try:
        return selectors.course_for_learner(slug)
    except Course.DoesNotExist:
        raise Http404("No such course.") from None


@login_required
def course_detail(request: HttpRequest, course_slug: str) -> HttpResponse:
    course = _course_or_404(course_slug)
    progress = selectors.course_progress(user=request.user, course=course)
    return render(
        request, "academy/course.html", {"course": course, "progress": progress, "nav": "catalogue"}
    )


@login_required
@require_POST
def course_enroll(request: HttpRequest, course_slug: str) -> HttpResponse:
    course = _course_or_404(course_slug)
    services.course_enroll(user=request.user, course=course)
    progress = selectors.course_progress(user=request.user, course=course)
    step = progress.next_step
    messages.success(request, f"You are enrolled in {course.title}.")
    if step is not None:
        return redirect(_step_url(course, step))
    return redirect("academy:course", course_slug=course.slug)


def _step_url(course: Course, step: selectors.Step) -> str:
    if step.kind == "lesson":
        return reverse("academy:lesson", args=[course.slug, step.module.slug, step.lesson.slug])
    if step.kind == "quiz":
        return reverse("academy:quiz", args=[course.slug, step.module.slug])
    return reverse("academy:lab", args=[step.lab.slug])


# --- lessons ----------------------------------------------------------------------------------------


def _lesson_or_404(course_slug: str, module_slug: str, lesson_slug: str) -> Lesson:
    return get_object_or_404(
        Lesson.objects.select_related("module__course"),
        slug=lesson_slug,
        module__slug=module_slug,
        module__course__slug=course_slug,
        module__course__published=True,
    )


def _neighbours(progress: selectors.CourseProgress, *, kind: str, obj) -> tuple:
    steps = progress.steps
    index = next(
        (i for i, s in enumerate(steps) if s.kind == kind and getattr(s, kind) == obj), None
    )
    if index is None:
        return None, None, None
    prev_step = steps[index - 1] if index > 0 else None
    next_step = steps[index + 1] if index + 1 < len(steps) else None
    return steps[index], prev_step, next_step


@login_required
def lesson(
    request: HttpRequest, course_slug: str, module_slug: str, lesson_slug: str
) -> HttpResponse:
    item = _lesson_or_404(course_slug, module_slug, lesson_slug)
    course = item.module.course
    progress = selectors.course_progress(user=request.user, course=course)
    step, prev_step, next_step = _neighbours(progress, kind="lesson", obj=item)
    heading, body = split_leading_heading(item.body)
    return render(
        request,
        "academy/lesson.html",
        {
            "course": course,
            "module": item.module,
            "lesson": item,
            "progress": progress,
            "step": step,
            "prev_step": prev_step,
            "next_step": next_step,
            "prev_url": _step_url(course, prev_step) if prev_step else None,
            "next_url": _step_url(course, next_step) if next_step else None,
            "heading": heading or item.title,
            "body_html": render_markdown(body),
            "threads": selectors.lesson_threads(lesson=item),
            "thread_form": ThreadForm(),
            "nav": "catalogue",
        },
    )


@login_required
@require_POST
def lesson_complete(
    request: HttpRequest, course_slug: str, module_slug: str, lesson_slug: str
) -> HttpResponse:
    item = _lesson_or_404(course_slug, module_slug, lesson_slug)
    course = item.module.course
    if request.POST.get("action") == "undo":
        services.lesson_uncomplete(user=request.user, lesson=item)
    else:
        services.lesson_complete(user=request.user, lesson=item)
    progress = selectors.course_progress(user=request.user, course=course)
    step, _, next_step = _neighbours(progress, kind="lesson", obj=item)
    if _htmx(request):
        return render(
            request,
            "academy/partials/lesson_complete.html",
            {
                "course": course,
                "module": item.module,
                "lesson": item,
                "progress": progress,
                "step": step,
                "next_step": next_step,
                "next_url": _step_url(course, next_step) if next_step else None,
                "oob": True,
            },
        )
    if progress.certificate and step and step.done:
        messages.success(
            request, f"Course complete — your certificate is ready: {progress.certificate.code}"
        )
    return redirect(
        "academy:lesson",
        course_slug=course.slug,
        module_slug=item.module.slug,
        lesson_slug=item.slug,
    )


# --- discussion -------------------------------------------------------------------------------------


@login_required
@require_POST
def thread_create(
    request: HttpRequest, course_slug: str, module_slug: str, lesson_slug: str
) -> HttpResponse:
    item = _lesson_or_404(course_slug, module_slug, lesson_slug)
    form = ThreadForm(request.POST)
    error = None
    if form.is_valid():
        try:
            services.thread_create(
                user=request.user,
                lesson=item,
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
            )
            form = ThreadForm()
        except ValidationError as exc:
            error = " ".join(exc.messages)
    else:
        error = "Give the thread a title and a message."
    if _htmx(request):
        return render(
            request,
            "academy/partials/discussion.html",
            {
                "lesson": item,
                "course": item.module.course,
                "module": item.module,
                "threads": selectors.lesson_threads(lesson=item),
                "thread_form": form,
                "error": error,
            },
        )
    if error:
        messages.error(request, error)
    return redirect(
        reverse("academy:lesson", args=[course_slug, module_slug, lesson_slug]) + "#discussion"
    )


def _thread_or_404(thread_id: int) -> Thread:
    return get_object_or_404(
        Thread.objects.select_related("lesson__module__course"),
        pk=thread_id,
        lesson__module__course__published=True,
    )


@login_required
def thread_detail(request: HttpRequest, thread_id: int) -> HttpResponse:
    thread = _thread_or_404(thread_id)
    thread = selectors.lesson_threads(lesson=thread.lesson).get(pk=thread.pk)
    return render(
        request,
        "academy/thread.html",
        {"thread": thread, "lesson": thread.lesson, "form": PostForm(), "nav": "catalogue"},
    )


@login_required
@require_POST
def post_create(request: HttpRequest, thread_id: int) -> HttpResponse:
    thread = _thread_or_404(thread_id)
    form = PostForm(request.POST)
    error = None
    if form.is_valid():
        try:
            services.post_create(user=request.user, thread=thread, body=form.cleaned_data["body"])
            form = PostForm()
        except ValidationError as exc:
            error = " ".join(exc.messages)
    else:
        error = "Write a message first."
    if _htmx(request):
        thread = selectors.lesson_threads(lesson=thread.lesson).get(pk=thread.pk)
        return render(
            request,
            "academy/partials/thread.html",
            {"thread": thread, "open": True, "error": error, "reply_form": form},
        )
    if error:
        messages.error(request, error)
    return redirect(reverse("academy:thread", args=[thread.pk]) + "#replies")


# --- quizzes ----------------------------------------------------------------------------------------


def _module_or_404(course_slug: str, module_slug: str) -> Module:
    return get_object_or_404(
        Module.objects.select_related("course", "quiz"),
        slug=module_slug,
        course__slug=course_slug,
        course__published=True,
    )


def _answers_from_post(quiz, data, *, seed: str) -> dict[int, list[int]]:
    """Read the answers back from the opaque field names and values of :func:`_question_views`:
    single and multiple choice post ``q<id>`` = choice tokens; an ordering question posts one
    ``q<id>_<token>`` = position per choice. Tokens of another learner's form decode to nothing."""
    answers: dict[int, list[int]] = {}
    for q in quiz.questions.all():
        key = f"q{q.pk}"
        by_token = grading.choices_by_token(settings.SECRET_KEY, seed, q.pk, len(q.choices))
        if q.kind == grading.ORDERING:
            positions = {}
            for token, index in by_token.items():
                raw = data.get(f"{key}_{token}", "")
                if raw.isdigit():
                    positions[index] = int(raw)
            answers[q.pk] = (
                grading.ordering_from_positions(positions)
                if len(positions) == len(q.choices)
                else []
            )
        else:
            answers[q.pk] = [by_token[v] for v in data.getlist(key) if v in by_token]
    return answers


def _question_views(quiz, *, seed: str, previous: dict | None = None) -> list[dict]:
    """The questions as the form shows them: choices shuffled per learner, each named by an
    opaque token (neither the field names nor their order give the answer away)."""
    previous = previous or {}
    out = []
    for n, q in enumerate(quiz.questions.order_by("order", "id"), start=1):
        order = grading.display_order(q.pk, len(q.choices), q.kind, seed=seed)
        given = previous.get(str(q.pk), [])
        position_of = {c: i + 1 for i, c in enumerate(given)} if q.kind == grading.ORDERING else {}
        out.append(
            {
                "q": q,
                "number": n,
                "choices": [
                    {
                        "token": grading.choice_token(settings.SECRET_KEY, seed, q.pk, i),
                        "text": q.choices[i],
                        "checked": i in given,
                        "position": position_of.get(i),
                    }
                    for i in order
                ],
                "positions": list(range(1, len(q.choices) + 1)),
            }
        )
    return out


@login_required
def quiz(request: HttpRequest, course_slug: str, module_slug: str) -> HttpResponse:
    module = _module_or_404(course_slug, module_slug)
    quiz_obj = getattr(module, "quiz", None)
    if quiz_obj is None:
        raise Http404("This module has no quiz.")
    course = module.course
    if request.method == "POST":
        answers = _answers_from_post(quiz_obj, request.POST, seed=str(request.user.pk))
        try:
            attempt = services.quiz_submit(user=request.user, quiz=quiz_obj, answers=answers)
        except services.QuizClosed as exc:
            messages.error(request, str(exc))
            return redirect("academy:quiz", course_slug=course.slug, module_slug=module.slug)
        return redirect(
            "academy:quiz_attempt",
            course_slug=course.slug,
            module_slug=module.slug,
            number=attempt.number,
        )
    state = selectors.quiz_state(user=request.user, quiz=quiz_obj)
    progress = selectors.course_progress(user=request.user, course=course)
    return render(
        request,
        "academy/quiz.html",
        {
            "course": course,
            "module": module,
            "quiz": quiz_obj,
            "state": state,
            "progress": progress,
            "questions": _question_views(quiz_obj, seed=str(request.user.pk)),
            "unread": selectors.unread_lessons(user=request.user, module=module),
            "nav": "catalogue",
        },
    )


@login_required
def quiz_attempt(
    request: HttpRequest, course_slug: str, module_slug: str, number: int
) -> HttpResponse:
    module = _module_or_404(course_slug, module_slug)
    quiz_obj = getattr(module, "quiz", None)
    if quiz_obj is None:
        raise Http404("This module has no quiz.")
    attempt = get_object_or_404(Attempt, quiz=quiz_obj, user=request.user, number=number)
    state = selectors.quiz_state(user=request.user, quiz=quiz_obj)
    course = module.course
    progress = selectors.course_progress(user=request.user, course=course)
    _, _, next_step = _neighbours(progress, kind="quiz", obj=quiz_obj)
    unread = selectors.unread_lessons(user=request.user, module=module)
    if unread:
        # a pass with lessons unread leads back to them, not past them
        next_step = next(
            (s for s in progress.steps if s.kind == "lesson" and s.lesson == unread[0]), next_step
        )
    feedback = []
    for n, item in enumerate(attempt.feedback, start=1):
        feedback.append({**item, "number": n})
    return render(
        request,
        "academy/quiz_result.html",
        {
            "course": course,
            "module": module,
            "quiz": quiz_obj,
            "attempt": attempt,
            "state": state,
            "feedback": feedback,
            "progress": progress,
            "correct_count": sum(1 for f in feedback if f["correct"]),
            "unread": unread,
            "next_url": _step_url(course, next_step) if next_step else None,
            "next_step": next_step,
            "nav": "catalogue",
        },
    )


# --- labs -------------------------------------------------------------------------------------------


def _lab_or_404(slug: str) -> Lab:
    return get_object_or_404(
        Lab.objects.select_related("module__course"), slug=slug, module__course__published=True
    )


def _lab_context(request: HttpRequest, lab_obj: Lab) -> dict:
    attempt = selectors.active_lab_attempt(user=request.user, lab=lab_obj)
    return {
        "lab": lab_obj,
        "course": lab_obj.module.course,
        "module": lab_obj.module,
        "attempt": attempt,
        "passed": selectors.lab_passed(user=request.user, lab=lab_obj),
        "result": selectors.latest_lab_result(user=request.user, lab=lab_obj),
        "jobs": selectors.my_jobs_in_queue(
            user=request.user, since=attempt.started_at if attempt else None
        )
        if attempt
        else [],
        "has_download": lab_obj.check_name in labs.DOWNLOADS,
        "download_notice": labs.DOWNLOAD_NOTICES.get(lab_obj.check_name, labs.CSV_NOTICE),
    }


@login_required
def lab(request: HttpRequest, lab_slug: str) -> HttpResponse:
    lab_obj = _lab_or_404(lab_slug)
    context = _lab_context(request, lab_obj)
    progress = selectors.course_progress(user=request.user, course=lab_obj.module.course)
    context.update(
        {
            "instructions_html": render_markdown(lab_obj.instructions),
            "progress": progress,
            "nav": "catalogue",
        }
    )
    return render(request, "academy/lab.html", context)


@login_required
@require_POST
def lab_start(request: HttpRequest, lab_slug: str) -> HttpResponse:
    lab_obj = _lab_or_404(lab_slug)
    services.lab_start(user=request.user, lab=lab_obj)
    messages.success(
        request,
        "Lab started: you have the lab's permissions in the admin until you pass or leave it.",
    )
    return redirect("academy:lab", lab_slug=lab_obj.slug)


@login_required
@require_POST
def lab_check(request: HttpRequest, lab_slug: str) -> HttpResponse:
    lab_obj = _lab_or_404(lab_slug)
    try:
        result = services.lab_check(
            user=request.user, lab=lab_obj, answer=request.POST.get("answer")
        )
    except services.LabNotStarted as exc:
        if _htmx(request):
            return HttpResponse(f'<p class="notice notice-error" role="alert">{exc}</p>')
        messages.error(request, str(exc))
        return redirect("academy:lab", lab_slug=lab_obj.slug)
    if _htmx(request):
        context = _lab_context(request, lab_obj)
        context["just_checked"] = result
        return render(request, "academy/partials/lab_status.html", context)
    if result.passed:
        messages.success(request, "Lab passed!")
    return redirect("academy:lab", lab_slug=lab_obj.slug)


@login_required
@require_POST
def lab_leave(request: HttpRequest, lab_slug: str) -> HttpResponse:
    lab_obj = _lab_or_404(lab_slug)
    services.lab_leave(user=request.user, lab=lab_obj)
    messages.info(
        request,
        "You left the lab; its admin permissions were taken back. You can start again any time.",
    )
    return redirect("academy:lab", lab_slug=lab_obj.slug)


@login_required
def lab_queue(request: HttpRequest, lab_slug: str) -> HttpResponse:
    lab_obj = _lab_or_404(lab_slug)
    return render(request, "academy/partials/lab_queue.html", _lab_context(request, lab_obj))


@login_required
def lab_download(request: HttpRequest, lab_slug: str) -> HttpResponse:
    lab_obj = _lab_or_404(lab_slug)
    maker = labs.DOWNLOADS.get(lab_obj.check_name)
    if maker is None:
        raise Http404("This lab has no file to download.")
    try:
        lab_file = maker(request.user)
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("academy:lab", lab_slug=lab_obj.slug)
    content_type = getattr(lab_file, "content_type", "text/csv; charset=utf-8")
    response = HttpResponse(lab_file.content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{lab_file.filename}"'
    return response


# --- certificates -----------------------------------------------------------------------------------


@login_required
def certificates(request: HttpRequest) -> HttpResponse:
    mine = Certificate.objects.filter(user=request.user).select_related("course")
    return render(
        request, "academy/certificates.html", {"certificates": mine, "nav": "certificates"}
    )


def certificate_verify(request: HttpRequest, code: str) -> HttpResponse:
    """Public: anyone with the code can check that the certificate is genuine."""
    certificate = (
        Certificate.objects.select_related("course").filter(code=code.strip().upper()).first()
    )
    status = 200 if certificate else 404
    return render(
        request,
        "academy/certificate.html",
        {"certificate": certificate, "code": code},
        status=status,
    )
