import pytest
from django.db import connection
from django.db.utils import OperationalError

from mla.celery import app as celery_app
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def monitor(settings):
    """The test client's address (127.0.0.1) is the allow-listed monitoring address."""
    settings.HEALTHZ_DETAIL_ADDRESSES = ["10.0.0.0/8", "127.0.0.1"]


def test_healthz_tells_anyone_only_ok_or_unavailable_per_check(client, settings):
    settings.GNUPG_BINARY = "gpg-that-does-not-exist"

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "broker": "ok", "gpg": "unavailable"},
    }
    assert "gpg-that-does-not-exist" not in response.content.decode()


def test_healthz_gives_the_details_to_staff(client, settings):
    settings.GNUPG_BINARY = "gpg-that-does-not-exist"
    client.force_login(UserFactory(is_staff=True))

    body = client.get("/healthz").json()

    assert body["checks"]["gpg"] == {
        "ok": False,
        "detail": "gpg-that-does-not-exist not found on PATH",
    }


def test_healthz_gives_no_details_to_other_users(client):
    client.force_login(UserFactory(is_staff=False))

    assert client.get("/healthz").json()["checks"]["database"] == "ok"


def test_healthz_details_follow_the_address_nginx_saw(client, settings):
    settings.HEALTHZ_DETAIL_ADDRESSES = ["10.0.0.0/8"]
    settings.TRUSTED_PROXY_COUNT = 1

    inside = client.get("/healthz", HTTP_X_FORWARDED_FOR="10.1.2.3").json()
    outside = client.get("/healthz", HTTP_X_FORWARDED_FOR="203.0.113.7").json()

    assert inside["checks"]["database"] == {"ok": True, "detail": "postgresql"}
    assert outside["checks"]["database"] == "ok"


def test_healthz_answers_without_login_when_everything_is_up(client, monitor):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"ok": True, "detail": "postgresql"}
    assert body["checks"]["broker"]["ok"] is True
    assert body["checks"]["gpg"]["detail"].startswith("gpg (GnuPG) 2.")


def test_healthz_is_503_when_the_broker_is_down(client, monkeypatch, monitor):
    # Port 9 (discard) is closed on the loopback: a refused connection, at once.
    dead = "redis://127.0.0.1:9/0"
    monkeypatch.setattr(celery_app.conf, "broker_url", dead)
    # Celery reads CELERY_BROKER_URL from the environment before its configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", dead)

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


def test_healthz_is_503_when_gpg_is_missing(client, settings, monitor):
    settings.GNUPG_BINARY = "gpg-that-does-not-exist"

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["gpg"] == {
        "ok": False,
        "detail": "gpg-that-does-not-exist not found on PATH",
    }


def test_healthz_is_503_when_the_database_is_down(client, monkeypatch, monitor):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["database"]["ok"] is False
    assert "connection refused" in response.json()["checks"]["database"]["detail"]


def test_the_embedded_default_reports_tasks_in_process(client, settings, monitor):
    settings.CELERY_TASK_ALWAYS_EAGER = True

    response = client.get("/healthz")

    assert response.json()["checks"]["broker"]["detail"] == "not used: tasks run in-process"
