"""The embedded default for a first run: SQLite, tasks executed in-process."""

from .base import *  # noqa: F403
from .base import INSTALLED_APPS, MIDDLEWARE, env

# Off unless asked for (DEBUG=true make run): with it on, Django's pages for a missing page
# or an error list every URL pattern, the settings and the source to whoever sees them.
DEBUG = env.bool("DEBUG", default=False)
# The static files are served by WhiteNoise, from the apps' folders (no collectstatic),
# with DEBUG off as on; runserver serves none itself.
INSTALLED_APPS = [
    "whitenoise.runserver_nostatic",
    *INSTALLED_APPS,
]
MIDDLEWARE = [
    *MIDDLEWARE[:1],
    "whitenoise.middleware.WhiteNoiseMiddleware",
    *MIDDLEWARE[1:],
]
WHITENOISE_USE_FINDERS = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
# No beat either: runserver runs the periodic tasks, and the next delivery attempts, itself.
EMBEDDED_SCHEDULER = env.bool("EMBEDDED_SCHEDULER", default=True)
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# Nodes on one machine talk plain http over loopback.
DIRECTORY_INBOX_URL_REQUIRE_HTTPS = env.bool("DIRECTORY_INBOX_URL_REQUIRE_HTTPS", default=False)
# A webhook receiver tried beside the node, over plain http.
WEBHOOK_ALLOWED_HOSTS = env.list("WEBHOOK_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

# The embedded default keeps its SQLite file and GnuPG homes under var/.
from .base import STATIC_ROOT, VAR_DIR  # noqa: E402

VAR_DIR.mkdir(parents=True, exist_ok=True)
# WhiteNoise serves from the apps' folders here, and warns when STATIC_ROOT is missing.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# The demo's users sign in with a password only (no second factor asked, none required).
MFA_REQUIRED_FOR_ADMINISTRATORS = env.bool("MFA_REQUIRED_FOR_ADMINISTRATORS", default=False)
MFA_REQUIRED_FOR_ALL = env.bool("MFA_REQUIRED_FOR_ALL", default=False)
