from celery import shared_task

from mla.core.health import database_check, gpg_check


@shared_task(acks_late=True, ignore_result=False)
def worker_health() -> dict[str, object]:
    """What a worker sees of the services it needs (the database and gpg).

    Read-only, so running it twice (acks_late redelivery) is harmless.
    """
    return {"database": database_check().ok, "gpg": gpg_check().ok}
