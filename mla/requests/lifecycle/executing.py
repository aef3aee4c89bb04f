"""The executing side's steps on a received request: acknowledge, assign, decide, execute.

Only contact-point or central-authority staff of the receiving authority take them (see
lifecycle_rules.may_act_for_executor). Each is one transaction: the step on this copy, its
audit entry and deadlines, and the same step recorded on the issuing copy when it is
served here (mla.requests.lifecycle.counterpart).
"""

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contact_points.models import Authority
from mla.accounts.models import User
from mla.core.errors import ApplicationError
from mla.instruments import eevidence
from mla.instruments.declarations import declaration_for
from mla.requests.deadlines.store import extension_check
from mla.requests.events import Event
from mla.requests.lifecycle import channels, counterpart
from mla.requests.lifecycle.rules import may_act_for_executor
from mla.requests.lifecycle.runner import check_expected_state, record_act, run_transition
from mla.requests.models import REFUSAL_GROUNDS_BY_INSTRUMENT, RefusalGround, Request
from mla.requests.selectors import receiving_authorities


def _step(
    *,
    request: Request,
    actor: User,
    action: str,
    event: Event,
    expected_state: str | None,
    note: str = "",
    payload: dict[str, object] | None = None,
    stamp: str | None = None,
) -> Request:
    entry = run_transition(
        request=request,
        actor=actor,
        action=action,
        event=event,
        expected_state=expected_state,
        note=note,
        payload=payload,
        stamps=(stamp,) if stamp else (),
    )
    counterpart.executor_step(
        request=request, actor=actor, event=event, note=note, payload=payload, at=entry.at
    )
    return request


def require_executor(*, request: Request, actor: User) -> None:
    if not may_act_for_executor(request=request, user=actor):
        raise ApplicationError(
            _("Only contact-point or central-authority staff of the receiving authority do this.")
        )


@transaction.atomic
def request_acknowledge(
    *, request: Request, actor: User, expected_state: str | None = None, note: str = ""
) -> Request:
    """Confirm receipt. For an EIO this is the Annex B acknowledgement (Art. 16(1)).

    A request claimed before it was acknowledged goes on to "assigned" to its holder."""
    _step(
        request=request,
        actor=actor,
        action="acknowledge",
        event=Event.ACKNOWLEDGED,
        expected_state=expected_state,
        note=note.strip(),
        payload={"annex_b": request.instrument == "eio"},
        stamp="acknowledged_at",
    )
    if request.assignee_id is not None:
        holder = request.assignee
        run_transition(
            request=request,
            actor=actor,
            action="assign",
            event=Event.ASSIGNED,
            payload={"assignee": holder.username if holder else "", "previous": ""},
        )
    return request


@transaction.atomic
def request_assign(
    *,
    request: Request,
    actor: User,
    assignee: User | None,
    expected_state: str | None = None,
    note: str = "",
) -> Request:
    """Give the request to a colleague (or to oneself: claim; or to nobody: release).

    An assignment of an acknowledged request moves it to "assigned"; one before the
    acknowledgement (a claim on arrival) or later only changes who holds it."""
    check_expected_state(request=request, expected_state=expected_state)
    require_executor(request=request, actor=actor)
    if assignee is not None and not may_act_for_executor(request=request, user=assignee):
        raise ApplicationError(
            _("%(user)s is not contact-point or central-authority staff of %(authority)s.")
            % {
                "user": assignee.get_full_name() or assignee.username,
                "authority": request.executing_authority.name
                if request.executing_authority
                else "",
            }
        )
    if not request.is_open:
        raise ApplicationError(
            _("This request is “%(state)s”: there is nothing left to assign.")
            % {"state": request.get_state_display()}
        )
    previous = request.assignee
    payload = {
        "assignee": assignee.username if assignee else "",
        "previous": previous.username if previous else "",
    }
    request.assignee = assignee
    if request.state == Request.State.ACKNOWLEDGED and assignee is not None:
        run_transition(
            request=request, actor=actor, action="assign", event=Event.ASSIGNED, payload=payload
        )
        return request
    if previous == assignee:
        return request
    request.save(update_fields=["assignee", "updated_at"])
    record_act(
        request=request,
        actor=actor,
        event=Event.ASSIGNED if assignee else "released",
        note=note.strip(),
        payload=payload,
    )
    return request


