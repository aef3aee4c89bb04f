"""Backup and restore of a node's whole state, as one tar archive.

A node's state is its database, its media (stored documents, received messages), its two
GnuPG homes (the secret home with the hosted authorities' key pairs, irreplaceable; the
public home, a cache of the directory's keys) and its environment file (``SECRET_KEY``,
the key passphrase). ``node_backup`` writes them into one uncompressed tar file, so that
there is one thing to encrypt, copy off the host and check; it appears under its final name
only once complete (a half-written backup never looks like one), readable by its owner only.

Consistency: the database is read in one snapshot (PostgreSQL: ``pg_dump`` of a snapshot the
backup exports; SQLite: the online backup API), taken while holding the lock that key
creation and rotation hold until their pin commits (``secret_home_locked``), and the secret
home is copied under that lock too; so the backup never holds a pinned key without its key
pair. Media are copied after the snapshot: a document added meanwhile is in the archive
without its row, which is harmless.

The manifest (``manifest.json``, the last member) names the code version, the database
engine, each app's latest migration, the audit chain head in the snapshot, and the SHA-256
of every other member. ``node_restore`` checks every digest before it touches anything,
restores into a fresh node only (an empty database, media and homes without keys), then
migrates, verifies the audit trail and lists the hosted keys.
"""

import contextlib
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import IO, Any

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg.conninfo import make_conninfo

from mla.core.errors import ApplicationError
from mla.exchange.keys import HostedKey, node_keys_list
from mla.openpgp.homes import KEY_OPERATIONS_LOCK, secret_home_locked
from mla.requests.audit import GENESIS, AnchoredAudit, audit_chain_head, audit_verify_anchored
from mla.requests.models import AuditChainHead

FORMAT = "mla-node-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MEMBER_KEY_PAIRS_HOME = "gnupg/secret"
MEMBER_PARTNER_KEYS_HOME = "gnupg/public"
MEMBER_MEDIA = "media"
MEMBER_ENVIRONMENT = "environment"
DATABASE_MEMBERS = {"postgresql": "database/postgresql.dump", "sqlite": "database/db.sqlite3"}
_CHUNK = 1024 * 1024
# Subprocess output kept in an error message.
_DETAIL_CHARS = 600


class BackupError(ApplicationError):
    """A backup cannot be made, or an archive cannot be restored here; nothing was changed."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int
    sha256: str
    manifest: dict[str, Any]


@dataclass(frozen=True)
class Restored:
    manifest: dict[str, Any]
    audit_head: tuple[int, str]
    # The chains, and the chain against the signed checkpoints restored with it (verify_audit).
    audit: AnchoredAudit
    hosted_keys: list[HostedKey]

    @property
    def audit_head_matches(self) -> bool:
        recorded = self.manifest["audit_chain_head"]
        return self.audit_head == (recorded["position"], recorded["node_hash"])


# --- The database ---------------------------------------------------------------------------


def database_engine() -> str:
    engine = str(settings.DATABASES["default"]["ENGINE"])
    if "postgresql" in engine:
        return "postgresql"
    if "sqlite3" in engine:
        return "sqlite"
    raise BackupError(
        _("Backups support PostgreSQL and SQLite, not %(engine)s.") % {"engine": engine}
    )


def _libpq_environment() -> dict[str, str]:
    """The connection of the settings as libpq variables: no password on a command line."""
    database = settings.DATABASES["default"]
    options = database.get("OPTIONS", {})
    values = {
        "PGDATABASE": database.get("NAME"),
        "PGHOST": database.get("HOST"),
        "PGPORT": database.get("PORT"),
        "PGUSER": database.get("USER"),
        "PGPASSWORD": database.get("PASSWORD"),
        "PGSSLMODE": options.get("sslmode"),
        "PGSSLROOTCERT": options.get("sslrootcert"),
        "PGSSLCERT": options.get("sslcert"),
        "PGSSLKEY": options.get("sslkey"),
        "PGSERVICE": options.get("service"),
        "PGPASSFILE": options.get("passfile"),
    }
    return {**os.environ, **{key: str(value) for key, value in values.items() if value}}


def _program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            _(
                "%(program)s is not installed or not on PATH; it comes with the PostgreSQL "
                "client (Debian: apt-get install postgresql-client), of the server's major "
                "version or newer."
            )
            % {"program": name}
        )
    return found


def _run(command: list[str], *, what: str) -> None:
    done = subprocess.run(
        command, env=_libpq_environment(), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupError(
            _("%(what)s failed (exit status %(status)s): %(detail)s")
            % {"what": what, "status": done.returncode, "detail": done.stderr[-_DETAIL_CHARS:]}
        )


def _snapshot_facts(cursor: Any) -> dict[str, Any]:
    """Each app's latest migration and the audit chain head, as the snapshot holds them."""
    cursor.execute("SELECT app, name FROM django_migrations ORDER BY id")
    migrations = dict(cursor.fetchall())
    cursor.execute(f"SELECT position, node_hash FROM {AuditChainHead._meta.db_table}")  # noqa: S608
    head = cursor.fetchone() or (0, GENESIS)
    return {
        "migrations": dict(sorted(migrations.items())),
        "audit_chain_head": {"position": int(head[0]), "node_hash": str(head[1])},
    }


