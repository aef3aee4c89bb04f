"""One gunicorn serving this test's database, for a test of what the real web server does
(e.g. how it hands a chunked body to the application). Lighter than a node of the two-node
harness (tests/support/nodes.py): no database, broker or worker of its own.

The test must commit what gunicorn is to see (``django_db(transaction=True)``).
"""

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings as django_settings
from django.db import connection

from tests.support.nodes import NODE_SETTINGS, Service, free_port, wait_for

# Variables of the calling process that must not reach the server: its own replace them.
_NOT_INHERITED = (
    "DATABASE_URL",
    "DJANGO_SETTINGS_MODULE",
    "TEST_DATABASE_NAME",
    "MLA_VAR_DIR",
    "MEDIA_ROOT",
    "STATIC_ROOT",
    "NODE_GNUPG_HOME",
    "NODE_SECRET_GNUPG_HOME",
    "NODE_NAME",
    "SITE_URL",
)


def _database_url() -> str:
    database = connection.settings_dict
    user, password = database.get("USER") or "postgres", database.get("PASSWORD") or ""
    credentials = f"{user}:{password}" if password else user
    host, port = database.get("HOST") or "127.0.0.1", database.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{database['NAME']}"


@contextmanager
def gunicorn_serving(
    *, root: Path, gnupg_homes: tuple[Path, Path], settings: Mapping[str, str] | None = None
) -> Iterator[str]:
    """A gunicorn (sync worker, as deployed) on the test database with the given GnuPG homes
    (secret, partner); yields its base URL and stops it afterwards."""
    gnupg = root / "gnupg"
    gnupg.mkdir(parents=True, exist_ok=True)
    # The node's settings find its homes under MLA_VAR_DIR (tests/support/node_settings.py).
    (gnupg / "secret").symlink_to(gnupg_homes[0])
    (gnupg / "node").symlink_to(gnupg_homes[1])
    port = free_port()
    inherited = {key: value for key, value in os.environ.items() if key not in _NOT_INHERITED}
    conf = root / "gunicorn.conf.py"
    conf.write_text("# Every setting on the command line.\n")
    web = Service(
        "web",
        [
            sys.executable,
            "-m",
            "gunicorn",
            "mla.wsgi:application",
            f"--config={conf}",
            f"--bind=127.0.0.1:{port}",
            "--worker-class=sync",
            "--workers=1",
            "--timeout=120",
            "--graceful-timeout=3",
            "--no-control-socket",
            "--error-logfile=-",
        ],
        env={
            **inherited,
            **(settings or {}),
            "DJANGO_SETTINGS_MODULE": NODE_SETTINGS,
            "DATABASE_URL": _database_url(),
            "MLA_VAR_DIR": str(root),
            "NODE_NAME": "Test node",
            # The test run's broker: the node settings take it from the environment only.
            "CELERY_BROKER_URL": str(django_settings.CELERY_BROKER_URL),
            "SITE_URL": f"http://127.0.0.1:{port}",
            "PYTHONUNBUFFERED": "1",
        },
        log=root / "web.log",
    )
    base_url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if not web.running:
            raise web.failure("exited while starting")
        try:
            urllib.request.urlopen(f"{base_url}/healthz", timeout=2)  # noqa: S310  # ours
        except urllib.error.HTTPError:
            return True  # the application answered
        except OSError:
            return False
        return True

    web.start()
    try:
        wait_for(answers, timeout=60, what="gunicorn to answer")
        yield base_url
    finally:
        web.stop()
