"""Calling the node's API in tests: a token of a user's own, and the Bearer header."""

import json
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
