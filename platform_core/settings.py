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
from csp import constants as csp

from platform_core import connection_urls, security

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(os.environ.get("AISLE_ENV_FILE", BASE_DIR / ".env"), overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

DATA_DIR = Path(env("DATA_DIR", default=str(BASE_DIR / ".data"))).resolve()
ARTIFACTS_DIR = Path(env("ARTIFACTS_DIR", default=str(DATA_DIR / "artifacts"))).resolve()

# SECRET_KEY from the environment, else DATA_DIR/secret_key (random, 0600, created once); a
# key published with the code stops a DEBUG-off process here (platform_core.security).
SECRET_KEY = security.secret_key_load(
    configured=env("SECRET_KEY", default=""), data_dir=DATA_DIR, debug=DEBUG
)

# --- Deployment behind TLS (all off by default, so `make run` on http://127.0.0.1 works;
# docker-compose.yml turns them on; `manage.py check --deploy` passes with its values) -----------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Probes and scrapers talk plain HTTP inside the deployment's network.
SECURE_REDIRECT_EXEMPT = env.list(
    "SECURE_REDIRECT_EXEMPT", default=[r"^healthz$", r"^readyz$", r"^metrics$"]
)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# "HTTP_X_FORWARDED_PROTO,https" when a TLS-terminating proxy that overwrites that header is in
# front; never set it otherwise (a client could claim https).
_proxy_ssl_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) if len(_proxy_ssl_header) == 2 else None
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "platform_core.apps.PlatformConfig",
    # django.contrib.admin through an AdminConfig whose default_site is Aisle's admin site
    "platform_core.apps.AisleAdminConfig",
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
    "catalog.knowledge.apps.KnowledgeConfig",
    "catalog.copywriting.apps.CopywritingConfig",
    "catalog.images.apps.ImagesConfig",
    "training.apps.TrainingConfig",
    "recommend.apps.RecommendConfig",
    "recommend.experiments.apps.ExperimentsConfig",
    "recommend.analytics.apps.AnalyticsConfig",
    "recommend.insights.apps.InsightsConfig",
    "recommend.promotions.apps.PromotionsConfig",
    "courses.apps.CoursesConfig",
    # Security: login lockout, Content-Security-Policy, optional second factor for staff.
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
]