@contextlib.contextmanager
def _postgresql_snapshot() -> Iterator[tuple[str, dict[str, Any]]]:
    """An exported snapshot, open while the block runs, and the facts read in it."""
    environment = _libpq_environment()
    parameters = {
        "dbname": environment.get("PGDATABASE"),
        "host": environment.get("PGHOST"),
        "port": environment.get("PGPORT"),
        "user": environment.get("PGUSER"),
        "password": environment.get("PGPASSWORD"),
        "sslmode": environment.get("PGSSLMODE"),
    }
    try:
        snapshot_connection = psycopg.connect(
            make_conninfo("", **{key: value for key, value in parameters.items() if value})
        )
    except psycopg.Error as error:
        raise BackupError(
            _("Cannot connect to the database: %(detail)s") % {"detail": error}
        ) from error
    with snapshot_connection:
        snapshot_connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        snapshot_connection.read_only = True
        with snapshot_connection.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            row = cursor.fetchone()
            assert row is not None
            facts = _snapshot_facts(cursor)
            yield str(row[0]), facts


def _sqlite_copy(target: Path) -> dict[str, Any]:
    name = Path(str(settings.DATABASES["default"]["NAME"]))
    if not name.is_file():
        raise BackupError(_("The SQLite database %(path)s does not exist.") % {"path": name})
    source = sqlite3.connect(f"{name.resolve().as_uri()}?mode=ro", uri=True)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        return _snapshot_facts(copy.cursor())
    finally:
        copy.close()
        source.close()


# --- Writing the archive ----------------------------------------------------------------