@transaction.atomic
def request_recognise(
    *, request: Request, actor: User, expected_state: str | None = None, note: str = ""
) -> Request:
    """Decide to recognise and execute it (EIO Art. 9, 12(3)): the execution clock starts."""
    return _step(
        request=request,
        actor=actor,
        action="recognise",
        event=Event.RECOGNISED,
        expected_state=expected_state,
        note=note.strip(),
        stamp="decided_at",
    )


@transaction.atomic
def request_start_execution(
    *, request: Request, actor: User, expected_state: str | None = None, note: str = ""
) -> Request:
    return _step(
        request=request,
        actor=actor,
        action="start_execution",
        event=Event.EXECUTION_STARTED,
        expected_state=expected_state,
        note=note.strip(),
    )


@transaction.atomic
def request_execute(
    *,
    request: Request,
    actor: User,
    partially: bool = False,
    note: str = "",
    expected_state: str | None = None,
) -> Request:
    """Report the measures carried out; a partial execution says what was not done."""
    if request.declaration_code in eevidence.CERTIFICATES:
        # An EPOC's data go with their files, after the enforcing authority's window
        # (certificates.certificate_produce): never "executed" without them.
        raise ApplicationError(
            _("The data of an e-Evidence certificate are transmitted with their files."),
            code="not_allowed_in_state",
        )
    if partially and not note.strip():
        raise ApplicationError(_("Say what could not be carried out, and why."))
    return _step(
        request=request,
        actor=actor,
        action="execute_partially" if partially else "execute",
        event=Event.PARTIALLY_EXECUTED if partially else Event.EXECUTED,
        expected_state=expected_state,
        note=note.strip(),
    )


def refusal_grounds(*, request: Request) -> list[tuple[str, str]]:
    """The grounds this request may be refused on, as (code, label)."""
    allowed = REFUSAL_GROUNDS_BY_INSTRUMENT.get(request.instrument, (RefusalGround.OTHER,))
    return [(code, str(label)) for code, label in RefusalGround.choices if code in allowed]


@transaction.atomic
def request_refuse(
    *,
    request: Request,
    actor: User,
    ground: str,
    motivation: str,
    expected_state: str | None = None,
) -> Request:
    """Refuse on a ground the instrument allows, with the written motivation it requires."""
    if ground not in dict(refusal_grounds(request=request)):
        raise ApplicationError(_("Choose a ground for refusal that applies to this request."))
    if not motivation.strip():
        raise ApplicationError(_("A refusal must be motivated in writing."))
    request.outcome_ground = ground
    request.outcome_note = motivation.strip()
    return _step(
        request=request,
        actor=actor,
        action="refuse",
        event=Event.REFUSED,
        expected_state=expected_state,
        note=motivation.strip(),
        payload={"ground": ground},
        stamp="decided_at",
    )


@transaction.atomic
def request_postpone(
    *,
    request: Request,
    actor: User,
    ground: str,
    until: datetime.date | None,
    expected_state: str | None = None,
) -> Request:
    """Postpone the execution (EIO Art. 15, Budapest Art. 27(5)) with its ground and the
    expected date; the execution deadline is suspended until it resumes."""
    if not ground.strip():
        raise ApplicationError(_("Give the ground for postponing."))
    if until is None or until <= timezone.localdate():
        raise ApplicationError(_("Give the expected date of resumption, after today."))
    request.resume_state = request.state
    request.postponed_until = until
    request.outcome_note = ground.strip()
    return _step(
        request=request,
        actor=actor,
        action="postpone",
        event=Event.POSTPONED,
        expected_state=expected_state,
        note=ground.strip(),
        payload={"until": until.isoformat()},
    )