MIDDLEWARE = [
    "platform_core.metrics.MetricsMiddleware",  # first: times the whole request (/metrics)
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "training.middleware.JobNoticeMiddleware",
    "platform_core.admin_deadletters.DeadLetterNoticeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

ROOT_URLCONF = "platform_core.urls"
WSGI_APPLICATION = "platform_core.wsgi.application"
ASGI_APPLICATION = "platform_core.asgi.application"
AUTH_USER_MODEL = "platform_core.User"
LOGIN_URL = "/academy/login/"
# Where a sign-in lands when its `next` is missing or points off this site (Django refuses those):
# only the admin's login falls back to it (the Academy's names its dashboard); not Django's
# /accounts/profile/, which does not exist here.
LOGIN_REDIRECT_URL = "admin:index"
# django-axes first: it refuses a locked-out username/address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

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
DATABASES = {"default": connection_urls.database_settings(DATABASE_URL)}
if env("TEST_DATABASE_NAME", default=""):
    DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, Celery broker and result backend ----------------------------------------
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
REDIS_DB = env.int("REDIS_DB", default=connection_urls.redis_db(REDIS_URL))
REDIS_CACHE_URL = connection_urls.redis_url(REDIS_URL, db=REDIS_DB)
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
CELERY_BROKER_URL = connection_urls.celery_broker_url(REDIS_CACHE_URL)
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
    # buffer flushes and usage counters: a queue and worker of their own (run_platform, compose)
    "recommend.tasks.flush_*": {"queue": "flush"},
    "platform_core.tasks.buffers_reclaim": {"queue": "flush"},
    "platform_core.tasks.api_client_usage_flush": {"queue": "flush"},
    # profiles of shoppers with new events: beside the flushes, never behind a long job
    "recommend.tasks.refresh_profiles": {"queue": "profiles"},
    "platform_core.tasks.*": {"queue": "default"},
    "catalog.tasks.*": {"queue": "cpu"},
    "training.tasks.run_gpu_job": {"queue": "gpu"},
    "training.tasks.run_cpu_job": {"queue": "cpu"},
    "training.tasks.*": {"queue": "default"},
    "recommend.tasks.*": {"queue": "default"},
    "recommend.experiments.tasks.*": {"queue": "cpu"},  # results scan exposures and events
    "recommend.analytics.tasks.served_retention": {"queue": "cpu"},  # deletes in batches
    "courses.tasks.*": {"queue": "default"},
}
# Beat caches each running experiment's verdict this often (the admin dashboard reads the cache).
EXPERIMENT_VERDICT_MINUTES = env.int("EXPERIMENT_VERDICT_MINUTES", default=5)
# The insight jobs beat queues once a day, at INSIGHTS_DAILY_HOUR (server time zone, minute 41);
# an empty list turns the nightly refresh off.
INSIGHTS_DAILY_JOBS = env.list(
    "INSIGHTS_DAILY_JOBS", default=["shopper_segments", "churn_risk", "forecast_demand"]
)
CELERY_BEAT_SCHEDULE = {
    "training-reap-stale-jobs": {
        "task": "training.tasks.reap_stale_jobs",
        "schedule": timedelta(seconds=60),
    },
    "training-launch-due-schedules": {  # scheduled retraining (admin: Training → Job schedules)
        "task": "training.tasks.launch_due_schedules",
        "schedule": timedelta(seconds=60),
        "options": {"expires": 120},
    },
    "training-embed-incremental": {
        "task": "training.tasks.embed_incremental",
        "schedule": timedelta(minutes=env.int("EMBED_INCREMENTAL_MINUTES", default=5)),
    },
    "recommend-refresh-trending": {
        "task": "recommend.tasks.refresh_trending",
        "schedule": crontab(minute="*/10"),
    },
    "catalog-retention": {  # events / search logs past their retention (catalog.retention)
        "task": "catalog.tasks.retention_apply",
        "schedule": crontab(hour=3, minute=17),
    },
    # a flush that cannot run in time is dropped ("expires"), not piled up behind a dead worker
    "recommend-flush-searchlogs": {
        "task": "recommend.tasks.flush_searchlogs",
        "schedule": timedelta(seconds=5),
        "options": {"expires": 30},
    },
    "recommend-flush-exposures": {
        "task": "recommend.tasks.flush_exposures",
        "schedule": timedelta(seconds=5),
        "options": {"expires": 30},
    },
    # the dashboard reads experiments' verdicts from this cache, never computes them
    "experiments-refresh-verdicts": {
        "task": "recommend.experiments.tasks.refresh_verdicts",
        "schedule": timedelta(minutes=EXPERIMENT_VERDICT_MINUTES),
        "options": {"expires": 600},
    },
    "recommend-flush-served": {
        "task": "recommend.tasks.flush_served",
        "schedule": timedelta(seconds=5),
        "options": {"expires": 30},
    },
    # dashboards and analytics read these rollups (recommend.analytics.rollups): incremental
    "analytics-refresh-rollups": {
        "task": "recommend.analytics.tasks.refresh_rollups",
        "schedule": timedelta(seconds=env.int("ANALYTICS_ROLLUP_SECONDS", default=60)),
        "options": {"expires": 120},
    },
    # review sentiment (recommend.insights): queue score_reviews when new reviews arrived
    "insights-score-reviews": {
        "task": "recommend.insights.tasks.score_reviews_incremental",
        "schedule": timedelta(minutes=env.int("SCORE_REVIEWS_MINUTES", default=10)),
        "options": {"expires": 300},
    },
    # segments, churn risk, demand forecast: refreshed nightly (recommend.insights.services.daily)
    "insights-daily": {
        "task": "recommend.insights.tasks.daily_insights",
        "schedule": crontab(hour=env.int("INSIGHTS_DAILY_HOUR", default=2), minute=41),
        "options": {"expires": 3600},
    },
    # served requests past their retention; the rollups stay (recommend.analytics.retention)
    "analytics-served-retention": {
        "task": "recommend.analytics.tasks.served_retention",
        "schedule": crontab(hour=3, minute=37),
    },
    "platform-buffers-reclaim": {
        "task": "platform_core.tasks.buffers_reclaim",
        "schedule": timedelta(seconds=60),
        "options": {"expires": 120},
    },
    "platform-alerts-evaluate": {  # alert rules (platform_core.alerts): raise, email, resolve
        "task": "platform_core.tasks.alerts_evaluate",
        "schedule": timedelta(seconds=60),
        "options": {"expires": 120},
    },
    "platform-api-client-usage": {
        "task": "platform_core.tasks.api_client_usage_flush",
        "schedule": timedelta(seconds=60),
        "options": {"expires": 120},
    },
}

