"""The request page warns when a request goes to a partner key approved in the last days."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contact_points.models import DirectoryChange
from contact_points.services import (
    authority_set_public_key,
    directory_change_approve,
    directory_change_propose,
)
from mla.accounts.roles import Role
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db

WARNING = "data-key-change-warning"


@pytest.fixture
def berlin_key_changed(authorities, openpgp_keys):
    berlin = authorities["berlin"]
    authority_set_public_key(authority=berlin, armored=openpgp_keys.valid)
    change = directory_change_propose(
        authority=berlin,
        actor=UserFactory(roles=[Role.DIRECTORY_ADMINISTRATOR]),
        public_key=openpgp_keys.second_valid,
        inbox_url="",
    )
    assert change is not None
    return directory_change_approve(
        change=change, actor=UserFactory(roles=[Role.DIRECTORY_ADMINISTRATOR])
    )


def test_a_request_to_a_key_approved_this_week_carries_a_warning(
    client, prosecutor, eio_draft, berlin_key_changed
):
    client.force_login(prosecutor)

    page = client.get(reverse("requests:detail", args=[*eio_draft.url_args])).content.decode()

    assert WARNING in page
    assert berlin_key_changed.new_fingerprint_groups in page


def test_the_warning_ends_after_the_period(
    client, prosecutor, eio_draft, berlin_key_changed, settings
):
    DirectoryChange.objects.filter(pk=berlin_key_changed.pk).update(
        decided_at=timezone.now()
        - timedelta(days=settings.DIRECTORY_KEY_CHANGE_WARNING_DAYS, minutes=1)
    )
    client.force_login(prosecutor)

    page = client.get(reverse("requests:detail", args=[*eio_draft.url_args])).content.decode()

    assert WARNING not in page


def test_a_change_of_inbox_url_alone_carries_no_key_warning(
    client, prosecutor, eio_draft, authorities, openpgp_keys
):
    berlin = authorities["berlin"]
    authority_set_public_key(authority=berlin, armored=openpgp_keys.valid)
    change = directory_change_propose(
        authority=berlin,
        actor=UserFactory(roles=[Role.DIRECTORY_ADMINISTRATOR]),
        public_key=openpgp_keys.valid,
        inbox_url="https://berlin.example/in/",
    )
    assert change is not None
    directory_change_approve(change=change, actor=UserFactory(roles=[Role.DIRECTORY_ADMINISTRATOR]))
    client.force_login(prosecutor)

    page = client.get(reverse("requests:detail", args=[*eio_draft.url_args])).content.decode()

    assert WARNING not in page
