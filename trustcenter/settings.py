"""The one settings module. Everything comes from the environment (README, "Configuration").

With nothing set, this is the embedded development default: SQLite, Celery's filesystem
broker, e-mail to the console. With DJANGO_DEBUG=false it refuses to start without the secrets
a production site needs, and `manage.py check --deploy` has nothing to warn about.
"""

import re
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


def env_bool(name: str, default: bool) -> bool:
    raw = env.str(name, default="").strip().lower()
    if not raw:
        return default
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be one of {sorted(TRUE_WORDS | FALSE_WORDS)}, not {raw!r}")


def env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = env.str(name, default="").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_secret(name: str, default: str = "") -> str:
    """A secret from NAME, or from the file named by NAME_FILE (container secrets)."""
    file_name = env.str(f"{name}_FILE", default="")
    if file_name:
        return Path(file_name).read_text().strip()
    return env.str(name, default=default)


DEBUG = env_bool("DJANGO_DEBUG", True)
DATA_DIR = Path(env.str("TRUSTCENTER_DATA_DIR", default=str(BASE_DIR / "var")))

SECRET_KEY = env_secret("DJANGO_SECRET_KEY")
# Old keys, while a new one takes over: signed proofs of submission and e-mail confirmation links
# made with them still check (Django's key rotation).
SECRET_KEY_FALLBACKS = env_secret("DJANGO_SECRET_KEY_FALLBACKS").replace(",", " ").split()
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])
# The receipt-code hash is keyed with this site-wide secret salt, so a stolen database alone
# cannot be searched for codes, and one indexed query still finds a case.
RECEIPT_SALT = env_secret("TRUSTCENTER_RECEIPT_SALT")

if DEBUG:
    SECRET_KEY = SECRET_KEY or "development-only-insecure-secret-key-do-not-use-in-production-0123456789"
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "[::1]", "testserver"]
    RECEIPT_SALT = RECEIPT_SALT or "development-only-receipt-salt"
else:
    missing = [
        name
        for name, value in [
            ("DJANGO_SECRET_KEY", SECRET_KEY),
            ("DJANGO_ALLOWED_HOSTS", ALLOWED_HOSTS),
            ("TRUSTCENTER_RECEIPT_SALT", RECEIPT_SALT),
        ]
        if not value
    ]
    if missing:
        raise ImproperlyConfigured(f"DJANGO_DEBUG=false needs {', '.join(missing)} to be set")
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 50 characters of random text")
    if len(RECEIPT_SALT) < 16:
        raise ImproperlyConfigured("TRUSTCENTER_RECEIPT_SALT must be at least 16 characters of random text")

INSTALLED_APPS = [
    "trustcenter",
    "cases",
    "consent",
    "registers",
    "retention",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_filters",
    "import_export",
    # Staff log in with a password and a TOTP code (backup codes as the fallback).
    "django_otp",
    "django_otp.plugins.otp_static",
    "django_otp.plugins.otp_totp",
    "two_factor",
    "axes",
    "auditlog",
    # The REST API (/api/v1/, cases/api/): personal tokens stored as hashes, its OpenAPI schema and
    # Swagger UI served from this site.
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]

MIDDLEWARE = [
    # First, so that nothing after it can see, log or store who the client is.
    "trustcenter.middleware.ClientPrivacyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # The language cookie, only with functional cookie consent (issue 12, point 8).
    "trustcenter.middleware.LanguageCookieMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "trustcenter.middleware.StaffIdleTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    # Last, as django-axes asks: it turns a lockout into its answer.
    "axes.middleware.AxesMiddleware",
]
if DEBUG:
    # Development serves static files from the app folders (runserver, live_server); WhiteNoise
    # serves the collected, hashed files in production.
    MIDDLEWARE.remove("whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "trustcenter.urls"
WSGI_APPLICATION = "trustcenter.wsgi.application"

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
                "django.template.context_processors.i18n",
                "trustcenter.context_processors.site",
                "consent.context_processors.cookie_consent",
            ],
        },
    },
]