# --- Buffers (platform_core.buffers) and readiness ---------------------------------------------
# A buffer holds at most this many rows; past it a new row is dropped and counted (a request is
# never blocked by its log). A claim older than the stale age belongs to a flusher that died:
# beat puts its rows back. /readyz says "degraded" (still 200) past the two thresholds.
BUFFER_MAX_ROWS = env.int("BUFFER_MAX_ROWS", default=1_000_000)
BUFFER_CLAIM_STALE_SECONDS = env.int("BUFFER_CLAIM_STALE_SECONDS", default=300)
READYZ_BUFFER_BACKLOG_DEGRADED = env.int("READYZ_BUFFER_BACKLOG_DEGRADED", default=50_000)
READYZ_DEAD_LETTERS_DEGRADED = env.int("READYZ_DEAD_LETTERS_DEGRADED", default=0)

# --- Metrics (/metrics, platform_core.metrics) and alerts (platform_core.alerts) ---------------
# /metrics answers a bearer token, or callers on these networks without one (docs/operations.md).
METRICS_TOKEN = env("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
# gunicorn's workers write their figures there (run_platform and compose set it for the web
# server; platform_core.gunicorn_config empties it at start). Empty: one process, no sharing.
PROMETHEUS_MULTIPROC_DIR = env("PROMETHEUS_MULTIPROC_DIR", default="")
# New alerts are emailed (Django's EMAIL_* settings; the console backend by default) to these
# addresses and to the active staff holding "Receives alert emails".
ALERT_EMAILS = env.list("ALERT_EMAILS", default=[])
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="aisle@localhost")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")  # with EMAIL_BACKEND=...smtp.EmailBackend
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
# The search alerts wait for this many searches in their window (a quiet hour is no signal).
ALERT_MIN_SEARCHES = env.int("ALERT_MIN_SEARCHES", default=50)

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
    # bounded in size (API_MAX_BODY_BYTES) and depth; a too-big body is a JSON 413, bad JSON a 400
    "DEFAULT_PARSER_CLASSES": ["platform_core.api.parsers.JSONParser"],
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
    # three fields named "source" with different choices: each enum named, not hashed
    "ENUM_NAME_OVERRIDES": {
        "RecommendationSourceEnum": "recommend.api.serializers.RECOMMENDATION_SOURCES",
        "ClassifierSourceEnum": "recommend.api.serializers.CLASSIFIER_SOURCES",
        "PromotionLineSourceEnum": "recommend.promotions.api.serializers.LINE_SOURCES",
    },
    # security per endpoint kind (auth extensions) and the error responses every operation
    # shares (this hook) come from platform_core.api.schema
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "platform_core.api.schema.add_error_responses",
    ],
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
MEDIA_URL = "/media/"
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
# The largest JSON body the REST API reads, in bytes: a larger one is refused with a 413 JSON
# error before it is read (a batch of 1,000 events or products is far below it).
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=20 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Product images and search by image (catalog.images, docs/images.md) ----------------------
# Every stored or queried picture is decoded by Pillow and held to these limits (413 above them).
IMAGE_MAX_BYTES = env.int("AISLE_IMAGE_MAX_BYTES", default=5 * 1024 * 1024)
IMAGE_MAX_PIXELS = env.int("AISLE_IMAGE_MAX_PIXELS", default=25_000_000)
# Fetching image URLs is off; on, only from these hosts (no redirects, no IP literals).
IMAGE_URL_FETCH = env.bool("AISLE_IMAGE_URL_FETCH", default=False)
IMAGE_URL_HOSTS = env.list("AISLE_IMAGE_URL_HOSTS", default=[])
# A Hugging Face CLIP-style id or path for embed_images; empty: the in-platform dual encoder.
IMAGE_ENCODER = env("AISLE_IMAGE_ENCODER", default="")
# The demo store renders a picture per product at load (a few ms each).
DEMO_STORE_IMAGES = env.bool("AISLE_DEMO_STORE_IMAGES", default=True)

