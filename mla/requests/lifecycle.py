"""Moving a request along its state machine: one service per transition.

Each is one transaction: the permission and guard checked explicitly (calling a
transition checks neither), the transition, its audit entry. A request changed by someone
else since the page was loaded is refused with RequestChanged and nothing is written.
"""

from collections.abc import Mapping

from django.db import transaction
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, has_transition_perm

from contact_points.models import Authority
from mla.accounts.models import User
from mla.core.errors import ApplicationError
from mla.requests.access import request_grant_authority
from mla.requests.audit import audit_record
from mla.requests.completeness import request_completeness
from mla.requests.declarations import declaration_for
from mla.requests.lifecycle_rules import JUDICIAL_KINDS
from mla.requests.models import Request
from mla.requests.services import RequestChanged

ACTIONS = {
    "submit": _("submit"),
    "validate": _("validate"),
    "return_for_changes": _("return for changes"),
    "withdraw": _("withdraw"),
}


def _refusal(*, request: Request, actor: User, action: str) -> ApplicationError:
    method = getattr(request, action)
    meta = method._django_fsm
    verb = ACTIONS[action]
    if not meta.has_transition(request.state):
        return ApplicationError(
            _("This request is “%(state)s”: you cannot %(verb)s it now.")
            % {"state": request.get_state_display(), "verb": verb}
        )
    if action == "submit" and not request.is_complete:
        problems = request_completeness(
            declaration=declaration_for(request.declaration_code), data=request.data
        )
        return ApplicationError(
            _(
                "The completeness check still finds %(count)d problems; the request stays a "
                "draft until they are solved."
            )
            % {"count": len(problems)}
        )
    return ApplicationError(_("You may not %(verb)s this request.") % {"verb": verb})


def _run(
    *,
    request: Request,
    actor: User,
    action: str,
    expected_state: str | None,
    note: str = "",
    payload: Mapping[str, object] | None = None,
) -> Request:
    if expected_state is not None and request.state != expected_state:
        raise RequestChanged(
            _("This request changed while you were looking at it; check its new state.")
        )
    method = getattr(request, action)
    if not has_transition_perm(method, actor):
        raise _refusal(request=request, actor=actor, action=action)
    source = request.state
    method()
    try:
        request.save()
    except ConcurrentTransition as error:
        raise RequestChanged(
            _("Someone else acted on this request at the same moment; check its new state.")
        ) from error
    audit_record(
        request=request,
        actor=actor,
        event=action,
        from_state=source,
        to_state=request.state,
        note=note,
        payload=dict(payload or {}),
    )
    return request


def validating_authority_choices(*, request: Request) -> list[Authority]:
    """Judicial authorities of the issuing country that may validate (EIO Art. 2(c)(ii))."""
    return list(
        Authority.objects.filter(
            country_id=request.issuing_authority.country_id,
            kind__in=JUDICIAL_KINDS,
            active=True,
        ).order_by("name")
    )


@transaction.atomic
def request_submit(
    *,
    request: Request,
    actor: User,
    expected_state: str | None = None,
    validating_authority: Authority | None = None,
) -> Request:
    """Leave draft: to validation when the instrument needs it here, else ready to send."""
    if request.state == Request.State.DRAFT and request.needs_validation:
        if validating_authority is None:
            raise ApplicationError(
                _("This request must be validated by a judicial authority: choose which one.")
            )
        if validating_authority not in validating_authority_choices(request=request):
            raise ApplicationError(
                _("%(authority)s cannot validate requests of %(country)s.")
                % {
                    "authority": validating_authority.name,
                    "country": request.issuing_authority.country.name,
                }
            )
        request.validating_authority = validating_authority
        request_grant_authority(request=request, authority=validating_authority)
    payload = (
        {"validating_authority": validating_authority.identifier} if validating_authority else {}
    )
    return _run(
        request=request,
        actor=actor,
        action="submit",
        expected_state=expected_state,
        payload=payload,
    )


@transaction.atomic
def request_validate(
    *, request: Request, actor: User, expected_state: str | None = None, note: str = ""
) -> Request:
    return _run(
        request=request, actor=actor, action="validate", expected_state=expected_state, note=note
    )


@transaction.atomic
def request_return_for_changes(
    *, request: Request, actor: User, note: str, expected_state: str | None = None
) -> Request:
    if not note.strip():
        raise ApplicationError(_("Say what must change before it can be validated."))
    return _run(
        request=request,
        actor=actor,
        action="return_for_changes",
        expected_state=expected_state,
        note=note.strip(),
    )


@transaction.atomic
def request_withdraw(
    *, request: Request, actor: User, note: str = "", expected_state: str | None = None
) -> Request:
    return _run(
        request=request,
        actor=actor,
        action="withdraw",
        expected_state=expected_state,
        note=note.strip(),
    )
