"""Art. 19(6) of Regulation (EU) 2023/1543: a transmission made by other means than the
node's channel (the file channel included) is recorded, with its date and time, place,
recipient and size, on the copy of the authority that made or received it."""

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mla.accounts.models import User
from mla.accounts.roles import Role
from mla.core.errors import ApplicationError
from mla.core.text import text_problem
from mla.eevidence.models import OtherMeansTransmission, TransmittedItem
from mla.instruments.eevidence import E_EVIDENCE_DECLARATIONS
from mla.requests.audit import audit_record
from mla.requests.events import Event
from mla.requests.lifecycle.rules import may_act_for_executor, may_act_for_issuer
from mla.requests.models import Request

# A clock a little ahead of the node's must not refuse a transmission made just now.
# Far above any transmission, and within the size column (a 64-bit integer).
MAX_SIZE_BYTES = 10**15
_CLOCK_SKEW = datetime.timedelta(minutes=5)


def may_record_other_means(*, request: Request, user: object) -> bool:
    """Who acts on this copy: on the issuing copy a holder of an issuing role of the issuing
    authority; on a received copy its contact-point or central-authority staff, or the
    provider's staff when the addressee is a service provider."""
    if not isinstance(user, User) or request.declaration_code not in E_EVIDENCE_DECLARATIONS:
        return False
    if request.direction == Request.Direction.OUTGOING:
        return may_act_for_issuer(request=request, user=user)
    return may_act_for_executor(request=request, user=user) or (
        user.authority_id == request.executing_authority_id and user.has_role(Role.PROVIDER_STAFF)
    )


def _one_line(value: str, *, field: str, label: str) -> str:
    text = value.strip()
    if not text:
        raise ApplicationError(_("Give the %(what)s.") % {"what": label}, extra={"field": field})
    problem = text_problem(text, one_line=True)
    if problem:
        raise ApplicationError(f"{label}: {problem}", extra={"field": field})
    return text


@transaction.atomic
def transmission_by_other_means_record(
    *,
    request: Request,
    actor: User,
    transmitted_at: datetime.datetime,
    place: str,
    recipient: str,
    size_bytes: int,
    item: str,
    note: str = "",
) -> OtherMeansTransmission:
    """Record on ``request`` (the actor's copy) a transmission made outside the node's
    channel: a row for the statistics and an entry on the request's timeline with the same
    facts, in one transaction."""
    if not may_record_other_means(request=request, user=actor):
        raise ApplicationError(
            _(
                "Only those who act on this copy of an e-Evidence certificate record a "
                "transmission made by other means."
            )
        )
    if timezone.is_naive(transmitted_at):
        raise ApplicationError(
            _("Give the date and time with its time zone."), extra={"field": "transmitted_at"}
        )
    if transmitted_at > timezone.now() + _CLOCK_SKEW:
        raise ApplicationError(
            _("The transmission cannot be in the future."), extra={"field": "transmitted_at"}
        )
    if size_bytes < 0:
        raise ApplicationError(_("The size cannot be negative."), extra={"field": "size_bytes"})
    if size_bytes > MAX_SIZE_BYTES:
        raise ApplicationError(
            _("The size cannot exceed a petabyte."), extra={"field": "size_bytes"}
        )
    if item not in TransmittedItem.values:
        raise ApplicationError(_("Say what was transmitted."), extra={"field": "item"})
    place = _one_line(place, field="place", label=_("place"))
    recipient = _one_line(recipient, field="recipient", label=_("recipient"))
    note = note.strip()
    locked = Request.objects.select_for_update(of=("self",)).get(pk=request.pk)
    owner = (
        locked.issuing_authority_id
        if locked.direction == Request.Direction.OUTGOING
        else locked.executing_authority_id
    )
    assert owner is not None  # an incoming copy always names the authority that received it
    audit_record(
        request=locked,
        actor=actor,
        event=Event.OTHER_MEANS_TRANSMISSION,
        note=note,
        payload={
            "transmitted_at": transmitted_at.astimezone(datetime.UTC).isoformat(),
            "place": place,
            "recipient": recipient,
            "size_bytes": size_bytes,
            "item": item,
        },
    )
    return OtherMeansTransmission.objects.create(
        request=locked,
        authority_id=owner,
        direction=locked.direction,
        transmitted_at=transmitted_at,
        place=place,
        recipient=recipient,
        size_bytes=size_bytes,
        item=item,
        note=note,
        recorded_by=actor,
    )
