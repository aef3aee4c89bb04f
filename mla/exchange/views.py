import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from mla.core.client_ip import client_ip
from mla.core.errors import ApplicationError
from mla.core.ratelimit import RateLimit, rate_limit_hit
from mla.exchange.inbox import REJECTED, inbox_receive
from mla.exchange.refusals import inbox_refusal_record
from mla.exchange.wire.errors import (
    INTERNAL_ERROR,
    MALFORMED,
    TOO_LARGE,
    UNDECRYPTABLE,
    MessageRefused,
)

logger = logging.getLogger(__name__)

# A chunked body on a server that does not decode it for the application.
LENGTH_REQUIRED = "length_required"
_READ_PIECE_BYTES = 64 * 1024

# The sender learns why: a malformed message is a bad request, one too large is 413, one
# that is well formed but not accepted (signature, recipient, age, reference, document…) is
# unprocessable, and a failure on this side is 503, which the sender retries later.
_STATUS = {
    MALFORMED: 400,
    UNDECRYPTABLE: 400,
    LENGTH_REQUIRED: 411,
    TOO_LARGE: 413,
    INTERNAL_ERROR: 503,
}
# Not a refusal of the message: the sender is asked to deliver it again later (429 is among
# the statuses the outbox retries).
RATE_LIMITED = "rate_limited"


def _refused(reason_code: str, message: str) -> JsonResponse:
    # Counted for the operations page (not a rate-limited delivery: a flood would write a
    # row per request, which the limit is there to spare).
    inbox_refusal_record(reason_code=reason_code)
    return JsonResponse(
        {"refused": reason_code, "message": message}, status=_STATUS.get(reason_code, 422)
    )


@csrf_exempt
@login_not_required
@require_POST
def inbox(request: HttpRequest) -> HttpResponse:
    """Another node delivers a sealed message; the answer is the signed receipt, or a
    refusal with a stable code: never a server error page to this unauthenticated caller
    (with DEBUG, a traceback), whatever the message holds."""
    # Counted per client address before the body is read: a flood costs a cache increment
    # per request, never a decryption.
    retry_after = rate_limit_hit(
        scope="exchange-inbox",
        key=client_ip(request),
        limit=RateLimit(
            requests=settings.INBOX_RATE_LIMIT_REQUESTS,
            window_seconds=settings.INBOX_RATE_LIMIT_WINDOW_SECONDS,
        ),
    )
    if retry_after is not None:
        response = JsonResponse(
            {
                "refused": RATE_LIMITED,
                "message": _("Too many deliveries from this address: try again later."),
            },
            status=429,
        )
        response["Retry-After"] = str(retry_after)
        return response
    try:
        return _inbox(request)
    except Exception:  # any failure becomes a code; its details go to the log
        logger.exception("The inbox could not process a message.")
        return _refused(INTERNAL_ERROR, _("The message could not be processed; try again later."))


def _inbox(request: HttpRequest) -> HttpResponse:
    try:
        sealed = inbox_body_read(request, limit=int(settings.EXCHANGE_MAX_MESSAGE_BYTES))
        receipt = inbox_receive(sealed=sealed)
    except MessageRefused as error:
        return _refused(error.reason_code, error.message)
    except ApplicationError as error:
        return _refused(REJECTED, error.message)
    return HttpResponse(receipt, content_type="application/octet-stream")


def inbox_body_read(request: HttpRequest, *, limit: int) -> bytes:
    """The delivered message: at most ``limit`` bytes read, or MessageRefused.

    With a Content-Length, read from the request's stream (request.body would stop at
    DATA_UPLOAD_MAX_MEMORY_SIZE). A chunked body has none: it is read from the server's
    input stream until its end, when the server decoded the chunks and marks that end
    (``wsgi.input_terminated``: gunicorn). A server that does not (Django's runserver hands
    the application an empty stream) gets 411: the sender is asked for a Content-Length,
    never answered as if the message were empty.
    """
    too_large = MessageRefused(
        TOO_LARGE, _("The message is larger than %(limit)d bytes.") % {"limit": limit}
    )
    declared_length = request.META.get("CONTENT_LENGTH") or ""
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    if chunked and not declared_length:
        if not request.META.get("wsgi.input_terminated"):
            raise MessageRefused(
                LENGTH_REQUIRED,
                _(
                    "This server cannot read a chunked message: send it with a "
                    "Content-Length header."
                ),
            )
        stream = request.META["wsgi.input"]
        pieces: list[bytes] = []
        received = 0
        # Read in pieces up to one byte past the limit: never more than that in memory.
        while piece := stream.read(min(_READ_PIECE_BYTES, limit + 1 - received)):
            pieces.append(piece)
            received += len(piece)
            if received > limit:
                raise too_large
        return b"".join(pieces)
    try:
        declared = int(declared_length or 0)
    except ValueError:
        raise MessageRefused(MALFORMED, _("The Content-Length header is not a number.")) from None
    if declared > limit:
        raise too_large
    sealed = request.read(limit + 1)
    if len(sealed) > limit:
        raise too_large
    return sealed
