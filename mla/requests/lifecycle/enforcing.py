"""The enforcing authority of a European Production Order (Regulation (EU) 2023/1543).

When an EPOC asks for data that need it (mla.instruments.eevidence.notification_required),
the issuing authority notifies the enforcing authority of the addressee's Member State at
the same time as it sends the EPOC (Art. 8): a linked request of declaration
``epoc_notification``, the same certificate with section M, travels there by the same path
as any request. The enforcing authority assesses it within 10 days of receipt, 96 hours in
an emergency (Art. 12(1), 10(4)), and either raises no ground for refusal (which may be
confirmed early, so that the addressee produces at once, Art. 10(2)) or raises one of the
grounds of Art. 12(1) against the whole order or some of its data categories.

Its decision is recorded on the notification's issuing copy (mla.requests.lifecycle.counterpart),
on the EPOC's issuing copy and on the addressee's copy; a ground raised against the whole
order refuses the EPOC on both. ``enforcing_decision`` reads it back for the production steps.
"""

import copy
import datetime
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import can_proceed

from contact_points.models import Authority
from mla.accounts.models import User
from mla.core.errors import ApplicationError
from mla.instruments import eevidence
from mla.instruments.declarations import declaration_for
from mla.requests.deadlines.engine import format_remaining
from mla.requests.drafting.services import request_create
from mla.requests.events import Event
from mla.requests.lifecycle import counterpart, notify
from mla.requests.lifecycle.executing import require_executor
from mla.requests.lifecycle.runner import record_act, run_transition
from mla.requests.models import Request, RequestLink
from mla.requests.selectors import receiving_authorities

State = Request.State

# The Art. 12(1) grounds as the page names them.
ENFORCING_GROUND_LABELS = {
    "immunities_privileges": gettext_lazy(
        "Art. 12(1)(a): immunities or privileges, or rules on freedom of the press or of expression"
    ),
    "fundamental_rights": gettext_lazy(
        "Art. 12(1)(b): exceptionally, a manifest breach of a fundamental right"
    ),
    "ne_bis_in_idem": gettext_lazy("Art. 12(1)(c): ne bis in idem"),
    "double_criminality": gettext_lazy("Art. 12(1)(d): not an offence in the enforcing State"),
}
DATA_CATEGORY_LABELS = {
    eevidence.SUBSCRIBER: gettext_lazy("Subscriber data"),
    eevidence.IDENTIFICATION: gettext_lazy("Data requested only to identify the user"),
    eevidence.TRAFFIC: gettext_lazy("Traffic data"),
    eevidence.CONTENT: gettext_lazy("Content data"),
}
SCOPE_LABELS = {
    eevidence.FULL: gettext_lazy("The whole order"),
    eevidence.PARTIAL: gettext_lazy("Some data categories only"),
}
ASSESSMENT_DEADLINES = (eevidence.ENFORCING_ASSESSMENT, eevidence.ENFORCING_ASSESSMENT_EMERGENCY)
_NOTIFICATION_LINK_NOTE = gettext_lazy("notifies the enforcing authority of (Art. 8)")


# The notification (Art. 8) ----------------------------------------------------------------


def notification_needed(*, request: Request) -> bool:
    """Whether sending this request must also notify the enforcing authority (Art. 8)."""
    return request.declaration_code == eevidence.EPOC and eevidence.notification_required(
        request.data
    )


def enforcing_authority_choices(*, request: Request) -> list[Authority]:
    """The enforcing authorities of the addressee's Member State, from the directory."""
    return list(
        receiving_authorities(
            country=request.executing_country,
            declaration=declaration_for(eevidence.EPOC_NOTIFICATION),
        )
    )


def _enforcing_authority_chosen(*, certificate: Request, chosen: Authority | None) -> Authority:
    candidates = enforcing_authority_choices(request=certificate)
    country = certificate.executing_country.name
    if not candidates:
        raise ApplicationError(
            _(
                "This EPOC asks for traffic or content data: the enforcing authority of "
                "%(country)s must be notified (Art. 8), and the directory lists none. It was "
                "not sent; ask the directory administrator to add it."
            )
            % {"country": country}
        )
    if chosen is None:
        if len(candidates) > 1:
            raise ApplicationError(
                _("Choose which enforcing authority of %(country)s is notified (Art. 8).")
                % {"country": country}
            )
        return candidates[0]
    if chosen not in candidates:
        raise ApplicationError(
            _("%(authority)s is not an enforcing authority of %(country)s.")
            % {"authority": chosen.name, "country": country}
        )
    return chosen


