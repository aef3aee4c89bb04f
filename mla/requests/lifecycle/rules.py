"""Who may move a request along its state machine (the transitions' permissions).

Kept free of the ORM beyond the objects given, so that the model's transitions and the
services share one set of rules. Visibility (who may see a request at all) is the
selectors' business; these rules assume the user already sees it.
"""

from typing import TYPE_CHECKING, Any

from mla.accounts.roles import Role

if TYPE_CHECKING:
    from mla.requests.models import Request

JUDICIAL_KINDS = ("court", "prosecutor", "investigating_judge")


EXECUTING_ROLES = (Role.CONTACT_POINT_STAFF, Role.CENTRAL_AUTHORITY_STAFF)
# Who reads the incoming queue: those who work it, and those who oversee it.
# A provider's staff work its received certificates from the queue as well.
QUEUE_WORKER_ROLES = (*EXECUTING_ROLES, Role.PROVIDER_STAFF)
QUEUE_READER_ROLES = (*QUEUE_WORKER_ROLES, Role.SUPERVISOR, Role.AUDITOR)


def _acts_for_issuer(request: "Request", user: Any) -> bool:
    return bool(
        request.direction == "outgoing"
        and getattr(user, "authority_id", None) == request.issuing_authority_id
    )


def may_issue(*, user: Any) -> bool:
    """Whether the user holds an issuing role (prosecutor, or a role an administrator marked
    as issuing) in their own authority: who may draft a request in its name."""
    return bool(getattr(user, "authority_id", None) is not None and user.holds_issuing_role())


def may_act_for_issuer(*, request: "Request", user: Any) -> bool:
    """A holder of an issuing role in the issuing authority: who submits, sends, withdraws,
    shares and chases. Having written the draft grants nothing by itself."""
    return _acts_for_issuer(request, user) and may_issue(user=user)


def may_submit(*, request: "Request", user: Any) -> bool:
    return may_act_for_issuer(request=request, user=user)


def may_validate(*, request: "Request", user: Any) -> bool:
    """A validating-authority user of the authority chosen to validate this request."""
    return bool(
        request.validating_authority_id is not None
        and getattr(user, "authority_id", None) == request.validating_authority_id
        and user.has_role(Role.VALIDATING_AUTHORITY)
    )


def executing_roles(request: "Request") -> tuple[str, ...]:
    # e-Evidence: the addressee's own staff work the certificates it received (an EPOC or
    # EPOC-PR), and only those; every other request stays with the executing staff.
    from mla.instruments.eevidence import CERTIFICATES

    if request.declaration_code in CERTIFICATES:
        return (*EXECUTING_ROLES, Role.PROVIDER_STAFF)
    return EXECUTING_ROLES


def may_act_for_executor(*, request: "Request", user: Any) -> bool:
    """Contact-point or central-authority staff of the authority that received the request:
    who acknowledge, assign, recognise, execute, refuse, postpone and forward it. On an EPOC
    or EPOC-PR the addressee's provider staff too (Regulation (EU) 2023/1543)."""
    return bool(
        request.direction == "incoming"
        and getattr(user, "authority_id", None) == request.executing_authority_id
        and any(user.has_role(role) for role in executing_roles(request))
    )
