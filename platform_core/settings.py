"""Aisle settings: every value that differs between machines comes from the environment.

The README's "Configuration" table lists each variable. DATABASE_URL / REDIS_URL are exported
by ``manage.py`` (embedded servers) when the operator did not set them; settings never start
servers themselves.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab

from platform_core import urlconf

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(os.environ.get("AISLE_ENV_FILE", BASE_DIR / ".env"), overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="aisle-dev-insecure-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

DATA_DIR = Path(env("DATA_DIR", default=str(BASE_DIR / ".data"))).resolve()
ARTIFACTS_DIR = Path(env("ARTIFACTS_DIR", default=str(DATA_DIR / "artifacts"))).resolve()

INSTALLED_APPS = [
    "platform_core.apps.PlatformConfig",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "corsheaders",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "catalog.apps.CatalogConfig",
    "training.apps.TrainingConfig",
    "recommend.apps.RecommendConfig",
    "courses.apps.CoursesConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "training.middleware.JobNoticeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "platform_core.urls"
WSGI_APPLICATION = "platform_core.wsgi.application"
ASGI_APPLICATION = "platform_core.asgi.application"
AUTH_USER_MODEL = "platform_core.User"
LOGIN_URL = "/academy/login/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database (PostgreSQL + pgvector, always) -------------------------------------------------
DATABASE_URL = env("DATABASE_URL", default="")
if not DATABASE_URL:
    # manage.py, the run command and the test suite export it (embedded servers); a bare
    # import (e.g. a linter) gets a placeholder that fails clearly on first use.
    DATABASE_URL = "postgresql://postgres@/aisle?host=/nonexistent-run-through-manage.py"
DATABASES = {"default": urlconf.database_settings(DATABASE_URL)}
if env("TEST_DATABASE_NAME", default=""):
    DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, Celery broker and result backend ----------------------------------------
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
REDIS_DB = env.int("REDIS_DB", default=urlconf.redis_db(REDIS_URL))
REDIS_CACHE_URL = urlconf.redis_url(REDIS_URL, db=REDIS_DB)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_CACHE_URL,
        "KEY_PREFIX": "aisle",
        "TIMEOUT": 300,
    }
}

# --- Celery ----------------------------------------------------------------------------------
# The longest job (a full fine-tune of a large catalogue) must finish inside the visibility
# timeout, or Redis hands the still-running task to another worker.
JOB_MAX_SECONDS = env.int("JOB_MAX_SECONDS", default=12 * 3600)
CELERY_BROKER_URL = urlconf.celery_broker_url(REDIS_CACHE_URL)
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": JOB_MAX_SECONDS + 3600}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": JOB_MAX_SECONDS + 3600}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Routing by task name: each app names its queue in the task decorator too; this table is the
# single place that says which queue a task family uses.
CELERY_TASK_ROUTES = {
    "platform_core.tasks.*": {"queue": "default"},
    "catalog.tasks.*": {"queue": "cpu"},
    "training.tasks.run_gpu_job": {"queue": "gpu"},
    "training.tasks.run_cpu_job": {"queue": "cpu"},
    "training.tasks.*": {"queue": "default"},
    "recommend.tasks.*": {"queue": "default"},
    "courses.tasks.*": {"queue": "default"},
}
CELERY_BEAT_SCHEDULE = {
    "training-reap-stale-jobs": {
        "task": "training.tasks.reap_stale_jobs",
        "schedule": timedelta(seconds=60),
    },
    "training-embed-incremental": {
        "task": "training.tasks.embed_incremental",
        "schedule": timedelta(minutes=env.int("EMBED_INCREMENTAL_MINUTES", default=5)),
    },
    "recommend-refresh-trending": {
        "task": "recommend.tasks.refresh_trending",
        "schedule": crontab(minute="*/10"),
    },
    "recommend-flush-exposures": {
        "task": "recommend.tasks.flush_exposures",
        "schedule": timedelta(seconds=10),
    },
}

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "platform_core.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["platform_core.api.permissions.DenyAll"],
    "DEFAULT_THROTTLE_CLASSES": ["platform_core.api.throttling.ApiClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "client": env("API_THROTTLE_RATE", default="6000/min"),
        "events": env("API_EVENTS_THROTTLE_RATE", default="600/min"),
    },
    "EXCEPTION_HANDLER": "platform_core.api.exceptions.json_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Aisle API",
    "DESCRIPTION": "Search, recommendations, similar items and shopper events for storefronts; "
    "training jobs for staff. Storefront calls send `Authorization: Api-Key <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # the ApiKey security scheme comes from platform_core.api.schema (an auth extension)
}

# CORS: only origins listed on active `public` API clients (checked per request, see
# platform_core.api.cors); nothing is allowed by default.
CORS_ALLOWED_ORIGINS: list[str] = []
CORS_URLS_REGEX = r"^/api/v1/.*$"
CORS_ALLOW_HEADERS = ["authorization", "content-type", "x-request-id"]

# --- Static files ------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing root
STATICFILES_DIRS = [BASE_DIR / "platform_core" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "media"
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Aisle ----------------------------------------------------------------------------------------
# A course slug that must be passed before a user may promote model versions or start/ship
# experiments. Empty: no gate.
PROMOTION_REQUIRED_COURSE = env("PROMOTION_REQUIRED_COURSE", default="")
SHOPPER_FORGET_MODE = env("SHOPPER_FORGET_MODE", default="delete")  # delete | anonymise
JOB_HEARTBEAT_SECONDS = env.int("JOB_HEARTBEAT_SECONDS", default=5)
JOB_STALE_SECONDS = env.int("JOB_STALE_SECONDS", default=90)
# Torch threads for a job (0 = torch's default). Set 1 where workers share a small box with
# the web server: on 2 cores, 2 spinning torch threads trained 5-7x slower than 1.
JOB_TORCH_THREADS = env.int("JOB_TORCH_THREADS", default=0)
# Torch threads for query encoding in web processes: with 2 threads under load one query took
# ~0.5 s, with 1 thread 14 ms (bench/search_latency.py).
SERVING_TORCH_THREADS = env.int("SERVING_TORCH_THREADS", default=1)
TRAINING_INTENT_LABELS = env.list("TRAINING_INTENT_LABELS", default=["browse", "buy", "review"])
DEFAULT_ENCODER = env("DEFAULT_ENCODER", default="sentence-transformers/all-MiniLM-L6-v2")
DEMO_STORE = env.bool("DEMO_STORE", default=True)
HOST = env("HOST", default="127.0.0.1")
PORT = env.int("PORT", default=8000)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
