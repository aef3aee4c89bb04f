"""Registering, removing and resending: the users of an authority manage its webhooks, and
the secret is given once."""

import pytest

from mla.core.errors import ApplicationError
from mla.requests.webhook_events import request_event_announce
from mla.webhooks.kinds import EventKind
from mla.webhooks.models import Webhook, WebhookDelivery
from mla.webhooks.selectors import webhooks_for_user
from mla.webhooks.services import webhook_delete, webhook_delivery_resend, webhook_register
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "http://127.0.0.1:9/hooks/mla"


@pytest.fixture
def colleague(authorities):
    return UserFactory(username="louise", authority=authorities["paris"], roles=["supervisor"])


def test_a_webhook_is_registered_for_the_user_s_authority_with_a_secret_given_once(prosecutor):
    registered = webhook_register(actor=prosecutor, url=URL)

    webhook = Webhook.objects.get()
    assert (webhook.authority, webhook.url, webhook.created_by) == (
        prosecutor.authority,
        URL,
        prosecutor,
    )
    assert registered.secret.startswith("whsec_")
    assert len(registered.secret) > 40
    # Kept to sign with; the selectors and the API never hand it out again.
    assert webhook.secret == registered.secret


def test_every_webhook_has_a_secret_of_its_own(prosecutor):
    first = webhook_register(actor=prosecutor, url=URL)
    second = webhook_register(actor=prosecutor, url=URL + "/other")

    assert first.secret != second.secret


def test_the_same_url_is_registered_once_per_authority(prosecutor, colleague):
    webhook_register(actor=prosecutor, url=URL)

    with pytest.raises(ApplicationError) as refused:
        webhook_register(actor=colleague, url=URL)

    assert refused.value.code == "already_registered"
    assert Webhook.objects.count() == 1


def test_an_authority_has_at_most_the_webhooks_the_setting_allows(prosecutor, settings):
    settings.WEBHOOK_MAX_PER_AUTHORITY = 2
    webhook_register(actor=prosecutor, url=URL + "/1")
    webhook_register(actor=prosecutor, url=URL + "/2")

    with pytest.raises(ApplicationError) as refused:
        webhook_register(actor=prosecutor, url=URL + "/3")

    assert refused.value.code == "limit_reached"
    assert "2 webhooks" in refused.value.message


def test_a_url_the_node_may_not_reach_is_not_registered(prosecutor, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []

    with pytest.raises(ApplicationError) as refused:
        webhook_register(actor=prosecutor, url=URL)

    assert refused.value.code == "invalid"
    assert not Webhook.objects.exists()


def test_the_users_of_an_authority_see_its_webhooks_and_no_other(
    prosecutor, colleague, berlin_staff
):
    registered = webhook_register(actor=prosecutor, url=URL)

    assert list(webhooks_for_user(user=colleague)) == [registered.webhook]
    assert list(webhooks_for_user(user=berlin_staff)) == []


def test_only_a_user_of_its_authority_removes_a_webhook(prosecutor, colleague, berlin_staff):
    webhook = webhook_register(actor=prosecutor, url=URL).webhook

    with pytest.raises(ApplicationError) as refused:
        webhook_delete(webhook=webhook, actor=berlin_staff)
    assert refused.value.code == "forbidden"
    assert Webhook.objects.exists()

    webhook_delete(webhook=webhook, actor=colleague)
    assert not Webhook.objects.exists()


def _delivery(prosecutor, eio_draft, queued) -> WebhookDelivery:
    webhook_register(actor=prosecutor, url=URL)
    request_event_announce(
        request=eio_draft, kind=EventKind.STATE_CHANGED, details={"event": "created"}
    )
    return WebhookDelivery.objects.select_related("webhook", "event").get()


def test_a_failed_delivery_is_sent_again_from_its_first_attempt(
    prosecutor, eio_draft, queued, django_capture_on_commit_callbacks
):
    delivery = _delivery(prosecutor, eio_draft, queued)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        state=WebhookDelivery.State.FAILED, attempts=10, last_error="HTTP 503", next_attempt_at=None
    )
    queued.clear()

    with django_capture_on_commit_callbacks(execute=True):
        webhook_delivery_resend(delivery=delivery, actor=prosecutor)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("pending", 0, "")
    assert delivery.next_attempt_at is not None
    assert queued == [delivery.pk]


def test_a_pending_delivery_is_not_sent_again_while_it_is_attempted(prosecutor, eio_draft, queued):
    delivery = _delivery(prosecutor, eio_draft, queued)

    with pytest.raises(ApplicationError) as refused:
        webhook_delivery_resend(delivery=delivery, actor=prosecutor)

    assert refused.value.code == "not_allowed_in_state"


def test_only_a_user_of_its_authority_sends_a_delivery_again(
    prosecutor, berlin_staff, eio_draft, queued
):
    delivery = _delivery(prosecutor, eio_draft, queued)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(state=WebhookDelivery.State.FAILED)

    with pytest.raises(ApplicationError) as refused:
        webhook_delivery_resend(delivery=delivery, actor=berlin_staff)

    assert refused.value.code == "forbidden"