def enforcing_authority_notify(
    *,
    certificate: Request,
    actor: User,
    at: datetime.datetime,
    enforcing_authority: Authority | None = None,
) -> Request | None:
    """Notify the enforcing authority of an EPOC being sent, in the sending transaction:
    its own linked request (the same data, section M included), sent and delivered the way
    any request is. Returns the notification's issuing copy, or None when no notification
    is needed. ApplicationError when no enforcing authority can be chosen: nothing is sent.
    """
    if not notification_needed(request=certificate):
        return None
    authority = _enforcing_authority_chosen(certificate=certificate, chosen=enforcing_authority)
    notification = request_create(
        actor=actor,
        declaration_code=eevidence.EPOC_NOTIFICATION,
        executing_country=certificate.executing_country,
        executing_authority=authority,
        copy_of=certificate,
    )
    notification.data = copy.deepcopy(certificate.data)
    notification.validating_authority_id = certificate.validating_authority_id
    notification.issuing_language = certificate.issuing_language
    notification.executing_language = certificate.executing_language
    notification.translation_attached = certificate.translation_attached
    notification.language_reason = certificate.language_reason
    notification.save(
        update_fields=[
            "data",
            "validating_authority",
            "issuing_language",
            "executing_language",
            "translation_attached",
            "language_reason",
        ]
    )
    RequestLink.objects.create(
        from_request=notification, to_request=certificate, note=str(_NOTIFICATION_LINK_NOTE)
    )
    run_transition(
        request=notification,
        actor=None,
        action="prepare_notification",
        event=Event.LINKED,
        payload={"to": certificate.reference},
        at=at,
    )
    run_transition(
        request=notification,
        actor=actor,
        action="send",
        event=Event.SENT,
        payload={"to": authority.identifier, "certificate": certificate.reference},
        stamps=("sent_at",),
        at=at,
    )
    counterpart.deliver(request=notification, actor=actor, at=at)
    record_act(
        request=certificate,
        actor=actor,
        event=Event.ENFORCING_NOTIFIED,
        payload={"to": authority.identifier, "notification": notification.reference},
        at=at,
    )
    return notification


def notifications_of(*, certificate: Request) -> list[Request]:
    """The notifications of the enforcing authority sent with this EPOC (its issuing copy)."""
    return list(
        Request.objects.filter(
            links_out__to_request=certificate,
            declaration_code=eevidence.EPOC_NOTIFICATION,
            direction=Request.Direction.OUTGOING,
        ).order_by("pk")
    )


def certificate_of(*, notification: Request) -> Request | None:
    """The EPOC a notification's issuing copy notifies."""
    link = (
        RequestLink.objects.filter(
            from_request=notification, to_request__declaration_code=eevidence.EPOC
        )
        .select_related("to_request")
        .first()
    )
    return link.to_request if link is not None else None


def notification_withdraw_check(*, request: Request) -> None:
    """A notification is withdrawn with its EPOC only: say so rather than refuse blankly."""
    if request.declaration_code == eevidence.EPOC_NOTIFICATION:
        certificate = certificate_of(notification=request)
        raise ApplicationError(
            _(
                "This notification goes with the EPOC %(reference)s: withdraw the EPOC, and it is "
                "withdrawn with it."
            )
            % {"reference": certificate.reference if certificate else ""}
        )


def notifications_withdraw(
    *, certificate: Request, actor: User, note: str, at: datetime.datetime
) -> None:
    """The EPOC was withdrawn: so are its notifications, on both copies."""
    for notification in notifications_of(certificate=certificate):
        if not can_proceed(notification.withdraw_with_certificate):
            continue  # already decided or closed
        run_transition(
            request=notification,
            actor=None,
            action="withdraw_with_certificate",
            event=Event.WITHDRAW,
            note=note,
            payload={"certificate": certificate.reference},
            at=at,
        )
        counterpart.issuer_step(
            request=notification, actor=actor, event=Event.WITHDRAWN, note=note, at=at
        )


# The enforcing authority's decision (Art. 12) ---------------------------------------------


