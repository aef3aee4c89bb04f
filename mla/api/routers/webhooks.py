"""Webhooks: the URLs the systems of an authority give to hear of its requests, and what was
sent to them.

A user registers, reads and removes the webhooks of their own authority (a webhook of
another authority does not exist for them: 404). Each event is POSTed as JSON, signed with
the webhook's secret, which is shown once, in the answer to the registration.
"""

import datetime
import uuid
from typing import Annotated, Any, Literal

from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from mla.api.auth import caller_of, scoped
from mla.api.cursors import cursor_decode, cursor_encode, cursor_invalid
from mla.api.models import Scope
from mla.api.queries import query_known_check
from mla.webhooks.models import Webhook, WebhookDelivery
from mla.webhooks.selectors import (
    webhook_deliveries,
    webhook_delivery_for,
    webhook_for_user,
    webhooks_for_user,
)
from mla.webhooks.services import webhook_delete, webhook_delivery_resend, webhook_register

router = Router(tags=["webhooks"], auth=scoped(Scope.WEBHOOKS))

SIGNATURE_HELP = (
    "Every delivery is a POST of a JSON event with the headers X-MLA-Event-Id (the same at "
    "every attempt: process each id once), X-MLA-Event-Type and X-MLA-Signature: "
    "t=<unix time>,v1=<hex of HMAC-SHA256(secret, '<t>.<body>')>. Answer 2xx to acknowledge; "
    "anything else, or no answer within the time limit, is retried with backoff."
)


class WebhookIn(Schema):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        description="An https:// URL of a public address. Redirects are not followed."
    )


class WebhookOut(Schema):
    id: uuid.UUID
    url: str
    created_at: datetime.datetime
    deliveries_url: str


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="The key the deliveries are signed with: shown this once, never again."
    )


class DeliveryRequest(Schema):
    issuer: str
    reference: str


class DeliveryOut(Schema):
    id: uuid.UUID
    event_id: uuid.UUID
    type: str
    request: DeliveryRequest
    state: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status: int | None = Field(description="The receiver's HTTP status at the last answer.")
    last_error: str
    created_at: datetime.datetime
    next_attempt_at: datetime.datetime | None
    delivered_at: datetime.datetime | None
    payload: dict[str, Any] = Field(description="The body sent, as JSON.")


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    next_cursor: str | None


class DeliveryFilters(Schema):
    model_config = ConfigDict(extra="forbid")

    state: Literal["", "pending", "delivered", "failed"] = ""
    limit: Annotated[int, Field(ge=1, le=100)] = 50
    cursor: Annotated[str, Field(max_length=500)] = ""


def _webhook_out(webhook: Webhook) -> dict[str, Any]:
    return {
        "id": webhook.public_id,
        "url": webhook.url,
        "created_at": webhook.created_at,
        "deliveries_url": f"/api/v1/webhooks/{webhook.public_id}/deliveries/",
    }


def _delivery_out(delivery: WebhookDelivery) -> dict[str, Any]:
    event = delivery.event
    named = event.payload.get("request", {}) if isinstance(event.payload, dict) else {}
    return {
        "id": delivery.public_id,
        "event_id": event.event_id,
        "type": event.kind,
        "request": {
            "issuer": str(named.get("issuer", "")),
            "reference": str(named.get("reference", "")),
        },
        "state": delivery.state,
        "attempts": delivery.attempts,
        "last_status": delivery.last_status,
        "last_error": delivery.last_error,
        "created_at": delivery.created_at,
        "next_attempt_at": delivery.next_attempt_at,
        "delivered_at": delivery.delivered_at,
        "payload": event.payload,
    }


def _webhook_or_404(http_request: HttpRequest, webhook_id: uuid.UUID) -> Webhook:
    found = webhook_for_user(user=caller_of(http_request).user, public_id=webhook_id)
    if found is None:
        raise Http404
    return found


@router.get("/", response=list[WebhookOut], summary="Your authority's webhooks")
def webhook_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [_webhook_out(item) for item in webhooks_for_user(user=caller_of(request).user)]


@router.post(
    "/",
    response={201: WebhookCreated},
    summary="Register a webhook",
    description=SIGNATURE_HELP,
)
def webhook_create(request: HttpRequest, body: WebhookIn) -> Status[dict[str, Any]]:
    registered = webhook_register(actor=caller_of(request).user, url=body.url)
    return Status(201, {**_webhook_out(registered.webhook), "secret": registered.secret})


@router.get("/{uuid:webhook_id}/", response=WebhookOut, summary="One webhook")
def webhook_detail(request: HttpRequest, webhook_id: uuid.UUID) -> dict[str, Any]:
    return _webhook_out(_webhook_or_404(request, webhook_id))


@router.delete("/{uuid:webhook_id}/", response={204: None}, summary="Remove a webhook")
def webhook_remove(request: HttpRequest, webhook_id: uuid.UUID) -> Status[None]:
    webhook = _webhook_or_404(request, webhook_id)
    webhook_delete(webhook=webhook, actor=caller_of(request).user)
    return Status(204, None)


@router.get(
    "/{uuid:webhook_id}/deliveries/",
    response=DeliveryPage,
    summary="What was sent to a webhook, newest first",
)
def webhook_delivery_list(
    request: HttpRequest, webhook_id: uuid.UUID, filters: Query[DeliveryFilters]
) -> dict[str, Any]:
    query_known_check(http_request=request, schema=DeliveryFilters)
    webhook = _webhook_or_404(request, webhook_id)
    rows = webhook_deliveries(webhook=webhook, state=filters.state)
    if filters.cursor:
        key = cursor_decode(kind="webhook-deliveries", cursor=filters.cursor)
        if len(key) != 1 or not isinstance(key[0], int):
            raise cursor_invalid()
        rows = rows.filter(pk__lt=key[0])
    page = list(rows[: filters.limit + 1])
    more = len(page) > filters.limit
    page = page[: filters.limit]
    next_cursor = (
        cursor_encode(kind="webhook-deliveries", key=[page[-1].pk]) if more and page else None
    )
    return {"items": [_delivery_out(item) for item in page], "next_cursor": next_cursor}


@router.post(
    "/{uuid:webhook_id}/deliveries/{uuid:delivery_id}/resend/",
    response={202: DeliveryOut},
    summary="Send a delivered or failed event again",
)
def webhook_delivery_send_again(
    request: HttpRequest, webhook_id: uuid.UUID, delivery_id: uuid.UUID
) -> Status[dict[str, Any]]:
    webhook = _webhook_or_404(request, webhook_id)
    delivery = webhook_delivery_for(webhook=webhook, public_id=delivery_id)
    if delivery is None:
        raise Http404
    resent = webhook_delivery_resend(delivery=delivery, actor=caller_of(request).user)
    resent.event = delivery.event
    return Status(202, _delivery_out(resent))
