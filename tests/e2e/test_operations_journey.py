"""A node administrator follows the menu to the operations page and reads how the node
runs; a prosecutor has no such link."""

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from mla.core.heartbeats import heartbeat_record
from mla.exchange.models import InboxRefusal
from tests.support.factories import AuthorityFactory, OutboxMessageFactory, UserFactory
from tests.support.journeys import log_in, log_out

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_node_administrator_reads_the_operations_page(
    live_server, page: Page, exchange_homes, exchange_keys
):
    authority = AuthorityFactory(identifier="fr-paris", name="Parquet de Paris")
    partner = AuthorityFactory(identifier="de-berlin", name="Staatsanwaltschaft Berlin")
    OutboxMessageFactory(sender=authority, recipient=partner)
    OutboxMessageFactory(
        sender=authority,
        recipient=partner,
        state="failed",
        attempts=8,
        last_error="Not delivered: connection refused",
    )
    OutboxMessageFactory(
        sender=authority, recipient=partner, state="delivered", delivered_at=timezone.now()
    )
    InboxRefusal.objects.create(reason="bad_signature", at=timezone.now())
    heartbeat_record(name="beat")
    admin = UserFactory(username="node.admin", authority=authority, roles=["node_administrator"])
    prosecutor = UserFactory(username="prosecutor.fr", authority=authority, roles=["prosecutor"])
    base = live_server.url

    log_in(page, base, prosecutor.username)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("link", name="Operations")).to_have_count(0)
    log_out(page)

    log_in(page, base, admin.username)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Operations").click()

    expect(page.get_by_role("heading", name="Operations", level=1)).to_be_visible()
    expect(page.get_by_test_id("outbox-pending")).to_have_text("1")
    expect(page.get_by_test_id("outbox-failed")).to_have_text("1")
    expect(page.get_by_text("Not delivered: connection refused")).to_be_visible()
    refusals = page.locator("section", has=page.get_by_role("heading", name="Inbox refusals"))
    expect(refusals.get_by_role("row", name="bad_signature 1")).to_be_visible()
    partners = page.locator("section", has=page.get_by_role("heading", name="Partners"))
    expect(partners.get_by_text("Staatsanwaltschaft Berlin")).to_be_visible()
    keys = page.locator("section", has=page.get_by_role("heading", name="Hosted keys"))
    expect(keys.get_by_text(exchange_keys.sender)).to_be_visible()
    # Beat sent its heartbeat, but no worker ran one: both queues are warned of.
    expect(page.get_by_test_id("heartbeat-beat").get_by_role("alert")).to_have_count(0)
    expect(page.get_by_test_id("heartbeat-worker:celery").get_by_role("alert")).to_be_visible()
    expect(page.get_by_test_id("heartbeat-worker:exchange").get_by_role("alert")).to_be_visible()

    page.get_by_role("link", name="Service health (/healthz)").click()
    expect(page.locator("body")).to_contain_text('"database"')
