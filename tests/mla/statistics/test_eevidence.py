"""The Art. 28 statistics of Regulation (EU) 2023/1543 over one authority's own EPOCs,
EPOC-PRs and notifications, built from requests and audit entries as the lifecycle writes
them (events executed, preserved, impossibility_reported, no_grounds, grounds_raised)."""

import csv
import datetime
import io

import pytest
from django.urls import reverse

from mla.eevidence.models import OtherMeansTransmission
from mla.requests.audit import audit_record
from mla.requests.events import Event
from mla.requests.models import Request
from mla.statistics.eevidence import (
    EevidencePeriod,
    eevidence_period,
    eevidence_statistics,
    eevidence_statistics_rows,
)
from tests.support.factories import AuthorityFactory, CountryFactory, UserFactory

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
T0 = datetime.datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
HOUR = datetime.timedelta(hours=1)
YEAR_2026 = EevidencePeriod(
    date_from=datetime.date(2026, 1, 1),
    date_to=datetime.date(2026, 12, 31),
    time_zone="Europe/Paris",
)
State = Request.State


@pytest.fixture
def parties(db):
    france = CountryFactory(code="FR", name="France", eevidence_bound=True)
    ireland = CountryFactory(code="IE", name="Ireland", eevidence_bound=True)
    return {
        "paris": AuthorityFactory(
            identifier="fr-paris", name="Parquet de Paris", country=france, time_zone="Europe/Paris"
        ),
        "mail": AuthorityFactory(
            identifier="ie-mail", name="Mail Ltd", country=ireland, kind="service_provider"
        ),
        "cloud": AuthorityFactory(
            identifier="ie-cloud", name="Cloud Ltd", country=ireland, kind="service_provider"
        ),
        "dublin": AuthorityFactory(identifier="ie-dublin", name="Dublin court", country=ireland),
    }


_references = iter(range(1, 10_000))


def _certificate(
    *,
    by,
    to,
    code="epoc",
    direction="outgoing",
    categories=("subscriber",),
    emergency=False,
    state=State.SENT,
    sent=T0,
):
    reference = f"EE-{next(_references)}"
    request = Request.objects.create(
        reference=reference,
        direction=direction,
        declaration_code=code,
        issuing_authority=by,
        issuing_country_code=by.country.code,
        executing_authority=to,
        executing_country=to.country,
        state=state,
        sent_at=sent,
        received_at=sent if direction == "incoming" else None,
        data={
            "C": {"deadline": "eight_hours" if emergency else "ten_days"},
            "F": {"data_categories": list(categories)},
        },
    )
    audit_record(request=request, actor=None, event=Event.SENT, at=sent)
    return request


def _entry(request, event, *, after, payload=None):
    audit_record(
        request=request, actor=None, event=event, at=request.sent_at + after, payload=payload
    )