@transaction.atomic
def request_resume(
    *, request: Request, actor: User, expected_state: str | None = None, note: str = ""
) -> Request:
    request.postponed_until = None
    return _step(
        request=request,
        actor=actor,
        action="resume",
        event=Event.RESUMED,
        expected_state=expected_state,
        note=note.strip(),
    )


@transaction.atomic
def request_ask_information(
    *, request: Request, actor: User, question: str, expected_state: str | None = None
) -> Request:
    """Ask the issuing side for more information (EIO Art. 16(2)); the recognition and
    execution deadlines are suspended until it is answered."""
    if not question.strip():
        raise ApplicationError(_("Say what information is needed."))
    request.resume_state = request.state
    return _step(
        request=request,
        actor=actor,
        action="request_information",
        event=Event.INFO_REQUESTED,
        expected_state=expected_state,
        note=question.strip(),
    )


@transaction.atomic
def request_record_information(
    *, request: Request, actor: User, note: str, expected_state: str | None = None
) -> Request:
    """Record information that arrived outside this system (a call, a letter)."""
    if not note.strip():
        raise ApplicationError(_("Say what information arrived and how."))
    return _step(
        request=request,
        actor=actor,
        action="receive_information",
        event=Event.INFO_ANSWERED,
        expected_state=expected_state,
        note=note.strip(),
    )


def forward_choices(*, request: Request) -> list[Authority]:
    """Other authorities of this country that receive this type of request."""
    return list(
        receiving_authorities(
            country=request.executing_country,
            declaration=declaration_for(request.declaration_code),
        ).exclude(pk__in=[request.executing_authority_id])
    )


@transaction.atomic
def request_forward(
    *,
    request: Request,
    actor: User,
    to: Authority,
    note: str = "",
    expected_state: str | None = None,
) -> Request:
    """Pass it to the competent authority (EIO Art. 7(6)); the issuing side is told."""
    if to not in forward_choices(request=request):
        raise ApplicationError(
            _("%(authority)s does not receive this kind of request in %(country)s.")
            % {"authority": to.name, "country": request.executing_country.name}
        )
    assert request.executing_authority is not None
    forwarding_authority = request.executing_authority
    payload = {"to": to.identifier}
    request.forwarded_to = to
    forwarded = run_transition(
        request=request,
        actor=actor,
        action="forward",
        event=Event.FORWARDED,
        expected_state=expected_state,
        note=note.strip(),
        payload=payload,
    )
    new_copy = None
    if channels.authority_served_here(authority=to):
        new_copy = counterpart.receive_copy(
            source=request,
            authority=to,
            actor=actor,
            sender=forwarding_authority,
            at=forwarded.at,
        )
    # When the competent authority works on another node, the issuing side delivers it
    # there ("delivered" false): it alone can send the request in its own name.
    counterpart.executor_step(
        request=request,
        actor=actor,
        event=Event.FORWARDED,
        note=note.strip(),
        payload={**payload, "delivered": new_copy is not None},
        forwarded_copy=new_copy,
        at=forwarded.at,
    )
    return request


@transaction.atomic
def request_extend_recognition(*, request: Request, actor: User, days: int, reason: str) -> Request:
    """Take the one extension of the recognition deadline (EIO Art. 12(5)), with its reason;
    the issuing side is told."""
    require_executor(request=request, actor=actor)
    if request.state not in Request.UNDECIDED and request.state != Request.State.INFO_REQUESTED:
        raise ApplicationError(_("The recognition deadline runs only until the decision."))
    payload = {"days": days, "reason": reason.strip()}
    extension_check(request=request, event=Event.RECOGNITION_EXTENDED, payload=payload)
    entry = record_act(
        request=request,
        actor=actor,
        event=Event.RECOGNITION_EXTENDED,
        note=reason.strip(),
        payload=payload,
    )
    counterpart.executor_step(
        request=request,
        actor=actor,
        event=Event.RECOGNITION_EXTENDED,
        note=reason.strip(),
        payload=payload,
        at=entry.at,
    )
    return request


