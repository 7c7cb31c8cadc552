"""Academy portal URLs, mounted under /academy/."""

from django.urls import path

from courses import views

app_name = "academy"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", views.AcademyLoginView.as_view(), name="login"),
    path("logout/", views.AcademyLogoutView.as_view(), name="logout"),
    path("courses/", views.catalogue, name="catalogue"),
    path("courses/<slug:course_slug>/", views.course_detail, name="course"),
    path("courses/<slug:course_slug>/enrol/", views.course_enroll, name="course_enroll"),
    path("courses/<slug:course_slug>/<slug:module_slug>/quiz/", views.quiz, name="quiz"),
    path(
        "courses/<slug:course_slug>/<slug:module_slug>/quiz/attempts/<int:number>/",
        views.quiz_attempt,
        name="quiz_attempt",
    ),
    path(
        "courses/<slug:course_slug>/<slug:module_slug>/<slug:lesson_slug>/",
        views.lesson,
        name="lesson",
    ),
    path(
        "courses/<slug:course_slug>/<slug:module_slug>/<slug:lesson_slug>/complete/",
        views.lesson_complete,
        name="lesson_complete",
    ),
    path(
        "courses/<slug:course_slug>/<slug:module_slug>/<slug:lesson_slug>/threads/",
        views.thread_create,
        name="thread_create",
    ),
    path("threads/<int:thread_id>/", views.thread_detail, name="thread"),
    path("threads/<int:thread_id>/reply/", views.post_create, name="post_create"),
    path("paths/<slug:path_slug>/", views.path_detail, name="path"),
    path("paths/<slug:path_slug>/follow/", views.path_follow, name="path_follow"),
    path("labs/<slug:lab_slug>/", views.lab, name="lab"),
    path("labs/<slug:lab_slug>/start/", views.lab_start, name="lab_start"),
    path("labs/<slug:lab_slug>/check/", views.lab_check, name="lab_check"),
    path("labs/<slug:lab_slug>/leave/", views.lab_leave, name="lab_leave"),
    path("labs/<slug:lab_slug>/queue/", views.lab_queue, name="lab_queue"),
    path("labs/<slug:lab_slug>/download/", views.lab_download, name="lab_download"),
    path("certificates/", views.certificates, name="certificates"),
    path("certificates/<str:code>/", views.certificate_verify, name="certificate"),
]
