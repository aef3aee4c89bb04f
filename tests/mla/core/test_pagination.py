import datetime

import pytest

from mla.core.pagination import keyset_page
from mla.requests.drafting.services import request_create
from mla.requests.models import Request
from tests.support.factories import AuthorityFactory, CountryFactory, UserFactory


@pytest.fixture
def many(db):
    france = CountryFactory(code="FR", name="France", eio_bound=True)
    germany = CountryFactory(code="DE", name="Germany", eio_bound=True)
    prosecutor = UserFactory(
        authority=AuthorityFactory(country=france, kind="prosecutor"), roles=["prosecutor"]
    )
    created = [
        request_create(actor=prosecutor, declaration_code="eio", executing_country=germany)
        for _ in range(7)
    ]
    # Two share an instant: the id breaks the tie, so no row is skipped or repeated.
    same = created[3].updated_at
    Request.objects.filter(pk=created[4].pk).update(updated_at=same)
    return Request.objects.filter(pk__in=[r.pk for r in created])


@pytest.mark.django_db
def test_pages_follow_each_other_without_gaps_or_repeats(many):
    seen = []
    cursor = None
    while True:
        page = keyset_page(many, cursor=cursor, size=3)
        seen.extend(row.pk for row in page.rows)
        if not page.next_cursor:
            break
        cursor = page.next_cursor

    expected = list(many.order_by("-updated_at", "-pk").values_list("pk", flat=True))
    assert seen == expected


@pytest.mark.django_db
@pytest.mark.parametrize("cursor", ["garbage", "", "MjAyNi0wMS0wMXwx", "!!!"])
def test_an_unreadable_cursor_gives_the_first_page(many, cursor):
    page = keyset_page(many, cursor=cursor, size=3)

    assert page.first
    assert [row.pk for row in page.rows] == list(
        many.order_by("-updated_at", "-pk").values_list("pk", flat=True)[:3]
    )


@pytest.mark.django_db
def test_the_last_page_has_no_next_cursor(many):
    page = keyset_page(many, cursor=None, size=10)

    assert len(page.rows) == 7
    assert page.next_cursor == ""
    assert isinstance(page.rows[0].updated_at, datetime.datetime)
