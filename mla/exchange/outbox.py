"""The outbox: sealed messages delivered to the recipient's inbox with retries.

A message is written to the outbox in the transaction of the act it carries, and handed to
Celery once that commits; delivery is retried with backoff until the recipient answers with a
receipt (or refuses). The recipient's inbox (mla.exchange.inbox) is idempotent by message id,
so a message delivered twice is applied once and answered with the same receipt.
"""

import json
import logging
import random
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from contact_points.models import Authority
from mla.accounts.models import User
from mla.core.errors import ApplicationError
from mla.exchange import receive
from mla.exchange.inbox import inbox_receive
from mla.exchange.keys import authority_is_hosted
from mla.exchange.models import MessageKind, OutboxMessage
from mla.exchange.wire.errors import MessageRefused
from mla.exchange.wire.manifest import Document, manifest_build, manifest_sha256
from mla.exchange.wire.receipts import MAX_RECEIPT_BYTES, Receipt, receipt_verify
from mla.exchange.wire.seal import message_seal
from mla.instruments.eevidence import data_for_addressee
from mla.requests.documents.prepared import request_document_for_sending
from mla.requests.events import Event
from mla.requests.lifecycle import rules as lifecycle_rules
from mla.requests.lifecycle.runner import run_transition
from mla.requests.models import Request
from mla.requests.webhook_events import request_event_announce
from mla.webhooks.kinds import EventKind

logger = logging.getLogger(__name__)

# HTTP statuses that mean "later", not "never", even with a refusal body.
RETRYABLE_CLIENT_STATUSES = (408, 425, 429)

State = OutboxMessage.State


def _max_attempts() -> int:
    return int(getattr(settings, "EXCHANGE_MAX_ATTEMPTS", 8))


def _timeout() -> float:
    return float(getattr(settings, "EXCHANGE_DELIVERY_TIMEOUT_SECONDS", 30))


def _stale_after() -> timedelta:
    return timedelta(seconds=int(settings.EXCHANGE_STALE_AFTER_SECONDS))


def _deliver_on_commit(message: OutboxMessage) -> None:
    from mla.exchange.tasks import outbox_deliver_task

    message_id = str(message.message_id)
    # robust: a broker outage must not turn a committed send into an error page; the row
    # is pending and outbox_requeue_stale queues it again.
    transaction.on_commit(lambda: outbox_deliver_task.delay(message_id), robust=True)


# Outbox ---------------------------------------------------------------------------------


def outbox_enqueue(
    *,
    request: Request | None,
    kind: str,
    data: Mapping[str, Any],
    documents: Sequence[Document],
    sender: Authority,
    recipient: Authority,
    in_reply_to: str | None = None,
) -> OutboxMessage:
    """Seal a message about ``request`` (``data`` is the manifest's data) and write it to the
    outbox in the caller's transaction; it is delivered once that commits. A message about
    no request (a checkpoint) has an empty reference."""
    now = timezone.now()
    manifest = manifest_build(
        kind=kind,
        sender=sender,
        recipient=recipient,
        reference=request.reference if request is not None else "",
        data=dict(data),
        documents=documents,
        in_reply_to=in_reply_to,
        created_at=now,
    )
    sealed = message_seal(
        manifest=manifest, documents=documents, sender=sender, recipient=recipient
    )
    message = OutboxMessage.objects.create(
        message_id=uuid.UUID(manifest.message_id),
        request=request,
        kind=kind,
        event=str(data.get("event", ""))[:40],
        sender=sender,
        recipient=recipient,
        sealed=sealed,
        manifest_sha256=manifest_sha256(manifest),
        state=State.PENDING,
        next_attempt_at=now,
    )
    _deliver_on_commit(message)
    return message


def request_message_data(
    *, request: Request, sent_by: str, request_document: str
) -> dict[str, Any]:
    """The manifest data of a request message: the request's structured data and what the
    receiving side needs to make its copy (receive.request_receive_from_manifest)."""
    return {
        # What the addressee may not see (Annex I section M) never leaves for it.
        receive.DATA: data_for_addressee(
            declaration_code=request.declaration_code, data=request.data
        ),
        receive.DECLARATION_CODE: request.declaration_code,
        receive.ISSUING_LANGUAGE: request.issuing_language,
        receive.EXECUTING_LANGUAGE: request.executing_language,
        receive.TRANSLATION_ATTACHED: request.translation_attached,
        receive.LANGUAGE_REASON: request.language_reason,
        receive.SENT_AT: (request.sent_at or timezone.now()).isoformat(),
        receive.SENT_BY: sent_by,
        receive.REQUEST_DOCUMENT: request_document,
    }


