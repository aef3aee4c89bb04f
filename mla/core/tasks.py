from celery import shared_task

from mla.core.health import database_check, gpg_check
from mla.core.heartbeats import heartbeat_record, worker_heartbeat_name


@shared_task(acks_late=True, ignore_result=False)
def worker_health() -> dict[str, object]:
    """What a worker sees of the services it needs (the database and gpg).

    Read-only, so running it twice (acks_late redelivery) is harmless.
    """
    return {"database": database_check().ok, "gpg": gpg_check().ok}


@shared_task(acks_late=True, ignore_result=True)
def heartbeat_task(queue: str) -> str:
    """Sent by beat to each queue every minute: the worker that runs it records that the
    queue is served (the operations page warns when one goes quiet)."""
    return heartbeat_record(name=worker_heartbeat_name(queue)).name
