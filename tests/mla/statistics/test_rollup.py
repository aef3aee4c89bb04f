"""The statistics' rollups and stored durations (migration 0013, PostgreSQL): the triggers
keep them in step with every change to what they come from, and the page reads from them
(and from the requests for the hours of a period that are not whole UTC days) what it would
count from the requests alone.

Two checks, after each change: the rollups equal a recount from scratch
(mla_stats_add_requests over every request), and each section of the page is the same read
through the rollups as counted from the requests (the way other databases count).
"""

import datetime
import re
import threading
from importlib.resources import files
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction

from mla.demo.seeding import SeedPlan, requests_seed
from mla.instruments.declarations import declaration_for
from mla.requests.audit import audit_record
from mla.requests.drafting.services import request_create
from mla.requests.lifecycle.executing import (
    request_acknowledge,
    request_execute,
    request_preserve,
    request_recognise,
    request_refuse,
)
from mla.requests.lifecycle.issuing import request_send, request_submit
from mla.requests.models import Deadline, Request, RequestOffence
from mla.statistics import queries as statistics
from mla.statistics.models import (
    StatisticsDeadlineCount,
    StatisticsRequestCount,
)
from mla.statistics.queries import StatisticsFilter, authority_statistics
from tests.support.factories import AuthorityFactory, CountryFactory, UserFactory
from tests.support.samples import complete_data
from tests.support.statistics import DAY, FILTERS, HOUR, T0, UTC
from tests.support.statistics import deadline_add as _deadline
from tests.support.statistics import incoming_add as _incoming
from tests.support.statistics import outgoing_add as _outgoing
from tests.support.statistics import rollups_assert_kept as _assert_kept
from tests.support.statistics import rollups_counted as _rollups

State = Request.State
D = datetime.date


def _assert_read_alike(monkeypatch, authority, filters=FILTERS) -> None:
    for chosen in filters:
        rolled = authority_statistics(authority=authority, filters=chosen, lapsed_limit=None)
        with monkeypatch.context() as patched:
            patched.setattr(statistics, "_rollups_kept", lambda: False)
            counted = authority_statistics(authority=authority, filters=chosen, lapsed_limit=None)
        assert rolled == counted, chosen


@pytest.mark.django_db
def test_the_rollups_give_what_the_requests_give(data, authorities, monkeypatch):
    _assert_kept()
    for authority in ("paris", "berlin", "us_247"):
        _assert_read_alike(monkeypatch, authorities[authority])


@pytest.mark.django_db
def test_the_rollups_follow_every_change(data, authorities, monkeypatch):
    paris, berlin, us = authorities["paris"], authorities["berlin"], authorities["us_247"]

    def changed():
        _assert_kept()
        _assert_read_alike(monkeypatch, paris, FILTERS[:8])

    Request.objects.filter(pk=data["I4"].pk).update(state=State.REFUSED, outcome_ground="other")
    changed()
    Request.objects.filter(pk=data["I2"].pk).update(outcome_ground="eio_11_1_a")
    changed()
    # The instants the durations run to, and the state that makes a closing an execution.
    Request.objects.filter(pk=data["I4"].pk).update(
        acknowledged_at=T0 + 3 * DAY + HOUR, decided_at=T0 + 5 * DAY, closed_at=T0 + 9 * DAY
    )
    Request.objects.filter(pk=data["I2"].pk).update(state=State.EXECUTED)
    changed()
    RequestOffence.objects.create(request=data["I3"], category="fraud")
    RequestOffence.objects.filter(request=data["O1"], category="fraud").delete()
    changed()
    Deadline.objects.filter(request=data["I4"], code="acknowledgement").update(state="missed")
    Deadline.objects.filter(request=data["I1"], code="execution").update(late=False)
    Deadline.objects.filter(request=data["I2"], code="recognition").delete()
    _deadline(data["I3"], "recognition", "met", late=True)
    changed()
    audit_record(request=data["P1"], actor=None, event="followed_up", at=T0 + 40 * DAY)
    changed()
    assert authority_statistics(authority=paris, filters=StatisticsFilter()).lapsed.count == 0
    # What the deadlines are counted under moves with their request: its day, its type.
    Request.objects.filter(pk=data["I1"].pk).update(received_at=T0 + 9 * DAY)
    Request.objects.filter(pk=data["I3"].pk).update(declaration_code="mla")
    changed()
    Request.objects.filter(pk=data["I2"].pk).update(issuing_country_code="US")
    Request.objects.filter(pk=data["O2"].pk).update(executing_country=berlin.country)
    changed()
    # Another authority's copy now: it leaves Paris's figures for the US point's.
    Request.objects.filter(pk=data["I3"].pk).update(executing_authority=us)
    changed()
    _assert_read_alike(monkeypatch, us)
    data["I1"].delete()  # with its deadlines and offences
    Request.objects.filter(pk=data["O3"].pk).delete()
    changed()


