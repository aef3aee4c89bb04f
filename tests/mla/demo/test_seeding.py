import pytest
from django.core.management import CommandError, call_command

from mla.demo.seeding import SENT_STATES, SeedPlan, requests_seed
from mla.requests.desk.queue import QueueFilters, queue_page
from mla.requests.models import Deadline, Request
from mla.requests.selectors import incoming_requests, outgoing_requests
from tests.support.factories import AuthorityFactory


@pytest.mark.django_db
def test_seeding_fills_a_queue_that_pages(authorities, countries, berlin_staff):
    AuthorityFactory(identifier="us-x", country=countries["US"])

    call_command("seed_requests", "--count", "120", "--receiver", "de-berlin")
    call_command("seed_requests", "--count", "30", "--receiver", "de-berlin")

    seeded = Request.objects.filter(reference__startswith="SEED-")
    assert seeded.count() == 150
    assert seeded.values("reference").distinct().count() == 150
    assert Deadline.objects.filter(request__in=seeded).count() == 150
    assert set(seeded.values_list("issuing_country_code", flat=True)) <= {"FR", "US"}
    page = queue_page(user=berlin_staff, filters=QueueFilters(), size=20)
    assert len(page.rows) == 20
    assert all(row.state not in Request.FINAL for row in page.rows)


@pytest.mark.django_db
def test_seeding_names_a_missing_authority(authorities):
    with pytest.raises(CommandError, match="no-such"):
        call_command("seed_requests", "--count", "5", "--receiver", "no-such")


@pytest.mark.django_db
def test_seeding_the_issuers_own_copies_fills_their_outgoing_list(
    authorities, prosecutor, berlin_staff
):
    requests_seed(
        plan=SeedPlan(
            receiver=authorities["berlin"],
            issuers=[authorities["paris"]],
            staff=[berlin_staff],
            count=40,
            direction=Request.Direction.OUTGOING,
        )
    )

    listed = list(outgoing_requests(user=prosecutor))
    assert len(listed) == 40
    assert {row.state for row in listed} <= {*SENT_STATES, *Request.FINAL}
    assert all(row.sent_at and row.received_at is None and not row.assignee_id for row in listed)
    assert not incoming_requests(user=berlin_staff).exists()
