import pytest
from django.db import connection
from django.db.utils import OperationalError

from mla.celery import app as celery_app

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_login_when_everything_is_up(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"ok": True, "detail": "postgresql"}
    assert body["checks"]["broker"]["ok"] is True
    assert body["checks"]["gpg"]["detail"].startswith("gpg (GnuPG) 2.")


def test_healthz_is_503_when_the_broker_is_down(client, monkeypatch):
    # Port 9 (discard) is closed on the loopback: a refused connection, at once.
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:9/0")

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


def test_healthz_is_503_when_gpg_is_missing(client, settings):
    settings.GNUPG_BINARY = "gpg-that-does-not-exist"

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["gpg"] == {
        "ok": False,
        "detail": "gpg-that-does-not-exist not found on PATH",
    }


def test_healthz_is_503_when_the_database_is_down(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["database"]["ok"] is False
    assert "connection refused" in response.json()["checks"]["database"]["detail"]


def test_the_embedded_default_reports_tasks_in_process(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True

    response = client.get("/healthz")

    assert response.json()["checks"]["broker"]["detail"] == "not used: tasks run in-process"
