"""Production: every secret and service comes from the environment, with no default.

Importing this module without SECRET_KEY, DATABASE_URL, CELERY_BROKER_URL or ALLOWED_HOSTS
raises ImproperlyConfigured, so a node never starts half-configured.
"""

from urllib.parse import urlsplit

from .base import *  # noqa: F403
from .base import VAR_DIR, database_tuned, env

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("Set the ALLOWED_HOSTS environment variable.")
DATABASES = {"default": database_tuned(env.db("DATABASE_URL"))}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = False

# --- Resource limits --------------------------------------------------------------------
# The rate limits are counted in the cache: Redis, shared by every web worker (a per-process
# memory cache would multiply each limit by the number of workers). CACHE_URL unset: the
# broker's Redis server, database 1 (keys prefixed, apart from Celery's).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env("CACHE_URL", default=""),
        "KEY_PREFIX": "mla",
        "TIMEOUT": 300,
    }
}
if not CACHES["default"]["LOCATION"]:
    from urllib.parse import urlsplit

    CACHES["default"]["LOCATION"] = urlsplit(CELERY_BROKER_URL)._replace(path="/1").geturl()
# --- end of resource limits -----------------------------------------------------------------

# TLS ends at the reverse proxy (deploy/nginx/mla.conf), which sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# /healthz must answer the load balancer over plain HTTP on the private side.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="mla-node@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# With EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend (no relay yet, or a
# test), each message is written to a file in this directory instead.
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))

# Links in notification e-mails. Unset: https:// and the first name in ALLOWED_HOSTS.
SITE_URL = env("SITE_URL", default=f"https://{ALLOWED_HOSTS[0].lstrip('.')}")

# Passkeys: bound to the site's host name, used from its https origin.
OTP_WEBAUTHN_RP_ID = env("WEBAUTHN_RP_ID", default=urlsplit(SITE_URL).hostname or "")
OTP_WEBAUTHN_ALLOWED_ORIGINS = env.list("WEBAUTHN_ALLOWED_ORIGINS", default=[SITE_URL.rstrip("/")])
