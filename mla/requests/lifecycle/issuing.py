"""Moving a request along its state machine: one service per step.

Each is one transaction: the permission and guard checked explicitly (calling a
transition checks neither), the transition, its audit entry, the deadlines recomputed, the
other side's copy told (mla.requests.lifecycle.counterpart) and the people concerned notified, with
e-mail queued on commit. A request changed by someone else since the page was loaded is
refused with RequestChanged and nothing is written.

This module holds the shared runner and the issuing side's steps; mla.requests.lifecycle.executing
holds the executing side's.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from contact_points.models import Authority
from mla.accounts.models import User
from mla.core.errors import ApplicationError
from mla.instruments import eevidence
from mla.instruments.eevidence import EPOC_NOTIFICATION, EPOC_PR
from mla.requests.access import request_grant_authority, request_validator_grant_end
from mla.requests.documents.prepared import request_document_prepare_on_commit
from mla.requests.events import Event
from mla.requests.lifecycle import counterpart, enforcing, notify
from mla.requests.lifecycle.rules import JUDICIAL_KINDS
from mla.requests.lifecycle.runner import check_expected_state, run_transition
from mla.requests.models import Request, RequestLink

# e-Evidence: what an EPOC-PR's Annex V cannot name as the production request.
_NOT_PRODUCTION_REQUESTS = (EPOC_PR, EPOC_NOTIFICATION)


def validating_authority_choices(*, request: Request) -> list[Authority]:
    """Judicial authorities of the issuing country that may validate (EIO Art. 2(c)(ii)); for
    an e-Evidence certificate, those the Regulation allows for its data (Art. 4)."""
    kinds = (
        eevidence.validator_kinds(request.data, request.declaration_code)
        if request.declaration_code in eevidence.CERTIFICATES
        else JUDICIAL_KINDS
    )
    return list(
        Authority.objects.filter(
            country_id=request.issuing_authority.country_id,
            kind__in=kinds,
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
    check_expected_state(request=request, expected_state=expected_state)
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
    run_transition(
        request=request, actor=actor, action="submit", event=Event.SUBMIT, payload=payload
    )
    if request.state == Request.State.AWAITING_VALIDATION:
        notify.validation_requested(request=request)
    request_document_prepare_on_commit(request=request)
    return request


@transaction.atomic
def request_validate(
    *, request: Request, actor: User, expected_state: str | None = None, note: str = ""
) -> Request:
    run_transition(
        request=request,
        actor=actor,
        action="validate",
        event=Event.VALIDATE,
        expected_state=expected_state,
        note=note,
    )
    notify.issuer_told(request=request, actor=actor)
    request_document_prepare_on_commit(request=request)
    return request


@transaction.atomic
def request_return_for_changes(
    *, request: Request, actor: User, note: str, expected_state: str | None = None
) -> Request:
    if not note.strip():
        raise ApplicationError(_("Say what must change before it can be validated."))
    run_transition(
        request=request,
        actor=actor,
        action="return_for_changes",
        event=Event.RETURN_FOR_CHANGES,
        expected_state=expected_state,
        note=note.strip(),
    )
    # Back in draft, the request is the issuer's again: the validator reads it once more
    # when it is submitted again, never while it changes (nor changes it).
    request_validator_grant_end(request=request)
    notify.issuer_told(request=request, actor=actor, returned=True)
    return request


@transaction.atomic
def request_send(
    *,
    request: Request,
    actor: User,
    expected_state: str | None = None,
    enforcing_authority: Authority | None = None,
) -> Request:
    """Send a ready request to its executing authority.

    When that authority is hosted on this node the request is delivered at once, in this
    transaction: its copy is created in the authority's incoming queue. An EPOC that needs
    it notifies the enforcing authority at the same time (``enforcing_authority``: the one
    chosen when the directory lists several), or is not sent at all.
    """
    executing = request.executing_authority
    if executing is None:
        raise ApplicationError(
            _("Choose the executing authority in the request before sending it.")
        )

    sent = run_transition(
        request=request,
        actor=actor,
        action="send",
        event=Event.SENT,
        expected_state=expected_state,
        payload={"to": executing.identifier},
        stamps=("sent_at",),
    )
    counterpart.deliver(request=request, actor=actor, at=sent.at)
    enforcing.enforcing_authority_notify(
        certificate=request, actor=actor, at=sent.at, enforcing_authority=enforcing_authority
    )
    return request


@transaction.atomic
def request_answer_information(
    *, request: Request, actor: User, note: str, expected_state: str | None = None
) -> Request:
    """Give the additional information the executing side asked for: the request resumes."""
    if not note.strip():
        raise ApplicationError(_("Write the information asked for, or say where it is."))
    answered = run_transition(
        request=request,
        actor=actor,
        action="answer_information",
        event=Event.INFO_ANSWERED,
        expected_state=expected_state,
        note=note.strip(),
    )
    counterpart.issuer_step(
        request=request, actor=actor, event=Event.INFO_ANSWERED, note=note.strip(), at=answered.at
    )
    return request


@transaction.atomic
def request_follow_up(
    *,
    request: Request,
    actor: User,
    follow_up: Request,
    expected_state: str | None = None,
) -> Request:
    """A preservation is followed by the request for the data (Budapest Art. 29(7)): it stays
    preserved until that request is decided."""
    if (
        follow_up.pk == request.pk
        or follow_up.direction != Request.Direction.OUTGOING
        or follow_up.issuing_authority_id != request.issuing_authority_id
        or follow_up.executing_country_id != request.executing_country_id
        or follow_up.is_preservation
        # e-Evidence: Annex V names a production request (an EPOC, EIO or MLA request).
        or follow_up.declaration_code in _NOT_PRODUCTION_REQUESTS
    ):
        raise ApplicationError(
            _(
                "The follow-up must be a request for the data from your authority to the same "
                "country, not another preservation."
            )
        )
    followed = run_transition(
        request=request,
        actor=actor,
        action="follow_up",
        event=Event.FOLLOWED_UP,
        expected_state=expected_state,
        payload={"request": follow_up.reference},
    )
    RequestLink.objects.get_or_create(
        from_request=follow_up,
        to_request=request,
        defaults={"note": _("follows the preservation")},
    )
    counterpart.issuer_step(
        request=request,
        actor=actor,
        event=Event.FOLLOWED_UP,
        payload={"request": follow_up.reference},
        at=followed.at,
    )
    return request


@transaction.atomic
def request_withdraw(
    *, request: Request, actor: User, note: str = "", expected_state: str | None = None
) -> Request:
    enforcing.notification_withdraw_check(request=request)
    withdrawn = run_transition(
        request=request,
        actor=actor,
        action="withdraw",
        event=Event.WITHDRAW,
        expected_state=expected_state,
        note=note.strip(),
    )
    counterpart.issuer_step(
        request=request, actor=actor, event=Event.WITHDRAWN, note=note.strip(), at=withdrawn.at
    )
    enforcing.notifications_withdraw(
        certificate=request, actor=actor, note=note.strip(), at=withdrawn.at
    )
    return request