# Database: SQLite in the data directory unless DATABASE_URL says otherwise. Web, worker and beat
# share the SQLite file, so WAL, IMMEDIATE transactions and a busy timeout keep them from ever
# failing on "database is locked".
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env_int("DJANGO_CONN_MAX_AGE", 60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://trustcenter")}
IS_SHARED_CACHE = "redis" in CACHES["default"]["BACKEND"].lower()
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cache" if IS_SHARED_CACHE else "django.contrib.sessions.backends.db"
)
# A reporter's follow-up session is short: it holds which case the receipt code opened.
SESSION_COOKIE_AGE = env_int("TRUSTCENTER_SESSION_SECONDS", 30 * 60, minimum=60)
# Counted from the last page seen, not from the code: reading and writing on the case page keep it.
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

# Staff log in at the two-factor login: a password, then a TOTP code or a backup code.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# No one, not even a superuser in the admin, can read another's TOTP key or backup codes.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
LOGIN_URL = "two_factor:login"
LOGIN_REDIRECT_URL = "staff:queue"
# Required on every staff account in production; development may ask for it too, to try it out.
TRUSTCENTER_REQUIRE_2FA = env_bool("TRUSTCENTER_REQUIRE_2FA", not DEBUG)
if not DEBUG and not TRUSTCENTER_REQUIRE_2FA:
    raise ImproperlyConfigured(
        "DJANGO_DEBUG=false needs TRUSTCENTER_REQUIRE_2FA: staff log in with two factors"
    )
# A staff session ends after this long without a request, however long a reporter's lasts.
TRUSTCENTER_STAFF_IDLE_SECONDS = env_int("TRUSTCENTER_STAFF_IDLE_SECONDS", 20 * 60, minimum=60)

# Failed logins lock the account, counted in the cache under a hash of the username alone. Not by
# address: ClientPrivacyMiddleware has removed it before axes looks, and no_client_address makes
# sure axes never finds one, so nothing axes keeps or logs can name a client. The price is that
# anyone can lock an account for the cool-off time by failing on purpose; the TOTP step, not the
# lockout, is what keeps a guessed password out.
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_CLIENT_IP_CALLABLE = "trustcenter.staff_access.no_client_address"
AXES_FAILURE_LIMIT = env_int("TRUSTCENTER_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(seconds=env_int("TRUSTCENTER_LOGIN_LOCKOUT_SECONDS", 15 * 60, minimum=60))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "two_factor/locked_out.html"
# The cache handler writes none of axes' tables; these say so should the handler ever change.
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False

# Languages live in the URL (i18n_patterns). Django's language cookie is a functional cookie: it
# is set (to the URL's language) only with functional cookie consent, and deleted without it
# (trustcenter.middleware.LanguageCookieMiddleware).
LANGUAGE_CODE = "en"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGES = [("en", "English"), ("nb", "Norsk bokmål"), ("sv", "Svenska"), ("da", "Dansk")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env.str("TRUSTCENTER_TIME_ZONE", default="Europe/Oslo")

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploads are private: there is no MEDIA_URL and no URL that serves the upload folder. Files are
# read through views that check who asks.
MEDIA_ROOT = Path(env.str("TRUSTCENTER_UPLOAD_DIR", default=str(DATA_DIR / "uploads")))
# The erasure log's copy outside the database (registers.erasure_log): keep it where restoring a
# database backup does not roll it back.
TRUSTCENTER_ERASURE_LOG = Path(
    env.str("TRUSTCENTER_ERASURE_LOG", default=str(DATA_DIR / "erasure-log.jsonl"))
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"base_url": None}},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# E-mail: EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.com:587 (django-environ).
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="Trust Center <trustcenter@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20, minimum=1)

# Celery: the filesystem broker in the data directory unless CELERY_BROKER_URL names Redis.
# (The host part is for kombu, which warns without one; the filesystem transport ignores it.)
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost//")
if CELERY_BROKER_URL.startswith("filesystem://"):
    BROKER_FOLDER = DATA_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_FOLDER),
        "data_folder_out": str(BROKER_FOLDER),
        "processed_folder": str(BROKER_FOLDER / "processed"),
        "control_folder": str(BROKER_FOLDER / "control"),
        "store_processed": False,
    }
