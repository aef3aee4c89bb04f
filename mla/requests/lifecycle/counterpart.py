"""Keeping both sides' copies of a request in step: the local channel, and the router.

When the issuing and the receiving authority are both served on this node, each has its own
copy (its own state, timeline, deadlines and permissions) as it would on two nodes. A step
on one side is recorded on the other's copy here, in the same transaction, as the node itself
acting on behalf of the other side. When the other side is served on another node, the step
leaves through the remote channel (mla.requests.lifecycle.channels), which carries the same
steps as messages; the tables below of which step moves the other copy where serve both
routes: the other node applies them with ``issuing_follow`` and ``executing_follow``.
"""

import copy
import datetime
from typing import Any

from django.utils.translation import gettext as _

from contact_points.models import Authority
from mla.accounts.models import User
from mla.core.errors import ApplicationError
from mla.instruments.eevidence import data_for_addressee
from mla.requests.documents.step_documents import step_documents
from mla.requests.events import DECISIONS, Event
from mla.requests.lifecycle import channels, notify
from mla.requests.lifecycle.receiving import (
    ReceivedAttachment,
    ReceivedRequest,
    received_copy_create,
)
from mla.requests.lifecycle.runner import record_act, run_transition
from mla.requests.models import Request

State = Request.State

# The issuing copy's state after each step of the executing side, and the states it may be
# in for that step to apply: anything else means the copies disagree, which is refused.
FOLLOWS: dict[Event, tuple[str, tuple[str, ...]]] = {
    Event.ACKNOWLEDGED: (State.ACKNOWLEDGED, (State.DELIVERED,)),
    Event.RECOGNISED: (State.RECOGNISED, (State.DELIVERED, State.ACKNOWLEDGED)),
    Event.EXECUTION_STARTED: (State.IN_EXECUTION, (State.RECOGNISED,)),
    Event.EXECUTED: (State.EXECUTED, (State.RECOGNISED, State.IN_EXECUTION)),
    Event.PARTIALLY_EXECUTED: (State.PARTIALLY_EXECUTED, (State.RECOGNISED, State.IN_EXECUTION)),
    Event.REFUSED: (
        State.REFUSED,
        (
            State.DELIVERED,
            State.ACKNOWLEDGED,
            State.RECOGNISED,
            State.IN_EXECUTION,
            State.POSTPONED,
        ),
    ),
    Event.POSTPONED: (State.POSTPONED, (State.RECOGNISED, State.IN_EXECUTION)),
    Event.INFO_REQUESTED: (
        State.INFO_REQUESTED,
        (State.DELIVERED, State.ACKNOWLEDGED, State.RECOGNISED, State.IN_EXECUTION),
    ),
    Event.PRESERVED: (State.PRESERVED, (State.DELIVERED, State.ACKNOWLEDGED)),
    Event.PRESERVATION_EXTENDED: (State.EXTENDED, (State.PRESERVED, State.EXTENDED)),
    Event.FOLLOWED_UP: (State.FOLLOWED_UP, (State.PRESERVED, State.EXTENDED)),
    Event.EXPIRED: (State.EXPIRED, (State.PRESERVED, State.EXTENDED, State.FOLLOWED_UP)),
    # Resuming goes back to where the issuing copy was before; see _resume_target.
    Event.RESUMED: ("", (State.POSTPONED,)),
    Event.INFO_ANSWERED: ("", (State.INFO_REQUESTED,)),
    # Received by the competent authority it was forwarded to.
    Event.FORWARDED: (State.DELIVERED, (State.DELIVERED, State.ACKNOWLEDGED)),
    # Enforcing authority (e-Evidence): its decision on the notification (Art. 12).
    Event.NO_GROUNDS: (State.NO_GROUNDS, (State.DELIVERED, State.ACKNOWLEDGED)),
    Event.GROUNDS_RAISED: (State.GROUNDS_RAISED, (State.DELIVERED, State.ACKNOWLEDGED)),
}

