"""Settings shared by every environment. Secrets have no defaults here."""

from config.env import BASE_DIR, env

# GENERAL
# https://docs.djangoproject.com/en/5.2/ref/settings/
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY")
TIME_ZONE = "UTC"
USE_TZ = True
LANGUAGE_CODE = "en-us"
USE_I18N = True

# Workspaces live at <slug>.<BASE_DOMAIN>; the bare BASE_DOMAIN (and the loopback
# names, so `curl 127.0.0.1:8000/api/...` works) is the public site.
BASE_DOMAIN = env("TOLLGATE_BASE_DOMAIN", default="localhost").lower()
PUBLIC_HOSTS = [BASE_DOMAIN, *env.list("TOLLGATE_PUBLIC_HOSTS", default=["127.0.0.1", "[::1]", "localhost"])]
# Host checking is tenants.middleware's job: it serves only the public hosts, workspace
# subdomains and verified custom domains (anything else is a 404 before any view runs),
# and custom domains can't be listed here in advance.
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["*"])
# The scheme and port pages use when they link from one host to another
# (public site -> workspace subdomain): "http://{host}:8000" in development.
SITE_URL_TEMPLATE = env("TOLLGATE_SITE_URL_TEMPLATE", default="https://{host}")

# DATABASES (django-tenants on psycopg 3)
# https://django-tenants.readthedocs.io/en/latest/install.html
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TENANT_MODEL = "tenants.Workspace"
TENANT_DOMAIN_MODEL = "tenants.Domain"
# The migrated template schema new workspaces are made from: `migrate_schemas` keeps it in
# step and writes it out as a script that workspace_create replays (tenants/provisioning).
TENANT_CREATION_FAKES_MIGRATIONS = True
TENANT_BASE_SCHEMA = "tollgate_template"
# Set search_path once per schema switch, not before every query (django-tenants).
TENANT_LIMIT_SET_CALLS = True
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls"

SHARED_APPS = [
    # tenants before django_tenants: its migrate/migrate_schemas also keep the template schema.
    "tenants",
    "django_tenants",
    "core",  # below every app: errors, Redis, caches, operations (backups)
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc as our own static files (config/api_docs.py)
    "auditlog",
    "accounts",
    "apikeys",
    "djstripe",  # Stripe's objects mirrored in the public schema; webhooks (config/settings/stripe.py)
    "billing",
    "metering",  # public: policies, spool, top-ups; workspace schemas: usage events (metering/models.py)
    "auditing",
    "dashboard",  # the shell, overview, settings and the public site's own pages
    "django_htmx",
    "operators",  # operator tokens and the platform API (/api/platform/v1/)
    "django_prometheus",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "auditlog",
    "metering",
    "auditing",
    "branding",
]
INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "config.middleware.RequestIdMiddleware",
    # A metered request's status and latency, after its response (metering/analytics/recorder.py).
    "metering.analytics.middleware.RequestAnalyticsMiddleware",
    # Security headers and CSP wrap tenant resolution, so its own 404/403 pages carry them too.
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tenants.middleware.TenantMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.MembershipMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",  # request.htmx: a page answers an htmx request with its fragment
    "auditlog.middleware.AuditlogMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
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
                "accounts.context_processors.workspace",
                "dashboard.context_processors.shell",  # navigation, the operator's name and contact
                "branding.context_processors.branding",
            ],
        },
    },
]
WSGI_APPLICATION = "config.wsgi.application"

# THE OPERATOR: named on the public site, the footer, the Terms of Service and Privacy Policy
# (templates/legal/). Set them to your company's before going live.
TOLLGATE_PRODUCT_NAME = env("TOLLGATE_PRODUCT_NAME", default="Tollgate")
TOLLGATE_COMPANY_NAME = env("TOLLGATE_COMPANY_NAME", default="Tollgate operator")
TOLLGATE_CONTACT_EMAIL = env("TOLLGATE_CONTACT_EMAIL", default="support@localhost")
TOLLGATE_COMPANY_ADDRESS = env("TOLLGATE_COMPANY_ADDRESS", default="")
# The date the Terms and the Privacy Policy last changed, shown on both (ISO date).
TOLLGATE_LEGAL_UPDATED = env("TOLLGATE_LEGAL_UPDATED", default="2026-12-04")

