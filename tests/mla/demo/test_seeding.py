import pytest
from django.core.management import CommandError, call_command

from mla.requests.desk.queue import QueueFilters, queue_page
from mla.requests.models import Deadline, Request
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