# Enforcing authority (e-Evidence): the decisions on a notification, which the notified EPOC's
# copies record too (mla.requests.lifecycle.enforcing).
ENFORCING_DECISIONS = (Event.NO_GROUNDS, Event.GROUNDS_RAISED)
# e-Evidence (Regulation (EU) 2023/1543): an EPOC's data are produced from "preserved"
# (Art. 10(1)); the addressee's Annex III stops the certificate until the issuing authority
# answers (Art. 10(5)-(8)), and its answer returns the copy to where it was.
_CERTIFICATE_OPEN = (State.DELIVERED, State.ACKNOWLEDGED, State.PRESERVED)
FOLLOWS.update(
    {
        Event.EXECUTED: (State.EXECUTED, (*FOLLOWS[Event.EXECUTED][1], State.PRESERVED)),
        Event.PARTIALLY_EXECUTED: (
            State.PARTIALLY_EXECUTED,
            (*FOLLOWS[Event.PARTIALLY_EXECUTED][1], State.PRESERVED),
        ),
        Event.IMPOSSIBILITY_REPORTED: (
            State.IMPOSSIBLE,
            (*_CERTIFICATE_OPEN, State.EXTENDED, State.FOLLOWED_UP),
        ),
    }
)

# Steps of the executing side the issuing copy records without changing state.
RECORDED_ONLY = (
    Event.RECOGNITION_EXTENDED,
    Event.PROVISIONAL_DECIDED,
    # e-Evidence: a part of the data produced, ahead of the production step itself.
    Event.DATA_PART_RECEIVED,
)


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
    return received_copy_create(
        received=ReceivedRequest(
            reference=source.reference,
            declaration_code=source.declaration_code,
            issuing_authority=source.issuing_authority,
            executing_country_id=source.executing_country_id,
            validating_authority_id=source.validating_authority_id,
            # What the addressee may not see (Annex I section M) never reaches its copy.
            data=copy.deepcopy(
                data_for_addressee(declaration_code=source.declaration_code, data=source.data)
            ),
            issuing_language=source.issuing_language,
            executing_language=source.executing_language,
            translation_attached=source.translation_attached,
            language_reason=source.language_reason,
            sent_at=source.sent_at,
        ),
        authority=authority,
        attachments=[
            ReceivedAttachment(
                name=attachment.name,
                media_type=attachment.media_type,
                size=attachment.size,
                sha256=attachment.sha256,
                # Content-addressed: both copies share the stored file.
                stored_name=attachment.file.name or "",
                uploaded_by_id=attachment.uploaded_by_id,
            )
            for attachment in source.attachments.all()
        ],
        evidence={},
        on_behalf_of=_side(actor, sender),
        at=at,
    )


def deliver(*, request: Request, actor: User, at: datetime.datetime) -> None:
    """Deliver a sent request: here when its executing authority is served on this node,
    else through the remote channel (the request stays "sent" until its receipt)."""
    authority = request.executing_authority
    assert authority is not None
    if not channels.authority_served_here(authority=authority):
        channels.remote_channel().request_deliver(
            request=request, sent_by=_side(actor, request.issuing_authority)[0]
        )
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
        event=Event.DELIVERED,
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
    event: Event,
    note: str,
    payload: dict[str, Any] | None,
    at: datetime.datetime,
) -> None:
    """The other side's copy is on another node: the step goes there by the remote channel,
    with the documents that belong to it."""
    channels.remote_channel().step_tell(
        request=request,
        from_executing_side=from_executing_side,
        acted_by=acted_by,
        event=event,
        note=note,
        payload=payload,
        documents=[
            *step_documents(request=request, event=event),
            *(
                _produced_documents(request=request, event=event, payload=payload)
                if from_executing_side
                else []
            ),
        ],
        at=at,
    )