# AUTHENTICATION
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 3
INVITATION_TTL_DAYS = 7
SIGNUP_TTL_HOURS = 24  # how long a signup's emailed link works
# Throttles (django-ratelimit syntax: count/period)
LOGIN_RATE_PER_IP = env("TOLLGATE_LOGIN_RATE_PER_IP", default="20/5m")
LOGIN_RATE_PER_EMAIL = env("TOLLGATE_LOGIN_RATE_PER_EMAIL", default="5/5m")
PASSWORD_RESET_RATE = env("TOLLGATE_PASSWORD_RESET_RATE", default="5/h")
# Each signup sends an email: per IP against bulk signups, per address against mail-bombing someone.
SIGNUP_RATE_PER_IP = env("TOLLGATE_SIGNUP_RATE_PER_IP", default="10/h")
SIGNUP_RATE_PER_EMAIL = env("TOLLGATE_SIGNUP_RATE_PER_EMAIL", default="3/h")
RATELIMIT_VIEW = "accounts.views.throttled"
RATELIMIT_USE_CACHE = "default"

# SESSIONS AND COOKIES (per host: each workspace host has its own session)
SESSION_ENGINE = "accounts.sessions"  # cached_db, whose rows say whose they are (accounts/sessions.py)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# REDIS: cache, Celery broker, metering and cache invalidation
REDIS_URL = env("REDIS_URL")
# REDIS_URL names a node of a Redis Cluster: metering's client speaks Cluster (core/redis.py).
# Celery's broker and Django's cache don't: give them a plain Redis (CELERY_BROKER_URL,
# TOLLGATE_CACHE_REDIS_URL). docs/scaling.md
REDIS_CLUSTER = env.bool("TOLLGATE_REDIS_CLUSTER", default=False)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env("TOLLGATE_CACHE_REDIS_URL", default=REDIS_URL),
        "KEY_PREFIX": "tg",
    }
}

# STATIC
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = BASE_DIR / "var" / "media"

# EMAIL (console by default; SMTP when EMAIL_URL is set, e.g. smtp+tls://user:pw@host:587)
_email = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(_email)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Tollgate <noreply@localhost>")