else:
    # max_retries bounds how long publishing waits for a broker that is down.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
        "visibility_timeout": 3600,
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.5,
    }
CELERY_TASK_IGNORE_RESULT = True
# Celery closes a worker's database connections every this many tasks (trustcenter.celery).
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# What a task prints (the console e-mail backend of the embedded default) is information, not a
# warning, in the worker's log.
CELERY_WORKER_REDIRECT_STDOUTS_LEVEL = "INFO"
# Outbox deliveries are safe to repeat (a sent row is skipped), so a lost broker may cancel them.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A request must not hang on a broker outage: the outbox keeps the message and the sweep sends it.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
OUTBOX_SWEEP_SECONDS = env_int("TRUSTCENTER_OUTBOX_SWEEP_SECONDS", 60, minimum=1)
TRUSTCENTER_OUTBOX_MAX_ATTEMPTS = env_int("TRUSTCENTER_OUTBOX_MAX_ATTEMPTS", 12, minimum=1)
TRUSTCENTER_ALERT_EMAIL = env.str("TRUSTCENTER_ALERT_EMAIL", default="")  # empty: the privacy contact
TRUSTCENTER_CLOCK_REMINDER_SECONDS = env_int("TRUSTCENTER_CLOCK_REMINDER_SECONDS", 300, minimum=10)
CELERY_BEAT_SCHEDULE = {
    "sweep-outbox": {"task": "trustcenter.tasks.sweep_outbox", "schedule": float(OUTBOX_SWEEP_SECONDS)},
    "clock-reminders": {
        "task": "cases.tasks.send_reminders",
        "schedule": float(TRUSTCENTER_CLOCK_REMINDER_SECONDS),
    },
    # Access exports: expired links and spent files removed, builds the broker lost queued again.
    "access-exports": {"task": "cases.tasks.sweep_access_exports", "schedule": 300.0},
    # Erasures a register in another database left incomplete: tried again.
    "erasures": {"task": "cases.tasks.retry_erasures", "schedule": 300.0},
}

# Retention (retention.services): rows per batch, the pause between batches (the purge's pace,
# so that the portal stays quick while it runs), how long a run may stop beating before the next
# run counts it interrupted, and how old an upload file no record names must be to be removed.
TRUSTCENTER_RETENTION_BATCH_SIZE = env_int("TRUSTCENTER_RETENTION_BATCH_SIZE", 500, minimum=1)
TRUSTCENTER_RETENTION_PAUSE_SECONDS = env.float("TRUSTCENTER_RETENTION_PAUSE_SECONDS", default=0.2)
if TRUSTCENTER_RETENTION_PAUSE_SECONDS < 0:
    raise ImproperlyConfigured("TRUSTCENTER_RETENTION_PAUSE_SECONDS must not be negative")
TRUSTCENTER_RETENTION_RUN_LEASE_SECONDS = env_int("TRUSTCENTER_RETENTION_RUN_LEASE_SECONDS", 600, minimum=1)
TRUSTCENTER_ORPHAN_FILE_HOURS = env_int("TRUSTCENTER_ORPHAN_FILE_HOURS", 24, minimum=1)
# The storage folders uploads are written to (cases.models.attachment_path, registers' files,
# the CVs of sign-ups waiting for confirmation, requesters' access exports).
TRUSTCENTER_UPLOAD_FOLDERS = ("cases", "registers", "consent", "access-exports")
# How long a sign-up's confirmation link works (consent sign-ups, double opt-in); an unconfirmed
# sign-up is deleted by the "consent.pending" retention rule in any case.
TRUSTCENTER_SIGN_UP_HOURS = env_int("TRUSTCENTER_SIGN_UP_HOURS", 72, minimum=1)