@pytest.mark.django_db
def test_the_lifecycle_services_keep_them(sent_eio, berlin_staff, authorities, monkeypatch):
    _issuing, executing = sent_eio
    paris, berlin = authorities["paris"], authorities["berlin"]
    RequestOffence.objects.create(request=executing, category="fraud")

    def changed():
        _assert_kept()
        for authority in (paris, berlin):
            _assert_read_alike(monkeypatch, authority, FILTERS[:7])

    changed()
    request_acknowledge(request=executing, actor=berlin_staff)
    changed()
    request_recognise(request=Request.objects.get(pk=executing.pk), actor=berlin_staff)
    changed()
    request_execute(request=Request.objects.get(pk=executing.pk), actor=berlin_staff)
    changed()
    counts = authority_statistics(authority=berlin, filters=StatisticsFilter()).counts
    assert {tally.key: tally.count for tally in counts.by_state} == {"executed": 1}


@pytest.mark.django_db
def test_a_refusal_and_a_preservation_keep_them(
    sent_eio, berlin_staff, prosecutor, countries, authorities, monkeypatch
):
    _issuing, executing = sent_eio
    us = authorities["us_247"]
    us_staff = UserFactory(authority=us, roles=["contact_point_staff"])
    request_refuse(
        request=executing,
        actor=berlin_staff,
        ground="eio_11_1_g",
        motivation="Not an offence here",
    )
    draft = request_create(
        actor=prosecutor,
        declaration_code="preservation",
        executing_country=countries["US"],
        executing_authority=us,
    )
    draft.data = complete_data(declaration_for("preservation"))
    draft.save()
    request_submit(request=draft, actor=prosecutor)
    request_send(request=draft, actor=prosecutor)
    draft.refresh_from_db()
    request_acknowledge(request=draft.counterpart, actor=us_staff)
    request_preserve(request=Request.objects.get(pk=draft.counterpart.pk), actor=us_staff)

    _assert_kept()
    for authority in ("paris", "berlin", "us_247"):
        _assert_read_alike(monkeypatch, authorities[authority], FILTERS[:7])


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/New_York", "UTC", "Pacific/Chatham"])
@pytest.mark.django_db
def test_a_period_is_cut_at_the_authoritys_midnight(zone, authorities, monkeypatch):
    here = AuthorityFactory(identifier="here", country=authorities["paris"].country, time_zone=zone)
    sender = authorities["berlin"]
    # Around every hour of three days, so that each local midnight has copies either side.
    start = datetime.datetime(2026, 3, 28, 20, 0, tzinfo=UTC)
    for n in range(80):
        received = start + n * HOUR + datetime.timedelta(minutes=(n * 17) % 60)
        code = ("eio", "mla")[n % 2]
        made = _incoming(f"Z{n}", to=here, sender=sender, code=code, received=received,
                         ack=(n % 5 + 1) * HOUR, state=State.ACKNOWLEDGED)  # fmt: skip
        _deadline(made, "acknowledgement", "met", late=bool(n % 3))
        if n % 4 == 0:
            RequestOffence.objects.create(request=made, category="fraud")
    first = D(2026, 3, 27)
    periods = [
        StatisticsFilter(date_from=first + k * DAY, date_to=first + (k + span) * DAY)
        for k in range(6)
        for span in (0, 1)
    ]
    periods += [
        StatisticsFilter(date_from=D(2026, 3, 29)),
        StatisticsFilter(date_to=D(2026, 3, 29)),
        StatisticsFilter(date_from=D(2026, 3, 29), date_to=D(2026, 3, 30), offence="fraud"),
    ]

    _assert_read_alike(monkeypatch, here, periods)
    # The zone changes: the rollups, in UTC days, stay right.
    here.time_zone = "Asia/Tokyo"
    here.save()
    _assert_read_alike(monkeypatch, here, periods[:6])


def test_a_period_is_cut_into_whole_utc_days_and_edges():
    kolkata = ZoneInfo("Asia/Kolkata")
    cut = statistics._cut(
        (
            datetime.datetime(2026, 3, 3, tzinfo=kolkata),
            datetime.datetime(2026, 3, 6, tzinfo=kolkata),
        )
    )

    # 2 March 18:30 UTC to 5 March 18:30 UTC: 3 and 4 March whole, the rest on either side.
    assert cut.days == (D(2026, 3, 3), D(2026, 3, 5))
    assert [
        (a.astimezone(UTC).isoformat(), b.astimezone(UTC).isoformat()) for a, b in cut.edges
    ] == [
        ("2026-03-02T18:30:00+00:00", "2026-03-03T00:00:00+00:00"),
        ("2026-03-05T00:00:00+00:00", "2026-03-05T18:30:00+00:00"),
    ]
    utc_day = statistics._cut((T0.replace(hour=0), T0.replace(hour=0) + DAY))
    assert (utc_day.days, utc_day.edges) == ((D(2026, 3, 2), D(2026, 3, 3)), ())
    one_day = (T0, T0 + DAY)  # noon to noon: no whole UTC day, all of it from the requests
    assert statistics._cut(one_day) == statistics._Cut(dated=True, days=None, edges=(one_day,))
    assert statistics._cut(None) == statistics._Cut(dated=False, days=(None, None), edges=())


