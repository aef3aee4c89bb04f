"""The administration's pages under the Content-Security-Policy: the console check of
tests/e2e/conftest.py fails the test on any script or style the policy blocks."""

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.support.factories import AuthorityFactory, UserFactory
from tests.support.journeys import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_administration_pages_work_under_the_policy(live_server, page: Page):
    authority = AuthorityFactory(identifier="fr-paris", name="Parquet de Paris")
    admin = UserFactory(username="root", is_staff=True, is_superuser=True, authority=authority)
    base = live_server.url
    log_in(page, base, admin.username)

    for url in [
        reverse("admin:index"),
        reverse("admin:contact_points_authority_changelist"),
        reverse("admin:contact_points_authority_change", args=[authority.pk]),
        reverse("admin:contact_points_authority_add"),
        reverse("admin:contact_points_authority_import"),
        reverse("admin:accounts_user_change", args=[admin.pk]),
    ]:
        page.goto(base + url)
        expect(page.locator("#content")).to_be_visible()

    # The admin's own scripts run: the changelist's select-all box ticks every row.
    page.goto(base + reverse("admin:contact_points_authority_changelist"))
    page.locator("#action-toggle").check()
    expect(page.locator("input.action-select").first).to_be_checked()
