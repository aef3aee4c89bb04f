"""Periodic upkeep of the statistics (Celery beat). Each only calls a service and may run
twice (acks_late): the service is idempotent."""

from celery import shared_task

from mla.statistics.services import rollups_compact


@shared_task(acks_late=True)
def rollups_compact_task() -> None:
    """Fold the count rollups' rows, one per key again."""
    rollups_compact()
