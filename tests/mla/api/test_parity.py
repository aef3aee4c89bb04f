"""A page and the API give the same answer: each step of the permission matrix, taken by
each role through the request's page and through the API, is allowed or refused alike, with
the same words when refused.

Each attempt runs in a savepoint rolled back after it, so both channels start from the same
request in the same state."""

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.db import transaction
from django.test import Client

from mla.api.etags import request_etag
from mla.requests.lifecycle.executing import (
    refusal_grounds,
    request_acknowledge,
    request_ask_information,
    request_recognise,
)
from mla.requests.lifecycle.issuing import request_send
from mla.requests.models import Request
from mla.requests.selectors import request_for_user
from tests.support.api import api_token_for

pytestmark = pytest.mark.django_db


class _Undo(Exception):
    pass


def _fields(step: str, request: Request) -> dict[str, Any]:
    if step == "refuse":
        return {"ground": refusal_grounds(request=request)[0][0], "motivation": "Out of scope."}
    if step in ("execute_partially", "request_information", "receive_information"):
        return {"note": "The bank records of 2025 only."}
    return {}


# (copy, state, step): the rows of the matrix that a person takes from a page.
ROWS = [
    ("issuing", "ready", "withdraw"),
    ("issuing", "delivered", "withdraw"),
    ("executing", "received", "acknowledge"),
    ("executing", "received", "refuse"),
    ("executing", "received", "request_information"),
    ("executing", "acknowledged", "recognise"),
    ("executing", "recognised", "start_execution"),
    ("executing", "recognised", "execute"),
    ("executing", "recognised", "execute_partially"),
    ("executing", "info_requested", "receive_information"),
]


def _bring(ready: Request, author, staff, copy: str, state: str) -> Request:
    if state == "ready":
        return Request.objects.get(pk=ready.pk)
    request_send(request=ready, actor=author)
    executing = Request.objects.get(pk=ready.pk).counterpart
    assert executing is not None
    if state in ("acknowledged", "recognised"):
        request_acknowledge(request=executing, actor=staff)
    if state == "recognised":
        request_recognise(request=Request.objects.get(pk=executing.pk), actor=staff)
    if state == "info_requested":
        request_ask_information(request=executing, actor=staff, question="Which accounts?")
    target = ready if copy == "issuing" else executing
    return Request.objects.get(pk=target.pk)


def _outcome(request: Request, before: tuple[str, int], status: int, refusal: str) -> tuple:
    if status == 404:
        return ("not found", "")
    after = Request.objects.get(pk=request.pk)
    if (after.state, after.audit_entries.count()) != before:
        return ("done", after.state)
    return ("refused", refusal)


def _by_page(user, request: Request, step: str) -> tuple:
    client = Client()
    client.force_login(user)
    issuer, reference = request.url_args
    before = (request.state, request.audit_entries.count())
    response = client.post(
        f"/requests/{issuer}/{reference}/transition/{step}/",
        {"expected_state": request.state, **_fields(step, request)},
    )
    errors = [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "error"]
    return _outcome(request, before, response.status_code, errors[0] if errors else "")


def _by_api(user, request: Request, step: str) -> tuple:
    issuer, reference = request.url_args
    before = (request.state, request.audit_entries.count())
    response = Client().post(
        f"/api/v1/requests/{issuer}/{reference}/steps/{step}/",
        data=_fields(step, request),
        content_type="application/json",
        headers={
            "Authorization": f"Bearer {api_token_for(user)}",
            "If-Match": request_etag(request),
        },
    )
    refusal = response.json().get("detail", "") if response.status_code >= 400 else ""
    return _outcome(request, before, response.status_code, refusal)


def _attempt(take, user, request: Request, step: str) -> tuple:
    # Each reads the copy it is shown (a user of the issuing authority sees the issuing copy
    # at the same address), with its state and ETag, as a person or a client would.
    issuer, reference = request.url_args
    shown = request_for_user(user=user, issuer=issuer, reference=reference) or request
    try:
        with transaction.atomic():
            result = take(user, Request.objects.get(pk=shown.pk), step)
            raise _Undo
    except _Undo:
        pass
    return result


@pytest.mark.parametrize(("copy", "state", "step"), ROWS)
def test_each_role_gets_the_same_answer_from_the_page_and_the_api(
    ready_eio, prosecutor, berlin_staff, people, copy, state, step
):
    request = _bring(ready_eio, prosecutor, berlin_staff, copy, state)
    assert request.state == state

    answers = {
        role: (_attempt(_by_page, user, request, step), _attempt(_by_api, user, request, step))
        for role, user in people.items()
    }

    differing = {role: pair for role, pair in answers.items() if pair[0] != pair[1]}
    assert differing == {}
    # The matrix is not empty: someone may take each step, someone may not.
    kinds = {page[0] for page, _api in answers.values()}
    assert "done" in kinds
    assert kinds - {"done"}
