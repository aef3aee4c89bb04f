"""Read-side checks of the services a node depends on, for /healthz."""

import shutil
import subprocess
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import connection

from mla.celery import app as celery_app

CHECK_TIMEOUT_SECONDS = 3


@dataclass(frozen=True)
class ServiceCheck:
    ok: bool
    detail: str


def database_check() -> ServiceCheck:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"; the detail says which
        return ServiceCheck(ok=False, detail=f"{type(exc).__name__}: {exc}".strip())
    return ServiceCheck(ok=True, detail=connection.vendor)


def broker_check() -> ServiceCheck:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return ServiceCheck(ok=True, detail="not used: tasks run in-process")
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=CHECK_TIMEOUT_SECONDS
            )
            # Redis connects lazily; a round trip proves the broker answers.
            client = getattr(conn.default_channel, "client", None)
            if client is not None:
                client.ping()
    except Exception as exc:  # kombu and redis raise many types; all mean "down"
        return ServiceCheck(ok=False, detail=f"{type(exc).__name__}: {exc}".strip())
    return ServiceCheck(ok=True, detail=conn.as_uri())


def gpg_check() -> ServiceCheck:
    binary = shutil.which(settings.GNUPG_BINARY)
    if binary is None:
        return ServiceCheck(ok=False, detail=f"{settings.GNUPG_BINARY} not found on PATH")
    try:
        completed = subprocess.run(
            [binary, "--version"],
            capture_output=True,
            timeout=CHECK_TIMEOUT_SECONDS,
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return ServiceCheck(ok=False, detail=f"{type(exc).__name__}: {exc}")
    first_line = completed.stdout.decode("utf-8", "replace").splitlines()[0]
    return ServiceCheck(ok=True, detail=first_line)


def node_health() -> dict[str, dict[str, object]]:
    checks = {"database": database_check(), "broker": broker_check(), "gpg": gpg_check()}
    return {name: asdict(check) for name, check in checks.items()}
