"""Calling the node's API in tests: a token of a user's own, and the Bearer header."""

import json
from dataclasses import dataclass
from typing import Any

from django.test import Client

from mla.accounts.models import User
from mla.api.models import Scope
from mla.api.tokens import api_token_create

ALL_SCOPES = tuple(Scope.values)


def api_token_for(user: User, *scopes: str) -> str:
    """A new token of ``user`` (all scopes unless named): the secret, as a client holds it."""
    issued = api_token_create(
        user=user,
        name="test client",
        scopes=scopes or ALL_SCOPES,
        second_factor_verified=True,
    )
    return issued.secret


class ApiClient:
    """Django's test client, speaking to /api/v1/ with a token."""

    def __init__(self, token: str) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params, headers=self.headers)

    def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        if_match: str | None = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> Any:
        headers = dict(self.headers)
        if if_match is not None:
            headers["If-Match"] = if_match
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        return getattr(self.client, method.lower())(
            f"/api/v1{path}", data=data, content_type=content_type, headers=headers
        )

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.send("POST", path, body, **kwargs)


def api_request_path(item: Any) -> str:
    """A request's path in the API (a copy, named by its issuer and reference)."""
    issuer, reference = item.url_args
    return f"/requests/{issuer}/{reference}/"


def api_etag(api: ApiClient, item: Any) -> str:
    """The ETag of the request as ``api``'s user reads it now."""
    response = api.get(api_request_path(item))
    assert response.status_code == 200, response.content
    return str(response["ETag"])


def api_step(
    api: ApiClient, item: Any, step: str, body: Any = None, *, if_match: str | None = None
) -> Any:
    """Take ``step`` on ``item`` as a client does: read its ETag (unless given), then post
    the step's body with it."""
    tag = if_match if if_match is not None else api_etag(api, item)
    return api.post(f"{api_request_path(item)}steps/{step}/", body or {}, if_match=tag)


def api_upload(
    api: ApiClient,
    path: str,
    fields: dict[str, Any],
    files: dict[str, list[tuple[str, bytes]]],
    *,
    if_match: str | None = None,
) -> Any:
    """POST ``fields`` and ``files`` (each part's name: its files' names and bytes) as
    multipart/form-data, as a client sends files."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    headers = dict(api.headers)
    if if_match is not None:
        headers["If-Match"] = if_match
    data: dict[str, Any] = dict(fields)
    for name, items in files.items():
        data[name] = [SimpleUploadedFile(filename, content) for filename, content in items]
    return api.client.post(f"/api/v1{path}", data=data, headers=headers)


@dataclass
class ApiWorld:
    """What a caller's calls can name: their authority's requests, their notification,
    their webhook and what it was sent, a directory change awaiting a decision."""

    caller: User
    requests: list[Any]  # a draft, a sent EIO, a received EIO
    examples: dict[str, list[str]]  # values of the API's path parameters, by name


def api_world_create(
    *, authorities: dict[str, Any], countries: dict[str, Any], sent_eio: tuple[Any, Any]
) -> ApiWorld:
    """A user of the Paris prosecutor's office (the fixtures of tests/support/fixtures/
    requests.py) who drafts, works the queue and administers the directory, so that every
    operation of the API has something to do for them."""
    from contact_points.models import AuthorityInstrument
    from contact_points.services import directory_change_propose
    from mla.instruments.declarations import declaration_for
    from mla.notifications.kinds import Kind
    from mla.notifications.services import notification_send
    from mla.requests.drafting.services import request_create
    from mla.requests.lifecycle.issuing import request_send
    from mla.webhooks.models import WebhookDelivery
    from mla.webhooks.services import webhook_register
    from tests.support.factories import UserFactory
    from tests.support.journeys import ready_eio

    caller = UserFactory(
        authority=authorities["paris"],
        roles=["prosecutor", "contact_point_staff", "supervisor", "directory_administrator"],
    )
    # Before the requests move, so that what they do is sent to it.
    webhook = webhook_register(actor=caller, url="http://127.0.0.1:9/events").webhook
    draft = request_create(
        actor=caller,
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
    incoming.refresh_from_db()
    (notification,) = notification_send(
        recipients=[caller],
        kind=Kind.REQUEST_STATE_CHANGED,
        subject="The request changed state",
        request=sent_eio[0],
        url=sent_eio[0].get_absolute_url(),
    )
    change = directory_change_propose(
        authority=authorities["berlin"],
        actor=UserFactory(authority=authorities["berlin"], roles=["directory_administrator"]),
        public_key="",
        inbox_url="http://127.0.0.1:9/inbox",
    )
    assert change is not None
    requests = [draft, sent_eio[0], incoming.counterpart]
    issuers = [item.url_args[0] for item in requests]
    deliveries = WebhookDelivery.objects.filter(webhook=webhook)
    return ApiWorld(
        caller=caller,
        requests=requests,
        examples={
            "issuer": issuers,
            "reference": [item.url_args[1] for item in requests],
            "identifier": sorted(set(issuers)),
            "code": [section.code for section in declaration_for("eio").sections[:3]],
            "notification_id": [str(notification.pk)],
            "change_id": [str(change.pk)],
            "webhook_id": [str(webhook.public_id)],
            "delivery_id": [str(item.public_id) for item in deliveries[:2]],
        },
    )
