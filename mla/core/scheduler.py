"""The embedded default's stand-in for Celery beat.

On the embedded default (`make run`) tasks run in-process and there is no beat: without this,
no deadline would ever be marked missed, no escalation sent, and a delivery that failed once
would never be attempted again (its countdown cannot wait in-process). runserver's serving
process runs ``settings.EMBEDDED_SCHEDULE`` (beat's schedule plus the sweep of due deliveries)
in a daemon thread, each task in-process when due, and records the ``beat`` heartbeat at each
tick. Never on a broker-backed node, in a management command other than runserver, or in the
tests (``EMBEDDED_SCHEDULER`` is off but in the embedded default's settings).
"""

import copy
import importlib
import logging
import os
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from celery.schedules import BaseSchedule
from celery.schedules import schedule as celery_schedule
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections
from django.utils import timezone

from mla.celery import app as celery_app
from mla.core.heartbeats import BEAT, heartbeat_record

logger = logging.getLogger(__name__)

# The longest the thread sleeps between two looks at the schedule.
MAX_SLEEP_SECONDS = 15.0


@dataclass
class _Entry:
    task: str
    schedule: BaseSchedule
    args: tuple[object, ...]
    kwargs: dict[str, object]
    last_run_at: datetime


class EmbeddedScheduler:
    """Runs the tasks of a beat-style schedule in this process when they are due.

    ``run_due(now=...)`` is one tick: the clock is passed in, so that a test moves it.
    Each entry first runs one interval after ``started_at``, as under beat.
    """

    def __init__(
        self, *, schedule: Mapping[str, Mapping[str, object]], started_at: datetime
    ) -> None:
        self._now = started_at
        self._entries: dict[str, _Entry] = {}
        for name, entry in schedule.items():
            # A copy that reads this scheduler's clock (crontabs are shared with settings).
            when = copy.copy(_as_schedule(entry["schedule"]))
            # (celery-types names the attribute nowfunc; celery reads nowfun.)
            cast(Any, when).nowfun = self._clock
            task = str(entry["task"])
            # Celery discovers the tasks modules in a worker, not in a web process: the
            # module that declares each task is imported here.
            importlib.import_module(task.rsplit(".", 1)[0])
            self._entries[name] = _Entry(
                task=task,
                schedule=when,
                args=tuple(cast(Iterable[object], entry.get("args", ()))),
                kwargs=dict(cast(Mapping[str, object], entry.get("kwargs", {}))),
                last_run_at=started_at,
            )

    def _clock(self) -> datetime:
        return self._now

    def run_due(self, *, now: datetime) -> tuple[list[str], float]:
        """Run the entries due at ``now``; their names, and the seconds until the next one
        is due."""
        self._now = now
        ran: list[str] = []
        wait = MAX_SLEEP_SECONDS
        for name, entry in self._entries.items():
            due, next_in = entry.schedule.is_due(entry.last_run_at)
            if due:
                entry.last_run_at = now
                ran.append(name)
                self._run(name, entry)
            wait = min(wait, float(next_in))
        return ran, max(wait, 0.0)

    @staticmethod
    def _run(name: str, entry: _Entry) -> None:
        try:
            celery_app.tasks[entry.task].apply(args=entry.args, kwargs=entry.kwargs, throw=True)
        except Exception:  # one failing task must not stop the others, nor the thread
            logger.exception("The scheduled task %s (%s) failed.", name, entry.task)


def _as_schedule(value: object) -> BaseSchedule:
    if isinstance(value, BaseSchedule):
        return value
    if isinstance(value, int | float):
        return celery_schedule(timedelta(seconds=value))
    if isinstance(value, timedelta):
        return celery_schedule(value)
    raise ImproperlyConfigured(f"Not a schedule: {value!r}")


def _loop(scheduler: EmbeddedScheduler) -> None:
    while True:
        try:
            _ran, wait = scheduler.run_due(now=timezone.now())
            heartbeat_record(name=BEAT)
        except Exception:  # e.g. the database briefly locked: the next tick tries again
            logger.exception("The embedded scheduler's tick failed.")
            wait = MAX_SLEEP_SECONDS
        finally:
            # The thread's own connection, closed between ticks as a request's would be.
            close_old_connections()
        time.sleep(max(wait, 1.0))


def serves_requests_here(argv: list[str], environ: Mapping[str, str]) -> bool:
    """Whether this process is runserver's serving one: with the autoreloader, the child it
    starts (RUN_MAIN), not the parent that watches files."""
    if len(argv) < 2 or argv[1] != "runserver":
        return False
    return environ.get("RUN_MAIN") == "true" or "--noreload" in argv


_started = threading.Lock()
_thread: threading.Thread | None = None


def embedded_scheduler_start() -> bool:
    """Start the scheduler's thread in runserver's serving process when the settings ask for
    it and tasks run in-process; True when it was started (once per process)."""
    global _thread
    if not (settings.EMBEDDED_SCHEDULER and celery_app.conf.task_always_eager):
        return False
    if not serves_requests_here(sys.argv, os.environ):
        return False
    with _started:
        if _thread is not None:
            return False
        scheduler = EmbeddedScheduler(
            schedule=settings.EMBEDDED_SCHEDULE, started_at=timezone.now()
        )
        _thread = threading.Thread(
            target=_loop, args=(scheduler,), name="embedded-scheduler", daemon=True
        )
        _thread.start()
    logger.info("Scheduled tasks run in this process (the embedded default has no beat).")
    return True