def _require_enforcing_copy(*, request: Request, actor: User) -> None:
    require_executor(request=request, actor=actor)
    if request.declaration_code != eevidence.EPOC_NOTIFICATION:
        raise ApplicationError(
            _("Only the enforcing authority's copy of a notified EPOC takes this step.")
        )


def _decide(
    *,
    request: Request,
    actor: User,
    action: str,
    event: Event,
    note: str,
    payload: dict[str, Any],
    expected_state: str | None,
) -> Request:
    entry = run_transition(
        request=request,
        actor=actor,
        action=action,
        event=event,
        expected_state=expected_state,
        note=note,
        payload=payload,
        stamps=("decided_at",),
    )
    counterpart.executor_step(
        request=request, actor=actor, event=event, note=note, payload=payload, at=entry.at
    )
    return request


@transaction.atomic
def enforcing_no_grounds(
    *, request: Request, actor: User, note: str = "", expected_state: str | None = None
) -> Request:
    """No ground for refusal is raised (Art. 12(1)); confirmed before the time ends, it lets
    the addressee produce at once (Art. 10(2))."""
    _require_enforcing_copy(request=request, actor=actor)
    return _decide(
        request=request,
        actor=actor,
        action="confirm_no_grounds",
        event=Event.NO_GROUNDS,
        note=note.strip(),
        payload={},
        expected_state=expected_state,
    )


def grounds_check(
    *, data: dict[str, Any], scope: str, ground: str, categories: list[str], explanation: str
) -> list[str]:
    """Refuse a ground the regulation does not allow here; returns the categories affected
    (all of the order's for a full refusal)."""
    if scope not in eevidence.GROUNDS_SCOPES:
        raise ApplicationError(
            _("Say whether the ground applies to the whole order or to some data categories.")
        )
    if ground not in eevidence.ENFORCING_GROUNDS:
        raise ApplicationError(_("Choose one of the grounds of Art. 12(1)."))
    if ground == eevidence.DOUBLE_CRIMINALITY and eevidence.double_criminality_excluded(data):
        raise ApplicationError(
            _(
                "Double criminality cannot be raised: section G gives an Annex IV category "
                "punishable in the issuing State by at least 3 years (Art. 12(1)(d))."
            )
        )
    ordered = eevidence.data_categories(data)
    if scope == eevidence.FULL:
        return sorted(ordered)
    chosen = set(categories)
    if not chosen:
        raise ApplicationError(_("Tick the data categories the ground applies to."))
    if not chosen <= ordered:
        raise ApplicationError(_("Tick only data categories the order asks for."))
    if chosen == ordered:
        raise ApplicationError(
            _("The ground applies to every category asked for: raise it against the whole order.")
        )
    if not explanation.strip():
        raise ApplicationError(
            _("Explain why the ground applies to these data categories and not to the others.")
        )
    return sorted(chosen)


@transaction.atomic
def enforcing_grounds_raise(
    *,
    request: Request,
    actor: User,
    scope: str,
    ground: str,
    categories: list[str] | None = None,
    explanation: str = "",
    expected_state: str | None = None,
) -> Request:
    """Raise a ground for refusal of Art. 12(1), against the whole order (it is refused) or
    against some of its data categories (the others may be produced)."""
    _require_enforcing_copy(request=request, actor=actor)
    affected = grounds_check(
        data=request.data,
        scope=scope,
        ground=ground,
        categories=list(categories or []),
        explanation=explanation,
    )
    return _decide(
        request=request,
        actor=actor,
        action="raise_grounds",
        event=Event.GROUNDS_RAISED,
        note=explanation.strip(),
        payload={"scope": scope, "ground": ground, "categories": affected},
        expected_state=expected_state,
    )


def _full(payload: dict[str, Any] | None) -> bool:
    return (payload or {}).get("scope") == eevidence.FULL


def _refuse_on_grounds(
    *,
    request: Request,
    payload: dict[str, Any] | None,
    on_behalf_of: tuple[str, str],
    at: datetime.datetime,
) -> None:
    if not can_proceed(request.refuse_on_enforcing_grounds):
        return  # already closed (withdrawn, produced…)
    run_transition(
        request=request,
        actor=None,
        action="refuse_on_enforcing_grounds",
        event=Event.REFUSED,
        payload={"ground": (payload or {}).get("ground", ""), "by": "enforcing_authority"},
        on_behalf_of=on_behalf_of,
        at=at,
    )


