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
import socket
from typing import Any

import pytest
import requests
import schemathesis
from django.core.servers.basehttp import WSGIRequestHandler
from schemathesis import Config
from schemathesis.engine import Status, StopReason
from schemathesis.engine import events as engine_events
from schemathesis.engine import from_schema as engine_for

from mla.api.models import Scope
from mla.api.problems import PROBLEM_MEDIA_TYPE
from tests.support.api import ApiWorld, api_token_for, api_world_create

pytestmark = [pytest.mark.schema_fuzz, pytest.mark.django_db(transaction=True)]

# Calls per operation in the fuzzing phase (the examples and coverage phases add the caller's
# requests and each parameter's edges): the whole API (74 operations) in about a minute.
MAX_EXAMPLES = 5


@schemathesis.check
def valid_input_is_not_refused_for_its_form(ctx: Any, response: Any, case: Any) -> None:
    """Input the schema calls valid may be refused by a rule of the domain (a forged cursor,
    a stale ETag, a URL that is not https), never by the validator: what the schema allows,
    the validator allows (a refusal naming where the call breaks the schema, or a body that
    could not be read)."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if not response.headers.get("content-type", [""])[0].startswith(PROBLEM_MEDIA_TYPE):
        return
    problem = json.loads(response.content)
    validator = problem.get("code") == "malformed" or any(
        "location" in item for item in problem.get("errors") or []
    )
    if validator:
        raise AssertionError(f"The schema allows this input, the API refused it: {response.text}")


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
                "coverage": {
                    "enabled": True,
                    # Another method is refused before any operation runs (a 405 with Allow):
                    # two of them per path are enough to show it.
                    "unexpected-methods": ["get", "patch"],
                },
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
def callers_world(sent_eio, authorities, countries) -> ApiWorld:
    return api_world_create(authorities=authorities, countries=countries, sent_eio=sent_eio)


def _with_examples(raw: dict[str, Any], examples: dict[str, list[str]]) -> dict[str, Any]:
    for operations in raw["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                values = examples.get(parameter["name"]) if parameter["in"] == "path" else None
                if values:
                    typed = int if parameter["schema"].get("type") == "integer" else str
                    parameter["examples"] = {
                        f"example{index}": {"value": typed(value)}
                        for index, value in enumerate(values)
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
def no_name_resolution(monkeypatch):
    """The machine's own names only: a webhook's URL the generator made up names a host no
    lookup reaches (the test sends nothing off this machine, nor waits on a resolver)."""
    resolve = socket.getaddrinfo

    def local_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host in ("localhost", "127.0.0.1", "::1"):
            return resolve(host, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", local_only)


@pytest.fixture
def prompt_live_server(live_server, monkeypatch):
    """The test server, answering each call on a kept-alive connection at once: without
    TCP_NODELAY, its headers and body leave in two packets and the second waits for the
    client's delayed ACK (40 ms a call)."""
    monkeypatch.setattr(WSGIRequestHandler, "disable_nagle_algorithm", True)
    return live_server


def test_every_answer_is_documented_and_none_is_a_server_error(
    prompt_live_server, callers_world, no_name_resolution, settings
):
    live_server = prompt_live_server
    # Thousands of calls with one token: the rate limit is tested apart (test_main.py).
    settings.API_RATE_LIMIT = "100000/m"
    token = api_token_for(callers_world.caller, *Scope.values)
    served = requests.get(
        f"{live_server.url}/api/v1/schema/",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert served.status_code == 200
    schema = schemathesis.openapi.from_dict(
        _with_examples(served.json(), callers_world.examples),
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
