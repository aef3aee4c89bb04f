import pytest

from mla.webhooks import tasks


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    """Delivery ids handed to Celery (nothing reaches a broker)."""
    ids: list[int] = []
    monkeypatch.setattr(tasks.webhook_deliver_task, "delay", ids.append)
    return ids