@transaction.atomic
def request_record_provisional_decision(*, request: Request, actor: User, note: str) -> Request:
    """Record the decision on a provisional measure (EIO Art. 32(2): within 24 hours)."""
    require_executor(request=request, actor=actor)
    if not request.is_open:
        raise ApplicationError(_("This request is closed."))
    if not note.strip():
        raise ApplicationError(_("Say what was decided on the provisional measure."))
    entry = record_act(
        request=request, actor=actor, event=Event.PROVISIONAL_DECIDED, note=note.strip()
    )
    counterpart.executor_step(
        request=request,
        actor=actor,
        event=Event.PROVISIONAL_DECIDED,
        note=note.strip(),
        at=entry.at,
    )
    return request


@transaction.atomic
def request_preserve(
    *, request: Request, actor: User, expected_state: str | None = None, note: str = ""
) -> Request:
    """The data are preserved (Budapest Art. 29(3)): the 60-day period starts."""
    return _step(
        request=request,
        actor=actor,
        action="preserve",
        event=Event.PRESERVED,
        expected_state=expected_state,
        note=note.strip(),
        stamp="decided_at",
    )


@transaction.atomic
def request_extend_preservation(
    *,
    request: Request,
    actor: User,
    days: int,
    reason: str,
    expected_state: str | None = None,
) -> Request:
    payload = {"days": days, "reason": reason.strip()}
    extension_check(request=request, event=Event.PRESERVATION_EXTENDED, payload=payload)
    return _step(
        request=request,
        actor=actor,
        action="extend_preservation",
        event=Event.PRESERVATION_EXTENDED,
        expected_state=expected_state,
        note=reason.strip(),
        payload=payload,
    )


@transaction.atomic
def request_record_follow_up(
    *, request: Request, actor: User, note: str, expected_state: str | None = None
) -> Request:
    """The request for the data arrived (by any channel): keep preserving until it is
    decided (Budapest Art. 29(7))."""
    if not note.strip():
        raise ApplicationError(_("Name the follow-up request (its reference or channel)."))
    return _step(
        request=request,
        actor=actor,
        action="record_follow_up",
        event=Event.FOLLOWED_UP,
        expected_state=expected_state,
        note=note.strip(),
    )


@transaction.atomic
def request_end_preservation(
    *,
    request: Request,
    actor: User | None,
    note: str = "",
    expected_state: str | None = None,
) -> Request:
    """The preservation ends: its period ran out without a follow-up, or the follow-up was
    decided. ``actor`` None is the periodic check of lapsed preservations."""
    if actor is None:
        entry = run_transition(
            request=request, actor=None, action="end_preservation", event=Event.EXPIRED, note=note
        )
        counterpart.executor_step(
            request=request, actor=None, event=Event.EXPIRED, note=note, at=entry.at
        )
        return request
    return _step(
        request=request,
        actor=actor,
        action="end_preservation",
        event=Event.EXPIRED,
        expected_state=expected_state,
        note=note.strip(),
    )


def preservations_lapsed_end(*, now: datetime.datetime | None = None) -> int:
    """End the received preservations whose period ran out without a follow-up; returns
    how many. Each in its own transaction; one changed meanwhile is left for the next run."""
    now = now or timezone.now()
    lapsed = Request.objects.filter(
        direction=Request.Direction.INCOMING,
        state__in=[Request.State.PRESERVED, Request.State.EXTENDED],
        deadlines__code="preservation",
        deadlines__due_at__lt=now,
    ).order_by("pk")
    ended = 0
    for request in lapsed.iterator(chunk_size=200):
        try:
            request_end_preservation(
                request=request,
                actor=None,
                note=_("The preservation period ended without a follow-up request."),
                expected_state=request.state,
            )
        except ApplicationError:
            continue
        ended += 1
    return ended