class _Hashing:
    """A file read through, its SHA-256 taken of exactly what tarfile copied."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size)
        self.digest.update(data)
        return data


class _ArchiveWriter:
    def __init__(self, archive: tarfile.TarFile) -> None:
        self.archive = archive
        self.members: dict[str, dict[str, Any]] = {}

    def add_file(self, source: Path, name: str) -> None:
        with source.open("rb") as file:
            info = tarfile.TarInfo(name)
            info.size = os.fstat(file.fileno()).st_size
            info.mtime = int(os.fstat(file.fileno()).st_mtime)
            info.mode = 0o600
            reader = _Hashing(file)
            self.archive.addfile(info, reader)
        self.members[name] = {"sha256": reader.digest.hexdigest(), "size": info.size}

    def add_tree(self, root: Path, prefix: str) -> None:
        """Every regular file under ``root`` (none if it does not exist), in a stable order."""
        if not root.is_dir():
            return
        for directory, subdirectories, files in os.walk(root):
            subdirectories.sort()
            for file_name in sorted(files):
                path = Path(directory) / file_name
                if not path.is_file() or path.is_symlink() or _is_lock(file_name):
                    continue  # gpg-agent's sockets, lock files
                self.add_file(path, f"{prefix}/{path.relative_to(root).as_posix()}")

    def add_bytes(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = int(timezone.now().timestamp())
        info.mode = 0o600
        self.archive.addfile(info, io.BytesIO(data))


def _is_lock(file_name: str) -> bool:
    # Ours, and gpg's dot-locks (".#lk0x…", "pubring.kbx.lock"): held only while they run.
    return (
        file_name == KEY_OPERATIONS_LOCK
        or file_name.startswith(".#lk")
        or (file_name.endswith(".lock"))
    )


def code_version() -> str:
    """``git describe`` of the checkout when it is one, else the installed package version."""
    git = shutil.which("git")
    if git and (Path(settings.BASE_DIR) / ".git").exists():
        described = subprocess.run(
            [git, "-C", str(settings.BASE_DIR), "describe", "--always", "--dirty", "--tags"],
            capture_output=True,
            text=True,
            check=False,
        )
        if described.returncode == 0 and described.stdout.strip():
            return described.stdout.strip()
    try:
        return metadata.version("mla-exchange")
    except metadata.PackageNotFoundError:
        return "unknown"


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def node_backup(*, output_dir: Path, env_file: Path | None = None) -> Backup:
    """Write a new backup archive of this node into ``output_dir`` (made if missing)."""
    engine = database_engine()
    pg_dump = _program("pg_dump") if engine == "postgresql" else ""
    if env_file is not None and not env_file.is_file():
        raise BackupError(_("The environment file %(path)s does not exist.") % {"path": env_file})
    for backed_up in (
        settings.MEDIA_ROOT,
        settings.NODE_SECRET_GNUPG_HOME,
        settings.NODE_GNUPG_HOME,
    ):
        if output_dir.resolve().is_relative_to(Path(backed_up).resolve()):
            raise BackupError(
                _("%(path)s is inside %(backed_up)s, which the backup copies: choose another.")
                % {"path": output_dir, "backed_up": backed_up}
            )
    created_at = timezone.now()
    target = output_dir / f"mla-backup-{created_at:%Y%m%dT%H%M%SZ}.tar"
    partial = output_dir / f".{target.name}.partial"
    try:
        output_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if target.exists():
            raise FileExistsError(target)
        work = Path(tempfile.mkdtemp(dir=output_dir, prefix=".mla-backup-"))
        try:
            manifest = _archive_write(
                partial=partial,
                work=work,
                engine=engine,
                pg_dump=pg_dump,
                env_file=env_file,
                created_at=created_at,
            )
            # A hard link, not a rename: it fails rather than replace a file made meanwhile.
            os.link(partial, target)
        finally:
            partial.unlink(missing_ok=True)
            shutil.rmtree(work, ignore_errors=True)
    except FileExistsError as error:
        raise BackupError(
            _("%(path)s already exists; a backup never overwrites a file.") % {"path": target}
        ) from error
    except OSError as error:
        raise BackupError(
            _("The backup could not be written in %(directory)s: %(detail)s")
            % {"directory": output_dir, "detail": error}
        ) from error
    return Backup(
        path=target, size=target.stat().st_size, sha256=_file_digest(target), manifest=manifest
    )


def _archive_write(
    *,
    partial: Path,
    work: Path,
    engine: str,
    pg_dump: str,
    env_file: Path | None,
    created_at: datetime,
) -> dict[str, Any]:
    database_member = DATABASE_MEMBERS[engine]
    dump = work / Path(database_member).name
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with (
        os.fdopen(descriptor, "wb") as raw,
        tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive,
        contextlib.ExitStack() as snapshot,
    ):
        writer = _ArchiveWriter(archive)
        with secret_home_locked():
            if engine == "postgresql":
                snapshot_id, facts = snapshot.enter_context(_postgresql_snapshot())
            else:
                facts = _sqlite_copy(dump)
            writer.add_tree(Path(settings.NODE_SECRET_GNUPG_HOME), MEMBER_KEY_PAIRS_HOME)
        writer.add_tree(Path(settings.NODE_GNUPG_HOME), MEMBER_PARTNER_KEYS_HOME)
        if engine == "postgresql":
            _run(
                [pg_dump, "--format=custom", f"--snapshot={snapshot_id}", f"--file={dump}"],
                what="pg_dump",
            )
            snapshot.close()
        writer.add_file(dump, database_member)
        dump.unlink()
        writer.add_tree(Path(settings.MEDIA_ROOT), MEMBER_MEDIA)
        environment_member = None
        if env_file is not None:
            environment_member = f"{MEMBER_ENVIRONMENT}/{env_file.name}"
            writer.add_file(env_file, environment_member)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": created_at.isoformat(),
            "code_version": code_version(),
            "database": {"engine": engine, "member": database_member},
            "migrations": facts["migrations"],
            "audit_chain_head": facts["audit_chain_head"],
            "environment_file": (
                {"member": environment_member, "path": str(env_file)} if env_file else None
            ),
            "members": writer.members,
        }
        writer.add_bytes(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode())
        raw.flush()
        os.fsync(raw.fileno())
    return manifest


# --- Reading and restoring --------------------------------------------------------------


def _member_name(name: str) -> str:
    path = PurePosixPath(name)
    if path.is_absolute() or not path.parts or any(part in ("", ".", "..") for part in path.parts):
        raise BackupError(_("The archive holds an unsafe path: %(name)s.") % {"name": name})
    return path.as_posix()


def _manifest_read(archive: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = archive.getmember(MANIFEST)
        file = archive.extractfile(member)
        if file is None:
            raise KeyError(MANIFEST)
        manifest = json.loads(file.read())
    except (KeyError, ValueError) as error:
        raise BackupError(_("The archive holds no readable manifest.json.")) from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(_("This archive is not a backup of a node."))
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            _("Backup format version %(version)s is not one this code reads (%(ours)s).")
            % {"version": manifest.get("format_version"), "ours": FORMAT_VERSION}
        )
    database = manifest.get("database")
    if not isinstance(database, dict) or DATABASE_MEMBERS.get(
        str(database.get("engine", ""))
    ) != database.get("member"):
        raise BackupError(_("The archive's manifest names no database this code restores."))
    return manifest


def backup_unpack(*, archive_path: Path, into: Path) -> dict[str, Any]:
    """Extract the archive into ``into`` if every member matches the manifest; the manifest.

    A member the manifest does not list, one it lists that is missing, and one whose size or
    SHA-256 differs, each refuse the whole archive.
    """
    if not archive_path.is_file():
        raise BackupError(_("%(path)s is not a file.") % {"path": archive_path})
    try:
        archive = tarfile.open(archive_path, mode="r:")  # noqa: SIM115 (closed below)
    except tarfile.TarError as error:
        raise BackupError(
            _("%(path)s is not a readable backup archive: %(detail)s")
            % {"path": archive_path, "detail": error}
        ) from error
    with archive:
        try:
            manifest = _manifest_read(archive)
            expected: Mapping[str, Mapping[str, Any]] = manifest["members"]
            seen: set[str] = set()
            for member in archive:
                name = _member_name(member.name)
                if name == MANIFEST or member.isdir():
                    continue
                if not member.isfile() or name not in expected or name in seen:
                    raise BackupError(
                        _("The archive holds %(name)s, which its manifest does not list.")
                        % {"name": name}
                    )
                seen.add(name)
                digest = _member_extract(archive, member, into / name)
                if (digest, member.size) != (expected[name]["sha256"], expected[name]["size"]):
                    raise BackupError(
                        _(
                            "%(name)s does not match the manifest's SHA-256: the backup is "
                            "damaged or was altered. Nothing was restored."
                        )
                        % {"name": name}
                    )
        except (tarfile.TarError, OSError, KeyError, TypeError) as error:
            raise BackupError(
                _("%(path)s cannot be read whole: %(detail)s")
                % {"path": archive_path, "detail": error}
            ) from error
    missing = sorted(set(expected) - seen)
    if missing:
        raise BackupError(
            _("The archive lacks %(names)s, which its manifest lists.")
            % {"names": ", ".join(missing)}
        )
    return manifest


def _member_extract(archive: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> str:
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    source = archive.extractfile(member)
    assert source is not None
    digest = hashlib.sha256()
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            file.write(chunk)
    return digest.hexdigest()


def _has_files(root: Path) -> bool:
    return root.is_dir() and any(path.is_file() for path in root.rglob("*"))


def _home_holds_keys(home: Path) -> bool:
    if not home.is_dir():
        return False
    if _has_files(home / "private-keys-v1.d"):
        return True
    listed = subprocess.run(
        [settings.GNUPG_BINARY, "--homedir", str(home), "--batch", "--with-colons", "--list-keys"],
        capture_output=True,
        text=True,
        check=False,
    )
    return any(line.startswith("pub:") for line in listed.stdout.splitlines())


def _fresh_node_check(manifest: Mapping[str, Any]) -> None:
    engine = database_engine()
    if manifest["database"]["engine"] != engine:
        raise BackupError(
            _("The backup holds a %(backup)s database; this node uses %(ours)s.")
            % {"backup": manifest["database"]["engine"], "ours": engine}
        )
    if engine == "postgresql":
        _program("pg_restore")
    if connection.introspection.table_names():
        raise BackupError(
            _(
                "The database %(name)s already holds tables. Restore into a new, empty "
                "database (createdb), without running migrate first."
            )
            % {"name": settings.DATABASES["default"]["NAME"]}
        )
    if _has_files(Path(settings.MEDIA_ROOT)):
        raise BackupError(
            _("MEDIA_ROOT %(path)s already holds files; restore into an empty one.")
            % {"path": settings.MEDIA_ROOT}
        )
    for home in (settings.NODE_SECRET_GNUPG_HOME, settings.NODE_GNUPG_HOME):
        if _home_holds_keys(Path(home)):
            raise BackupError(
                _("The GnuPG home %(path)s already holds keys; restore into an empty one.")
                % {"path": home}
            )


def _database_restore(dump: Path) -> None:
    connection.close()
    if database_engine() == "postgresql":
        _run(
            [
                _program("pg_restore"),
                "--exit-on-error",
                "--single-transaction",
                # The new database's owner owns what is restored.
                "--no-owner",
                "--no-privileges",
                f"--dbname={settings.DATABASES['default']['NAME']}",
                str(dump),
            ],
            what="pg_restore",
        )
        return
    source = sqlite3.connect(dump)
    target = sqlite3.connect(str(settings.DATABASES["default"]["NAME"]))
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def _tree_place(source: Path, target: Path, *, private: bool) -> None:
    """Move the files under ``source`` to the same places under ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    if private:
        target.chmod(0o700)
    if not source.is_dir():
        return
    for path in sorted(source.rglob("*")):
        destination = target / path.relative_to(source)
        if path.is_dir():
            destination.mkdir(exist_ok=True, mode=0o700 if private else 0o755)
            if private:
                destination.chmod(0o700)
        else:
            shutil.move(path, destination)
            destination.chmod(0o600 if private else 0o640)


