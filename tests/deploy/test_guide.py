"""Two nodes stood up from nothing by following deploy/README.md as written, then run by
their own administrators through the pages only: no shell, no Django console, no fixture
that skips a step (tests/support/deploy_guide.py says what a test cannot do of a host).

Node A hosts a German prosecutor's office, node B a French one. Each is installed, migrated
and started by its units' commands, initialised by the guide's ``mla-manage`` lines, and
its administrators sign in with a second factor, invite their colleagues, introduce their
node to the other, and approve the other's introduction (four eyes). A's prosecutor then
drafts and sends an EIO that B's contact point acknowledges; at last both import one
shared signed directory and each keeps its own pins.
"""

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from tests.support.deploy_guide import GuideHost, clean_copy, guide_commands
from tests.support.nodes import Postgres, Redis

pytestmark = pytest.mark.two_nodes


@pytest.fixture(scope="module")
def code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One clean copy of the checkout, as `git clone` in step 3 would give it."""
    return clean_copy(tmp_path_factory.mktemp("clone") / "mla")


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory, code: Path) -> Iterator[dict[str, GuideHost]]:
    postgres = Postgres.from_django()
    root = tmp_path_factory.mktemp("hosts")
    redis = Redis(root / "redis")
    redis.start()
    prefix = f"{settings.DATABASES['default']['TEST']['NAME']}_guide"
    made: dict[str, GuideHost] = {}
    try:
        for index, name in enumerate(("a", "b")):
            database = f"{prefix}_{name}"
            postgres.drop(database)
            postgres.create(database)
            host = GuideHost(name=name, root=root / name, settings={})
            host.settings.update(
                {
                    "SECRET_KEY": secrets.token_urlsafe(50),
                    "ALLOWED_HOSTS": "127.0.0.1,localhost",
                    "DATABASE_URL": postgres.url(database),
                    "CELERY_BROKER_URL": redis.url(index),
                    # As users reach it, through the TLS of a proxy (tests/support/web.py).
                    "SITE_URL": "https://" + host.base_url.split("://", 1)[1],
                    # No TLS on loopback: nginx is not part of the test, and the nodes
                    # reach each other's inbox over plain HTTP.
                    "SECURE_SSL_REDIRECT": "false",
                    "SECURE_HSTS_SECONDS": "0",
                    "DIRECTORY_INBOX_URL_REQUIRE_HTTPS": "false",
                    "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
                    "EMAIL_FILE_PATH": str(root / name / "mail"),
                    "WEB_CONCURRENCY": "2",
                }
            )
            host.install(code=code)
            made[name] = host
        for host in made.values():
            host.run_unit("mla-migrate")
            for unit in ("mla-web", "mla-worker", "mla-exchange-worker", "mla-beat"):
                host.start_unit(unit)
        for host in made.values():
            host.wait_until_serving()
        yield made
    finally:
        for host in made.values():
            print(host.logs())
            host.stop()
        redis.stop()
        for name in made:
            postgres.drop(f"{prefix}_{name}")


def test_two_nodes_from_nothing_exchange_an_eio(hosts: dict[str, GuideHost]) -> None:
    a, b = hosts["a"], hosts["b"]
    for host in (a, b):
        (check,) = guide_commands("Management commands")
        checked = host.manage(check)
        assert "System check identified" in checked.stdout + checked.stderr