def request_transmit(*, request: Request, sent_by: str) -> OutboxMessage | None:
    """Send a request to an executing authority hosted on another node, through the outbox.

    Not for a sender without a key pair on this node (not set up for the exchange): the
    request then stays "sent", as before the exchange, and a warning is logged.
    """
    sender, recipient = request.issuing_authority, request.executing_authority
    assert recipient is not None
    if not authority_is_hosted(authority=sender):
        logger.warning(
            "Request %s stays sent: %s has no key pair on this node, so it is not transmitted.",
            request.reference,
            sender.identifier,
        )
        return None
    name = f"{request.reference}.pdf"
    documents = [
        Document(
            name=name,
            media_type="application/pdf",
            content=request_document_for_sending(request=request),
        )
    ]
    taken = {name}
    for attachment in request.attachments.all():
        attachment_name = attachment.name
        if attachment_name in taken:
            # Names are unique in a manifest; a repeated one keeps its digest to tell it apart.
            attachment_name = f"{attachment.sha256[:12]}-{attachment.name}"[:255]
        taken.add(attachment_name)
        with attachment.file.open("rb") as stored:
            content = stored.read()
        documents.append(
            Document(name=attachment_name, media_type=attachment.media_type, content=content)
        )
    return outbox_enqueue(
        request=request,
        kind=MessageKind.REQUEST,
        data=request_message_data(request=request, sent_by=sent_by, request_document=name),
        documents=documents,
        sender=sender,
        recipient=recipient,
    )


@dataclass(frozen=True)
class _Outcome:
    receipt: bytes | None = None
    error: str = ""
    refused: bool = False


def _refusal_from_body(body: bytes) -> tuple[str, str] | None:
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("refused"), str):
        return None
    return parsed["refused"], str(parsed.get("message", ""))[:1000]


class _RedirectRefused(urllib.request.HTTPRedirectHandler):
    """Deliveries follow no redirect: the directory's inbox URL is the only destination.

    A redirect would send the sealed message (and, for a 307/308, its body) wherever the
    answering server chooses, past the four-eyes rule on inbox URLs. Returning None makes
    urllib raise the 3xx answer as an HTTPError.
    """

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_RedirectRefused())


def _urlopen(request: urllib.request.Request, *, timeout: float) -> Any:
    return _OPENER.open(request, timeout=timeout)


def _location(error: urllib.error.HTTPError) -> str:
    headers = error.headers
    return str(headers.get("Location", "?") if headers is not None else "?")[:300]


def _post(*, message: OutboxMessage) -> _Outcome:
    url = message.recipient.inbox_url
    if not url:
        return _Outcome(
            error=_("The directory gives no inbox URL for %(authority)s.")
            % {"authority": message.recipient.identifier}
        )
    if not url.startswith(("https://", "http://")):
        return _Outcome(
            error=_("The inbox URL of %(authority)s is not an HTTP(S) URL.")
            % {"authority": message.recipient.identifier}
        )
    if not url.startswith("https://") and settings.DIRECTORY_INBOX_URL_REQUIRE_HTTPS:
        return _Outcome(
            error=_("The inbox URL of %(authority)s is not https; nothing was sent.")
            % {"authority": message.recipient.identifier},
            refused=True,
        )
    outgoing = urllib.request.Request(  # noqa: S310  (the scheme is checked above)
        url,
        data=bytes(message.sealed),
        headers={"Content-Type": "application/octet-stream"},
        method="POST",
    )
    try:
        with _urlopen(outgoing, timeout=_timeout()) as response:
            body = response.read(MAX_RECEIPT_BYTES + 1)
    except urllib.error.HTTPError as error:
        if 300 <= error.code < 400:
            return _Outcome(
                error=_(
                    "The inbox answered with a redirect (HTTP %(status)d to %(location)s); "
                    "deliveries follow no redirect. Check the inbox URL in the directory."
                )
                % {
                    "status": error.code,
                    "location": _location(error),
                },
                refused=True,
            )
        body = error.read(64 * 1024) if error.fp is not None else b""
        refusal = _refusal_from_body(body)
        if 400 <= error.code < 500 and error.code not in RETRYABLE_CLIENT_STATUSES and refusal:
            return _Outcome(
                error=_("Refused (%(code)s): %(message)s")
                % {"code": refusal[0], "message": refusal[1]},
                refused=True,
            )
        return _Outcome(error=_("HTTP %(status)d from the inbox.") % {"status": error.code})
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        return _Outcome(error=_("Not delivered: %(reason)s") % {"reason": reason})
    return _Outcome(receipt=body)


def _deliver_here(*, message: OutboxMessage) -> _Outcome:
    try:
        return _Outcome(receipt=inbox_receive(sealed=bytes(message.sealed)))
    except MessageRefused as error:
        return _Outcome(
            error=_("Refused (%(code)s): %(message)s")
            % {"code": error.reason_code, "message": error.message},
            refused=True,
        )


