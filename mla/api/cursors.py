"""Opaque, signed keyset cursors: a client can pass back only what the node handed out, so a
forged or altered cursor is a 400, never a query on someone's made-up key."""

from typing import Any

from django.core import signing
from django.utils.translation import gettext as _

from mla.core.errors import ApplicationError

MAX_CURSOR_LENGTH = 500


def cursor_encode(*, kind: str, key: list[Any]) -> str:
    return signing.dumps(key, salt=f"mla.api.cursor.{kind}", compress=True)


def cursor_decode(*, kind: str, cursor: str) -> list[Any]:
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise signing.BadSignature
        key = signing.loads(cursor, salt=f"mla.api.cursor.{kind}")
    except (signing.BadSignature, ValueError) as error:
        raise cursor_invalid() from error
    if not isinstance(key, list):
        raise cursor_invalid()
    return key


def cursor_invalid() -> ApplicationError:
    return ApplicationError(_("This cursor was not given by this list."), code="invalid_cursor")
