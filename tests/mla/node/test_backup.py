"""node_backup and node_restore: a node's state, backed up, restored into a fresh node.

The backup runs in the test's process against the test database (rows committed: pg_dump
reads them from another connection); the restore runs as the fresh node's own
``manage.py`` process, with its own database, media and GnuPG homes.
"""

import fcntl
import json
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import gnupg
import pytest
import time_machine
from django.conf import settings
from django.core.management import CommandError, call_command

from mla.node.backup import MANIFEST
from mla.openpgp.homes import KEY_OPERATIONS_LOCK
from mla.requests.models import AuditChainHead, AuditEntry
from tests.support.backups import DOCUMENT, HOSTED, FreshNode, node_state_make
from tests.support.keys import gnupg_home, gnupg_homes_remove
from tests.support.nodes import Postgres

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def node(settings, fresh_homes, tmp_path) -> Path:
    """This node's media and var directories, and empty GnuPG homes (fresh_homes)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"
    return tmp_path


@pytest.fixture
def state(node, exchange_keys) -> dict[str, str]:
    return node_state_make(partner_armored=exchange_keys.armored[exchange_keys.partner])


@pytest.fixture
def fresh_postgres_node() -> Iterator[FreshNode]:
    database = f"{settings.DATABASES['default']['NAME']}_restored"
    fresh = FreshNode.on_postgres(Postgres.from_django(), database)
    yield fresh
    fresh.remove()


def _backup(output: Path, **options: object) -> Path:
    call_command("node_backup", output=str(output), **options)
    archives = list(output.glob("*.tar"))
    assert len(archives) == 1, list(output.iterdir())
    return archives[0]


def _signs(secret_home: Path, fingerprint: str, public_key: str) -> bool:
    """Whether the key pair in ``secret_home`` signs, checked against its pinned public key."""
    payload = b"signed after the restore"
    signature = gnupg.GPG(gnupghome=str(secret_home)).sign(
        payload, detach=True, binary=True, extra_args=["--local-user", fingerprint]
    )
    checker_home = gnupg_home("mlabk-v")
    try:
        checker = gnupg.GPG(gnupghome=checker_home)
        checker.import_keys(public_key)
        signature_file = Path(checker_home) / "payload.sig"
        signature_file.write_bytes(signature.data)
        verified = checker.verify_data(str(signature_file), payload)
        return bool(verified.valid) and str(verified.pubkey_fingerprint).upper() == fingerprint
    finally:
        gnupg_homes_remove(checker_home)


def test_a_backup_restores_into_a_fresh_node_with_its_audit_keys_and_documents(
    node, state, fresh_postgres_node
):
    from contact_points.models import Authority

    env_file = node / "mla.env"
    env_file.write_text("SECRET_KEY=kept-with-the-backup\n")
    head = AuditChainHead.objects.get(pk=1)
    trail = list(AuditEntry.objects.order_by("position").values_list("position", "node_hash"))
    public_key = Authority.objects.get(identifier=HOSTED).public_key

    archive = _backup(node / "backups", env_file=str(env_file))

    assert archive.stat().st_mode & 0o777 == 0o600
    with tarfile.open(archive) as opened:
        manifest = json.loads(opened.extractfile(MANIFEST).read())  # type: ignore[union-attr]
        names = opened.getnames()
    assert manifest["database"]["engine"] == "postgresql"
    assert manifest["audit_chain_head"] == {"position": head.position, "node_hash": head.node_hash}
    assert manifest["migrations"]["mla_requests"].startswith("0")
    assert "environment/mla.env" in names
    assert f"media/{state['document']}" in names
    assert not [name for name in names if name.endswith(KEY_OPERATIONS_LOCK)]
    assert len(trail) >= 3

    restored = fresh_postgres_node.manage("node_restore", str(archive))

    assert restored.returncode == 0, restored.stderr
    assert (
        f"The audit trail is intact ({len(trail)} entries, head at position {head.position} "
        "as in the backup)." in restored.stdout
    )
    assert f"Hosted key: {HOSTED} {state['hosted_fingerprint']} (pinned)" in restored.stdout
    verified = fresh_postgres_node.manage("verify_audit")
    assert verified.returncode == 0, verified.stderr
    assert fresh_postgres_node.query(
        "SELECT position, node_hash FROM mla_requests_auditentry ORDER BY position"
    ) == [tuple(entry) for entry in trail]
    assert (fresh_postgres_node.media / state["document"]).read_bytes() == DOCUMENT
    assert fresh_postgres_node.secret_home.stat().st_mode & 0o777 == 0o700
    assert _signs(fresh_postgres_node.secret_home, state["hosted_fingerprint"], public_key)
    partner_keys = gnupg.GPG(gnupghome=str(fresh_postgres_node.public_home)).list_keys()
    assert [key["uids"][0] for key in partner_keys if "cc-partner" in key["uids"][0]]


def _corrupt(archive: Path, member: str) -> None:
    with tarfile.open(archive) as opened:
        offset = opened.getmember(member).offset_data
    with archive.open("r+b") as file:
        file.seek(offset + 10)
        byte = file.read(1)
        file.seek(offset + 10)
        file.write(bytes([byte[0] ^ 0xFF]))


def test_a_damaged_backup_is_refused_before_anything_is_written(node, state, tmp_path, settings):
    archive = _backup(node / "backups")
    _corrupt(archive, "database/postgresql.dump")
    entries = AuditEntry.objects.count()
    # Another node's empty places: nothing may appear there.
    settings.MEDIA_ROOT = tmp_path / "other" / "media"
    settings.NODE_SECRET_GNUPG_HOME = tmp_path / "other" / "secret"
    settings.NODE_GNUPG_HOME = tmp_path / "other" / "public"
    settings.VAR_DIR = tmp_path / "other"

    with pytest.raises(CommandError, match=r"database/postgresql.dump does not match the manifest"):
        call_command("node_restore", str(archive))

    assert list((tmp_path / "other").iterdir()) == []
    assert AuditEntry.objects.count() == entries


def test_a_backup_is_not_written_inside_what_it_copies(node):
    inside = Path(settings.MEDIA_ROOT) / "backups"

    with pytest.raises(CommandError, match=r"inside .*media, which the backup copies"):
        call_command("node_backup", output=str(inside))

    assert not inside.exists()


def test_a_file_that_is_no_backup_is_refused(node, tmp_path):
    not_an_archive = tmp_path / "mla-backup-20261203T060000Z.tar"
    not_an_archive.write_bytes(b"a backup that was never made")

    with pytest.raises(CommandError, match="is not a readable backup archive"):
        call_command("node_restore", str(not_an_archive))

    assert not settings.MEDIA_ROOT.exists()


def test_a_node_that_already_holds_data_is_not_restored_over(node, state, tmp_path, settings):
    archive = _backup(node / "backups")
    settings.MEDIA_ROOT = tmp_path / "other" / "media"
    settings.NODE_SECRET_GNUPG_HOME = tmp_path / "other" / "secret"
    settings.NODE_GNUPG_HOME = tmp_path / "other" / "public"

    with pytest.raises(CommandError, match="already holds tables"):
        call_command("node_restore", str(archive))

    assert not (tmp_path / "other" / "media").exists()


def test_a_backup_without_pg_dump_says_what_to_install(monkeypatch, tmp_path):
    with monkeypatch.context() as patched:
        patched.setenv("PATH", str(tmp_path / "empty"))

        with pytest.raises(CommandError, match=r"pg_dump is not installed.*postgresql-client"):
            call_command("node_backup", output=str(tmp_path / "backups"))

    assert not (tmp_path / "backups").exists()


def test_the_embedded_default_round_trips_through_sqlite(exchange_keys, tmp_path):
    source, target = FreshNode.on_sqlite(), FreshNode.on_sqlite()
    try:
        assert source.manage("migrate", "--noinput", "-v0").returncode == 0
        partner_key = tmp_path / "partner.asc"
        partner_key.write_text(exchange_keys.armored[exchange_keys.partner])
        made = source.manage(
            "shell",
            "-c",
            "import json, pathlib; from tests.support.backups import node_state_make; "
            "print(json.dumps(node_state_make(partner_armored=pathlib.Path("
            f"{str(partner_key)!r}).read_text())))",
        )
        assert made.returncode == 0, made.stderr
        state = json.loads(made.stdout.strip().splitlines()[-1])
        backed_up = source.manage("node_backup", "--output", str(tmp_path / "backups"))
        assert backed_up.returncode == 0, backed_up.stderr
        (archive,) = (tmp_path / "backups").glob("*.tar")

        restored = target.manage("node_restore", str(archive))

        assert restored.returncode == 0, restored.stderr
        assert "The audit trail is intact (3 entries" in restored.stdout
        assert f"Hosted key: {HOSTED} {state['hosted_fingerprint']} (pinned)" in restored.stdout
        assert (target.media / state["document"]).read_bytes() == DOCUMENT
        verified = target.manage("verify_audit")
        assert verified.returncode == 0, verified.stderr
    finally:
        source.remove()
        target.remove()


def test_a_backup_never_overwrites_and_leaves_no_partial_file(node, state):
    output = node / "backups"
    with time_machine.travel(datetime(2026, 12, 3, 6, 0, tzinfo=UTC), tick=False):
        archive = _backup(output)
        archive.write_bytes(b"an older backup")

        # The same second: the name of the new archive is taken.
        with pytest.raises(CommandError, match="never overwrites"):
            call_command("node_backup", output=str(output))

    assert [path.name for path in output.iterdir()] == ["mla-backup-20261203T060000Z.tar"]
    assert archive.read_bytes() == b"an older backup"


def _lock_is_free(home: Path) -> bool:
    with (home / KEY_OPERATIONS_LOCK).open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(lock, fcntl.LOCK_UN)
        return True


def test_key_creation_holds_the_lock_a_backup_takes(node, monkeypatch):
    from mla.exchange import keys
    from tests.support.keys import pinned_authority

    home = Path(settings.NODE_SECRET_GNUPG_HOME)
    free_while_generating = []
    generate = keys.key_pair_generate

    def generate_and_look(**arguments):
        free_while_generating.append(_lock_is_free(home))
        return generate(**arguments)

    monkeypatch.setattr(keys, "key_pair_generate", generate_and_look)

    keys.node_key_create(authority=pinned_authority("ro-diicot"))

    assert free_while_generating == [False]
    assert _lock_is_free(home)