def _backoff(attempts: int) -> timedelta:
    base = int(settings.EXCHANGE_BACKOFF_BASE_SECONDS)
    delay = min(int(settings.EXCHANGE_BACKOFF_CAP_SECONDS), base * 2 ** max(0, attempts - 1))
    # Jitter: many messages failing together do not all come back at the same second.
    return timedelta(seconds=delay / 2 + random.uniform(0, delay / 2))  # noqa: S311


def _earlier_undelivered() -> Exists:
    """Whether an earlier message about the same request to the same recipient is not yet
    delivered: the steps of a request are applied in the order they were taken, so a later
    one waits (it is queued again when the earlier one is delivered). Never for a message
    about no request (NULL matches nothing)."""
    return Exists(
        OutboxMessage.objects.filter(
            request_id=OuterRef("request_id"),
            recipient_id=OuterRef("recipient_id"),
            pk__lt=OuterRef("pk"),
        ).exclude(state=State.DELIVERED)
    )


def _queue_next(message: OutboxMessage) -> None:
    if message.request_id is None:
        return
    following = (
        OutboxMessage.objects.filter(
            request_id=message.request_id,
            recipient_id=message.recipient_id,
            pk__gt=message.pk,
            state=State.PENDING,
        )
        .order_by("pk")
        .first()
    )
    if following is not None:
        _deliver_on_commit(following)


def _receipt_check(*, message: OutboxMessage, receipt: bytes) -> tuple[Receipt | None, str]:
    """The verified receipt, or why it is not one for this message."""
    try:
        verified = receipt_verify(
            receipt=receipt,
            expected_message_id=str(message.message_id),
            expected_manifest_digest=message.manifest_sha256,
            recipient=message.recipient,
        )
    except MessageRefused as error:
        return None, _("The receipt is not valid (%(code)s): %(message)s") % {
            "code": error.reason_code,
            "message": error.message,
        }
    return verified, ""


def _delivered(*, message: OutboxMessage, receipt: bytes, verified: Receipt) -> None:
    """Record a verified receipt on a locked pending message, and what it means for the
    request; the next message about the same request may go."""
    message.receipt = receipt
    message.state = State.DELIVERED
    message.delivered_at = timezone.now()
    message.next_attempt_at = None
    message.last_error = ""
    message.save(
        update_fields=["receipt", "state", "delivered_at", "next_attempt_at", "last_error"]
    )
    _request_delivered(message=message, receipt=verified)
    _announce(message=message, kind=EventKind.MESSAGE_DELIVERED)
    _queue_next(message)


def _announce(*, message: OutboxMessage, kind: str) -> None:
    """Tell the webhooks of the sender's authority, in the transaction recording the
    outcome; a message about no request (a checkpoint) concerns none of its requests."""
    if message.request_id is None:
        return
    request = Request.objects.select_related("issuing_authority", "executing_authority").get(
        pk=message.request_id
    )
    request_event_announce(
        request=request,
        kind=kind,
        details={
            "message": {
                "id": str(message.message_id),
                "kind": message.kind,
                "event": message.event,
                "attempts": message.attempts,
            }
        },
    )


def outbox_deliver(*, message_id: str) -> OutboxMessage:
    """One delivery attempt; nothing for a message already delivered or failed, or one
    waiting for an earlier message about the same request.

    Not one transaction: the attempt (an HTTP request, or the inbox's own transaction on
    this node) runs outside any lock, and only its outcome is written under one. The inbox
    being idempotent, two concurrent attempts deliver once.
    """
    attempted = (
        OutboxMessage.objects.select_related("recipient")
        .annotate(waits_for_earlier=_earlier_undelivered())
        .get(message_id=message_id)
    )
    if attempted.state != State.PENDING or attempted.waits_for_earlier:
        return attempted
    message: OutboxMessage = attempted
    if authority_is_hosted(authority=message.recipient):
        outcome = _deliver_here(message=message)
    else:
        outcome = _post(message=message)
    receipt_error = ""
    verified: Receipt | None = None
    if outcome.receipt is not None:
        verified, receipt_error = _receipt_check(message=message, receipt=outcome.receipt)
    now = timezone.now()
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(of=("self",))
            .select_related("recipient")
            .defer("sealed")  # already sent: not read from the database again
            .get(pk=message.pk)
        )
        if message.state != State.PENDING:
            return message
        if outcome.receipt is not None and verified is not None:
            _delivered(message=message, receipt=outcome.receipt, verified=verified)
            return message
        message.attempts += 1
        message.last_error = (receipt_error or outcome.error)[:2000]
        if outcome.refused or message.attempts >= _max_attempts():
            message.state = State.FAILED
            message.next_attempt_at = None
            _announce(message=message, kind=EventKind.MESSAGE_FAILED)
        else:
            message.next_attempt_at = now + _backoff(message.attempts)
        logger.warning(
            "Message %s to %s: attempt %d failed: %s",
            message.message_id,
            message.recipient.identifier,
            message.attempts,
            message.last_error,
        )
        message.save(update_fields=["state", "attempts", "last_error", "next_attempt_at"])
    return message


