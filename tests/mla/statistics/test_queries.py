"""The statistics of an authority, against the small data set computed by hand in
tests/support/fixtures/statistics.py (the ``data`` fixture, whose docstring tabulates it)."""

import csv
import datetime
import io

import pytest
from django.urls import reverse

from mla.requests.models import Request
from mla.statistics.charts import Bar, svg_bar_chart
from mla.statistics.queries import (
    Spread,
    StatisticsFilter,
    authority_statistics,
    percentile_cont,
    statistics_durations,
)
from mla.statistics.templatetags.statistics_tags import tally_chart
from tests.support.factories import UserFactory
from tests.support.statistics import DAY, HOUR, T0, UTC
from tests.support.statistics import deadline_add as _deadline
from tests.support.statistics import incoming_add as _incoming
from tests.support.statistics import outgoing_add as _outgoing

pytestmark = pytest.mark.django_db

State = Request.State


def _stats(authority, **filters):
    return authority_statistics(authority=authority, filters=StatisticsFilter(**filters))


def _counted(tallies):
    return {tally.key: tally.count for tally in tallies}


def test_counts_by_instrument_country_and_state_of_the_own_copies_only(data, authorities):
    counts = _stats(authorities["paris"]).counts

    assert counts.total == 9
    assert _counted(counts.by_instrument) == {"eio": 6, "mla": 1, "preservation": 2}
    assert [tally.key for tally in counts.by_instrument] == ["eio", "mla", "preservation"]
    assert _counted(counts.by_country) == {"DE": 6, "US": 3}
    assert counts.by_country[0].label == "Germany (DE)"
    assert _counted(counts.by_state) == {
        "draft": 1,
        "sent": 1,
        "acknowledged": 1,
        "executed": 1,
        "partially_executed": 1,
        "refused": 2,
        "expired": 2,
    }
    assert _counted(counts.refusal_grounds) == {"eio_11_1_g": 1, "budapest_25_4": 1}


def test_durations_median_and_90th_percentile_per_country_and_instrument(data, authorities):
    rows = {row.key: row for row in _stats(authorities["paris"]).durations}

    # Outgoing copies carry no receipt here: only the incoming ones are timed.
    assert set(rows) == {"incoming:DE:eio", "incoming:US:preservation"}
    eio = rows["incoming:DE:eio"]
    assert eio.acknowledge == Spread(n=4, median=pytest.approx(5), p90=pytest.approx(8.8))
    assert eio.decide == Spread(n=3, median=pytest.approx(48), p90=pytest.approx(67.2))
    # The refusal's closing is not an execution.
    assert eio.execute == Spread(n=2, median=pytest.approx(150), p90=pytest.approx(190))
    preservation = rows["incoming:US:preservation"]
    assert preservation.acknowledge == Spread(n=2, median=pytest.approx(2), p90=pytest.approx(2.8))
    assert preservation.decide == Spread(n=2, median=pytest.approx(4), p90=pytest.approx(4.8))
    assert preservation.execute == Spread(n=0, median=None, p90=None)


def test_the_python_fallback_gives_what_the_database_gives(data, authorities, monkeypatch):
    from mla.statistics import queries as statistics

    in_database = statistics_durations(authority=authorities["paris"], filters=StatisticsFilter())
    monkeypatch.setattr(statistics, "_spreads_in_database", statistics._spreads_in_python)
    in_python = statistics_durations(authority=authorities["paris"], filters=StatisticsFilter())

    assert in_python == in_database


def test_percentile_cont_interpolates_between_ranks():
    assert percentile_cont([], 0.5) is None
    assert percentile_cont([7.0], 0.9) == 7.0
    assert percentile_cont([10.0, 2.0, 6.0, 4.0], 0.5) == 5.0
    assert percentile_cont([2.0, 4.0, 6.0, 10.0], 0.9) == pytest.approx(8.8)


def test_deadlines_met_on_time_late_and_missed_by_deadline(data, authorities):
    deadlines = {
        d.code: (d.on_time, d.late, d.missed) for d in _stats(authorities["paris"]).deadlines
    }

    assert deadlines == {
        "acknowledgement": (1, 1, 0),
        "recognition": (1, 0, 2),
        "execution": (0, 1, 0),
        "preservation": (1, 0, 1),
    }


def test_preservations_that_lapsed_without_a_follow_up(data, authorities):
    lapsed = _stats(authorities["paris"]).lapsed

    assert lapsed.count == 1
    assert lapsed.references == ["P1"]
    assert _stats(authorities["paris"], instrument="eio").lapsed.count == 0


def test_more_lapsed_preservations_than_listed_are_still_counted(data, authorities):
    paris, us = authorities["paris"], authorities["us_247"]
    for n in range(3):
        _incoming(f"P-extra-{n}", to=paris, sender=us, code="preservation", received=T0,
                  closed=(n + 1) * DAY, state=State.EXPIRED)  # fmt: skip

    # One of Paris's own preservations lapsed too: both sides count.
    outgoing = _outgoing(
        "PO", by=paris, to=us, code="preservation", created=T0, state=State.EXPIRED
    )
    Request.objects.filter(pk=outgoing.pk).update(closed_at=T0 + 10 * DAY)

    lapsed = authority_statistics(
        authority=paris, filters=StatisticsFilter(), lapsed_limit=3
    ).lapsed

    assert lapsed.count == 5
    assert lapsed.references == ["P1", "PO", "P-extra-2"]  # most recently closed first