def certificate_follow_decision(
    *,
    notification: Request,
    event: Event,
    note: str,
    payload: dict[str, Any] | None,
    at: datetime.datetime,
) -> None:
    """The notification's issuing copy took the enforcing authority's decision: the EPOC's
    issuing copy records it (refused when the ground covers the whole order), and the
    addressee's copy hears of it (without the enforcing authority's explanation)."""
    certificate = certificate_of(notification=notification)
    if certificate is None:
        return
    authority = notification.executing_authority
    on_behalf_of = (_("the node"), authority.name if authority else "")
    record_act(
        request=certificate,
        actor=None,
        event=event,
        note=note,
        payload=payload,
        on_behalf_of=on_behalf_of,
        at=at,
    )
    if event == Event.GROUNDS_RAISED and _full(payload):
        _refuse_on_grounds(request=certificate, payload=payload, on_behalf_of=on_behalf_of, at=at)
    counterpart.issuer_step(
        request=certificate, actor=None, event=event, payload=dict(payload or {}), at=at
    )


def addressee_follow_decision(
    *,
    executing: Request,
    event: Event,
    note: str,
    payload: dict[str, Any] | None,
    on_behalf_of: tuple[str, str],
    at: datetime.datetime,
) -> None:
    """The addressee's copy of the EPOC records the enforcing authority's decision, told by
    the issuing side; a ground against the whole order refuses it."""
    if executing.audit_entries.filter(event=event, at=at).exists():
        return  # told twice (a message repeated): recorded once
    record_act(
        request=executing,
        actor=None,
        event=event,
        note=note,
        payload=payload,
        on_behalf_of=on_behalf_of,
        at=at,
    )
    if event == Event.GROUNDS_RAISED and _full(payload):
        _refuse_on_grounds(request=executing, payload=payload, on_behalf_of=on_behalf_of, at=at)
    notify.executor_told(request=executing, event=event)


# What the production steps read ----------------------------------------------------------


@dataclass(frozen=True)
class EnforcingDecision:
    """The enforcing authority's decision on a notified EPOC, as any copy recorded it.

    ``state`` is "no_grounds" or "grounds_raised"; ``ground`` (a code of
    eevidence.ENFORCING_GROUNDS) and ``scope`` ("full" or "partial") are empty when no
    ground was raised; ``affected_categories`` are the data categories the ground covers
    (all those asked for, when full)."""

    state: str
    ground: str
    scope: str
    affected_categories: frozenset[str]
    decided_at: datetime.datetime

    @property
    def refused(self) -> bool:
        return self.state == State.GROUNDS_RAISED and self.scope == eevidence.FULL

    def allows(self, category: str) -> bool:
        """Whether data of ``category`` may be produced as far as this decision goes."""
        return not self.refused and category not in self.affected_categories


def enforcing_decision(*, request: Request) -> EnforcingDecision | None:
    """The latest decision of the enforcing authority recorded on this copy (of the EPOC,
    issuing or addressee's, or of the notification), or None while there is none."""
    entry = (
        request.audit_entries.filter(event__in=counterpart.ENFORCING_DECISIONS)
        .order_by("-at", "-sequence")
        .first()
    )
    if entry is None:
        return None
    payload = entry.payload or {}
    if entry.event == Event.NO_GROUNDS:
        return EnforcingDecision(
            state=State.NO_GROUNDS,
            ground="",
            scope="",
            affected_categories=frozenset(),
            decided_at=entry.at,
        )
    categories = payload.get("categories")
    return EnforcingDecision(
        state=State.GROUNDS_RAISED,
        ground=str(payload.get("ground", "")),
        scope=str(payload.get("scope", "")),
        affected_categories=frozenset(str(code) for code in categories if isinstance(code, str))
        if isinstance(categories, list)
        else frozenset(),
        decided_at=entry.at,
    )


def assessment_time_left(*, request: Request, now: datetime.datetime | None = None) -> str:
    """The time left to the enforcing authority's decision ("3 d 4 h left"), or ""."""
    due = (
        request.deadlines.filter(code__in=ASSESSMENT_DEADLINES, state__in=("running", "missed"))
        .order_by("due_at")
        .values_list("due_at", flat=True)
        .first()
    )
    if due is None:
        return ""
    return format_remaining(due_at=due, now=now or timezone.now())
