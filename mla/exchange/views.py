from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from mla.core.errors import ApplicationError
from mla.exchange.inbox import REJECTED, inbox_receive
from mla.exchange.wire.errors import MALFORMED, TOO_LARGE, UNDECRYPTABLE, MessageRefused

# The sender learns why: a malformed message is a bad request, one too large is 413, and
# one that is well formed but not accepted (signature, recipient, age…) is unprocessable.
_STATUS = {MALFORMED: 400, UNDECRYPTABLE: 400, TOO_LARGE: 413}


def _refused(reason_code: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"refused": reason_code, "message": message}, status=_STATUS.get(reason_code, 422)
    )


@csrf_exempt
@login_not_required
@require_POST
def inbox(request: HttpRequest) -> HttpResponse:
    """Another node delivers a sealed message; the answer is the signed receipt."""
    limit = int(settings.EXCHANGE_MAX_MESSAGE_BYTES)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _refused(MALFORMED, _("The Content-Length header is not a number."))
    too_large = _("The message is larger than %(limit)d bytes.") % {"limit": limit}
    if declared > limit:
        return _refused(TOO_LARGE, too_large)
    # Read from the stream: request.body would stop at DATA_UPLOAD_MAX_MEMORY_SIZE.
    sealed = request.read(limit + 1)
    if len(sealed) > limit:
        return _refused(TOO_LARGE, too_large)
    try:
        receipt = inbox_receive(sealed=sealed)
    except MessageRefused as error:
        return _refused(error.reason_code, error.message)
    except ApplicationError as error:
        return _refused(REJECTED, error.message)
    return HttpResponse(receipt, content_type="application/octet-stream")
