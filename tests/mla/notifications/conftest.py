import pytest

from mla.notifications import tasks


@pytest.fixture
def tasks_run_at_once(monkeypatch):
    """`.delay` runs the task in the test's thread, as a worker would after the commit."""
    sent: list[int] = []

    def delay(notification_id: int) -> None:
        sent.append(notification_id)
        # Called, not applied: apply() would leave the app's disabled result backend cached
        # in this thread for the Redis worker test of mla.core.
        tasks.notification_email_send(notification_id)

    monkeypatch.setattr(tasks.notification_email_send, "delay", delay)
    return sent
