"""The operations page: for node administrators only, with the link in their menu."""

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from mla.core.heartbeats import heartbeat_record
from mla.exchange.anchor import audit_checkpoint_make
from mla.exchange.models import InboxRefusal
from mla.requests.audit import audit_record
from tests.support.factories import OutboxMessageFactory, UserFactory
from tests.support.sending import outgoing_request

pytestmark = pytest.mark.django_db

URL = "/node/operations/"


@pytest.fixture(autouse=True)
def _homes(exchange_homes):
    """The session's keys in this node's GnuPG homes: the page lists the hosted ones."""


def test_the_page_has_its_address():
    assert reverse("node:operations") == URL


@pytest.mark.parametrize(
    ("roles", "superuser", "status"),
    [
        (["node_administrator"], False, 200),
        ([], True, 200),
        (["account_administrator"], False, 404),
        (["prosecutor"], False, 404),
        (["directory_administrator"], False, 404),
    ],
)
def test_only_node_administrators_see_the_page(client, roles, superuser, status):
    user = UserFactory(roles=roles, is_superuser=superuser)
    client.force_login(user)

    response = client.get(URL)

    assert response.status_code == status
    menu_link = f'href="{URL}"'
    home = client.get(reverse("core:home")).content.decode()
    assert (menu_link in home) is (status == 200)


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse(settings.LOGIN_URL))


def test_the_page_shows_the_outbox_refusals_keys_and_stale_heartbeats(client, exchange_keys):
    OutboxMessageFactory()
    OutboxMessageFactory(state="failed", last_error="Not delivered: connection refused")
    InboxRefusal.objects.create(reason="bad_signature", at=timezone.now())
    heartbeat_record(name="beat")
    client.force_login(UserFactory(roles=["node_administrator"]))

    page = client.get(URL).content.decode()

    assert 'data-testid="outbox-pending">1<' in page
    assert 'data-testid="outbox-failed">1<' in page
    assert "Not delivered: connection refused" in page
    assert "<code>bad_signature</code></td><td>1<" in page
    assert exchange_keys.sender in page  # a hosted key's fingerprint
    assert reverse("healthz") in page
    # Beat is alive; no worker ever ran the heartbeat task.
    assert page.count("No recent heartbeat") == 2


def test_the_page_shows_the_last_audit_checkpoint(client, sender, recipient, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(UserFactory(roles=["node_administrator"]))
    assert "No checkpoint signed yet" in client.get(URL).content.decode()
    author = UserFactory(authority=sender, roles=["prosecutor"])
    audit_record(
        request=outgoing_request(sender, recipient, author), actor=author, event="note", note="x"
    )

    outcome = audit_checkpoint_make()

    page = client.get(URL).content.decode()
    assert 'data-testid="checkpoint"' in page
    assert f"<dd>{outcome.position}" in page
    assert "<code>aa-sender</code>, <code>bb-recipient</code>" in page
    assert "no partner was exchanged with in its period" in page
