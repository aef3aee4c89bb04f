"""The one way a request changes state: check, move, save, record, recompute deadlines.

Used by the issuing side's services (mla.requests.lifecycle.issuing), the executing side's
(mla.requests.lifecycle.executing) and the recording of the other side's steps
(mla.requests.lifecycle.counterpart).
"""

import datetime
from collections.abc import Callable, Mapping
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import ConcurrentTransition, can_proceed, has_transition_perm

from mla.accounts.models import User
from mla.core.errors import ApplicationError
from mla.requests.audit import audit_append, note_check
from mla.requests.deadlines.store import deadlines_refresh
from mla.requests.drafting.language import request_problems
from mla.requests.drafting.services import RequestChanged
from mla.requests.models import AuditEntry, Request

# The verb of each step, as the refusal messages use it.
ACTIONS = {
    "submit": gettext_lazy("submit"),
    "validate": gettext_lazy("validate"),
    "return_for_changes": gettext_lazy("return for changes"),
    "send": gettext_lazy("send"),
    "answer_information": gettext_lazy("answer"),
    "follow_up": gettext_lazy("mark as followed up"),
    "withdraw": gettext_lazy("withdraw"),
    "acknowledge": gettext_lazy("acknowledge"),
    "assign": gettext_lazy("assign"),
    "recognise": gettext_lazy("recognise"),
    "start_execution": gettext_lazy("start executing"),
    "execute": gettext_lazy("mark as executed"),
    "execute_partially": gettext_lazy("mark as partially executed"),
    "refuse": gettext_lazy("refuse"),
    "postpone": gettext_lazy("postpone"),
    "resume": gettext_lazy("resume"),
    "request_information": gettext_lazy("ask for information on"),
    "receive_information": gettext_lazy("record the information for"),
    "forward": gettext_lazy("forward"),
    "preserve": gettext_lazy("mark as preserved"),
    "extend_preservation": gettext_lazy("extend the preservation of"),
    "record_follow_up": gettext_lazy("record the follow-up of"),
    "end_preservation": gettext_lazy("end the preservation of"),
    # Enforcing authority (e-Evidence).
    "prepare_notification": gettext_lazy("prepare the notification of"),
    "confirm_no_grounds": gettext_lazy("confirm that no ground for refusal is raised against"),
    "raise_grounds": gettext_lazy("raise a ground for refusal against"),
    "refuse_on_enforcing_grounds": gettext_lazy("refuse"),
    "withdraw_with_certificate": gettext_lazy("withdraw"),
    # e-Evidence (Regulation (EU) 2023/1543).
    "report_impossibility": gettext_lazy("report as impossible to execute"),
    "answer_impossibility": gettext_lazy("answer the Annex III of"),
    "record_impossibility_answer": gettext_lazy("record the answer to the Annex III of"),
    "order_extension": gettext_lazy("extend the preservation of"),
    "record_extension": gettext_lazy("record the extension of"),
}


def _refusal(*, request: Request, action: str) -> ApplicationError:
    method = getattr(request, action)
    meta = method._django_fsm
    verb = ACTIONS[action]
    if not meta.has_transition(request.state) or not meta.conditions_met(request, request.state):
        if action == "submit" and request.state == Request.State.DRAFT:
            problems = request_problems(request=request)
            if problems:
                return ApplicationError(
                    _(
                        "The completeness check still finds %(count)d problems; the request "
                        "stays a draft until they are solved."
                    )
                    % {"count": len(problems)},
                    code="incomplete",
                )
        return ApplicationError(
            _("This request is “%(state)s”: you cannot %(verb)s it now.")
            % {"state": request.get_state_display(), "verb": verb},
            code="not_allowed_in_state",
        )
    return ApplicationError(
        _("You may not %(verb)s this request.") % {"verb": verb}, code="forbidden"
    )


def permission_check(*, request: Request, actor: User, action: str) -> None:
    """Refuse, with the step's message, a user who may not take ``action`` now: for a step
    that does work (storing files, say) before its transition runs."""
    if not has_transition_perm(getattr(request, action), actor):
        raise _refusal(request=request, action=action)


def check_expected_state(*, request: Request, expected_state: str | None) -> None:
    if expected_state is not None and request.state != expected_state:
        raise RequestChanged(
            _("This request changed while you were looking at it; check its new state.")
        )


def save_transition(*, request: Request) -> None:
    """Write the new state, refusing if someone else moved the request meanwhile."""
    try:
        request.save()
    except ConcurrentTransition as error:
        raise RequestChanged(
            _("Someone else acted on this request at the same moment; check its new state.")
        ) from error


def run_transition(
    *,
    request: Request,
    actor: User | None,
    action: str,
    event: str,
    expected_state: str | None = None,
    note: str = "",
    payload: Mapping[str, object] | None = None,
    arguments: tuple[Any, ...] = (),
    on_behalf_of: tuple[str, str] | None = None,
    before_save: Callable[[], None] | None = None,
    stamps: tuple[str, ...] = (),
    at: datetime.datetime | None = None,
) -> AuditEntry:
    """Check, move, save and record one step. ``actor`` None is the node itself (a periodic
    task, or the other side's step recorded here): the permission is then not a user's, but
    the source state and the guards still are checked.

    ``stamps`` names the request's date-time fields set to the step's instant (which
    ``at`` gives when the step happened elsewhere: the other side's step, recorded here);
    a step into a final state also sets ``closed_at``. Returns the audit entry."""
    check_expected_state(request=request, expected_state=expected_state)
    note_check(note=note)
    method = getattr(request, action)
    allowed = (
        has_transition_perm(method, actor)
        if actor is not None
        else can_proceed(method, check_conditions=True)
    )
    if not allowed:
        raise _refusal(request=request, action=action)
    source = request.state
    now = at or timezone.now()
    method(*arguments)
    for name in stamps:
        setattr(request, name, now)
    if request.state in Request.FINAL and request.closed_at is None:
        request.closed_at = now
    if before_save is not None:
        before_save()
    save_transition(request=request)
    trail = audit_append(
        request=request,
        actor=actor,
        event=event,
        from_state=source,
        to_state=request.state,
        note=note,
        payload=dict(payload or {}),
        on_behalf_of=on_behalf_of,
        at=now,
    )
    deadlines_refresh(request=request, entries=trail)
    return trail[-1]


def record_act(
    *,
    request: Request,
    actor: User | None,
    event: str,
    note: str = "",
    payload: Mapping[str, object] | None = None,
    on_behalf_of: tuple[str, str] | None = None,
    at: datetime.datetime | None = None,
) -> AuditEntry:
    """A step that does not change the state (an extension, a reassignment): audited, and
    the deadlines recomputed."""
    trail = audit_append(
        request=request,
        actor=actor,
        event=event,
        note=note,
        payload=dict(payload or {}),
        on_behalf_of=on_behalf_of,
        at=at,
    )
    deadlines_refresh(request=request, entries=trail)
    return trail[-1]
