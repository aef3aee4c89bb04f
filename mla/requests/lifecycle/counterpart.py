"""Keeping both sides' copies of a request in step on one node.

When the issuing and the receiving authority are both hosted on this node, each has its own
copy (its own state, timeline, deadlines and permissions) as it would on two nodes. A step
on one side is recorded on the other's copy here, in the same transaction, as the node itself
acting on behalf of the other side. Between nodes the exchange carries the same steps as
signed messages; the table of which executing-side step moves the issuing copy where is
shared by both routes.
"""

import copy
import datetime
from typing import Any

from django.utils.translation import gettext as _

from contact_points.models import Authority
from mla.accounts.models import User
from mla.core.errors import ApplicationError
from mla.requests.access import request_grant_authority
from mla.requests.audit import audit_append
from mla.requests.deadlines.store import deadlines_refresh, received_copy_next_due
from mla.requests.derived import request_derived_assign, request_derived_refresh
from mla.requests.desk import notify
from mla.requests.lifecycle.runner import record_act, run_transition
from mla.requests.models import Attachment, Request

State = Request.State

# The issuing copy's state after each step of the executing side, and the states it may be
# in for that step to apply: anything else means the copies disagree, which is refused.
FOLLOWS: dict[str, tuple[str, tuple[str, ...]]] = {
    "acknowledged": (State.ACKNOWLEDGED, (State.DELIVERED,)),
    "recognised": (State.RECOGNISED, (State.DELIVERED, State.ACKNOWLEDGED)),
    "execution_started": (State.IN_EXECUTION, (State.RECOGNISED,)),
    "executed": (State.EXECUTED, (State.RECOGNISED, State.IN_EXECUTION)),
    "partially_executed": (State.PARTIALLY_EXECUTED, (State.RECOGNISED, State.IN_EXECUTION)),
    "refused": (
        State.REFUSED,
        (
            State.DELIVERED,
            State.ACKNOWLEDGED,
            State.RECOGNISED,
            State.IN_EXECUTION,
            State.POSTPONED,
        ),
    ),
    "postponed": (State.POSTPONED, (State.RECOGNISED, State.IN_EXECUTION)),
    "info_requested": (
        State.INFO_REQUESTED,
        (State.DELIVERED, State.ACKNOWLEDGED, State.RECOGNISED, State.IN_EXECUTION),
    ),
    "preserved": (State.PRESERVED, (State.DELIVERED, State.ACKNOWLEDGED)),
    "preservation_extended": (State.EXTENDED, (State.PRESERVED, State.EXTENDED)),
    "followed_up": (State.FOLLOWED_UP, (State.PRESERVED, State.EXTENDED)),
    "expired": (State.EXPIRED, (State.PRESERVED, State.EXTENDED, State.FOLLOWED_UP)),
    # Resuming goes back to where the issuing copy was before; see _resume_target.
    "resumed": ("", (State.POSTPONED,)),
    "info_answered": ("", (State.INFO_REQUESTED,)),
    # Received by the competent authority it was forwarded to.
    "forwarded": (State.DELIVERED, (State.DELIVERED, State.ACKNOWLEDGED)),
}

# Steps of the executing side the issuing copy records without changing state.
RECORDED_ONLY = ("recognition_extended", "provisional_decided")


def hosted_here(*, authority: Authority) -> bool:
    """Whether the authority works on this node (it has active users here)."""
    return authority.users.filter(is_active=True).exists()


def _side(actor: User | None, authority: Authority) -> tuple[str, str]:
    name = (actor.get_full_name() or actor.username) if actor else _("the node")
    return (name, authority.name)


