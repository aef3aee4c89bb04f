"""The nightly compaction of the statistics' rollups: a thin task over the service, on the
beat schedule, that may run twice."""

import pytest
from django.conf import settings

from mla.statistics import tasks
from mla.statistics.models import StatisticsDeadlineCount, StatisticsRequestCount
from mla.statistics.tasks import rollups_compact_task
from tests.support.statistics import keys_counting_something, rows_split
from tests.support.statistics import rollups_counted as _rollups


def test_the_task_calls_the_service(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks, "rollups_compact", lambda: calls.append("compacted"))

    rollups_compact_task()

    assert calls == ["compacted"]


def test_the_task_is_scheduled_and_acknowledged_once_done():
    assert rollups_compact_task.acks_late
    entry = settings.CELERY_BEAT_SCHEDULE["statistics-rollups-compact"]
    assert entry["task"] == rollups_compact_task.name == "mla.statistics.tasks.rollups_compact_task"


@pytest.mark.django_db
@pytest.mark.usefixtures("data")
def test_the_task_run_twice_compacts_once():
    rows_split()
    rollups = _rollups()

    rollups_compact_task.apply().get()
    rows = {
        model: set(model.objects.values_list("pk", "n"))
        for model in (StatisticsRequestCount, StatisticsDeadlineCount)
    }
    rollups_compact_task.apply().get()

    assert _rollups() == rollups
    for model, kept in rows.items():
        assert set(model.objects.values_list("pk", "n")) == kept
        assert len(kept) == keys_counting_something(model)