def test_the_period_counts_outgoing_from_creation_and_incoming_from_receipt(data, authorities):
    stats = _stats(
        authorities["paris"],
        date_from=datetime.date(2026, 3, 3),
        date_to=datetime.date(2026, 3, 3),
    )

    assert stats.counts.total == 3  # I2, P2 received, O2 created on 3 March
    assert _counted(stats.counts.by_state) == {"refused": 2, "expired": 1}
    assert stats.lapsed.count == 0
    assert _stats(authorities["paris"], date_to=datetime.date(2026, 3, 1)).counts.total == 1


def test_period_days_are_the_authoritys_days(authorities):
    paris, berlin = authorities["paris"], authorities["berlin"]
    # 23:30 UTC on 2 March is 01:30 on 3 March in Bucharest.
    late = datetime.datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    _incoming("late", to=paris, sender=berlin, code="eio", received=late, state=State.RECEIVED)

    assert _stats(paris, date_to=datetime.date(2026, 3, 2)).counts.total == 0
    assert _stats(paris, date_from=datetime.date(2026, 3, 3)).counts.total == 1


def test_offence_filter(data, authorities):
    stats = _stats(authorities["paris"], offence="trafficking_human_beings")

    assert stats.counts.total == 2  # I1 and O1; Berlin's B1 is not Paris's
    assert _counted(stats.counts.by_state) == {"executed": 1, "sent": 1}


def test_direction_and_instrument_filters(data, authorities):
    paris = authorities["paris"]

    assert _stats(paris, direction="incoming").counts.total == 6
    outgoing = _stats(paris, direction="outgoing")
    assert outgoing.counts.total == 3
    assert outgoing.durations == []
    assert outgoing.lapsed.count == 0
    preservation = _stats(paris, instrument="preservation")
    assert _counted(preservation.counts.by_instrument) == {"preservation": 2}
    assert _counted(_stats(paris, instrument="mla").counts.by_country) == {"US": 1}


def test_another_authority_sees_only_its_own(data, authorities):
    stats = _stats(authorities["berlin"])

    assert stats.counts.total == 2
    assert _counted(stats.counts.by_country) == {"FR": 2}
    assert {d.code: d.on_time for d in stats.deadlines} == {"acknowledgement": 1}


def test_impossible_filters_are_refused():
    from mla.core.errors import ApplicationError
    from tests.support.factories import AuthorityFactory

    with pytest.raises(ApplicationError) as raised:
        _stats(
            AuthorityFactory(),
            date_from=datetime.date(2026, 3, 3),
            date_to=datetime.date(2026, 3, 2),
        )
    assert raised.value.extra == {"field": "date_to"}


# The page ---------------------------------------------------------------------------------


@pytest.fixture
def supervisor(authorities):
    return UserFactory(authority=authorities["paris"], roles=["supervisor"])


def test_the_page_shows_the_authoritys_figures(client, supervisor, data):
    client.force_login(supervisor)

    response = client.get(reverse("statistics:page"), {"direction": "incoming"})

    assert response.status_code == 200
    page = response.content.decode()
    assert response.context["statistics"].counts.total == 6
    assert 'role="img"' in page
    assert "Preservations that lapsed without a follow-up" in page
    assert "<li>P1</li>" in page
    assert reverse("statistics:csv") + "?direction=incoming" in page
    # The offence categories are offered by their labels.
    assert '<option value="trafficking_human_beings">trafficking in human beings</option>' in page


def test_an_auditor_sees_the_page_and_the_menu_link(client, authorities):
    auditor = UserFactory(authority=authorities["paris"], roles=["auditor"])
    client.force_login(auditor)

    response = client.get(reverse("requests:list"))

    assert reverse("statistics:page") in response.content.decode()
    assert client.get(reverse("statistics:page")).status_code == 200


def test_a_prosecutor_finds_no_statistics(client, prosecutor, data):
    client.force_login(prosecutor)

    assert client.get(reverse("statistics:page")).status_code == 404
    assert client.get(reverse("statistics:csv")).status_code == 404
    assert reverse("statistics:page") not in client.get(reverse("requests:list")).content.decode()


def test_another_authoritys_supervisor_sees_none_of_pariss_data(client, authorities, data):
    client.force_login(UserFactory(authority=authorities["berlin"], roles=["supervisor"]))

    response = client.get(reverse("statistics:page"))

    assert response.context["statistics"].counts.total == 2
    assert "<li>P1</li>" not in response.content.decode()


def test_wrong_filters_are_shown_on_the_form(client, supervisor):
    client.force_login(supervisor)

    response = client.get(
        reverse("statistics:page"), {"date_from": "2026-03-03", "date_to": "2026-03-01"}
    )

    assert response.status_code == 200
    assert response.context["statistics"] is None
    assert response.context["form"].errors == {"date_to": ["The period ends before it starts."]}
    csv_response = client.get(reverse("statistics:csv"), {"instrument": "nope"})
    assert csv_response.status_code == 400