# --- Login lockout (django-axes) ---------------------------------------------------------------
# LOGIN_FAILURE_LIMIT failed sign-ins in a row for one username, or from one client address, lock
# that username / address out of /admin/login/ and /academy/login/ for LOGIN_LOCKOUT_MINUTES (the
# right password is refused meanwhile). A success resets the count. Unlock early with
# `manage.py unlock_login <username>` (or --ip); attempts and lockouts are in the admin under Axes.
AXES_ENABLED = env.bool("LOGIN_LOCKOUT_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "platform_core.security.client_ip"
AXES_LOCKOUT_CALLABLE = "platform_core.lockout.lockout_response"
AXES_VERBOSE = False
# How many reverse proxies that append to X-Forwarded-For stand in front of the app (0: none, the
# header is ignored; docker compose behind one TLS proxy: 1). Lockout counts per client address.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# The API throttle keys callers without a key by address with the same rule (DRF's default,
# None, would trust every X-Forwarded-For entry a client writes).
REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXY_COUNT

# --- Second factor for staff (django-otp), off by default --------------------------------------
# On: the admin asks staff for a one-time code from a TOTP app (devices under "TOTP devices" in
# the admin; a first code for a user with none: `manage.py addstatictoken <username>`).
STAFF_OTP_REQUIRED = env.bool("STAFF_OTP_REQUIRED", default=False)
OTP_TOTP_ISSUER = "Aisle"

# --- Content-Security-Policy (django-csp) ---------------------------------------------------------
# Everything from our own origin; no inline script or style anywhere (templates use classes in
# static CSS and static JS; what must stay inline takes `nonce="{{ request.csp_nonce }}"`).
# Images may be data: URIs (Swagger UI's icons, the admin's SVG widgets).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF, csp.NONCE],
        "style-src": [csp.SELF, csp.NONCE],
        "img-src": [csp.SELF, "data:"],
        "font-src": [csp.SELF, "data:"],
        "connect-src": [csp.SELF],
        "object-src": [csp.NONE],
        "base-uri": [csp.SELF],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Aisle ----------------------------------------------------------------------------------------
# A course slug that must be passed before a user may promote model versions or start/ship
# experiments. Empty: no gate.
PROMOTION_REQUIRED_COURSE = env("PROMOTION_REQUIRED_COURSE", default="")
SHOPPER_FORGET_MODE = env("SHOPPER_FORGET_MODE", default="delete")  # delete | anonymise
# Retention (catalog.retention, the daily "catalog-retention" beat task): events / search logs
# older than this many days are deleted in batches; 0 keeps them forever. With RETENTION_ARCHIVE
# they are first written to DATA_DIR/archive/<kind>-<time>.jsonl.gz.
EVENT_RETENTION_DAYS = env.int("EVENT_RETENTION_DAYS", default=0)
SEARCHLOG_RETENTION_DAYS = env.int("SEARCHLOG_RETENTION_DAYS", default=0)
RETENTION_ARCHIVE = env.bool("RETENTION_ARCHIVE", default=False)
# Served requests (recommend.analytics.retention, daily): deleted after this many days, 0 keeps
# them forever. Rollups keep the figures; an experiment's served requests stay with its exposures.
SERVED_REQUEST_RETENTION_DAYS = env.int("SERVED_REQUEST_RETENTION_DAYS", default=90)
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=10_000)
# A file import (import_catalog / import_events / the admin's Import page) queues a
# data_quality job once it committed (catalog.import_hooks, training.after_import).
DATA_QUALITY_AFTER_IMPORT = env.bool("DATA_QUALITY_AFTER_IMPORT", default=True)
JOB_HEARTBEAT_SECONDS = env.int("JOB_HEARTBEAT_SECONDS", default=5)
JOB_STALE_SECONDS = env.int("JOB_STALE_SECONDS", default=90)
# Torch threads for a job (0 = torch's default). Set 1 where workers share a small box with
# the web server: on 2 cores, 2 spinning torch threads trained 5-7x slower than 1.
JOB_TORCH_THREADS = env.int("JOB_TORCH_THREADS", default=0)
# Torch threads for query encoding in web processes: with 2 threads under load one query took
# ~0.5 s, with 1 thread 14 ms (bench/search_latency.py).
SERVING_TORCH_THREADS = env.int("SERVING_TORCH_THREADS", default=1)
# A quantised (int8) retriever may serve only while its NDCG@10 stays within this relative
# tolerance of its parent's, measured by its quantize job on the same queries.
QUANTIZED_NDCG_TOLERANCE = env.float("QUANTIZED_NDCG_TOLERANCE", default=0.01)
TRAINING_INTENT_LABELS = env.list("TRAINING_INTENT_LABELS", default=["browse", "buy", "review"])
# make run's intent step (training/bootstrap_intent.py): train on weak labels when the search log
# has at least INTENT_BOOTSTRAP_MIN_EXAMPLES training queries (a short run), else the rules.
INTENT_BOOTSTRAP_TRAIN = env.bool("INTENT_BOOTSTRAP_TRAIN", default=True)
INTENT_BOOTSTRAP_MIN_EXAMPLES = env.int("INTENT_BOOTSTRAP_MIN_EXAMPLES", default=200)
INTENT_BOOTSTRAP_MAX_EXAMPLES = env.int("INTENT_BOOTSTRAP_MAX_EXAMPLES", default=600)
INTENT_BOOTSTRAP_EPOCHS = env.int("INTENT_BOOTSTRAP_EPOCHS", default=2)
# The encoder a first retriever starts from. A catalogue in another language wants a
# multilingual one (e.g. sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2): any
# sentence-transformers id or local directory (docs/serving.md, Languages).
DEFAULT_ENCODER = env("DEFAULT_ENCODER", default="sentence-transformers/all-MiniLM-L6-v2")
# The catalogue's language for lexical search (catalog/segmentation.py): auto segments every run
# of a script written without spaces (Chinese with jieba, Japanese kana and Thai by character
# bigrams), zh the same, ja bigrams for Han too, en none. Changing it: reindex_search_text.
CATALOG_LANGUAGE = env("CATALOG_LANGUAGE", default="auto")
# The one generative model every feature that can use one shares (the retriever's synthetic
# queries; later the intent answers and product copy): a Hugging Face seq2seq or causal LM id or
# a local directory, loaded by training.ml.generator; empty: none (features fall back to rules).
AISLE_GENERATOR_MODEL = env("AISLE_GENERATOR_MODEL", default="")
# /api/v1/answers?summary=true: the generator summarises the passages found, with citations, in
# the web process; a request waits at most this long (docs/knowledge.md, Generated summary).
ANSWERS_SUMMARY_TIMEOUT_MS = env.int("ANSWERS_SUMMARY_TIMEOUT_MS", default=3000)
ANSWERS_SUMMARY_MAX_TOKENS = env.int("ANSWERS_SUMMARY_MAX_TOKENS", default=96)
# A detected support category multiplies its passages' fused score by 1 + this × probability.
# Off by default: on the demo store the boost cost answer MRR (docs/knowledge.md, Figures).
ANSWERS_CATEGORY_BOOST = env.float("ANSWERS_CATEGORY_BOOST", default=0.0)
DEMO_STORE = env.bool("DEMO_STORE", default=True)
HOST = env("HOST", default="127.0.0.1")
PORT = env.int("PORT", default=8000)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