def receive_copy(
    *,
    source: Request,
    authority: Authority,
    actor: User | None,
    sender: Authority,
    at: datetime.datetime,
) -> Request:
    """Create ``authority``'s incoming copy of ``source`` (an outgoing request, or a received
    one being forwarded), received now, visible to that authority."""
    if Request.objects.filter(
        direction=Request.Direction.INCOMING,
        issuing_authority_id=source.issuing_authority_id,
        reference=source.reference,
        executing_authority=authority,
    ).exists():
        raise ApplicationError(
            _("%(authority)s has already received this request.") % {"authority": authority.name}
        )
    incoming = Request(
        reference=source.reference,
        direction=Request.Direction.INCOMING,
        declaration_code=source.declaration_code,
        issuing_authority_id=source.issuing_authority_id,
        executing_country_id=source.executing_country_id,
        executing_authority=authority,
        validating_authority_id=source.validating_authority_id,
        data=copy.deepcopy(source.data),
        issuing_language=source.issuing_language,
        executing_language=source.executing_language,
        state=State.RECEIVED,
        sent_at=source.sent_at,
        received_at=at,
    )
    # Derived from the copy's own data and parties, so that its INSERT carries them.
    request_derived_assign(request=incoming)
    incoming.next_due_at = received_copy_next_due(request=incoming, at=at)
    incoming.save()
    request_derived_refresh(request=incoming, created=True)
    request_grant_authority(request=incoming, authority=authority)
    Attachment.objects.bulk_create(
        Attachment(
            request=incoming,
            file=attachment.file.name,  # content-addressed: both copies share the stored file
            name=attachment.name,
            media_type=attachment.media_type,
            size=attachment.size,
            sha256=attachment.sha256,
            uploaded_by_id=attachment.uploaded_by_id,
        )
        for attachment in source.attachments.all()
    )
    received_copy_record(
        incoming=incoming,
        payload={
            "from": sender.identifier,
            "data_sha256": incoming.data_digest,
            "attachments": [a.sha256 for a in source.attachments.all()],
        },
        on_behalf_of=_side(actor, sender),
        at=at,
    )
    return incoming


def received_copy_record(
    *,
    incoming: Request,
    payload: dict[str, object],
    on_behalf_of: tuple[str, str],
    at: datetime.datetime,
) -> None:
    """What follows the creation of a received copy, from this node or another: its first
    audit entry ("received"), its deadlines, and its executing staff told."""
    trail = audit_append(
        request=incoming,
        actor=None,
        event="received",
        to_state=incoming.state,
        payload=payload,
        on_behalf_of=on_behalf_of,
        at=at,
        first=True,
    )
    deadlines_refresh(request=incoming, entries=trail, created=True)
    notify.request_received(request=incoming)


def deliver(*, request: Request, actor: User, at: datetime.datetime) -> None:
    """Deliver a sent request when its executing authority is hosted here."""
    authority = request.executing_authority
    assert authority is not None
    if not hosted_here(authority=authority):
        # Between nodes the exchange delivers it; the request stays "sent" until then.
        from mla.exchange.services import request_transmit

        request_transmit(request=request, sent_by=_side(actor, request.issuing_authority)[0])
        return
    incoming = receive_copy(
        source=request,
        authority=authority,
        actor=actor,
        sender=request.issuing_authority,
        at=at,
    )
    incoming.counterpart = request
    incoming.save(update_fields=["counterpart"])
    request.counterpart = incoming
    run_transition(
        request=request,
        actor=None,
        action="follow_executing_side",
        event="delivered",
        arguments=(State.DELIVERED,),
        payload={"to": authority.identifier},
        on_behalf_of=(_("the node"), authority.name),
        at=at,
    )


def _resume_target(issuing: Request) -> str:
    return issuing.resume_state or State.DELIVERED


def _tell_other_node(
    *,
    request: Request,
    from_executing_side: bool,
    acted_by: str,
    event: str,
    note: str,
    payload: dict[str, Any] | None,
    at: datetime.datetime,
) -> None:
    """The other side's copy is on another node: the step goes there as a status message."""
    from mla.exchange.status import status_send

    status_send(
        request=request,
        from_executing_side=from_executing_side,
        acted_by=acted_by,
        event=event,
        note=note,
        payload=payload,
        at=at,
    )


