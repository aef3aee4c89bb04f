import pytest

from mla.exchange import tasks


@pytest.fixture(autouse=True)
def _exchange_homes(exchange_homes: None) -> None:
    """Every exchange test runs with the session's keys in this node's GnuPG homes
    (tests/support/fixtures/exchange.py)."""


@pytest.fixture(autouse=True)
def _media(settings, tmp_path) -> None:
    """Files stored or received by a test go to its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def queued(monkeypatch) -> list[str]:
    """Message ids handed to Celery (nothing reaches a broker)."""
    ids: list[str] = []
    monkeypatch.setattr(tasks.outbox_deliver_task, "delay", ids.append)
    return ids
