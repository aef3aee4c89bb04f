"""The embedded default's in-process scheduler: beat's schedule run in runserver's process."""

from datetime import UTC, datetime, timedelta

import pytest
from celery.schedules import crontab
from django.conf import settings

from mla.core.models import Heartbeat
from mla.core.scheduler import EmbeddedScheduler, embedded_scheduler_start, serves_requests_here

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 10, 0, 30, tzinfo=UTC)


def _heartbeat(queue: str) -> dict[str, object]:
    return {"task": "mla.core.tasks.heartbeat_task", "schedule": 60.0, "args": (queue,)}


def test_an_entry_runs_in_process_once_its_interval_has_passed():
    scheduler = EmbeddedScheduler(schedule={"beat": _heartbeat("celery")}, started_at=T0)

    ran, wait = scheduler.run_due(now=T0 + timedelta(seconds=30))
    assert ran == []
    assert 0 < wait <= 30
    assert not Heartbeat.objects.exists()

    ran, _wait = scheduler.run_due(now=T0 + timedelta(seconds=60))
    assert ran == ["beat"]
    assert Heartbeat.objects.get().name == "worker:celery"
    # Not again until the next interval.
    assert scheduler.run_due(now=T0 + timedelta(seconds=90))[0] == []
    assert scheduler.run_due(now=T0 + timedelta(seconds=120))[0] == ["beat"]


def test_a_crontab_entry_runs_at_its_time():
    nightly = {"task": "mla.core.tasks.heartbeat_task", "schedule": crontab(minute=40, hour=2)}
    scheduler = EmbeddedScheduler(schedule={"nightly": nightly | {"args": ("x",)}}, started_at=T0)

    assert scheduler.run_due(now=T0 + timedelta(hours=1))[0] == []
    assert scheduler.run_due(now=datetime(2026, 3, 3, 2, 41, tzinfo=UTC))[0] == ["nightly"]


def test_a_failing_task_is_logged_and_the_others_still_run(caplog):
    broken = {"task": "mla.exchange.tasks.outbox_deliver_task", "schedule": 60.0}
    scheduler = EmbeddedScheduler(
        schedule={"broken": broken | {"args": ("no such message",)}, "beat": _heartbeat("celery")},
        started_at=T0,
    )

    ran, _wait = scheduler.run_due(now=T0 + timedelta(minutes=1))

    assert ran == ["broken", "beat"]
    assert Heartbeat.objects.filter(name="worker:celery").exists()
    assert "The scheduled task broken" in caplog.text


def test_the_embedded_schedule_is_beats_plus_the_due_deliveries():
    assert set(settings.EMBEDDED_SCHEDULE) == set(settings.CELERY_BEAT_SCHEDULE) | {
        "outbox-deliver-due",
        "webhook-deliver-due",
    }


def test_every_task_of_the_embedded_schedule_is_found():
    from mla.celery import app

    EmbeddedScheduler(schedule=settings.EMBEDDED_SCHEDULE, started_at=T0)

    for entry in settings.EMBEDDED_SCHEDULE.values():
        assert entry["task"] in app.tasks


@pytest.mark.parametrize(
    ("argv", "environ", "serves"),
    [
        (["manage.py", "runserver", "127.0.0.1:8000"], {"RUN_MAIN": "true"}, True),
        (["manage.py", "runserver", "--noreload"], {}, True),
        # The autoreloader's parent only watches files; its child serves.
        (["manage.py", "runserver", "127.0.0.1:8000"], {}, False),
        (["manage.py", "migrate"], {"RUN_MAIN": "true"}, False),
        (["pytest"], {}, False),
    ],
)
def test_only_runserver_s_serving_process_runs_the_schedule(argv, environ, serves):
    assert serves_requests_here(argv, environ) is serves


def test_the_scheduler_starts_only_when_the_settings_ask_and_tasks_run_in_process(settings):
    # The test settings: a broker, no embedded scheduler.
    assert embedded_scheduler_start() is False
    settings.EMBEDDED_SCHEDULER = True
    assert embedded_scheduler_start() is False  # tasks go to the broker, and not runserver