@transaction.atomic
def outbox_receipt_accept(*, message: OutboxMessage, receipt: bytes) -> OutboxMessage:
    """A receipt that came back by another channel (a file carried by hand or e-mail): once
    verified for this message, it is delivered as if the inbox had answered it."""
    message = (
        OutboxMessage.objects.select_for_update(of=("self",))
        .select_related("recipient")
        .get(pk=message.pk)
    )
    verified, error = _receipt_check(message=message, receipt=receipt)
    if verified is None:
        raise ApplicationError(error)
    if message.state == State.DELIVERED:
        return message
    _delivered(message=message, receipt=receipt, verified=verified)
    return message


def _request_delivered(*, message: OutboxMessage, receipt: Receipt) -> None:
    """The signed receipt of a request message is the evidence it was delivered: the
    issuing copy moves to "delivered" at the time the receiver gives, and its deadlines
    start counting from it."""
    if message.kind != MessageKind.REQUEST or message.request_id is None:
        return
    request = (
        Request.objects.select_for_update(of=("self",))
        .select_related("executing_authority")  # its time zone, for the deadlines
        .get(pk=message.request_id)
    )
    if request.state != Request.State.SENT:
        return
    run_transition(
        request=request,
        actor=None,
        action="follow_executing_side",
        event=Event.DELIVERED,
        arguments=(Request.State.DELIVERED,),
        payload={
            "to": message.recipient.identifier,
            "message_id": str(message.message_id),
            "manifest_sha256": message.manifest_sha256,
            "receipt_signer": receipt.signer_fingerprint,
        },
        on_behalf_of=(_("the exchange"), message.recipient.name),
        at=receipt.received_at,
    )


@transaction.atomic
def outbox_retry(*, message: OutboxMessage, actor: User) -> OutboxMessage:
    """Try a failed message again, from the first attempt."""
    request = message.request
    if request is None or not lifecycle_rules.may_act_for_issuer(request=request, user=actor):
        raise ApplicationError(_("Only the issuing authority may send this message again."))
    message = OutboxMessage.objects.select_for_update().get(pk=message.pk)
    if message.state != State.FAILED:
        raise ApplicationError(_("Only a message whose delivery failed can be sent again."))
    message.state = State.PENDING
    message.attempts = 0
    message.next_attempt_at = timezone.now()
    message.save(update_fields=["state", "attempts", "next_attempt_at"])
    _deliver_on_commit(message)
    return message


def outbox_requeue_stale(*, now: datetime | None = None) -> int:
    """Queue again the pending messages whose next attempt is long overdue."""
    from mla.exchange.tasks import outbox_deliver_task

    now = now or timezone.now()
    stale = list(
        OutboxMessage.objects.filter(
            state=State.PENDING, next_attempt_at__lt=now - _stale_after()
        ).values_list("pk", "message_id")
    )
    # Not requeued again for another stale period, should this run find them still waiting.
    OutboxMessage.objects.filter(pk__in=[pk for pk, _id in stale], state=State.PENDING).update(
        next_attempt_at=now
    )
    for _pk, message_id in stale:
        outbox_deliver_task.delay(str(message_id))
    return len(stale)


def outbox_deliver_due(*, now: datetime | None = None) -> int:
    """Make the attempts that are due now: the pending messages whose next attempt time has
    come, oldest first, each once; the number attempted.

    For the embedded default, where tasks run in-process and a delivery task cannot wait for
    its countdown: its scheduler runs this every few seconds. A broker-backed node schedules
    each next attempt with the task's countdown and never needs it. Left alone: a message
    waiting for an earlier one about the same request (that one's delivery queues it), and
    one never attempted, whose first attempt runs as its sending commits and may still be
    waiting on a slow partner (one lost before it is the periodic requeue's).
    """
    now = now or timezone.now()
    due = list(
        OutboxMessage.objects.filter(state=State.PENDING, attempts__gt=0, next_attempt_at__lte=now)
        .annotate(waits_for_earlier=_earlier_undelivered())
        .filter(waits_for_earlier=False)
        .order_by("next_attempt_at", "pk")
        .values_list("message_id", flat=True)
    )
    for message_id in due:
        try:
            outbox_deliver(message_id=str(message_id))
        except Exception:  # one message's failure must not hold up the others' attempts
            logger.exception("The due attempt of message %s failed.", message_id)
    return len(due)
