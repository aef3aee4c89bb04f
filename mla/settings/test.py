"""The test suite: real PostgreSQL and Redis on localhost (override through the environment)."""

from .base import *  # noqa: F403
from .base import BASE_DIR, database_tuned, env

SECRET_KEY = "test-only-secret-key"
DEBUG = False
# The suite connects to the server's maintenance database and creates its own test_mla.
DATABASES = {
    "default": database_tuned(
        env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/postgres")
    ),
}
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default="test_mla")}
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/15")
CELERY_TASK_ALWAYS_EAGER = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Renders still run in a child process under a budget, but one that a loaded test machine
# never reaches on an ordinary document: the tests of the budget set their own.
PDF_RENDER_BUDGET_SECONDS = env.float("PDF_RENDER_BUDGET_SECONDS", default=300.0)
# Nodes on one machine talk plain http over loopback.
DIRECTORY_INBOX_URL_REQUIRE_HTTPS = env.bool("DIRECTORY_INBOX_URL_REQUIRE_HTTPS", default=False)
# The tests' webhook receivers listen on loopback, over plain http.
WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
VAR_DIR = BASE_DIR / "var" / "test"
NODE_GNUPG_HOME = VAR_DIR / "gnupg" / "node"
NODE_SECRET_GNUPG_HOME = VAR_DIR / "gnupg" / "secret"
STATIC_URL = "/static/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Second factors are required only by the tests that say so (override_settings).
MFA_REQUIRED_FOR_ADMINISTRATORS = False
MFA_REQUIRED_FOR_ALL = False
