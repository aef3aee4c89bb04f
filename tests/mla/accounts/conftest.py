import pytest


@pytest.fixture
def security_mail_at_once(monkeypatch):
    """The security e-mails are sent when their task is queued, not left in the broker."""
    from mla.accounts import tasks

    monkeypatch.setattr(
        tasks.security_event_email_send,
        "delay",
        lambda event_id: tasks.security_event_email_send(event_id),
    )


@pytest.fixture
def account_mail_at_once(monkeypatch):
    """The one-time link e-mails are sent when their task is queued, not left in the broker."""
    from mla.accounts import tasks

    monkeypatch.setattr(
        tasks.account_link_email_send,
        "delay",
        lambda link_id: tasks.account_link_email_send(link_id),
    )
