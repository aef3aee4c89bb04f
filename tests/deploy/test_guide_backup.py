"""deploy/README.md, "Backup and restore", followed as written: the guide's ``mla-manage``
lines back up one host laid out as the guide lays it out, and restore the archive on a
second, fresh host (tests/support/deploy_guide.py says what a test cannot do of a host).
"""

import secrets
import shutil
import tarfile
from pathlib import Path

import pytest
from django.conf import settings

from tests.support.deploy_guide import GuideHost, clean_copy, env_file_read, guide_commands
from tests.support.nodes import Postgres

pytestmark = pytest.mark.two_nodes

# The archive name the guide's examples show.
EXAMPLE_ARCHIVE = "mla-backup-20261203T020000Z.tar"


def _host(name: str, root: Path, code: Path, postgres: Postgres, database: str) -> GuideHost:
    postgres.drop(database)
    postgres.create(database)
    host = GuideHost(name=name, root=root / name, settings={})
    host.settings.update(
        {
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": postgres.url(database),
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/15",
        }
    )
    host.install(code=code)
    return host


def test_the_guide_backs_a_host_up_and_restores_it_on_a_fresh_one(tmp_path: Path) -> None:
    postgres = Postgres.from_django()
    code = clean_copy(tmp_path / "clone" / "mla")
    prefix = f"{settings.DATABASES['default']['TEST']['NAME']}_guide_backup"
    old = _host("old", tmp_path, code, postgres, f"{prefix}_old")
    new = _host("new", tmp_path, code, postgres, f"{prefix}_new")
    try:
        old.run_unit("mla-migrate")
        (backup,) = guide_commands("Making a backup")
        made = old.manage(backup)
        (archive,) = (old.state / "backups").glob("mla-backup-*.tar")
        assert f"Backup written: {archive}" in made.stdout
        assert archive.stat().st_mode & 0o777 == 0o600

        # The old host's environment file, from the archive: on the new host, only the
        # database and the state directory differ (the guide: "adjust DATABASE_URL").
        with tarfile.open(archive) as opened:
            member = opened.extractfile("environment/mla.env")
            assert member is not None
            kept = member.read().decode()
        assert kept == old.env_file.read_text()
        new.env_file.write_text(
            kept.replace(old.settings["DATABASE_URL"], new.settings["DATABASE_URL"]).replace(
                str(old.state), str(new.state)
            )
        )
        assert env_file_read(new.env_file)["SECRET_KEY"] == old.settings["SECRET_KEY"]
        (new.state / "backups").mkdir()
        shutil.copy2(archive, new.state / "backups" / archive.name)

        restore, verify, keys = guide_commands("Restoring on a fresh host")
        restored = new.manage(restore, replacements={EXAMPLE_ARCHIVE: archive.name})
        assert "The audit trail is intact (0 entries, head at position 0" in restored.stdout
        assert "intact" in new.manage(verify).stdout
        assert new.manage(keys).returncode == 0
        # The restored database is the old one: a second restore over it is refused.
        again = new.manage(restore, replacements={EXAMPLE_ARCHIVE: archive.name}, check=False)
        assert again.returncode != 0
        assert "already holds tables" in again.stderr
    finally:
        for database in (f"{prefix}_old", f"{prefix}_new"):
            postgres.drop(database)
