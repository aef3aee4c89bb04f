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
