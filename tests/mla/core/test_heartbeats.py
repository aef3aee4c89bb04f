"""Heartbeats: beat's recorded when it sends the heartbeat task, a queue's when a worker
runs it."""

import pytest
from django.conf import settings

from mla.celery import app as celery_app
from mla.core.heartbeats import BEAT, HEARTBEAT_TASK, heartbeats, on_task_published
from mla.core.models import Heartbeat
from mla.core.tasks import heartbeat_task

pytestmark = pytest.mark.django_db


def test_the_task_records_the_heartbeat_of_the_queue_it_ran_on():
    assert heartbeat_task(settings.EXCHANGE_QUEUE) == "worker:exchange"
    assert heartbeat_task(settings.CELERY_TASK_DEFAULT_QUEUE) == "worker:celery"

    first = heartbeats()
    assert set(first) == {"worker:exchange", "worker:celery"}
    heartbeat_task(settings.EXCHANGE_QUEUE)
    assert Heartbeat.objects.count() == 2  # one row per name, overwritten
    assert heartbeats()["worker:exchange"] >= first["worker:exchange"]


def test_sending_the_heartbeat_task_records_beat_s_heartbeat():
    celery_app.control.purge()
    try:
        heartbeat_task.apply_async(args=("celery",), queue=settings.CELERY_TASK_DEFAULT_QUEUE)
    finally:
        celery_app.control.purge()

    # Sent, not run: beat's heartbeat only.
    assert set(heartbeats()) == {BEAT}


def test_sending_another_task_records_nothing():
    on_task_published(sender="mla.exchange.tasks.outbox_requeue_task")
    assert not Heartbeat.objects.exists()
    on_task_published(sender=HEARTBEAT_TASK)
    assert set(heartbeats()) == {BEAT}


def test_beat_sends_the_heartbeat_to_each_queue_every_minute():
    entries = [
        entry for entry in settings.CELERY_BEAT_SCHEDULE.values() if entry["task"] == HEARTBEAT_TASK
    ]
    assert sorted(entry["options"]["queue"] for entry in entries) == sorted(
        [settings.CELERY_TASK_DEFAULT_QUEUE, settings.EXCHANGE_QUEUE]
    )
    assert all(entry["args"] == (entry["options"]["queue"],) for entry in entries)
    assert all(entry["schedule"] == 60.0 for entry in entries)