def executor_step(
    *,
    request: Request,
    actor: User | None,
    event: str,
    note: str = "",
    payload: dict[str, Any] | None = None,
    forwarded_copy: Request | None = None,
    at: datetime.datetime,
) -> None:
    """Record a step of the executing side (``request`` is its copy) on the issuing copy:
    here when the issuing authority is on this node, else by a status message."""
    issuing = request.counterpart
    on_behalf_of = _side(actor, request.executing_authority or request.issuing_authority)
    if issuing is None:
        if not hosted_here(authority=request.issuing_authority):
            _tell_other_node(
                request=request,
                from_executing_side=True,
                acted_by=on_behalf_of[0],
                event=event,
                note=note,
                payload=payload,
                at=at,
            )
        return
    if event == "forwarded":
        # The forwarding copy no longer answers for it; the one-to-one moves to the new copy.
        request.counterpart = None
        request.save(update_fields=["counterpart"])
    issuing_follow(
        issuing=issuing,
        event=event,
        note=note,
        payload=payload,
        on_behalf_of=on_behalf_of,
        forwarded_copy=forwarded_copy,
        at=at,
    )


def issuing_follow(
    *,
    issuing: Request,
    event: str,
    note: str = "",
    payload: dict[str, Any] | None = None,
    on_behalf_of: tuple[str, str],
    forwarded_copy: Request | None = None,
    at: datetime.datetime,
) -> None:
    """The issuing copy follows a step of the executing side, taken on this node or
    received in a status message. A forwarding names the competent authority in its payload
    ("to"); when that authority did not receive it from the forwarding side ("delivered"
    false), the issuing side delivers it there itself."""
    if event in RECORDED_ONLY:
        record_act(
            request=issuing,
            actor=None,
            event=event,
            note=note,
            payload=payload,
            on_behalf_of=on_behalf_of,
            at=at,
        )
        return
    target, sources = FOLLOWS[event]
    if issuing.state not in sources:
        raise ApplicationError(
            _(
                "The issuing side's copy is “%(state)s” and cannot take this step; "
                "refresh and check both copies."
            )
            % {"state": issuing.get_state_display()}
        )
    if event in ("resumed", "info_answered"):
        target = _resume_target(issuing)
    previous = issuing.state
    competent: Authority | None = None
    if event == "forwarded":
        competent = _competent_authority(issuing=issuing, payload=payload, copy=forwarded_copy)

    def prepare() -> None:
        if event in ("postponed", "info_requested"):
            issuing.resume_state = previous
        if competent is not None:
            issuing.executing_authority = competent
            issuing.counterpart = forwarded_copy

    run_transition(
        request=issuing,
        actor=None,
        action="follow_executing_side",
        event=event,
        arguments=(target,),
        note=note,
        payload=payload,
        on_behalf_of=on_behalf_of,
        before_save=prepare,
        at=at,
    )
    if forwarded_copy is not None:
        forwarded_copy.counterpart = issuing
        forwarded_copy.save(update_fields=["counterpart"])
    elif competent is not None and not (payload or {}).get("delivered", True):
        _deliver_to_competent(issuing=issuing, authority=competent, at=at)
    if event in DECISIONS:
        _followed_preservations_decided(follow_up=issuing, at=at)
    notify.issuer_told(request=issuing, actor=None, event=event)


def _competent_authority(
    *, issuing: Request, payload: dict[str, Any] | None, copy: Request | None
) -> Authority:
    if copy is not None:
        assert copy.executing_authority is not None
        return copy.executing_authority
    identifier = (payload or {}).get("to")
    competent = (
        Authority.objects.filter(identifier=identifier).first()
        if isinstance(identifier, str)
        else None
    )
    if competent is None or competent.country_id != issuing.executing_country_id:
        raise ApplicationError(
            _("The authority it was forwarded to is not in the directory for %(country)s.")
            % {"country": issuing.executing_country.name}
        )
    return competent


def _deliver_to_competent(*, issuing: Request, authority: Authority, at: datetime.datetime) -> None:
    """The forwarding side could not pass it on itself (the competent authority works on
    another node): the issuing side sends it there, as the node."""
    if hosted_here(authority=authority):
        incoming = receive_copy(
            source=issuing, authority=authority, actor=None, sender=issuing.issuing_authority, at=at
        )
        incoming.counterpart = issuing
        incoming.save(update_fields=["counterpart"])
        issuing.counterpart = incoming
        issuing.save(update_fields=["counterpart"])
        return
    from mla.exchange.services import request_transmit

    try:
        request_transmit(request=issuing, sent_by=_("the node"))
    except ApplicationError as error:
        # The forwarding stands (it happened there); that it could not be sent on is recorded
        # on the timeline, for the issuing side to send it by another channel.
        record_act(
            request=issuing,
            actor=None,
            event="not_transmitted",
            note=error.message,
            payload={"to": authority.identifier},
            at=at,
        )