@pytest.fixture
def issued(parties):
    """Paris's certificates of 2026, and one of 2025 that never counts."""
    paris, mail, cloud = parties["paris"], parties["mail"], parties["cloud"]
    executed = _certificate(
        by=paris, to=mail, categories=["subscriber", "traffic"], state=State.EXECUTED
    )
    _entry(executed, Event.EXECUTED, after=4 * HOUR)
    partly = _certificate(
        by=paris, to=mail, categories=["content"], emergency=True, state=State.PARTIALLY_EXECUTED
    )
    _entry(partly, Event.PARTIALLY_EXECUTED, after=8 * HOUR)
    impossible = _certificate(by=paris, to=cloud, state=State.IMPOSSIBLE)
    _entry(
        impossible,
        Event.IMPOSSIBILITY_REPORTED,
        after=HOUR,
        payload={"reasons": ["data_not_stored", "other"]},
    )
    _certificate(by=paris, to=cloud, categories=["identification"], state=State.WITHDRAWN)
    _certificate(by=paris, to=cloud, categories=["traffic"], state=State.REFUSED)
    _certificate(by=paris, to=mail, state=State.ACKNOWLEDGED)
    preserved = _certificate(by=paris, to=mail, code="epoc_pr", state=State.FOLLOWED_UP)
    _entry(preserved, Event.PRESERVED, after=2 * HOUR)
    _entry(preserved, Event.FOLLOWED_UP, after=30 * HOUR)
    _certificate(by=paris, to=cloud, code="epoc_pr", emergency=True, state=State.DELIVERED)
    # Sent on 31 December 2025 at 23:30 UTC: 1 January 2026 in Paris.
    _certificate(by=paris, to=cloud, sent=datetime.datetime(2025, 12, 31, 23, 30, tzinfo=UTC))
    # Sent on 31 December 2026 at 23:30 UTC: 2027 in Paris.
    _certificate(by=paris, to=cloud, sent=datetime.datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    # Another authority's EPOC is never Paris's.
    _certificate(by=parties["dublin"], to=mail, state=State.EXECUTED)
    # The notifications to the enforcing authority and its decisions.
    notified = _certificate(by=paris, to=parties["dublin"], code="epoc_notification")
    _entry(
        notified,
        Event.GROUNDS_RAISED,
        after=HOUR,
        payload={"ground": "ne_bis_in_idem", "scope": "partial", "categories": ["content"]},
    )
    cleared = _certificate(by=paris, to=parties["dublin"], code="epoc_notification")
    _entry(cleared, Event.NO_GROUNDS, after=HOUR)
    _entry(executed, Event.ENFORCING_NOTIFIED, after=HOUR / 2)
    return executed


def _counted(tallies):
    return {tally.key: tally.count for tally in tallies}


def test_issued_certificates_by_category_addressee_and_emergency(parties, issued):
    epoc, epoc_pr = eevidence_statistics(
        authority=parties["paris"], period=YEAR_2026
    ).issued.certificates

    assert (epoc.code, epoc.total) == ("epoc", 7)
    assert _counted(epoc.by_category) == {
        "subscriber": 4,
        "identification": 1,
        "traffic": 2,
        "content": 1,
    }
    assert _counted(epoc.by_other_party) == {"Mail Ltd": 3, "Cloud Ltd": 4}
    assert (epoc.emergency, epoc.not_emergency) == (1, 6)
    assert (epoc_pr.total, epoc_pr.emergency) == (2, 1)
    assert _counted(epoc_pr.by_other_party) == {"Mail Ltd": 1, "Cloud Ltd": 1}


def test_complied_or_not_and_why(parties, issued):
    epoc, epoc_pr = eevidence_statistics(
        authority=parties["paris"], period=YEAR_2026
    ).issued.certificates

    assert (epoc.complied, epoc.complied_in_part) == (2, 1)
    assert _counted(epoc.not_complied) == {"impossible": 1, "refused": 1, "withdrawn": 1}
    assert epoc.pending == 2  # acknowledged, and the one sent on 1 January in Paris
    assert _counted(epoc.annex_iii_reasons) == {"data_not_stored": 1, "other": 1}
    # Preserved, then followed up: complied with all the same.
    assert (epoc_pr.complied, epoc_pr.pending) == (1, 1)


def test_average_time_from_issue_to_data_and_to_preservation(parties, issued):
    epoc, epoc_pr = eevidence_statistics(
        authority=parties["paris"], period=YEAR_2026
    ).issued.certificates

    assert (epoc.average_hours, epoc.timed) == (6.0, 2)
    assert (epoc_pr.average_hours, epoc_pr.timed) == (2.0, 1)


def test_notifications_and_the_grounds_raised(parties, issued):
    issued_side = eevidence_statistics(authority=parties["paris"], period=YEAR_2026).issued
    notifications = issued_side.notifications

    assert (notifications.total, notifications.no_grounds, notifications.grounds_raised) == (
        2,
        1,
        1,
    )
    assert _counted(notifications.by_scope) == {"partial": 1}
    assert _counted(notifications.by_ground) == {"ne_bis_in_idem": 1}
    assert issued_side.notified_certificates == 1


def test_the_provider_and_the_enforcing_authority_see_the_received_side(parties, issued):
    mail, dublin = parties["mail"], parties["dublin"]
    received = _certificate(
        by=parties["paris"], to=mail, direction="incoming", state=State.EXECUTED
    )
    _entry(received, Event.EXECUTED, after=3 * HOUR)
    notification = _certificate(
        by=parties["paris"], to=dublin, code="epoc_notification", direction="incoming"
    )
    _entry(
        notification,
        Event.GROUNDS_RAISED,
        after=HOUR,
        payload={"ground": "double_criminality", "scope": "full", "categories": ["traffic"]},
    )

    provider = eevidence_statistics(authority=mail, period=YEAR_2026)
    enforcing = eevidence_statistics(authority=dublin, period=YEAR_2026).received.notifications

    epoc = provider.received.certificates[0]
    assert (epoc.total, epoc.complied, epoc.average_hours) == (1, 1, 3.0)
    assert _counted(epoc.by_other_party) == {"Parquet de Paris": 1}
    assert provider.issued.certificates[0].total == 0
    assert (enforcing.total, enforcing.grounds_raised) == (1, 1)
    assert _counted(enforcing.by_scope) == {"full": 1}
    assert _counted(enforcing.by_ground) == {"double_criminality": 1}


def test_transmissions_by_other_means_count_with_their_size(parties, issued):
    user = UserFactory(authority=parties["paris"], roles=["prosecutor"])
    for size, at in ((1000, T0), (24, T0), (5, datetime.datetime(2025, 6, 1, tzinfo=UTC))):
        OtherMeansTransmission.objects.create(
            request=issued,
            authority=parties["paris"],
            direction="outgoing",
            transmitted_at=at,
            place="Paris",
            recipient="Mail Ltd",
            size_bytes=size,
            item="data",
            recorded_by=user,
        )

    found = eevidence_statistics(authority=parties["paris"], period=YEAR_2026).other_means

    assert [(row.direction, row.item, row.count, row.size_bytes) for row in found] == [
        ("outgoing", "data", 2, 1024)
    ]


def test_the_period_is_the_current_year_in_the_authoritys_zone_by_default(parties, time_machine):
    time_machine.move_to(datetime.datetime(2026, 12, 31, 23, 30, tzinfo=UTC))

    period = eevidence_period(authority=parties["paris"])

    assert (period.date_from, period.date_to) == (
        datetime.date(2027, 1, 1),
        datetime.date(2027, 12, 31),
    )
    assert eevidence_period(authority=parties["paris"], year=2025).date_to == datetime.date(
        2025, 12, 31
    )
    chosen = eevidence_period(
        authority=parties["paris"],
        date_from=datetime.date(2026, 3, 1),
        date_to=datetime.date(2026, 3, 31),
    )
    assert (chosen.date_from, chosen.date_to) == (
        datetime.date(2026, 3, 1),
        datetime.date(2026, 3, 31),
    )


def test_a_period_of_a_few_days(parties, issued):
    march = EevidencePeriod(datetime.date(2026, 3, 1), datetime.date(2026, 3, 31), "Europe/Paris")

    epoc = eevidence_statistics(authority=parties["paris"], period=march).issued.certificates[0]

    assert epoc.total == 0


@pytest.mark.parametrize("size", [1, 12])
def test_the_queries_do_not_grow_with_the_requests(parties, django_assert_num_queries, size):
    paris = parties["paris"]
    for number in range(size):
        request = _certificate(
            by=paris,
            to=parties["mail" if number % 2 else "cloud"],
            code="epoc" if number % 3 else "epoc_pr",
            state=State.EXECUTED,
        )
        _entry(request, Event.EXECUTED, after=HOUR)
        _entry(request, Event.IMPOSSIBILITY_REPORTED, after=HOUR, payload={"reasons": ["other"]})

    with django_assert_num_queries(3):
        found = eevidence_statistics(authority=paris, period=YEAR_2026)

    assert sum(figures.total for figures in found.issued.certificates) == size


def test_the_page_and_the_csv_for_a_supervisor(client, parties, issued):
    supervisor = UserFactory(authority=parties["paris"], roles=["supervisor"])
    client.force_login(supervisor)

    page = client.get(reverse("statistics:eevidence"), {"year": 2026})
    exported = client.get(reverse("statistics:eevidence_csv"), {"year": 2026})

    assert page.status_code == 200
    text = page.content.decode()
    assert "Mail Ltd" in text
    assert "Data not stored when the certificate was received" in text
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    assert rows[0] == ["side", "section", "key", "label", "metric", "value"]
    assert ["issued", "epoc", "", "European Production Orders (EPOC)", "count", "7"] in rows
    assert ["issued", "epoc.average_time", "", "Average time", "hours", "6.0"] in rows
    grounds = [row[:3] for row in rows if row[1] == "notification.ground"]
    assert grounds == [["issued", "notification.ground", "ne_bis_in_idem"]]
    statistics_page = client.get(reverse("statistics:page"))
    assert reverse("statistics:eevidence") in statistics_page.content.decode()


def test_a_prosecutor_finds_no_e_evidence_statistics(client, parties):
    client.force_login(UserFactory(authority=parties["paris"], roles=["prosecutor"]))

    assert client.get(reverse("statistics:eevidence")).status_code == 404
    assert client.get(reverse("statistics:eevidence_csv")).status_code == 404


def test_the_csv_rows_name_the_period(parties, issued):
    found = eevidence_statistics(authority=parties["paris"], period=YEAR_2026)

    rows = list(eevidence_statistics_rows(found))

    assert ("", "period", "date_from", "", "value", "2026-01-01") in rows
    assert ("", "period", "time_zone", "", "value", "Europe/Paris") in rows
