"""The README's example client of the API (deploy/api-client/), run as a user would run it:
a real process against the running node, with a personal token."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mla.requests.models import Request
from tests.support.api import api_token_for
from tests.support.factories import AuthorityFactory, UserFactory

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "api-client"


@pytest.fixture
def berlin_prosecutor(countries):
    # The executing authority the example's draft names, as in the demo directory, served
    # on this node (it has staff here): the request is delivered at once.
    authority = AuthorityFactory(
        identifier="de-berlin-prosecutor",
        name="Staatsanwaltschaft Berlin",
        country=countries["DE"],
        kind="prosecutor",
        instruments=["eio"],
        languages=["de", "en"],
    )
    UserFactory(authority=authority, roles=["contact_point_staff"])
    return authority


def _run(live_server, token: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(EXAMPLE / "eio_client.py"),
            "--base-url",
            live_server.url,
            "--poll-seconds",
            "0.2",
            *arguments,
        ],
        env={**os.environ, "MLA_API_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.django_db(transaction=True)
def test_the_example_makes_fixes_submits_and_sends_an_eio(
    live_server, prosecutor, berlin_prosecutor, tasks_in_process
):
    token = api_token_for(prosecutor, "read", "draft", "send")

    done = _run(
        live_server,
        token,
        "--draft",
        str(EXAMPLE / "eio-draft.json"),
        "--fixes",
        str(EXAMPLE / "eio-fixes.json"),
    )

    assert done.returncode == 0, done.stdout + done.stderr
    sent = Request.objects.get(direction=Request.Direction.OUTGOING, declaration_code="eio")
    assert sent.state == "delivered"
    assert sent.data["K"]["file_number"] == "PARIS-2026-04711"
    assert sent.counterpart is not None
    assert sent.counterpart.executing_authority == berlin_prosecutor
    assert f"{sent.reference} is delivered" in done.stdout
    events = list(sent.audit_entries.values_list("event", flat=True))
    assert "submit" in events
    assert "sent" in events


@pytest.mark.django_db(transaction=True)
def test_without_the_fixes_the_example_says_what_is_missing_and_sends_nothing(
    live_server, prosecutor, berlin_prosecutor
):
    done = _run(live_server, api_token_for(prosecutor), "--draft", str(EXAMPLE / "eio-draft.json"))

    assert done.returncode == 1
    assert "Still to do: K issuer_type" in done.stdout
    assert Request.objects.get(direction=Request.Direction.OUTGOING).state == "draft"


@pytest.mark.django_db(transaction=True)
def test_a_token_without_the_send_scope_is_refused_with_the_problems_code(
    live_server, prosecutor, berlin_prosecutor
):
    token = api_token_for(prosecutor, "read", "draft")

    done = _run(
        live_server,
        token,
        "--draft",
        str(EXAMPLE / "eio-draft.json"),
        "--fixes",
        str(EXAMPLE / "eio-fixes.json"),
    )

    assert done.returncode == 1
    assert "403 insufficient_scope" in done.stderr
    assert json.loads((EXAMPLE / "eio-draft.json").read_text())["type"] == "eio"