@pytest.mark.django_db
def test_seeding_counts_its_requests_in_bulk(authorities, berlin_staff, monkeypatch):
    plan = SeedPlan(
        receiver=authorities["berlin"],
        issuers=[authorities["paris"], authorities["us_247"]],
        staff=[berlin_staff],
        count=60,
    )
    requests_seed(plan=plan, batch=25)

    # One row per key, though the three batches each added theirs.
    for model in (StatisticsRequestCount, StatisticsDeadlineCount):
        fields = [f.attname for f in model._meta.concrete_fields if f.name not in ("id", "n")]
        assert model.objects.count() == model.objects.values(*fields).distinct().count()
    _assert_kept()
    _assert_read_alike(monkeypatch, authorities["berlin"], FILTERS[:5])
    # The triggers work again after the load.
    seeded = Request.objects.filter(reference__startswith="SEED-", state=State.RECEIVED).first()
    Request.objects.filter(pk=seeded.pk).update(state=State.ACKNOWLEDGED)
    _assert_kept()


@pytest.mark.django_db(transaction=True)
def test_writers_of_one_key_do_not_wait_for_each_other(authorities):
    paris, berlin = authorities["paris"], authorities["berlin"]
    first, second = (
        _incoming(ref, to=paris, sender=berlin, code="eio", received=T0, state=State.RECEIVED)
        for ref in ("W1", "W2")
    )
    holding, done = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                Request.objects.filter(pk=first.pk).update(state=State.ACKNOWLEDGED)
                holding.set()
                done.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        with transaction.atomic():
            with connection.cursor() as cursor:
                # Waiting for the holder's row of the same key would fail here.
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            Request.objects.filter(pk=second.pk).update(state=State.ACKNOWLEDGED)
    finally:
        done.set()
        holder.join()

    assert (
        StatisticsRequestCount.objects.filter(
            authority=paris, offence="", state=State.ACKNOWLEDGED
        ).count()
        == 2
    )  # one row each
    counts = authority_statistics(authority=paris, filters=StatisticsFilter()).counts
    assert {tally.key: tally.count for tally in counts.by_state} == {"acknowledged": 2}
    _assert_kept()
    # Compacting folds the rows of a key into one, the keys that count nothing dropped.
    kept = _rollups()
    with connection.cursor() as cursor:
        cursor.execute("SELECT mla_stats_compact()")
    assert _rollups() == kept
    assert StatisticsRequestCount.objects.filter(authority=paris, offence="").count() == 1


@pytest.mark.django_db
def test_many_groups_cost_no_more_queries(authorities, countries, django_assert_num_queries):
    paris = authorities["paris"]
    for n, code in enumerate(["BE", "NL", "ES", "IT", "PT", "AT", "PL", "RO"]):
        sender = AuthorityFactory(identifier=f"s-{code}", country=CountryFactory(code=code))
        for kind in ("eio", "mla", "preservation"):
            _incoming(f"G-{code}-{kind}", to=paris, sender=sender, code=kind,
                      received=T0 + n * HOUR, ack=(n + 1) * HOUR,
                      state=State.ACKNOWLEDGED)  # fmt: skip
            _outgoing(f"H-{code}-{kind}", by=paris, to=sender, code=kind, created=T0,
                      state=State.SENT)  # fmt: skip

    with django_assert_num_queries(3):
        found = authority_statistics(authority=paris, filters=StatisticsFilter())
    assert len(found.durations) == 24  # the incoming copies carry the receipts
    assert found.counts.total == 48
    with django_assert_num_queries(2):
        assert (
            statistics.statistics_durations(authority=paris, filters=StatisticsFilter())
            == found.durations
        )


@pytest.mark.django_db
def test_the_database_runs_the_functions_and_triggers_of_the_sql_file():
    text = (files("mla.statistics") / "sql" / "0001_rollup.sql").read_text(encoding="utf-8")
    functions = dict(re.findall(r"CREATE FUNCTION (\w+)\(.*?\$\$(.*?)\$\$", text, re.S))
    triggers = dict(re.findall(r"CREATE TRIGGER (\w+)\s.*?EXECUTE FUNCTION (\w+)\(\)", text, re.S))
    named = r"mla\_stats\_%"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT proname, prosrc FROM pg_proc"
            " WHERE pronamespace = current_schema()::regnamespace AND proname LIKE %s",
            [named],
        )
        assert dict(cursor.fetchall()) == functions
        cursor.execute(
            "SELECT tgname, tgfoid::regproc::text FROM pg_trigger WHERE tgname LIKE %s", [named]
        )
        assert dict(cursor.fetchall()) == triggers
    assert (len(functions), len(triggers)) == (19, 5)
