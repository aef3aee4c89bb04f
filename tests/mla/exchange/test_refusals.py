"""The inbox's refusals are recorded (time and reason only) for the operations page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from mla.exchange.models import InboxRefusal
from mla.exchange.refusals import inbox_refusals_prune

pytestmark = pytest.mark.django_db


def test_a_refused_delivery_is_recorded_with_its_reason_and_nothing_of_it(client):
    garbage = b"not a message from anyone"

    response = client.post(reverse("exchange:inbox"), garbage, content_type="application/x")

    assert response.status_code == 400
    [refusal] = InboxRefusal.objects.all()
    assert refusal.reason == response.json()["refused"] == "undecryptable"
    assert refusal.at <= timezone.now()


def test_a_rate_limited_delivery_is_not_recorded(client, settings):
    settings.INBOX_RATE_LIMIT_REQUESTS = 1
    client.post(reverse("exchange:inbox"), b"x", content_type="application/octet-stream")

    limited = client.post(reverse("exchange:inbox"), b"x", content_type="application/octet-stream")

    assert limited.status_code == 429
    assert InboxRefusal.objects.count() == 1  # the first, not a message


def test_refusals_older_than_a_month_are_forgotten():
    now = timezone.now()
    InboxRefusal.objects.create(reason="malformed", at=now - timedelta(days=31))
    kept = InboxRefusal.objects.create(reason="malformed", at=now - timedelta(days=29))

    assert inbox_refusals_prune(now=now) == 1

    assert list(InboxRefusal.objects.all()) == [kept]