# The steps that decide a request, and so release a preservation it follows up.
DECISIONS = ("recognised", "refused", "executed", "partially_executed")


def _followed_preservations_decided(*, follow_up: Request, at: datetime.datetime) -> None:
    """The request for the data was decided: the preservations it followed up have served
    their purpose (Budapest Art. 29(7)); both copies record it and their period is met."""
    preservations = Request.objects.filter(
        links_in__from_request=follow_up, state=State.FOLLOWED_UP
    ).select_related("counterpart")
    payload = {"request": follow_up.reference, "state": follow_up.state}
    for preservation in preservations:
        for copy_ in (preservation, preservation.counterpart):
            if copy_ is None or copy_.state != State.FOLLOWED_UP:
                continue
            if copy_.audit_entries.filter(event="follow_up_decided").exists():
                continue
            record_act(request=copy_, actor=None, event="follow_up_decided", payload=payload, at=at)
            if copy_ is preservation and preservation.counterpart is None:
                # The preserving authority is on another node: it hears of it there.
                issuer_step(
                    request=preservation,
                    actor=None,
                    event="follow_up_decided",
                    payload=payload,
                    at=at,
                )


# Steps of the issuing side the executing copy records without changing state, and the
# transition each of the others takes there.
ISSUER_RECORDED_ONLY = ("chased", "follow_up_decided")
ISSUER_ACTIONS = {
    "info_answered": "receive_information",
    "followed_up": "record_follow_up",
    "withdrawn": "record_withdrawal",
}


def issuer_step(
    *,
    request: Request,
    actor: User | None,
    event: str,
    note: str = "",
    payload: dict[str, Any] | None = None,
    at: datetime.datetime,
) -> None:
    """Record a step of the issuing side (``request`` is its copy) on the executing copy:
    here when the executing authority is on this node, else by a status message."""
    executing = request.counterpart
    on_behalf_of = _side(actor, request.issuing_authority)
    if executing is None:
        if _transmitted(request):
            _tell_other_node(
                request=request,
                from_executing_side=False,
                acted_by=on_behalf_of[0],
                event=event,
                note=note,
                payload=payload,
                at=at,
            )
        return
    executing_follow(
        executing=executing,
        event=event,
        note=note,
        payload=payload,
        on_behalf_of=on_behalf_of,
        at=at,
    )


def _transmitted(request: Request) -> bool:
    """Whether the executing copy is on another node: the request went there by the exchange."""
    authority = request.executing_authority
    return (
        authority is not None
        and not hosted_here(authority=authority)
        # Sent by the exchange (to it, or to the authority that forwarded it there).
        and request.outbox_messages.filter(kind="request").exists()
    )


def executing_follow(
    *,
    executing: Request,
    event: str,
    note: str = "",
    payload: dict[str, Any] | None = None,
    on_behalf_of: tuple[str, str],
    at: datetime.datetime,
) -> None:
    """The executing copy follows a step of the issuing side, taken on this node or received
    in a status message."""
    if event in ISSUER_RECORDED_ONLY:
        if event == "follow_up_decided" and (
            executing.state != State.FOLLOWED_UP
            or executing.audit_entries.filter(event=event).exists()
        ):
            return
        if event == "chased" and not executing.is_open:
            return
        record_act(
            request=executing,
            actor=None,
            event=event,
            note=note,
            payload=payload,
            on_behalf_of=on_behalf_of,
            at=at,
        )
        if event == "chased":
            from mla.requests.desk.tracker import chase_told

            chase_told(
                executing=executing, person=on_behalf_of[0], authority=on_behalf_of[1], note=note
            )
        return
    action = ISSUER_ACTIONS[event]
    if executing.state in Request.FINAL:
        return  # already closed there (refused, executed…): nothing left to move
    run_transition(
        request=executing,
        actor=None,
        action=action,
        event=event,
        note=note,
        payload=payload,
        on_behalf_of=on_behalf_of,
        at=at,
    )
    notify.executor_told(request=executing, event=event)
