"""Backups in the tests: a node's state worth backing up, and a fresh node to restore into.

``node_state_make`` runs in a node's process (the test's own, or a node started with
``manage.py shell``): a hosted authority with its key pair, a partner's pinned key in the
public home, and requests whose audit trail and stored document a restore must bring back.

``FreshNode`` is a node that has nothing yet: its own empty database (PostgreSQL, on the test
run's server, or an SQLite file) and an empty directory for its media and GnuPG homes; its
``manage.py`` commands run as processes with the settings of tests/support/node_settings.py
(or the embedded default's, for SQLite), as the two-node harness runs its nodes.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

from contact_points.services import authority_set_public_key
from mla.exchange.keys import node_key_create, partner_key_sync
from mla.requests.drafting.services import attachment_add, request_create
from tests.support.factories import AuthorityFactory, CountryFactory, UserFactory
from tests.support.keys import gnupg_homes_remove
from tests.support.nodes import _NOT_INHERITED, NODE_SETTINGS, REPO, Postgres

DOCUMENT = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
HOSTED = "fr-paris"
PARTNER = "cc-partner"


def node_state_make(*, partner_armored: str) -> dict[str, str]:
    """What a node holds after some work; the hosted key's fingerprint and the document's
    path under MEDIA_ROOT."""
    france = CountryFactory(code="FR", name="France")
    germany = CountryFactory(code="DE", name="Germany")
    paris = AuthorityFactory(identifier=HOSTED, name="Parquet de Paris", country=france)
    berlin = AuthorityFactory(identifier="de-berlin", country=germany, instruments=["eio"])
    partner = AuthorityFactory(identifier=PARTNER, country=germany)
    authority_set_public_key(authority=partner, armored=partner_armored)
    partner_key_sync(authority=partner)
    fingerprint = node_key_create(authority=paris)
    prosecutor = UserFactory(username="camille", authority=paris, roles=["prosecutor"])
    drafts = [
        request_create(
            actor=prosecutor,
            declaration_code="eio",
            executing_country=germany,
            executing_authority=berlin,
        )
        for _ in range(2)
    ]
    attachment = attachment_add(
        request=drafts[0], actor=prosecutor, name="court order.pdf", content=DOCUMENT
    )
    return {"hosted_fingerprint": fingerprint, "document": attachment.file.name}


@dataclass
class FreshNode:
    root: Path
    database_url: str
    settings_module: str
    postgres: Postgres | None = None
    database: str = ""

    @classmethod
    def on_postgres(cls, postgres: Postgres, database: str) -> "FreshNode":
        postgres.drop(database)
        postgres.create(database)
        return cls(
            root=cls._root(),
            database_url=postgres.url(database),
            settings_module=NODE_SETTINGS,
            postgres=postgres,
            database=database,
        )

    @classmethod
    def on_sqlite(cls) -> "FreshNode":
        root = cls._root()
        return cls(
            root=root,
            database_url=f"sqlite:///{root / 'db.sqlite3'}",
            settings_module="mla.settings.local",
        )

    @staticmethod
    def _root() -> Path:
        # Short paths under /tmp: gpg-agent's socket path must stay under ~107 characters.
        return Path(tempfile.mkdtemp(dir="/tmp", prefix="mlabk-"))

    @property
    def secret_home(self) -> Path:
        return self.root / "gnupg" / "secret"

    @property
    def public_home(self) -> Path:
        return self.root / "gnupg" / "node"

    @property
    def media(self) -> Path:
        return self.root / "media"

    @property
    def env(self) -> dict[str, str]:
        inherited = {key: value for key, value in os.environ.items() if key not in _NOT_INHERITED}
        return {
            **inherited,
            "DJANGO_SETTINGS_MODULE": self.settings_module,
            "DATABASE_URL": self.database_url,
            "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15"),
            "MLA_VAR_DIR": str(self.root),
            # The embedded default's settings take these from the environment; the node
            # settings derive them from MLA_VAR_DIR the same way.
            "MEDIA_ROOT": str(self.media),
            "NODE_GNUPG_HOME": str(self.public_home),
            "NODE_SECRET_GNUPG_HOME": str(self.secret_home),
            "NODE_NAME": "Restored node",
            "SITE_URL": "http://127.0.0.1:9",
            "PYTHONPATH": str(REPO),
        }

    def manage(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *arguments],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )

    def query(self, statement: str) -> list[tuple[object, ...]]:
        assert self.postgres is not None
        with psycopg.connect(self.postgres.url(self.database)) as connection:
            return connection.execute(statement).fetchall()  # type: ignore[arg-type]

    def remove(self) -> None:
        gnupg_homes_remove(str(self.secret_home), str(self.public_home))
        shutil.rmtree(self.root, ignore_errors=True)
        if self.postgres is not None:
            self.postgres.drop(self.database)