def _produced_documents(
    *, request: Request, event: Event, payload: dict[str, Any] | None
) -> list[channels.StepDocument]:
    """e-Evidence: the data an addressee produced travel with its production step, each
    file as the step names it (its SHA-256 in the payload)."""
    if event not in (Event.EXECUTED, Event.PARTIALLY_EXECUTED):
        return []
    files = (payload or {}).get("files")
    if not isinstance(files, list) or not files:
        return []
    digests = [item.get("sha256") for item in files if isinstance(item, dict)]
    documents = []
    for attachment in request.attachments.filter(sha256__in=digests).order_by("pk"):
        with attachment.file.open("rb") as stored:
            content = stored.read()
        documents.append(
            channels.StepDocument(
                name=attachment.name, media_type=attachment.media_type, content=content
            )
        )
    return documents


def executor_step(
    *,
    request: Request,
    actor: User | None,
    event: Event,
    note: str = "",
    payload: dict[str, Any] | None = None,
    forwarded_copy: Request | None = None,
    at: datetime.datetime,
) -> None:
    """Record a step of the executing side (``request`` is its copy) on the issuing copy:
    here when the issuing authority is served on this node, else by the remote channel."""
    issuing = request.counterpart
    on_behalf_of = _side(actor, request.executing_authority or request.issuing_authority)
    if issuing is None:
        if not channels.authority_served_here(authority=request.issuing_authority):
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
    if event == Event.FORWARDED:
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
    event: Event,
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
    if event in (Event.RESUMED, Event.INFO_ANSWERED):
        target = _resume_target(issuing)
    previous = issuing.state
    competent: Authority | None = None
    if event == Event.FORWARDED:
        competent = _competent_authority(issuing=issuing, payload=payload, copy=forwarded_copy)

    def prepare() -> None:
        # e-Evidence: after an Annex III the issuing copy goes back where it was.
        if event in (Event.POSTPONED, Event.INFO_REQUESTED, Event.IMPOSSIBILITY_REPORTED):
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
    if event in ENFORCING_DECISIONS:
        # Imported here: the enforcing authority's steps build on this module.
        from mla.requests.lifecycle import enforcing

        enforcing.certificate_follow_decision(
            notification=issuing, event=event, note=note, payload=payload, at=at
        )
    notify.issuer_told(request=issuing, actor=None, event=event)


def issuing_follow_crossed(
    *,
    issuing: Request,
    event: Event,
    note: str = "",
    payload: dict[str, Any] | None = None,
    on_behalf_of: tuple[str, str],
    at: datetime.datetime,
) -> bool:
    """A step of the executing side received from its node after the issuing copy was
    closed here (withdrawn, or refused on the enforcing authority's ground) by a step whose
    message had not reached that node yet: the two crossed. The step happened there, so it
    is recorded, without reopening the copy (its own node follows the closure when told).
    False when the copy is open: the step is followed as usual (``issuing_follow``).

    Between two copies on this node nothing crosses: a step on a closed copy is refused."""
    if issuing.state not in Request.FINAL or event not in FOLLOWS:
        return False
    record_act(
        request=issuing,
        actor=None,
        event=event,
        note=note,
        payload=payload,
        on_behalf_of=on_behalf_of,
        at=at,
    )
    return True


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
    if channels.authority_served_here(authority=authority):
        incoming = receive_copy(
            source=issuing, authority=authority, actor=None, sender=issuing.issuing_authority, at=at
        )
        incoming.counterpart = issuing
        incoming.save(update_fields=["counterpart"])
        issuing.counterpart = incoming
        issuing.save(update_fields=["counterpart"])
        return
    try:
        channels.remote_channel().request_deliver(request=issuing, sent_by=_("the node"))
    except ApplicationError as error:
        # The forwarding stands (it happened there); that it could not be sent on is recorded
        # on the timeline, for the issuing side to send it by another channel.
        record_act(
            request=issuing,
            actor=None,
            event=Event.NOT_TRANSMITTED,
            note=error.message,
            payload={"to": authority.identifier},
            at=at,
        )


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
            if copy_.audit_entries.filter(event=Event.FOLLOW_UP_DECIDED).exists():
                continue
            record_act(
                request=copy_, actor=None, event=Event.FOLLOW_UP_DECIDED, payload=payload, at=at
            )
            if copy_ is preservation and preservation.counterpart is None:
                # The preserving authority is on another node: it hears of it there.
                issuer_step(
                    request=preservation,
                    actor=None,
                    event=Event.FOLLOW_UP_DECIDED,
                    payload=payload,
                    at=at,
                )


