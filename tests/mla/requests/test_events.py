"""The one vocabulary of events and states, checked where it is spelled outside Python: the
statistics' trigger SQL and the declarations' deadline rules."""

import re
from pathlib import Path

import pytest

from mla.instruments.declarations import DECLARATIONS
from mla.requests.deadlines.engine import EVENT_KINDS, DeadlineState
from mla.requests.events import EXECUTING_SIDE_EVENTS, ISSUING_SIDE_EVENTS, Event
from mla.requests.lifecycle import counterpart
from mla.requests.models import Request
from mla.requests.templatetags.requests_extras import audit_event

SQL_FILES = sorted(
    (Path(__file__).resolve().parents[3] / "mla" / "statistics" / "sql").glob("*.sql")
)


def _sql() -> str:
    assert SQL_FILES, "the statistics' SQL files were not found"
    return "\n".join(path.read_text(encoding="utf-8") for path in SQL_FILES)


def _literals(listed: str) -> set[str]:
    return set(re.findall(r"'([^']*)'", listed))


def test_every_event_the_trigger_sql_names_is_in_the_vocabulary():
    named = set(re.findall(r"\bevent\s*=\s*'([^']*)'", _sql()))
    assert named, "no event literal found: the pattern no longer matches the SQL"
    assert named <= set(Event.values)


def test_every_state_the_trigger_sql_names_is_a_request_or_deadline_state():
    lists = re.findall(r"\bstate\s+IN\s*\(([^)]*)\)", _sql())
    assert lists, "no state list found: the pattern no longer matches the SQL"
    for listed in lists:
        values = _literals(listed)
        assert values <= set(Request.State.values) or values <= set(DeadlineState.values), values


def test_every_direction_the_trigger_sql_names_is_a_direction():
    named = set(re.findall(r"\bWHEN\s+'([a-z_]+)'\s+THEN", _sql()))
    assert named == set(Request.Direction.values)


@pytest.mark.parametrize("declaration", DECLARATIONS.values(), ids=lambda d: d.code)
def test_every_deadline_counts_from_an_event_of_the_vocabulary_or_a_field(declaration):
    for rule in declaration.deadlines:
        # "B.requested_date": a date field of the request; anything else is an event.
        if "." not in rule.starts_at:
            assert rule.starts_at in Event.values, (declaration.code, rule.code)


def test_the_step_tables_and_the_engine_speak_the_vocabulary():
    assert set(counterpart.FOLLOWS) <= set(Event.values)
    assert set(counterpart.RECORDED_ONLY) <= set(Event.values)
    assert set(counterpart.ISSUER_ACTIONS) <= set(Event.values)
    assert set(counterpart.ISSUER_RECORDED_ONLY) <= set(Event.values)
    assert set(Event.values) >= EVENT_KINDS
    assert not set(EXECUTING_SIDE_EVENTS) & set(ISSUING_SIDE_EVENTS)


def test_the_timeline_names_every_event_and_passes_an_unknown_code_through():
    assert audit_event(Event.WITHDRAWN) == "Withdrawn"
    assert audit_event(Event.ACKNOWLEDGED) == "Receipt acknowledged"
    assert audit_event("something_else") == "something_else"


@pytest.mark.parametrize(
    ("declaration_code", "direction", "event", "shown"),
    [
        # The addressee's production, on either copy of an EPOC.
        ("epoc", Request.Direction.INCOMING, Event.EXECUTED, "Data produced"),
        ("epoc", Request.Direction.OUTGOING, Event.EXECUTED, "Data produced"),
        ("epoc", Request.Direction.OUTGOING, Event.PARTIALLY_EXECUTED, "Data partly produced"),
        ("epoc", Request.Direction.INCOMING, Event.PRESERVED, "Data preserved"),
        ("eio", Request.Direction.INCOMING, Event.EXECUTED, "Executed"),
        ("eio", Request.Direction.OUTGOING, Event.PARTIALLY_EXECUTED, "Partially executed"),
    ],
)
def test_the_timeline_names_an_epoc_s_production_in_its_own_words(
    declaration_code, direction, event, shown
):
    item = Request(declaration_code=declaration_code, direction=direction)

    assert audit_event(event, item) == shown
