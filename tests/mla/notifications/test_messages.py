"""Notifications are worded in the reader's language when read, not frozen in the language
of the moment they were sent."""

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from mla.notifications.kinds import Kind
from mla.notifications.models import Notification
from mla.notifications.services import (
    email_preferences_set,
    notification_email_deliver,
    notification_send,
)
from mla.requests.lifecycle.executing import request_acknowledge

pytestmark = pytest.mark.django_db


def _inbox(client, language: str) -> str:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client.get(reverse("notifications:inbox")).content.decode()


def test_a_notification_sent_in_french_reads_in_english_for_an_english_reader(
    client, sent_eio, prosecutor, berlin_staff
):
    issuing, executing = sent_eio
    prosecutor.preferred_language = "fr"
    prosecutor.save(update_fields=["preferred_language"])

    request_acknowledge(request=executing, actor=berlin_staff)

    notification = Notification.objects.get(recipient=prosecutor)
    # Sent while the reader was French: stored as first worded, in French.
    assert notification.subject == f"{issuing.reference} est désormais « Réception accusée »"
    # The reader has since switched to English: the inbox speaks English, old rows included.
    prosecutor.preferred_language = "en"
    prosecutor.save(update_fields=["preferred_language"])
    client.force_login(prosecutor)
    english = _inbox(client, "en")
    assert f"{issuing.reference} is now “Acknowledged”" in english
    assert "est désormais" not in english
    assert "Réception accusée" not in english
    assert f"{issuing.reference} est désormais « Réception accusée »" in _inbox(client, "fr")


def test_the_e_mail_copy_is_in_the_recipients_language_of_the_moment(
    sent_eio, prosecutor, berlin_staff, settings
):
    settings.SITE_URL = "http://127.0.0.1:8300"
    issuing, executing = sent_eio
    email_preferences_set(user=prosecutor, kinds=[Kind.REQUEST_STATE_CHANGED])
    prosecutor.preferred_language = "fr"
    prosecutor.save(update_fields=["preferred_language"])
    request_acknowledge(request=executing, actor=berlin_staff)
    notification = Notification.objects.get(recipient=prosecutor)
    prosecutor.preferred_language = "en"
    prosecutor.save(update_fields=["preferred_language"])

    assert notification_email_deliver(notification_id=notification.pk)

    sent = mail.outbox[-1]
    assert sent.subject.endswith(f"{issuing.reference} is now “Acknowledged”")
    # The link follows the address the node is served on (make run passes SITE_URL).
    assert f"http://127.0.0.1:8300{issuing.get_absolute_url()}" in sent.body


def test_a_notification_stored_before_messages_shows_its_text_as_stored(client, prosecutor):
    notification_send(
        recipients=[prosecutor], kind="request_received", subject="Ancien texte", body="Corps"
    )
    client.force_login(prosecutor)

    page = _inbox(client, "en")

    assert "Ancien texte" in page
    assert "Corps" in page