# DJANGO REST FRAMEWORK
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apikeys.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["core.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],  # DRF's, nesting bounded
    "EXCEPTION_HANDLER": "core.problems.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "core.openapi.AutoSchema",  # problems and rate-limit headers per operation
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tollgate API",
    "DESCRIPTION": (
        "Metered, multi-tenant API. Authenticate with `Authorization: Bearer <key>` or `X-API-Key: <key>`; the key "
        "names its workspace.\n\n"
        "Every response carries `X-Request-ID` (quote it to support). Errors are RFC 9457 problems "
        "(`application/problem+json`) with a stable `code`: each operation lists the codes it may answer. "
        "Metered calls answer `RateLimit-Policy`, `RateLimit` and `X-RateLimit-*`; a 429 adds `Retry-After`. "
        "Start with docs/QUICK_START.md."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc from our static files, not a CDN: our CSP allows only our own scripts,
    # and an offline install reaches no CDN (config/api_docs.py).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # validatorUrl: Swagger UI would otherwise send the schema to validator.swagger.io for a badge.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

# API KEYS
# A server-side pepper for key digests (HMAC-SHA-256). Changing it invalidates every key.
API_KEY_PEPPER = env("TOLLGATE_API_KEY_PEPPER", default="") or SECRET_KEY
# Longest an in-process cached key or host lives even without an invalidation message.
AUTH_CACHE_TTL = env.int("TOLLGATE_AUTH_CACHE_TTL", default=300)

# IDEMPOTENCY: how long the answer to a POST sent with an Idempotency-Key is kept, for its
# retries (core/idempotency.py; Stripe keeps its own for 24 hours too).
IDEMPOTENCY_TTL_SECONDS = env.int("TOLLGATE_IDEMPOTENCY_TTL_SECONDS", default=24 * 3600)

# METERING
METERING_FAIL_MODE = env("METERING_FAIL_MODE", default="open")
# Demo mode (metering/demo.py): keyless calls to an endpoint that allows them (POST /api/v1/analyze)
# are served in the `demo` workspace, DEMO_QUOTA an hour per address (IPv6: per /64) and
# DEMO_QUOTA_TOTAL an hour from every address together (0: no total cap). DEMO_QUOTA 0 turns it off.
DEMO_QUOTA = env.int("TOLLGATE_DEMO_QUOTA", default=20)
DEMO_QUOTA_TOTAL = env.int("TOLLGATE_DEMO_QUOTA_TOTAL", default=1000)
DEMO_WORKSPACE = env("TOLLGATE_DEMO_WORKSPACE", default="demo")

# PLATFORM API (operators/): failed operator-token attempts per address before it must wait
OPERATOR_AUTH_FAILURES = env("TOLLGATE_OPERATOR_AUTH_FAILURES", default="10/5m")

# CELERY (tenant-schemas-celery)
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# LOGGING: JSON lines, one per event, with the request id
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request": {"()": "config.logging.RequestContextFilter"}},
    "formatters": {"json": {"()": "config.logging.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request"]}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# OPERATIONS: metrics, backups, error reporting (docs/operations.md)
# /metrics answers a bearer METRICS_TOKEN or a caller in METRICS_ALLOWED_IPS (addresses or CIDRs).
METRICS_TOKEN = env("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
# The Celery worker serves its own metrics on this port (0: off); Prometheus scrapes it.
METRICS_WORKER_PORT = env.int("METRICS_WORKER_PORT", default=0)
BACKUP_DIR = env("BACKUP_DIR", default=str(BASE_DIR / "var" / "backups"))
BACKUP_KEEP_DAYS = env.int("BACKUP_KEEP_DAYS", default=14)
BACKUP_S3_BUCKET = env("BACKUP_S3_BUCKET", default="")  # set: copies go to S3 too (django-storages)
# Celery workers log through LOGGING above (JSON lines) instead of their own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    from config.logging import init_sentry

    init_sentry(dsn=SENTRY_DSN, environment=env("SENTRY_ENVIRONMENT", default="production"))

# AUDIT TRAIL (auditing/)
# https://django-auditlog.readthedocs.io/en/latest/usage.html#correlation-id
AUDIT_RETENTION_DAYS = env.int("TOLLGATE_AUDIT_RETENTION_DAYS", default=365)
AUDITLOG_CID_GETTER = "auditing.history.request_id"  # model history carries the X-Request-ID

# USAGE PIPELINE (metering/pipeline/)
# Raw usage events are kept at least this long; older months' partitions are dropped whole
# (rollups are kept). metering/pipeline/partitions.py
USAGE_RAW_RETENTION_DAYS = env.int("TOLLGATE_USAGE_RAW_RETENTION_DAYS", default=30)

# Billing ------------------------------------------------------------------------------------
# How long a closed period's invoice stays a draft (late usage events still count) before it
# is finalised; a tax rate placeholder in basis points (0 until a tax integration exists).
BILLING_INVOICE_DRAFT_WINDOW_SECONDS = env.int("TOLLGATE_INVOICE_DRAFT_WINDOW_SECONDS", default=3600)
BILLING_TAX_RATE_BPS = env.int("TOLLGATE_TAX_RATE_BPS", default=0)
# BRANDING AND CUSTOM DOMAINS (branding/; docs/operations.md "Custom domains")
# A custom domain is verified by a TXT record at _tollgate.<domain>, looked up with dnspython.
# Empty nameservers: the system's resolver (/etc/resolv.conf). Tests point these at a DNS
# server of their own on loopback (tests/branding/dns_server.py).
DNS_NAMESERVERS = env.list("TOLLGATE_DNS_NAMESERVERS", default=[])
DNS_PORT = env.int("TOLLGATE_DNS_PORT", default=53)
DNS_TIMEOUT = env.float("TOLLGATE_DNS_TIMEOUT", default=5.0)
# A verified domain is checked again daily (beat: config/celery.py); this many failed checks
# in a row drop it (it stops routing), each failure emailed to the workspace's owners.
DOMAIN_MAX_FAILURES = env.int("TOLLGATE_DOMAIN_MAX_FAILURES", default=3)
# STRIPE AND BILLING: config/settings/stripe.py (one file per integration)
from config.settings.stripe import *  # noqa: E402, F403
