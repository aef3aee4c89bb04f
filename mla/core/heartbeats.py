"""Heartbeats of the node's background processes, for the operations page.

Celery beat sends ``heartbeat_task`` to each queue every minute: beat records its own
heartbeat when it sends one (``heartbeat_sent``, in beat's process), and the worker that runs
it records the queue's. A beat heartbeat that is fresh while a queue's is stale means that
queue has no running worker; both stale mean beat is down (or the database was, for both).
"""

import logging
from datetime import datetime

from django.db import close_old_connections, connection
from django.utils import timezone

from mla.core.models import Heartbeat

BEAT = "beat"
HEARTBEAT_TASK = "mla.core.tasks.heartbeat_task"

logger = logging.getLogger(__name__)


def worker_heartbeat_name(queue: str) -> str:
    return f"worker:{queue}"


def heartbeat_record(*, name: str, at: datetime | None = None) -> Heartbeat:
    """Record that ``name`` was alive at ``at`` (now by default)."""
    heartbeat, _created = Heartbeat.objects.update_or_create(
        name=name, defaults={"at": at or timezone.now()}
    )
    return heartbeat


def heartbeats() -> dict[str, datetime]:
    """The last heartbeat of each process that ever sent one."""
    return dict(Heartbeat.objects.values_list("name", "at"))


def on_task_published(sender: str | None = None, **kwargs: object) -> None:
    """Celery's before_task_publish: beat records its heartbeat when it sends the heartbeat
    task (nothing else sends it). Never stops the sending: a failure is logged."""
    if sender != HEARTBEAT_TASK:
        return
    try:
        # Beat holds its connection for days: one the database closed is replaced first
        # (never one in a transaction of the caller's).
        if not connection.in_atomic_block:
            close_old_connections()
        heartbeat_record(name=BEAT)
    except Exception:  # the heartbeat is news, not a condition of sending the task
        logger.exception("Beat could not record its heartbeat.")
