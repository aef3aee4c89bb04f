"""Settings shared by every environment.

Values come from the environment (django-environ). Defaults here suit the embedded
first run (``local``); ``production`` removes the defaults for secrets and services.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from celery.schedules import crontab
from csp.constants import NONE as CSP_NONE
from csp.constants import SELF as CSP_SELF
from django.utils.translation import gettext_lazy as _
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A .env file beside manage.py is read when present, so a node can keep its settings there.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="insecure-embedded-default-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Where the node keeps its state that is not in the database (GnuPG homes, uploads).
VAR_DIR = Path(env("MLA_VAR_DIR", default=str(BASE_DIR / "var")))

INSTALLED_APPS = [
    # First, so that its commands take the place of Django's (createsuperuser asks for the
    # authority by its directory identifier).
    "mla.accounts",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "guardian",
    "simple_history",
    "django_fsm",
    "mla.core",
    "contact_points",
    "mla.requests",
    "mla.notifications",
    "mla.webhooks",
    "mla.eevidence",
    "mla.statistics",
    "mla.exchange",
    "mla.node",
    "mla.demo",
    # The API, /api/v1/ (django-ninja: its documentation page's assets are static files).
    "mla.api",
    "ninja",
    # Content-Security-Policy: its settings are below, CONTENT_SECURITY_POLICY.
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Headers: Content-Security-Policy on every response.
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Headers: no cache keeps what a signed-in user saw, nor any download.
    "mla.core.middleware.NoStoreMiddleware",
    # Every page needs a login except those marked @login_not_required (login, /healthz).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes requires: it turns lockouts into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mla.urls"
WSGI_APPLICATION = "mla.wsgi.application"
ASGI_APPLICATION = "mla.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mla.core.context_processors.node",
                "mla.notifications.context_processors.unread_notifications",
            ],
        },
    },
]


def database_tuned(database: dict[str, Any]) -> dict[str, Any]:
    """PostgreSQL without JIT compilation: the node's queries are short or index-driven,
    and JIT would spend hundreds of milliseconds compiling the large aggregates (the
    statistics, the escalation) for no gain."""
    if "postgresql" in str(database.get("ENGINE", "")):
        options = database.setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c jit=off".strip()
    return database


DATABASES = {
    "default": database_tuned(
        env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")
    ),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=0))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # django-axes first, so that a locked-out login never reaches the password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Sessions end after a period of inactivity: each request pushes the expiry forward.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_TIMEOUT_MINUTES", default=30) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Failed-login throttling (django-axes): lock a username from one address after N failures.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Reverse proxies in front of the app (nginx: 1), so that throttling sees the real client.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "mla.accounts.client_ip.client_ip"

# django-guardian: nobody is anonymous here; do not create an AnonymousUser row.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

LANGUAGE_CODE = "en"
LOCALE_PATHS = [BASE_DIR / "mla" / "locale"]


def _interface_languages(locale_dir: Path) -> list[tuple[str, Any]]:
    """English, the language of the source strings, then each language with a catalogue in
    ``locale_dir``: another interface language is a file there, not code. Names come from
    Django's own list, translated by Django's catalogues."""
    from django.conf.locale import LANG_INFO

    codes = sorted(
        entry.name
        for entry in locale_dir.iterdir()
        if (entry / "LC_MESSAGES" / "django.po").is_file() and entry.name in LANG_INFO
    )
    return [("en", _("English"))] + [
        (code, _(LANG_INFO[code]["name"])) for code in codes if code != "en"
    ]


LANGUAGES = _interface_languages(LOCALE_PATHS[0])
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "mla" / "static"]
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# No URL serves MEDIA_ROOT (mla/urls.py): documents go out through permission-checked views.
MEDIA_URL = "/media/"

# GnuPG: two homes, kept apart. The secret home holds the key pairs of the authorities this
# node hosts (readable only by the service user); the node home holds the public keys the
# directory pins for partners. Keys typed into the directory are checked in a throw-away home.
GNUPG_BINARY = env("GNUPG_BINARY", default="gpg")
NODE_GNUPG_HOME = Path(env("NODE_GNUPG_HOME", default=str(VAR_DIR / "gnupg" / "node")))
NODE_SECRET_GNUPG_HOME = Path(
    env("NODE_SECRET_GNUPG_HOME", default=str(VAR_DIR / "gnupg" / "secret"))
)

# Supporting documents attached to a request: at most this size each.
REQUEST_ATTACHMENT_MAX_BYTES = env.int("REQUEST_ATTACHMENT_MAX_MB", default=20) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Resource limits --------------------------------------------------------------------
# An uploaded office document (a ZIP container) is refused from its central directory alone,
# before anything is inflated, when it declares more members, more bytes once expanded, or
# a member (over 1 MiB) compressed more than this ratio: decompression bombs.
UPLOAD_ARCHIVE_MAX_MEMBERS = env.int("UPLOAD_ARCHIVE_MAX_MEMBERS", default=5000)
UPLOAD_ARCHIVE_MAX_EXPANDED_BYTES = (
    env.int("UPLOAD_ARCHIVE_MAX_EXPANDED_MB", default=200) * 1024 * 1024
)
UPLOAD_ARCHIVE_MAX_RATIO = env.int("UPLOAD_ARCHIVE_MAX_RATIO", default=200)
# The exchange inbox, open to anyone: at most this many deliveries per client address in
# each window, then 429 with Retry-After (counted in the cache: Redis in production, so
# that every web worker shares the count). 300 a minute: a partner's burst of deliveries
# passes (a 429 is retried by its outbox anyway), a flood of decryptions does not. The
# nginx example limits at the same pace before this.
INBOX_RATE_LIMIT_REQUESTS = env.int("INBOX_RATE_LIMIT_REQUESTS", default=300)
INBOX_RATE_LIMIT_WINDOW_SECONDS = env.int("INBOX_RATE_LIMIT_WINDOW_SECONDS", default=60)
# Failed logins, within AXES_COOLOFF_TIME, beside AXES_FAILURE_LIMIT per (username, address):
# per address across usernames (one client spraying passwords over many accounts) and per
# username across addresses (one account tried from many clients). The handler
# (mla/accounts/throttle.py) locks when any of the three reaches its limit.
AXES_HANDLER = "mla.accounts.throttle.LoginThrottleHandler"
LOGIN_FAILURE_LIMIT_PER_ADDRESS = env.int("LOGIN_FAILURE_LIMIT_PER_ADDRESS", default=20)
LOGIN_FAILURE_LIMIT_PER_USERNAME = env.int("LOGIN_FAILURE_LIMIT_PER_USERNAME", default=10)
# --- end of resource limits -----------------------------------------------------------------

# --- Headers, storage and exports -----------------------------------------------------
# /healthz tells anyone only "ok" or "unavailable" per check; the details (service versions,
# addresses, errors) go to staff and to these client addresses or networks (comma-separated,
# e.g. the monitoring network: 10.0.0.0/8,127.0.0.1). Empty: staff only.
HEALTHZ_DETAIL_ADDRESSES: list[str] = env.list("HEALTHZ_DETAIL_ADDRESSES", default=[])
# Content-Security-Policy (django-csp 4): scripts, styles, images, fonts and fetches from this
# site only; no inline script, no inline style (styles come from files: the pages carry no
# style attribute), no plugin, no framing, forms posted here only. The PDF templates' inline
# styles are read by WeasyPrint on the server, which no policy concerns.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [CSP_SELF],
        "script-src": [CSP_SELF],
        "style-src": [CSP_SELF],
        "img-src": [CSP_SELF],
        "font-src": [CSP_SELF],
        "connect-src": [CSP_SELF],
        "object-src": [CSP_NONE],
        "base-uri": [CSP_NONE],
        "frame-ancestors": [CSP_NONE],
        "form-action": [CSP_SELF],
    },
}
# --- end of headers, storage and exports --------------------------------------------------

# Directory entries not verified for this long are marked stale.
DIRECTORY_STALE_AFTER_DAYS = env.int("DIRECTORY_STALE_AFTER_DAYS", default=365)
# Display name of this node (header, documents).
NODE_NAME = env("NODE_NAME", default="MLA exchange node")

# Address of this site as users reach it, for the links in e-mails (no trailing slash).
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")
# Outgoing mail. Subjects of notification e-mails (and of error mails) start with this.
EMAIL_SUBJECT_PREFIX = env("EMAIL_SUBJECT_PREFIX", default=f"[{NODE_NAME}] ")
# Seconds to wait for the mail server, so that a silent server cannot hang a worker.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

# Celery: JSON only, late acknowledgement so that a crashed worker's task runs again.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# Deliveries to other nodes wait on the network, up to EXCHANGE_DELIVERY_TIMEOUT_SECONDS an
# attempt: they have a queue of their own, served by a worker of their own in production
# (deploy/systemd/mla-exchange-worker.service), so that partners that are slow or down never
# hold up the node's other tasks (PDFs, e-mails, deadlines), nor those the deliveries. A
# worker started without --queues serves both queues.
CELERY_TASK_DEFAULT_QUEUE = "celery"
EXCHANGE_QUEUE = "exchange"
CELERY_TASK_QUEUES = (Queue(CELERY_TASK_DEFAULT_QUEUE), Queue(EXCHANGE_QUEUE))
CELERY_TASK_ROUTES = {"mla.exchange.tasks.outbox_deliver_task": {"queue": EXCHANGE_QUEUE}}
# Celery closes the worker's database connection after every task unless told to reuse it:
# a new PostgreSQL connection per delivery cost a fifth of the exchange's CPU. Closed every
# so many tasks instead (and when unusable, as Django does).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=100)
# How often an open queue page asks whether something arrived or changed.
QUEUE_POLL_SECONDS = env.int("QUEUE_POLL_SECONDS", default=15)
# A PDF render is stopped after this many seconds (it runs in a child process that is
# killed); 0 renders in the asking process without a limit (for debugging only).
PDF_RENDER_BUDGET_SECONDS = env.float("PDF_RENDER_BUDGET_SECONDS", default=20.0)
# How often the "being prepared" page asks whether a PDF is ready.
PDF_POLL_SECONDS = env.int("PDF_POLL_SECONDS", default=2)

CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # Deadlines count in minutes and hours as well as days: check every minute.
    "deadlines-check": {"task": "mla.requests.tasks.deadlines_check", "schedule": 60.0},
    "preservations-check": {"task": "mla.requests.tasks.preservations_check", "schedule": 600.0},
    # Approaching, missed and soon-ending deadlines: each notified once, whatever the overlap.
    "deadlines-escalate": {
        "task": "mla.requests.tasks.deadlines_escalate_task",
        "schedule": 300.0,
    },
    # Pending exchange messages a broker outage or a crashed worker left behind.
    "outbox-requeue": {"task": "mla.exchange.tasks.outbox_requeue_task", "schedule": 300.0},
    # Pending webhook deliveries a broker outage or a crashed worker left behind.
    "webhook-requeue": {"task": "mla.webhooks.tasks.webhook_requeue_task", "schedule": 300.0},
    # The audit chain's signed checkpoint, sent to the partners of the hour (mla.exchange.anchor).
    "audit-checkpoint": {"task": "mla.exchange.tasks.audit_checkpoint_task", "schedule": 3600.0},
    # The statistics' count rollups, one row per key again. Nightly (UTC): their rows grow
    # slowly (a key shared by concurrent writers, the keys of states the requests left), each
    # run reads both tables whole, and at night it seldom waits for a writer holding a row.
    "statistics-rollups-compact": {
        "task": "mla.statistics.tasks.rollups_compact_task",
        "schedule": crontab(minute=40, hour=2),
    },
    # The inbox's refusals are counted for a day on the operations page, kept a month.
    "inbox-refusals-prune": {
        "task": "mla.exchange.tasks.inbox_refusals_prune_task",
        "schedule": crontab(minute=50, hour=2),
    },
    # Heartbeats for the operations page: beat records one as it sends these, and the worker
    # of each queue one as it runs its own (mla.core.heartbeats).
    "heartbeat-default-queue": {
        "task": "mla.core.tasks.heartbeat_task",
        "schedule": 60.0,
        "args": (CELERY_TASK_DEFAULT_QUEUE,),
        "options": {"queue": CELERY_TASK_DEFAULT_QUEUE},
    },
    "heartbeat-exchange-queue": {
        "task": "mla.core.tasks.heartbeat_task",
        "schedule": 60.0,
        "args": (EXCHANGE_QUEUE,),
        "options": {"queue": EXCHANGE_QUEUE},
    },
}
# The embedded default (tasks in-process) has no beat: with EMBEDDED_SCHEDULER on (as in
# mla/settings/local.py), runserver's process runs this schedule in a thread of its own
# (mla.core.scheduler): beat's, plus the attempts of deliveries that are due, which a
# broker-backed node schedules with the delivery task's countdown instead.
EMBEDDED_SCHEDULER = env.bool("EMBEDDED_SCHEDULER", default=False)
EMBEDDED_SCHEDULE: dict[str, dict[str, object]] = {
    **CELERY_BEAT_SCHEDULE,
    "outbox-deliver-due": {"task": "mla.exchange.tasks.outbox_deliver_due_task", "schedule": 15.0},
    "webhook-deliver-due": {
        "task": "mla.webhooks.tasks.webhook_deliver_due_task",
        "schedule": 15.0,
    },
}
# A heartbeat older than this is shown as a warning on the operations page (beat sends one
# to each queue every minute).
NODE_HEARTBEAT_STALE_SECONDS = env.int("NODE_HEARTBEAT_STALE_SECONDS", default=300)
# Hosted keys that expire within this many days are warned of on the operations page.
NODE_KEY_EXPIRY_WARNING_DAYS = env.int("NODE_KEY_EXPIRY_WARNING_DAYS", default=60)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "gnupg": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "django.db.backends": {"level": "WARNING"},
    },
}

# Exchange between authorities (mla.exchange). Messages larger than this, sealed or once
# decrypted, are refused, as are messages created longer ago than the age limit.
EXCHANGE_MAX_MESSAGE_BYTES = env.int("EXCHANGE_MAX_MESSAGE_MB", default=50) * 1024 * 1024
# The data an e-Evidence addressee produces travel in messages of at most this many bytes of
# documents: a larger set is split into parts, each a message of its own with its files'
# digests, and the issuing side shows the data as received only with the last part (the
# EU system pushes up to about 25 MB and sends larger sets by reference).
# The API (/api/v1/): calls per token (or session user) and period, "count/period" with a
# period of s, m, h or d; answered 429 with Retry-After beyond it.
API_RATE_LIMIT = env("API_RATE_LIMIT", default="600/m")
# No body larger than this is read: a document attached through the API and its form.
API_MAX_BODY_BYTES = REQUEST_ATTACHMENT_MAX_BYTES + 1024 * 1024
EEVIDENCE_DATA_PART_MAX_BYTES = env.int("EEVIDENCE_DATA_PART_MAX_MB", default=25) * 1024 * 1024
EXCHANGE_MAX_MESSAGE_AGE_SECONDS = env.int(
    "EXCHANGE_MAX_MESSAGE_AGE_SECONDS", default=7 * 24 * 3600
)
# Passphrase of the hosted authorities' secret keys (one of the two, or none): used when
# keys are made and whenever they sign or decrypt. Never typed in by a user.
NODE_KEY_PASSPHRASE = env("NODE_KEY_PASSPHRASE", default="")
NODE_KEY_PASSPHRASE_FILE = env("NODE_KEY_PASSPHRASE_FILE", default="")
# Domain of the e-mail in the user ID of keys made by `node_keys`: <authority identifier>@…
NODE_KEY_EMAIL_DOMAIN = env("NODE_KEY_EMAIL_DOMAIN", default="keys.mla.invalid")
# Delivery of outgoing messages: the timeout of one attempt, and the attempts before the
# message is marked failed (retried with backoff from 30 s to an hour in between). A pending
# message whose attempt is this late was lost by the broker or a crashed worker: the periodic
# task queues it again.
EXCHANGE_DELIVERY_TIMEOUT_SECONDS = env.int("EXCHANGE_DELIVERY_TIMEOUT_SECONDS", default=30)
EXCHANGE_MAX_ATTEMPTS = env.int("EXCHANGE_MAX_ATTEMPTS", default=8)
EXCHANGE_BACKOFF_BASE_SECONDS = env.int("EXCHANGE_BACKOFF_BASE_SECONDS", default=30)
EXCHANGE_BACKOFF_CAP_SECONDS = env.int("EXCHANGE_BACKOFF_CAP_SECONDS", default=3600)
EXCHANGE_STALE_AFTER_SECONDS = env.int("EXCHANGE_STALE_AFTER_SECONDS", default=300)
# Publishers whose signature a shared directory must carry to be imported (import_directory),
# and where their public keys are kept (*.asc). Unset: no signature is required.
DIRECTORY_PUBLISHER_FINGERPRINTS = env.list("DIRECTORY_PUBLISHER_FINGERPRINTS", default=[])
DIRECTORY_PUBLISHER_KEYS_DIR = env("DIRECTORY_PUBLISHER_KEYS_DIR", default="")
# Webhooks (mla.webhooks): the events of an authority's requests, POSTed to the URLs its
# users register. One attempt (connecting, sending, the answer's headers) takes at most
# WEBHOOK_TIMEOUT_SECONDS; a delivery not answered 2xx is retried with backoff from 30 s to an
# hour, and marked failed after WEBHOOK_MAX_ATTEMPTS (about three hours). A pending delivery
# whose attempt is WEBHOOK_STALE_AFTER_SECONDS late was lost by the broker or a crashed
# worker: the periodic task queues it again. An authority has at most
# WEBHOOK_MAX_PER_AUTHORITY webhooks.
WEBHOOK_TIMEOUT_SECONDS = env.int("WEBHOOK_TIMEOUT_SECONDS", default=10)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=10)
WEBHOOK_BACKOFF_BASE_SECONDS = env.int("WEBHOOK_BACKOFF_BASE_SECONDS", default=30)
WEBHOOK_BACKOFF_CAP_SECONDS = env.int("WEBHOOK_BACKOFF_CAP_SECONDS", default=3600)
WEBHOOK_STALE_AFTER_SECONDS = env.int("WEBHOOK_STALE_AFTER_SECONDS", default=300)
WEBHOOK_MAX_PER_AUTHORITY = env.int("WEBHOOK_MAX_PER_AUTHORITY", default=10)
# Hosts a webhook may reach over plain http and at a loopback or private address. Webhooks
# otherwise go to https URLs of public addresses only, so that a registered URL cannot reach
# the services of the node's own network (server-side request forgery). None in production;
# the tests' receiver on 127.0.0.1, and a receiver beside a node run locally.
WEBHOOK_ALLOWED_HOSTS: list[str] = env.list("WEBHOOK_ALLOWED_HOSTS", default=[])
# Partners' inbox URLs must be https (the test settings and the embedded default allow plain
# http, for nodes talking over loopback). Deliveries never follow a redirect either way.
DIRECTORY_INBOX_URL_REQUIRE_HTTPS = env.bool("DIRECTORY_INBOX_URL_REQUIRE_HTTPS", default=True)
# The request page warns, for this many days, that a request goes to a partner key approved
# recently (a substituted key is most dangerous before anyone has checked it by phone).
DIRECTORY_KEY_CHANGE_WARNING_DAYS = env.int("DIRECTORY_KEY_CHANGE_WARNING_DAYS", default=7)

# ---------------------------------------------------------------------------------------------
# Sign-in, second factor and sessions (README, "Sign-in, second factor and sessions").
# Second factors: TOTP apps and passkeys (django-otp, django-otp-webauthn), and one-time
# recovery codes. A user who has a factor gives it after the password, always; a user who
# must have one (below) and has none is sent to enrol before anything else.
INSTALLED_APPS += ["django_otp", "django_otp.plugins.otp_totp", "django_otp_webauthn"]
# The project's session middleware leaves the idle expiry alone for timer-driven requests
# (the queue's poll); the others, after authentication, end sessions past their absolute
# lifetime and hold a signed-in user at the second-factor step until it is passed.
MIDDLEWARE[MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware")] = (
    "mla.accounts.middleware.SessionMiddleware"
)
_after_authentication = (
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1
)
MIDDLEWARE[_after_authentication:_after_authentication] = [
    "django_otp.middleware.OTPMiddleware",
    "mla.accounts.middleware.SessionLifetimeMiddleware",
    "mla.accounts.middleware.SecondFactorMiddleware",
    # Times on the page in the user's zone.
    "mla.accounts.middleware.TimeZoneMiddleware",
]
# Who must have a second factor: directory administrators and superusers, and every user
# when MFA_REQUIRED_FOR_ALL (the embedded demo turns both off: its users sign in with a
# password only).
MFA_REQUIRED_FOR_ADMINISTRATORS = env.bool("MFA_REQUIRED_FOR_ADMINISTRATORS", default=True)
MFA_REQUIRED_FOR_ALL = env.bool("MFA_REQUIRED_FOR_ALL", default=True)
# Recovery codes issued at a time (each works once).
MFA_RECOVERY_CODE_COUNT = 10
# A session ends this long after sign-in, however active (the idle timeout is above).
SESSION_ABSOLUTE_MAX_AGE = env.int("SESSION_ABSOLUTE_MAX_HOURS", default=12) * 3600
# Sending, sharing and key approval ask for the password (and second factor) again when the
# last authentication is older than this.
REAUTHENTICATION_MAX_AGE = env.int("REAUTHENTICATION_MAX_MINUTES", default=15) * 60
# One-time links e-mailed by the account administrators: an invitation to set a password,
# and a password reset, each working once until it expires.
INVITATION_VALID_HOURS = env.int("INVITATION_VALID_HOURS", default=72)
PASSWORD_RESET_VALID_HOURS = env.int("PASSWORD_RESET_VALID_HOURS", default=24)
OTP_TOTP_ISSUER = NODE_NAME
# Passkeys are bound to the site's host name (the relying party); the browser's origin must
# be one of the allowed origins (https, or http://localhost while developing).
OTP_WEBAUTHN_RP_NAME = NODE_NAME
OTP_WEBAUTHN_RP_ID = env("WEBAUTHN_RP_ID", default="localhost")
OTP_WEBAUTHN_ALLOWED_ORIGINS: list[str] = env.list(
    "WEBAUTHN_ALLOWED_ORIGINS", default=["http://localhost:8000"]
)
# A passkey is a second factor here, never a way to sign in without the password.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
