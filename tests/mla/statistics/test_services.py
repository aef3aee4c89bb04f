"""The compaction of the statistics' count rollups: it folds the rows of each key into one
and drops the keys that count nothing, and changes no figure, also while a writer holds a
row of a key it folds."""

import threading
import time

import pytest
from django.db import connection, transaction
from django.urls import reverse

from mla.requests.models import Deadline, Request
from mla.statistics.models import StatisticsRequestCount
from mla.statistics.queries import StatisticsFilter, authority_statistics
from mla.statistics.services import rollups_compact
from tests.support.factories import UserFactory
from tests.support.statistics import COUNTS, FILTERS, T0, keys_counting_something, rows_split
from tests.support.statistics import incoming_add as _incoming
from tests.support.statistics import rollups_assert_kept as _assert_kept
from tests.support.statistics import rollups_counted as _rollups

State = Request.State


def _figures(client, authorities) -> list[object]:
    """Every figure of the statistics page: the CSV export of Paris's supervisor, and each
    authority's statistics under the filters of the rollup tests."""
    client.force_login(UserFactory(authority=authorities["paris"], roles=["supervisor"]))
    found: list[object] = [
        client.get(reverse("statistics:csv"), params).content
        for params in ({}, {"direction": "incoming"}, {"offence": "fraud"})
    ]
    for name in ("paris", "berlin", "us_247"):
        found += [
            authority_statistics(authority=authorities[name], filters=chosen, lapsed_limit=None)
            for chosen in FILTERS
        ]
    return found


@pytest.mark.django_db
def test_compacting_changes_no_figure_and_leaves_a_row_per_key(
    data,
    authorities,
    client,
):
    # Keys that count nothing any more: a state left, a deadline gone.
    Request.objects.filter(pk=data["I4"].pk).update(state=State.REFUSED, outcome_ground="other")
    Deadline.objects.filter(request=data["I2"], code="recognition").delete()
    rows_split()
    figures, rollups = _figures(client, authorities), _rollups()
    rows = {model: model.objects.count() for model in COUNTS}

    rollups_compact()

    assert _figures(client, authorities) == figures
    assert _rollups() == rollups
    for model in COUNTS:
        assert model.objects.count() == keys_counting_something(model) < rows[model]
        assert not model.objects.filter(n=0).exists()
    _assert_kept()


@pytest.mark.django_db
@pytest.mark.usefixtures("data")
def test_compacting_again_folds_nothing():
    rows_split()
    rollups_compact()
    rows = {model: set(model.objects.values_list("pk", "n")) for model in COUNTS}

    rollups_compact()

    assert {model: set(model.objects.values_list("pk", "n")) for model in COUNTS} == rows


@pytest.mark.django_db
@pytest.mark.usefixtures("data")
def test_nothing_to_compact_without_postgresql(monkeypatch, django_assert_num_queries):
    rows_split()
    rows = {model: model.objects.count() for model in COUNTS}
    monkeypatch.setattr(connection, "vendor", "sqlite")

    with django_assert_num_queries(0):
        rollups_compact()

    monkeypatch.undo()
    assert {model: model.objects.count() for model in COUNTS} == rows


def _compaction_waits() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query LIKE %s",
            ["%mla_stats_compact%"],
        )
        (waiting,) = cursor.fetchone()
    return waiting > 0


@pytest.mark.django_db(transaction=True)
def test_compacting_folds_what_a_writer_holding_a_row_wrote_last(authorities):
    paris, berlin = authorities["paris"], authorities["berlin"]
    first, second = (
        _incoming(ref, to=paris, sender=berlin, code="eio", received=T0, state=State.RECEIVED)
        for ref in ("W1", "W2")
    )
    holding, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def hold() -> None:
        try:
            with transaction.atomic():
                Request.objects.filter(pk=first.pk).update(state=State.ACKNOWLEDGED)
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    def compact() -> None:
        try:
            rollups_compact()
        except BaseException as error:
            failures.append(error)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    compacting = threading.Thread(target=compact)
    try:
        assert holding.wait(10)
        # Beside the held row of "received": a row of its own for each key.
        Request.objects.filter(pk=second.pk).update(state=State.ACKNOWLEDGED)
        compacting.start()
        deadline = time.monotonic() + 10
        while not _compaction_waits():
            assert time.monotonic() < deadline, "the compaction never waited for the writer"
            time.sleep(0.05)
    finally:
        release.set()
        holder.join()
        if compacting.is_alive() or compacting.ident is not None:
            compacting.join(10)

    assert failures == []
    # With the held row as it was read (2, not the writer's 1), "received" would count 1.
    counts = authority_statistics(authority=paris, filters=StatisticsFilter()).counts
    assert {tally.key: tally.count for tally in counts.by_state} == {"acknowledged": 2}
    assert not StatisticsRequestCount.objects.filter(authority=paris, state=State.RECEIVED).exists()
    _assert_kept()
