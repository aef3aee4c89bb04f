"""Every operation of the API, called through a real HTTP server on PostgreSQL with calls
generated from its own OpenAPI schema (schemathesis): valid and invalid input, wrong types,
missing and unknown parameters, forged cursors, malformed bodies, other methods. No answer is
a 5xx, every answer is one the schema documents (status, media type, headers, body), input
the schema calls invalid is refused, and input it calls valid is never refused for its form.

The operations are read from the schema the node serves, so an operation added later is
called too, without naming it here. The caller's own requests are given to the generator as
examples of the path parameters they fill (by name), so that operations on a request are
called on requests that exist, as well as on ones that do not.
"""

import json
from typing import Any

import pytest
import requests
import schemathesis
from django.core.servers.basehttp import WSGIRequestHandler
from schemathesis import Config
from schemathesis.engine import Status, StopReason
from schemathesis.engine import events as engine_events
from schemathesis.engine import from_schema as engine_for

from contact_points.models import AuthorityInstrument
from mla.api.models import Scope
from mla.api.problems import PROBLEM_MEDIA_TYPE
from mla.notifications.kinds import Kind
from mla.notifications.services import notification_send
from mla.requests.drafting.services import request_create
from mla.requests.lifecycle.issuing import request_send
from mla.requests.models import Request
from tests.support.api import api_token_for
from tests.support.factories import UserFactory
from tests.support.journeys import ready_eio

pytestmark = [pytest.mark.schema_fuzz, pytest.mark.django_db(transaction=True)]

# Calls per operation in the fuzzing phase (the examples and coverage phases add the caller's
# requests and each parameter's edges): the whole API in well under a minute on two cores.
MAX_EXAMPLES = 10
# Refusals of a call for its form: input the schema calls valid never gets one of these.
FORM_REFUSALS = {"invalid", "malformed"}


@schemathesis.check
def valid_input_is_not_refused_for_its_form(ctx: Any, response: Any, case: Any) -> None:
    """Input the schema calls valid may be refused by a rule of the domain (a forged cursor,
    a state that forbids the step), never for its form: what the schema allows, the
    validator allows."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if response.status_code not in (400, 422):
        return
    if not response.headers.get("content-type", [""])[0].startswith(PROBLEM_MEDIA_TYPE):
        return
    code = json.loads(response.content).get("code")
    if code in FORM_REFUSALS:
        raise AssertionError(
            f"The schema allows this input, the API refused it as {code}: {response.text[:500]}"
        )


def _config(*, base_url: str, token: str) -> Config:
    return Config.from_dict(
        {
            "base-url": base_url,
            "workers": 1,
            "auth": {"openapi": {"TokenAuth": {"bearer": token}}},
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                # The same calls at each run: a failure is reproduced by running it again.
                "deterministic": True,
                "database": "none",
            },
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
            "checks": {
                # Replaced by valid_input_is_not_refused_for_its_form: valid input is refused
                # by the domain's rules too (a cursor the node did not give, a stale ETag).
                "positive_data_acceptance": {"enabled": False},
                "negative_data_rejection": {
                    "expected-statuses": [
                        "400",
                        "401",
                        "403",
                        "404",
                        "405",
                        "409",
                        "412",
                        "413",
                        "415",
                        "422",
                        "428",
                    ]
                },
                # Without If-Match, a write to a request is 428 (mla.api.etags).
                "missing_required_header": {
                    "expected-statuses": ["400", "401", "403", "415", "422", "428"]
                },
            },
        }
    )


@pytest.fixture
def callers_requests(prosecutor, sent_eio, authorities, countries) -> list[Request]:
    """The Paris prosecutor's authority holds a draft, a sent EIO and an EIO from Berlin; the
    prosecutor has a notification."""
    draft = request_create(
        actor=prosecutor,
        declaration_code="eio",
        executing_country=countries["DE"],
        executing_authority=authorities["berlin"],
    )
    # Paris receives EIOs too, so that Berlin can send it one.
    AuthorityInstrument.objects.create(authority=authorities["paris"], instrument="eio")
    berlin_prosecutor = UserFactory(authority=authorities["berlin"], roles=["prosecutor"])
    incoming = ready_eio(
        prosecutor=berlin_prosecutor, country=countries["FR"], authority=authorities["paris"]
    )
    request_send(request=incoming, actor=berlin_prosecutor)
    notification_send(
        recipients=[prosecutor],
        kind=Kind.REQUEST_STATE_CHANGED,
        subject="The request changed state",
        request=sent_eio[0],
        url=sent_eio[0].get_absolute_url(),
    )
    incoming.refresh_from_db()
    return [draft, sent_eio[0], incoming.counterpart]


def _examples(callers: list[Request]) -> dict[str, list[str]]:
    """Values of the path parameters, by name, that name something the caller may see."""
    issuers = [item.url_args[0] for item in callers]
    return {
        "issuer": issuers,
        "reference": [item.url_args[1] for item in callers],
        "identifier": sorted(set(issuers)),
    }


def _with_examples(raw: dict[str, Any], examples: dict[str, list[str]]) -> dict[str, Any]:
    for operations in raw["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                values = examples.get(parameter["name"]) if parameter["in"] == "path" else None
                if values:
                    parameter["examples"] = {
                        f"example{index}": {"value": value} for index, value in enumerate(values)
                    }
    return raw


def _failures(event: engine_events.ScenarioFinished) -> list[str]:
    found = []
    for checks in event.recorder.checks.values():
        for check in checks:
            if check.failure_info is None:
                continue
            failure = check.failure_info.failure
            found.append(
                f"{event.label} ({event.phase.value}) {check.name}: {failure.title}\n"
                f"  {failure.message}\n  {check.failure_info.code_sample}"
            )
    return found


@pytest.fixture
def prompt_live_server(live_server, monkeypatch):
    """The test server, answering each call on a kept-alive connection at once: without
    TCP_NODELAY, its headers and body leave in two packets and the second waits for the
    client's delayed ACK (40 ms a call)."""
    monkeypatch.setattr(WSGIRequestHandler, "disable_nagle_algorithm", True)
    return live_server


def test_every_answer_is_documented_and_none_is_a_server_error(
    prompt_live_server, prosecutor, callers_requests, settings
):
    live_server = prompt_live_server
    # Thousands of calls with one token: the rate limit is tested apart (test_main.py).
    settings.API_RATE_LIMIT = "100000/m"
    token = api_token_for(prosecutor, *Scope.values)
    served = requests.get(
        f"{live_server.url}/api/v1/schema/",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert served.status_code == 200
    schema = schemathesis.openapi.from_dict(
        _with_examples(served.json(), _examples(callers_requests)),
        config=_config(base_url=live_server.url, token=token),
    )

    failures: list[str] = []
    called: dict[str, int] = {}
    stop_reason = None
    for event in engine_for(schema).execute():
        if isinstance(event, engine_events.ScenarioFinished):
            label = event.label or ""
            called[label] = called.get(label, 0) + len(event.recorder.cases)
            if event.status in (Status.FAILURE, Status.ERROR):
                failures.extend(_failures(event) or [f"{event.label}: {event.status.value}"])
        elif isinstance(event, engine_events.NonFatalError):
            failures.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, engine_events.FatalError):
            raise event.exception
        elif isinstance(event, engine_events.EngineFinished):
            stop_reason = event.stop_reason

    assert not failures, "\n\n".join(failures)
    assert stop_reason == StopReason.COMPLETED
    operations = {
        f"{method.upper()} {path}"
        for path, methods in schema.raw_schema["paths"].items()
        for method in methods
    }
    assert operations <= {label for label, count in called.items() if count}