# Registers' import and export (django-import-export): a file imports whole or not at all, and
# exported cells that a spreadsheet would run as formulas are defused.
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"

# The controller: shown in the footer and on the privacy notice.
TRUSTCENTER_CONTROLLER_NAME = env.str("TRUSTCENTER_CONTROLLER_NAME", default="Example Group AS")
TRUSTCENTER_PRIVACY_EMAIL = env.str("TRUSTCENTER_PRIVACY_EMAIL", default="privacy@example.com")
TRUSTCENTER_POSTAL_ADDRESS = env.str("TRUSTCENTER_POSTAL_ADDRESS", default="Postboks 1, 0101 Oslo, Norway")
# The privacy contact's telephone, for consent receipts (empty: none given).
TRUSTCENTER_CONTROLLER_PHONE = env.str("TRUSTCENTER_CONTROLLER_PHONE", default="")
# The country whose public holidays move a deadline's last day (DESIGN.md §1), and its clocks' zone
# is TIME_ZONE.
TRUSTCENTER_CONTROLLER_COUNTRY = env.str("TRUSTCENTER_CONTROLLER_COUNTRY", default="NO").upper()
if TRUSTCENTER_CONTROLLER_COUNTRY not in ("NO", "SE", "DK"):
    raise ImproperlyConfigured(
        f"TRUSTCENTER_CONTROLLER_COUNTRY must be NO, SE or DK, not {TRUSTCENTER_CONTROLLER_COUNTRY!r}"
    )
# A data-subject request's answer clock runs from receipt, the reading that is never late; "confirmation"
# starts it when the requester has confirmed their e-mail address instead.
TRUSTCENTER_SUBJECT_REQUEST_CLOCK_FROM = env.str("TRUSTCENTER_SUBJECT_REQUEST_CLOCK_FROM", default="receipt")
if TRUSTCENTER_SUBJECT_REQUEST_CLOCK_FROM not in ("receipt", "confirmation"):
    raise ImproperlyConfigured(
        "TRUSTCENTER_SUBJECT_REQUEST_CLOCK_FROM must be receipt or confirmation, "
        f"not {TRUSTCENTER_SUBJECT_REQUEST_CLOCK_FROM!r}"
    )
# The public address, for links in e-mails. Production has no sensible default: a guess would send
# reporters links to a machine that is not the site.
TRUSTCENTER_SITE_URL = env.str("TRUSTCENTER_SITE_URL", default="").strip().rstrip("/")
if not TRUSTCENTER_SITE_URL:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_DEBUG=false needs TRUSTCENTER_SITE_URL to be set to the site's public address "
            "(e.g. https://trust.example.com), for the links in e-mails"
        )
    TRUSTCENTER_SITE_URL = "http://127.0.0.1:8000"
if not TRUSTCENTER_SITE_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured(
        f"TRUSTCENTER_SITE_URL must start with https:// or http://, not {TRUSTCENTER_SITE_URL!r}"
    )
