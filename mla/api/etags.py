"""ETag and If-Match for the API's writable resources (a request): a write made from a stale
read is refused with 412, as a stale page is refused today; a write without If-Match, 428."""

import hashlib

from django.http import HttpRequest
from django.utils.translation import gettext as _

from mla.core.errors import ApplicationError
from mla.requests.models import Request


def request_etag(request: Request) -> str:
    # Every save stamps updated_at; version and state make the tag say what changed.
    seed = f"{request.pk}:{request.version}:{request.state}:{request.updated_at.isoformat()}"
    return '"' + hashlib.sha256(seed.encode()).hexdigest()[:32] + '"'


def if_match_check(*, http_request: HttpRequest, current: str) -> None:
    sent = http_request.headers.get("If-Match")
    if not sent:
        raise ApplicationError(
            _("Send If-Match with the ETag of the request as you last read it."),
            code="precondition_required",
        )
    tags = {tag.strip().removeprefix("W/") for tag in sent.split(",")}
    if "*" not in tags and current not in tags:
        raise ApplicationError(
            _("This request changed since you read it; read it again."),
            code="precondition_failed",
        )
