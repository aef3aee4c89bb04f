"""A real Celery worker, on the Redis broker of the test settings, runs the node's tasks."""

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from mla.celery import app as celery_app
from mla.core.tasks import worker_health


@pytest.fixture
def redis_worker(monkeypatch):
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    monkeypatch.setattr(celery_app.conf, "result_backend", settings.CELERY_BROKER_URL)
    # Celery keeps the backend it built per thread: one built earlier (with none configured,
    # by a task run in process) would hide the one configured here.
    celery_app._local.__dict__.pop("backend", None)
    # Tasks queued by earlier tests (e-mails of notifications, committed by the browser
    # tests) would otherwise run first, against rows that no longer exist.
    celery_app.control.purge()
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield
    celery_app._local.__dict__.pop("backend", None)


@pytest.mark.django_db(transaction=True)
def test_a_worker_on_redis_runs_a_task_and_sees_the_database_and_gpg(redis_worker):
    result = worker_health.delay()

    assert result.get(timeout=20) == {"database": True, "gpg": True}