def _home_replace(source: Path, home: Path) -> None:
    # The empty home's agent and bookkeeping (an empty keyring, trustdb) go; the key
    # operations' lock stays, since another process may hold it open.
    subprocess.run(
        ["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True, check=False
    )
    if home.is_dir():
        for entry in home.iterdir():
            if entry.name == KEY_OPERATIONS_LOCK:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    _tree_place(source, home, private=True)


def node_restore(*, archive_path: Path) -> Restored:
    """Restore a backup into this fresh node, migrate, and check the result.

    Nothing is changed unless the archive is whole and the node is fresh (see
    ``_fresh_node_check``).
    """
    var_dir = Path(settings.VAR_DIR)
    var_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=var_dir, prefix=".mla-restore-"))
    try:
        manifest = backup_unpack(archive_path=archive_path, into=staging)
        _fresh_node_check(manifest)
        _database_restore(staging / manifest["database"]["member"])
        try:
            _tree_place(staging / MEMBER_MEDIA, Path(settings.MEDIA_ROOT), private=False)
            _home_replace(staging / MEMBER_KEY_PAIRS_HOME, Path(settings.NODE_SECRET_GNUPG_HOME))
            _home_replace(staging / MEMBER_PARTNER_KEYS_HOME, Path(settings.NODE_GNUPG_HOME))
        except OSError as error:
            raise BackupError(
                _(
                    "The database is restored, but the files could not be put in place: "
                    "%(detail)s. Drop and create the database again, empty MEDIA_ROOT and "
                    "the GnuPG homes, and restore again."
                )
                % {"detail": error}
            ) from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    # The code may be newer than the backup.
    call_command("migrate", interactive=False, verbosity=0)
    return Restored(
        manifest=manifest,
        audit_head=audit_chain_head(),
        audit=audit_verify_anchored(),
        hosted_keys=node_keys_list(),
    )