# Steps of the issuing side the executing copy records without changing state, and the
# transition each of the others takes there.
ISSUER_RECORDED_ONLY = (
    Event.CHASED,
    Event.FOLLOW_UP_DECIDED,
    # e-Evidence: the issuing authority's signed receipt of the data produced.
    Event.DATA_RECEIPT_SIGNED,
    # Enforcing authority (e-Evidence): its decision, told to the addressee's copy of the EPOC
    # (which a full refusal also closes; see mla.requests.lifecycle.enforcing).
    *ENFORCING_DECISIONS,
)
# e-Evidence: the payload key of an Annex III answer that carries the certificate's new
# version (corrected or completed) for the addressee's copy; that copy's own audit entry
# records the answer without it.
NEW_VERSION = "data"
ISSUER_ACTIONS = {
    Event.INFO_ANSWERED: "receive_information",
    Event.FOLLOWED_UP: "record_follow_up",
    Event.WITHDRAWN: "record_withdrawal",
    # e-Evidence: the issuing authority's answer to an Annex III, and its Annex VI.
    Event.IMPOSSIBILITY_ANSWERED: "record_impossibility_answer",
    Event.PRESERVATION_EXTENDED: "record_extension",
}


def issuer_step(
    *,
    request: Request,
    actor: User | None,
    event: Event,
    note: str = "",
    payload: dict[str, Any] | None = None,
    at: datetime.datetime,
) -> None:
    """Record a step of the issuing side (``request`` is its copy) on the executing copy:
    here when the executing authority is served on this node, else by the remote channel."""
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
    """Whether the executing copy is on another node: the request went there by the remote
    channel."""
    authority = request.executing_authority
    return (
        authority is not None
        and not channels.authority_served_here(authority=authority)
        # Sent by the remote channel (to it, or to the authority that forwarded it there).
        and channels.remote_channel().request_transmitted(request=request)
    )


def executing_follow(
    *,
    executing: Request,
    event: Event,
    note: str = "",
    payload: dict[str, Any] | None = None,
    on_behalf_of: tuple[str, str],
    at: datetime.datetime,
) -> None:
    """The executing copy follows a step of the issuing side, taken on this node or received
    in a status message."""
    if event in ENFORCING_DECISIONS:
        from mla.requests.lifecycle import enforcing

        enforcing.addressee_follow_decision(
            executing=executing,
            event=event,
            note=note,
            payload=payload,
            on_behalf_of=on_behalf_of,
            at=at,
        )
        return
    if event in ISSUER_RECORDED_ONLY:
        if event == Event.FOLLOW_UP_DECIDED and (
            executing.state != State.FOLLOWED_UP
            or executing.audit_entries.filter(event=event).exists()
        ):
            return
        if event == Event.CHASED and not executing.is_open:
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
        if event == Event.CHASED:
            notify.chase_told(
                executing=executing, person=on_behalf_of[0], authority=on_behalf_of[1], note=note
            )
        return
    action = ISSUER_ACTIONS[event]
    if executing.state in Request.FINAL:
        return  # already closed there (refused, executed…): nothing left to move
    if event == Event.IMPOSSIBILITY_ANSWERED:
        payload = _new_version_taken(executing=executing, payload=payload)
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


def _new_version_taken(*, executing: Request, payload: dict[str, Any] | None) -> dict[str, Any]:
    """An Annex III answered with a corrected or completed certificate: the executing copy
    takes the new version it carries (never what is for the enforcing authority only); the
    payload left to record."""
    recorded = dict(payload or {})
    data = recorded.pop(NEW_VERSION, None)
    if data is None:
        return recorded
    if not isinstance(data, dict):
        raise ApplicationError(_("The certificate's new version is not a set of sections."))
    executing.data = copy.deepcopy(
        data_for_addressee(declaration_code=executing.declaration_code, data=data)
    )
    return recorded