TRUSTCENTER_MAX_FILE_BYTES = env_int("TRUSTCENTER_MAX_FILE_MB", 20, minimum=1) * 1024 * 1024
TRUSTCENTER_MAX_SUBMISSION_BYTES = env_int("TRUSTCENTER_MAX_SUBMISSION_MB", 50, minimum=1) * 1024 * 1024
TRUSTCENTER_MAX_FILES_PER_SUBMISSION = env_int("TRUSTCENTER_MAX_FILES_PER_SUBMISSION", 10, minimum=1)
# All pictures of one message together, counted from their headers before any is decoded: ten
# 12-megapixel phone photos. Decoding and re-encoding costs a worker about 35 ms a megapixel
# (JPEG; PNG about 90), so this bounds one message to a few seconds of work.
TRUSTCENTER_MAX_SUBMISSION_MEGAPIXELS = env_int("TRUSTCENTER_MAX_SUBMISSION_MEGAPIXELS", 125, minimum=1)
TRUSTCENTER_MAX_MESSAGE_CHARS = env_int("TRUSTCENTER_MAX_MESSAGE_CHARS", 20000, minimum=100)
TRUSTCENTER_SUBMISSIONS_PER_HOUR = env_int("TRUSTCENTER_SUBMISSIONS_PER_HOUR", 20, minimum=1)
TRUSTCENTER_SUBMISSION_WINDOW_SECONDS = 3600  # the hour of TRUSTCENTER_SUBMISSIONS_PER_HOUR
TRUSTCENTER_FOLLOWUP_FAILURES = env_int("TRUSTCENTER_FOLLOWUP_FAILURES", 5, minimum=1)
TRUSTCENTER_FOLLOWUP_WINDOW_SECONDS = env_int("TRUSTCENTER_FOLLOWUP_WINDOW_SECONDS", 15 * 60, minimum=1)
# Cookie choices one connection may record in a minute (the portal's banner and the other sites'
# together), and banner configurations the other sites' pages may fetch (browsers cache them).
TRUSTCENTER_COOKIE_CHOICES_PER_MINUTE = env_int("TRUSTCENTER_COOKIE_CHOICES_PER_MINUTE", 30, minimum=1)
TRUSTCENTER_COOKIE_CONFIGS_PER_MINUTE = env_int("TRUSTCENTER_COOKIE_CONFIGS_PER_MINUTE", 600, minimum=1)
# Consent self-service: how long an e-mailed link works, and how long the page stays open once
# the link is used (fixed from that moment, not renewed by each page seen).
TRUSTCENTER_SELF_SERVICE_LINK_SECONDS = env_int("TRUSTCENTER_SELF_SERVICE_LINK_SECONDS", 60 * 60, minimum=60)
TRUSTCENTER_SELF_SERVICE_SESSION_SECONDS = env_int(
    "TRUSTCENTER_SELF_SERVICE_SESSION_SECONDS", 30 * 60, minimum=60
)
# Where the client address comes from behind a proxy; it is only ever hashed, never kept.
TRUSTCENTER_CLIENT_ADDRESS_HEADER = env.str("TRUSTCENTER_CLIENT_ADDRESS_HEADER", default="REMOTE_ADDR")
# Argon2id cost for receipt codes: tuned to tens of milliseconds on a 2-core machine.
TRUSTCENTER_RECEIPT_HASH_TIME_COST = env_int("TRUSTCENTER_RECEIPT_HASH_TIME_COST", 2, minimum=1)
TRUSTCENTER_RECEIPT_HASH_MEMORY_KIB = env_int("TRUSTCENTER_RECEIPT_HASH_MEMORY_KIB", 12288, minimum=8)
# The text fields of a request are bounded here, far above what the form takes, so that text
# pasted past the form's limit still reaches the form, which says so and gives it back. Files
# past the size limits are not written to disk (cases/upload_handlers.py), so the form can name
# them as too large without storing them.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(10 * 1024 * 1024, 2 * TRUSTCENTER_MAX_MESSAGE_CHARS * 4)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "cases.upload_handlers.SizeLimitedUploadHandler",
]

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

CSRF_FAILURE_VIEW = "trustcenter.views.csrf_failure"

# Content-Security-Policy: this site only, nothing from any other host.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}
# Not "no-referrer": browsers then send "Origin: null" with form posts, which CSRF refuses.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    # axes notes every login and logout at INFO; its failures and lockouts are warnings.
    "loggers": {"axes": {"level": "WARNING"}},
}