def test_csv_export_with_the_same_filters(client, supervisor, data):
    client.force_login(supervisor)

    response = client.get(reverse("statistics:csv"), {"direction": "incoming"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["section", "key", "label", "metric", "value"]
    assert ["filter", "direction", "", "value", "incoming"] in rows
    assert ["total", "", "Requests", "count", "6"] in rows
    assert ["state", "refused", "Refused", "count", "1"] in rows
    grounds = [row for row in rows if row[0] == "refusal_ground"]
    assert grounds == [
        ["refusal_ground", "eio_11_1_g", "EIO Art. 11(1)(g): no double criminality", "count", "1"]
    ]
    decide = "time_to_decide", "incoming:DE:eio", "Incoming · Germany (DE) · EIO"
    assert [*decide, "n", "3"] in rows
    assert [*decide, "median_hours", "48.0"] in rows
    assert [*decide, "p90_hours", "67.2"] in rows
    assert ["deadline", "recognition", "Decision on recognition", "missed", "2"] in rows
    assert ["lapsed_preservation", "", "Lapsed preservations", "count", "1"] in rows
    assert ["lapsed_preservation", "P1", "P1", "reference", "P1"] in rows
    assert not any(row[0] == "country" and row[1] == "FR" for row in rows)


def test_csv_cells_are_not_formulas(client, supervisor, authorities):
    _incoming("=HYPERLINK(1)", to=authorities["paris"], sender=authorities["us_247"],
              code="preservation", received=T0, closed=DAY, state=State.EXPIRED)  # fmt: skip
    client.force_login(supervisor)

    content = client.get(reverse("statistics:csv")).content.decode()

    assert "'=HYPERLINK(1)" in content
    assert "\n=HYPERLINK" not in content
    assert ",=HYPERLINK" not in content


def test_the_page_costs_the_same_queries_however_many_requests(
    client, supervisor, data, authorities, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(supervisor)
    url = reverse("statistics:page")
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    paris, berlin = authorities["paris"], authorities["berlin"]
    for n in range(30):
        _incoming(f"more-{n}", to=paris, sender=berlin, code="eio", received=T0 + n * HOUR,
                  ack=HOUR, decided=DAY, closed=2 * DAY, state=State.EXECUTED)  # fmt: skip
        _deadline(Request.objects.get(reference=f"more-{n}"), "acknowledgement", "met")

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.context["statistics"].counts.total == 39
    assert len(few.captured_queries) <= 12


def test_the_selectors_cost_four_queries_three_when_nothing_lapsed(
    data, authorities, django_assert_num_queries
):
    with django_assert_num_queries(4):
        _stats(authorities["paris"])
    with django_assert_num_queries(3):
        _stats(authorities["paris"], offence="fraud", date_from=datetime.date(2026, 1, 1))


# The charts -------------------------------------------------------------------------------


def test_the_svg_chart_escapes_its_labels_and_describes_itself():
    svg = svg_bar_chart(
        title='Requests "by" <state>',
        bars=[Bar(label="<script>alert('x')</script>", values=[3]), Bar(label="B&B", values=[1])],
        chart_id='x" onload="alert(1)',
    )

    assert svg.startswith("<svg")
    assert 'role="img"' in svg
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert "B&amp;B" in svg
    assert "<title" in svg
    assert 'onload="' not in svg
    assert "&quot;by&quot; &lt;state&gt;" in svg
    assert "B&amp;B: 1" in svg  # the figures as text in <desc>


def test_the_tally_chart_tag_and_an_empty_chart():
    from mla.statistics.queries import Tally

    svg = tally_chart([Tally(key="x", label="<b>x</b>", count=2)], "Title")

    assert "&lt;b&gt;x&lt;/b&gt;" in svg
    assert svg_bar_chart(title="t", bars=[]) == ""


def test_a_certificate_s_states_are_counted_in_its_own_words(authorities):
    paris, berlin = authorities["paris"], authorities["berlin"]
    march = datetime.datetime(2026, 3, 2, 10, tzinfo=UTC)
    for n, state in enumerate((State.EXECUTED, State.EXECUTED, State.PARTIALLY_EXECUTED)):
        _outgoing(f"E{n}", by=paris, to=berlin, code="epoc", created=march, state=state)
    _incoming("EI", to=paris, sender=berlin, code="epoc", received=march, state=State.EXECUTED)
    _incoming("PR", to=paris, sender=berlin, code="epoc_pr", received=march, state=State.PRESERVED)
    _incoming("EIO", to=paris, sender=berlin, code="eio", received=march, state=State.EXECUTED)

    by_state = _stats(paris).counts.by_state

    assert {(tally.key, tally.label, tally.count) for tally in by_state} == {
        ("executed", "Executed", 1),
        ("data_produced", "Data produced", 1),
        ("data_received", "Data received", 2),
        ("data_partly_received", "Data partly received", 1),
        ("data_preserved", "Data preserved", 1),
    }
