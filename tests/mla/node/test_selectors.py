"""What the operations page reads: the outbox, the inbox's refusals, the partners' last
contact, the hosted keys' expiry and the heartbeats."""

from datetime import UTC, datetime, timedelta

import gnupg
import pytest

from mla.core.heartbeats import heartbeat_record
from mla.exchange.keys import HostedKey
from mla.exchange.models import InboxRefusal
from mla.node.selectors import (
    OperationsNotAllowed,
    operations_heartbeats,
    operations_inbox_refusals,
    operations_key_expiries,
    operations_outbox,
    operations_overview,
    operations_partners,
)
from tests.support.factories import (
    AuthorityFactory,
    InboxMessageFactory,
    OutboxMessageFactory,
    UserFactory,
)
from tests.support.keys import key_generate
from tests.support.sending import outgoing_request

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _created(message, at: datetime):
    type(message).objects.filter(pk=message.pk).update(created_at=at)
    return message


def test_the_outbox_counts_pending_and_failed_and_ages_the_oldest_pending():
    _created(OutboxMessageFactory(), NOW - timedelta(minutes=5))
    _created(OutboxMessageFactory(), NOW - timedelta(hours=3))
    OutboxMessageFactory(state="delivered")
    failed = OutboxMessageFactory(state="failed", attempts=8, last_error="Not delivered: refused")

    outbox = operations_outbox(now=NOW)

    assert (outbox.pending, outbox.failed) == (2, 1)
    assert outbox.oldest_pending_age == timedelta(hours=3)
    [listed] = outbox.failed_messages
    assert (listed.message_id, listed.attempts, listed.last_error) == (
        str(failed.message_id),
        8,
        "Not delivered: refused",
    )
    assert listed.request_url == ""  # a message about no request has no page


def test_an_empty_outbox_has_no_oldest_message():
    outbox = operations_outbox(now=NOW)
    assert (outbox.pending, outbox.failed, outbox.oldest_pending_age) == (0, 0, None)


def test_a_failed_message_about_a_request_links_to_its_page(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    issuer, executing = AuthorityFactory(), AuthorityFactory()
    request = outgoing_request(issuer, executing, UserFactory(authority=issuer))
    OutboxMessageFactory(state="failed", request=request, sender=issuer, recipient=executing)

    [listed] = operations_outbox(now=NOW).failed_messages

    assert listed.request_url == request.get_absolute_url()


def test_the_refusals_of_the_last_day_are_counted_by_reason():
    for reason, hours_ago in [
        ("bad_signature", 1),
        ("bad_signature", 23),
        ("malformed", 2),
        ("malformed", 25),  # more than a day ago
    ]:
        InboxRefusal.objects.create(reason=reason, at=NOW - timedelta(hours=hours_ago))

    assert operations_inbox_refusals(now=NOW) == [("bad_signature", 2), ("malformed", 1)]


def test_each_partner_shows_its_last_delivery_and_last_message_received():
    hosted, partner, quiet = AuthorityFactory(), AuthorityFactory(), AuthorityFactory()
    for delivered_at in (NOW - timedelta(days=2), NOW - timedelta(hours=1)):
        OutboxMessageFactory(
            sender=hosted, recipient=partner, state="delivered", delivered_at=delivered_at
        )
    # Pending and failed messages were not delivered.
    OutboxMessageFactory(sender=hosted, recipient=quiet, state="failed")
    InboxMessageFactory(sender=quiet, recipient=hosted, received_at=NOW - timedelta(days=3))
    InboxMessageFactory(sender=quiet, recipient=hosted, received_at=NOW - timedelta(days=1))
    # A delivery between two authorities of this node is not a partner's.
    OutboxMessageFactory(sender=partner, recipient=hosted, state="delivered", delivered_at=NOW)

    partners = operations_partners(hosted={hosted.identifier})

    assert [
        (contact.identifier, contact.last_delivered_at, contact.last_received_at)
        for contact in partners
    ] == sorted(
        [
            (partner.identifier, NOW - timedelta(hours=1), None),
            (quiet.identifier, None, NOW - timedelta(days=1)),
        ]
    )


def _key(expires_at: datetime | None) -> HostedKey:
    return HostedKey(
        authority_identifier="aa-hosted",
        fingerprint="A" * 40,
        user_id="aa-hosted",
        created_at=NOW - timedelta(days=300),
        expires_at=expires_at,
        pinned=True,
    )


def test_keys_expiring_within_the_warning_days_are_warned_of(settings):
    settings.NODE_KEY_EXPIRY_WARNING_DAYS = 60
    keys = [
        _key(NOW + timedelta(days=61)),
        _key(NOW + timedelta(days=59)),
        _key(NOW - timedelta(days=1)),
        _key(None),
    ]

    expiries = operations_key_expiries(keys=keys, now=NOW)

    assert [(key.warning, key.expired) for key in expiries] == [
        (False, False),
        (True, False),
        (True, True),
        (False, False),
    ]


def test_the_heartbeats_are_stale_when_never_seen_or_older_than_the_limit(settings):
    settings.NODE_HEARTBEAT_STALE_SECONDS = 300
    heartbeat_record(name="beat", at=NOW - timedelta(seconds=30))
    heartbeat_record(name="worker:celery", at=NOW - timedelta(minutes=10))

    statuses = {status.name: status for status in operations_heartbeats(now=NOW)}

    assert {name: status.stale for name, status in statuses.items()} == {
        "beat": False,
        "worker:celery": True,  # beat sends, nobody runs: the default queue's worker is down
        "worker:exchange": True,  # never seen
    }
    assert statuses["worker:exchange"].at is None


def test_the_overview_reads_the_hosted_keys_from_gpg(fresh_homes, settings):
    secret, _partner = fresh_homes
    settings.NODE_KEY_EXPIRY_WARNING_DAYS = 60
    key_generate(gnupg.GPG(gnupghome=str(secret)), "aa-soon", expire_date="30d")
    key_generate(gnupg.GPG(gnupghome=str(secret)), "aa-later", expire_date="2y")

    overview = operations_overview(user=UserFactory(roles=["node_administrator"]))

    assert {(key.authority_identifier, key.warning) for key in overview.keys} == {
        ("aa-soon", True),
        ("aa-later", False),
    }
    assert overview.tasks_in_process is False


@pytest.mark.parametrize(
    "roles", [["account_administrator"], ["prosecutor"], ["directory_administrator"]]
)
def test_only_a_node_administrator_reads_the_overview(roles):
    with pytest.raises(OperationsNotAllowed):
        operations_overview(user=UserFactory(roles=roles))