# axes asks to count failures by address too; this site never keeps one (AXES_LOCKOUT_PARAMETERS).
# Counted by username alone, no change of address, browser or cookie gets past a lockout.
SILENCED_SYSTEM_CHECKS: list[str] = ["axes.W006"]
if not IS_SHARED_CACHE:
    # axes warns that a process's own memory is no place to count failures, which holds for several
    # web processes. The embedded default runs one, where it counts as well as Redis, which
    # production names in CACHE_URL for every count of the site (ratelimit.py too).
    SILENCED_SYSTEM_CHECKS.append("axes.W001")
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# The REST API under /api/v1/ (cases/api/, README "The REST API"). Staff come with their session
# (two-factor verified where TRUSTCENTER_REQUIRE_2FA says so) or with a personal token made in the
# workspace after a fresh TOTP code; knox stores only its hash.
TRUSTCENTER_API_TOKEN_MAX_DAYS = env_int("TRUSTCENTER_API_TOKEN_MAX_DAYS", 90, minimum=1)
TRUSTCENTER_API_RATE = env.str("TRUSTCENTER_API_RATE", default="600/min").strip()
if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", TRUSTCENTER_API_RATE):
    raise ImproperlyConfigured(
        f"TRUSTCENTER_API_RATE must be requests/period, e.g. 600/min or 10000/day, not {TRUSTCENTER_API_RATE!r}"
    )
# The consent API's limit per client system (consent/api/throttling.py), apart from the staff's.
TRUSTCENTER_CONSENT_API_RATE = env.str("TRUSTCENTER_CONSENT_API_RATE", default="1200/min").strip()
if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", TRUSTCENTER_CONSENT_API_RATE):
    raise ImproperlyConfigured(
        "TRUSTCENTER_CONSENT_API_RATE must be requests/period, e.g. 1200/min, "
        f"not {TRUSTCENTER_CONSENT_API_RATE!r}"
    )
KNOX_TOKEN_MODEL = "trustcenter.ApiToken"
# knox's migrations create its own token table even when KNOX_TOKEN_MODEL swaps it out; without
# them knox has no table at all (an orphan one would hold a key to the users that a flush of the
# test database cannot empty).
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=TRUSTCENTER_API_TOKEN_MAX_DAYS),
    "AUTO_REFRESH": False,
    "AUTH_HEADER_PREFIX": "Token",
}
REST_FRAMEWORK = {
    # The token first: its scheme is the one a 401 names (WWW-Authenticate: Token).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "cases.api.authentication.PersonalTokenAuthentication",
        "cases.api.authentication.StaffSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["cases.api.permissions.CaseHandler"],
    "DEFAULT_THROTTLE_CLASSES": ["cases.api.throttling.ApiRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["cases.api.parsers.StrictJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "cases.api.exceptions.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Trust Center API",
    "DESCRIPTION": (
        "The staff workspace as JSON: the queue of cases, a case and its conversation, the actions on "
        "a case, the breach register and the dashboard's figures. Each answer holds only the cases "
        "of the caller's teams. Log in with the site's session (two-factor verified), or send a "
        "personal token made in the workspace (Account, API tokens) as `Authorization: Token <token>`. "
        "Replies and notes with files are sent from the workspace; the API takes text only.\n\n"
        "The consent API (/api/v1/consent/, tag consent) is for the company's other systems: each "
        "sends its own token, made in the admin (Consent API clients), as `Authorization: Bearer "
        "<token>`, and may read a person's consent, record it, or both. Staff sessions and personal "
        "tokens do not open it. Whether a person may be sent marketing e-mail or the newsletter is "
        "what its state endpoint answers."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["cases.api.permissions.CaseHandler"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No call to the validator on swagger.io: the page loads nothing from other hosts.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "ENUM_NAME_OVERRIDES": {
        "CaseTypeEnum": "cases.models.CaseType",
        "CaseStatusEnum": "cases.models.CaseStatus",
        "CaseOutcomeEnum": "cases.models.CaseOutcome",
    },
    "COMPONENT_SPLIT_REQUEST": True,
}

# The audit log (django-auditlog; cases/audit.py). It stores no client's address: the middleware
# would take it from REMOTE_ADDR or X-Forwarded-For (both removed by ClientPrivacyMiddleware too),
# nor a correlation id from a request header, which a client could set to anything.
AUDITLOG_DISABLE_REMOTE_ADDR = True
AUDITLOG_CID_HEADER = None
