import hashlib
import json
from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_fsm import GET_STATE, RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from contact_points.models import Authority, Country
from mla.core.models import AppendOnlyModel
from mla.instruments import eevidence
from mla.requests.deadlines.engine import DeadlineState
from mla.requests.lifecycle import rules as lifecycle_rules


def canonical_json(data: Any) -> bytes:
    """The one byte form of structured data, for digests and embedded copies."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def request_is_complete(request: Any) -> bool:
    """The guard of leaving draft: the completeness check finds nothing."""
    return bool(request.is_complete)


def _outgoing(request: Any) -> bool:
    return bool(request.direction == Request.Direction.OUTGOING)


def _incoming(request: Any) -> bool:
    return bool(request.direction == Request.Direction.INCOMING)


def _preservation(request: Any) -> bool:
    return bool(request.is_preservation)


def _not_preservation(request: Any) -> bool:
    return not request.is_preservation


# e-Evidence (Regulation (EU) 2023/1543) -------------------------------------------------


def _certificate(request: Any) -> bool:
    """An EPOC or EPOC-PR: the addressee preserves, produces or reports on Annex III; the
    issuing authority alone extends (Annex VI) and confirms the follow-up (Annex V)."""
    from mla.instruments.eevidence import CERTIFICATES

    return request.declaration_code in CERTIFICATES


def _not_certificate(request: Any) -> bool:
    return not _certificate(request)


def _preservation_order(request: Any) -> bool:
    """A Budapest preservation, or an EPOC-PR: the data are kept for a period (Art. 11)."""
    from mla.instruments.eevidence import EPOC_PR

    return bool(request.is_preservation or request.declaration_code == EPOC_PR)


def _preserves(request: Any) -> bool:
    """Preserved on receipt: a preservation order, or an EPOC (Art. 10(1))."""
    return _preservation_order(request) or _certificate(request)


def _produces_from_state(request: Any) -> bool:
    """An EPOC produces its data from "preserved"; every other request executes only after
    it was recognised."""
    from mla.instruments.eevidence import EPOC

    if request.state == Request.State.PRESERVED:
        return bool(request.declaration_code == EPOC)
    return _not_certificate(request)


def _executor_not_certificate(request: Any, user: Any) -> bool:
    # The Budapest preservation's executing side extends and records the follow-up itself;
    # on an EPOC-PR the issuing authority does (Annex VI, Annex V) and its copy follows.
    return _not_certificate(request) and _executor(request, user)


def _followed_state(request: Any, to: str) -> str:
    return to


def _system_only(request: Any, user: Any) -> bool:
    # Steps the other side took, recorded on this side's copy by mla.requests.lifecycle.counterpart.
    return False


def _issuer(request: Any, user: Any) -> bool:
    return lifecycle_rules.may_act_for_issuer(request=request, user=user)


def _executor(request: Any, user: Any) -> bool:
    return lifecycle_rules.may_act_for_executor(request=request, user=user)


# Enforcing authority (e-Evidence) ------------------------------------------------------


def _enforcing_notification(request: Any) -> bool:
    # The copy of an EPOC sent to the enforcing authority (Regulation (EU) 2023/1543, Art. 8).
    return bool(request.declaration_code == eevidence.EPOC_NOTIFICATION)


def _not_enforcing_notification(request: Any) -> bool:
    # The enforcing authority decides whether it raises a ground (Art. 12), nothing else: it
    # neither recognises, refuses as an executing authority, nor forwards; and the issuing
    # side's notification goes and is withdrawn with its EPOC only.
    return not _enforcing_notification(request)


def _production_order(request: Any) -> bool:
    return bool(request.declaration_code == eevidence.EPOC)


class RefusalGround(models.TextChoices):
    """Grounds for refusing: the codes the law gives, then "other" with its motivation."""

    EIO_11_1_A = "eio_11_1_a", _("EIO Art. 11(1)(a): immunity, privilege or freedom of the press")
    EIO_11_1_B = "eio_11_1_b", _("EIO Art. 11(1)(b): essential national security interests")
    EIO_11_1_C = (
        "eio_11_1_c",
        _("EIO Art. 11(1)(c): non-criminal proceedings and measure not authorised domestically"),
    )
    EIO_11_1_D = "eio_11_1_d", _("EIO Art. 11(1)(d): ne bis in idem")
    EIO_11_1_E = (
        "eio_11_1_e",
        _("EIO Art. 11(1)(e): committed outside the issuing State and not an offence here"),
    )
    EIO_11_1_F = "eio_11_1_f", _("EIO Art. 11(1)(f): incompatible with fundamental rights")
    EIO_11_1_G = "eio_11_1_g", _("EIO Art. 11(1)(g): no double criminality")
    EIO_11_1_H = "eio_11_1_h", _("EIO Art. 11(1)(h): measure restricted to listed offences")
    BUDAPEST_25_4 = (
        "budapest_25_4",
        _("Budapest Art. 25(4): ground of the requested Party's law or treaty"),
    )
    BUDAPEST_27_4 = (
        "budapest_27_4",
        _("Budapest Art. 27(4): political offence, or sovereignty, security, ordre public"),
    )
    BUDAPEST_29_5 = (
        "budapest_29_5",
        _("Budapest Art. 29(5): political offence, or sovereignty, security, ordre public"),
    )
    OTHER = "other", _("Other ground (see the motivation)")


# The grounds each travelling instrument may be refused on (contact_points Instrument values).
REFUSAL_GROUNDS_BY_INSTRUMENT: dict[str, tuple[str, ...]] = {
    "eio": (
        *(ground for ground in RefusalGround.values if ground.startswith("eio_")),
        RefusalGround.OTHER,
    ),
    "mla": (RefusalGround.BUDAPEST_25_4, RefusalGround.BUDAPEST_27_4, RefusalGround.OTHER),
    "preservation": (RefusalGround.BUDAPEST_29_5, RefusalGround.OTHER),
}


class Urgency(models.IntegerChoices):
    """How soon a received request must be looked at; lower sorts first in the queue."""

    # Data that may be lost at any moment (a preservation), or a provisional measure to
    # decide within 24 hours (EIO Art. 32).
    EMERGENCY = 0, _("Emergency")
    URGENT = 1, _("Urgent")  # the issuer marked it urgent
    NORMAL = 2, _("Normal")


class Request(ConcurrentTransitionMixin, models.Model):
    """One side's copy of a request: the issuing authority's (outgoing) or the receiving one's.

    When both authorities are hosted on this node each has its own row, joined by
    ``counterpart``; the executing side's steps are recorded on the issuing copy by
    mla.requests.lifecycle.counterpart, so both stay in step as they would between two nodes.
    """

    class Direction(models.TextChoices):
        OUTGOING = "outgoing", _("Outgoing")
        INCOMING = "incoming", _("Incoming")

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        AWAITING_VALIDATION = "awaiting_validation", _("Awaiting validation")
        READY = "ready", _("Ready to send")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        RECEIVED = "received", _("Received")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        ASSIGNED = "assigned", _("Assigned")
        RECOGNISED = "recognised", _("Recognised")
        IN_EXECUTION = "in_execution", _("In execution")
        INFO_REQUESTED = "info_requested", _("Additional information requested")
        POSTPONED = "postponed", _("Postponed")
        PRESERVED = "preserved", _("Preserved")
        EXTENDED = "extended", _("Preservation extended")
        FOLLOWED_UP = "followed_up", _("Followed up by a request")
        EXECUTED = "executed", _("Executed")
        PARTIALLY_EXECUTED = "partially_executed", _("Partially executed")
        REFUSED = "refused", _("Refused")
        FORWARDED = "forwarded", _("Forwarded to the competent authority")
        EXPIRED = "expired", _("Preservation expired")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        # Regulation (EU) 2023/1543: the addressee reported on Annex III that it cannot
        # execute the certificate (the issuing authority answers within 5 days).
        IMPOSSIBLE = "impossible", _("Impossible to execute (Annex III)")
        # The enforcing authority's copy of a notified production order (Art. 8 and 12).
        NO_GROUNDS = "no_grounds", _("No ground for refusal raised")
        GROUNDS_RAISED = "grounds_raised", _("Ground for refusal raised")

    # Where a request can still move; the rest are final.
    ISSUING_OPEN = (
        State.DRAFT,
        State.AWAITING_VALIDATION,
        State.READY,
        State.SENT,
        State.DELIVERED,
        State.ACKNOWLEDGED,
        State.RECOGNISED,
        State.IN_EXECUTION,
        State.INFO_REQUESTED,
        State.POSTPONED,
        State.PRESERVED,
        State.EXTENDED,
        State.FOLLOWED_UP,
        State.IMPOSSIBLE,  # e-Evidence: Annex III received, the issuing authority answers
    )
    EXECUTING_OPEN = (
        State.RECEIVED,
        State.ACKNOWLEDGED,
        State.ASSIGNED,
        State.RECOGNISED,
        State.IN_EXECUTION,
        State.INFO_REQUESTED,
        State.POSTPONED,
        State.PRESERVED,
        State.EXTENDED,
        State.FOLLOWED_UP,
        State.IMPOSSIBLE,  # e-Evidence: Annex III sent, waiting for the answer
    )
    FINAL = (
        State.EXECUTED,
        State.PARTIALLY_EXECUTED,
        State.REFUSED,
        State.FORWARDED,
        State.EXPIRED,
        State.WITHDRAWN,
        # Enforcing authority (e-Evidence): its decision on the notification is its last step.
        State.NO_GROUNDS,
        State.GROUNDS_RAISED,
    )
    # Before a decision on the request (recognition, preservation or refusal).
    UNDECIDED = (State.RECEIVED, State.ACKNOWLEDGED, State.ASSIGNED)
    # States the issuing copy takes when the executing side reports a step (see counterpart).
    FOLLOWED = (
        State.DELIVERED,
        State.ACKNOWLEDGED,
        State.RECOGNISED,
        State.IN_EXECUTION,
        State.INFO_REQUESTED,
        State.POSTPONED,
        State.PRESERVED,
        State.EXTENDED,
        State.FOLLOWED_UP,
        State.EXECUTED,
        State.PARTIALLY_EXECUTED,
        State.REFUSED,
        State.EXPIRED,
        # Enforcing authority (e-Evidence): the notification's issuing copy follows its decision.
        State.NO_GROUNDS,
        State.GROUNDS_RAISED,
        State.IMPOSSIBLE,  # e-Evidence: the addressee's Annex III
    )

    reference = models.CharField(_("reference"), max_length=40)
    direction = models.CharField(
        _("direction"), max_length=8, choices=Direction.choices, default=Direction.OUTGOING
    )
    declaration_code = models.CharField(_("request type"), max_length=40)
    issuing_authority = models.ForeignKey(
        Authority,
        on_delete=models.PROTECT,
        related_name="outgoing_requests",
        verbose_name=_("issuing authority"),
    )
    executing_country = models.ForeignKey(
        Country, on_delete=models.PROTECT, related_name="+", verbose_name=_("executing country")
    )
    executing_authority = models.ForeignKey(
        Authority,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incoming_requests",
        verbose_name=_("executing authority"),
    )
    # The other side's copy when both authorities are hosted on this node.
    counterpart = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The author; empty on a copy received from another node.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    # Changed only by the transitions below, through the services of mla.requests.lifecycle.issuing.
    state = FSMField(
        _("state"), max_length=32, choices=State.choices, default=State.DRAFT, protected=True
    )
    # The state to go back to when the information asked for arrives or a postponement ends.
    resume_state = models.CharField(max_length=32, blank=True)
    validating_authority = models.ForeignKey(
        Authority,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="requests_to_validate",
        verbose_name=_("validating authority"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    data = models.JSONField(_("structured data"), default=dict, blank=True)
    # Languages of the document's labels: the issuing side's and the executing side's.
    issuing_language = models.CharField(max_length=8, default="en")
    executing_language = models.CharField(max_length=8, default="en")
    # Why the request goes in a language the executing country does not accept for its
    # instrument (e.g. an arrangement with the executing authority): recorded when none of
    # the accepted languages has a form (mla.requests.drafting.language).
    language_reason = models.TextField(_("reason for the language"), blank=True)
    # The free text's translation goes as an attached document instead of beside each field.
    translation_attached = models.BooleanField(
        _("translation attached as a document"), default=False
    )
    # Bumped on every save of the data: a save from a stale page is detected, not lost.
    version = models.PositiveIntegerField(default=1)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # The outcome as the executing side gave it: refusal ground or postponement, and why.
    outcome_ground = models.CharField(
        _("ground"), max_length=32, choices=RefusalGround.choices, blank=True
    )
    outcome_note = models.TextField(_("motivation"), blank=True)
    postponed_until = models.DateField(_("postponed until"), null=True, blank=True)
    forwarded_to = models.ForeignKey(
        Authority,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("forwarded to"),
    )
    # Derived for the queue's order and filters (see mla.requests.desk.queue), so that a page of a
    # million-row queue is read from an index: urgency from the data, the nearest open
    # deadline from the stored deadlines, the issuing country from the issuing authority.
    urgency = models.PositiveSmallIntegerField(
        _("urgency"), choices=Urgency.choices, default=Urgency.NORMAL
    )
    next_due_at = models.DateTimeField(_("next deadline"), null=True, blank=True)
    # The travelling instrument of declaration_code (eio, mla, preservation, epoc…): as long
    # as the directory's instrument codes ("epoc_notification").
    instrument_code = models.CharField(max_length=32, default="", editable=False)
    issuing_country_code = models.CharField(max_length=2, default="", editable=False)
    # What the staff on shift hand over to the next (the timeline keeps every version).
    handover_note = models.TextField(_("handover note"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    linked = models.ManyToManyField(
        "self", through="RequestLink", symmetrical=False, related_name="linked_from"
    )

    class Meta:
        ordering = ["-updated_at", "-id"]
        permissions = [("issue_request", "Can issue requests in the authority's name")]
        indexes = [
            # The outgoing and incoming lists' filters and order: their pages come from these.
            models.Index(
                fields=["issuing_authority", "direction", "-updated_at", "-id"],
                name="request_outbox",
            ),
            models.Index(
                fields=["executing_authority", "direction", "-updated_at", "-id"],
                name="request_inbox",
            ),
            models.Index(fields=["reference"], name="request_reference"),
            # The queue: open received requests of an authority, most urgent and nearest
            # deadline first (mla.requests.desk.queue).
            models.Index(
                fields=["executing_authority", "urgency", "next_due_at", "id"],
                name="request_queue",
                condition=models.Q(direction="incoming")
                & ~models.Q(
                    state__in=[
                        "executed",
                        "partially_executed",
                        "refused",
                        "forwarded",
                        "expired",
                        "withdrawn",
                    ]
                ),
            ),
            models.Index(
                fields=["executing_authority", "assignee", "urgency", "next_due_at", "id"],
                name="request_queue_assignee",
                condition=models.Q(direction="incoming"),
            ),
            # One per queue filter whose rows cluster in the order (preservations are all
            # emergencies, say): each filter's page is then read in order from its index.
            models.Index(
                fields=["executing_authority", "instrument_code", "urgency", "next_due_at", "id"],
                name="request_queue_instrument",
                condition=models.Q(direction="incoming"),
            ),
            models.Index(
                fields=[
                    "executing_authority",
                    "issuing_country_code",
                    "urgency",
                    "next_due_at",
                    "id",
                ],
                name="request_queue_country",
                condition=models.Q(direction="incoming"),
            ),
            models.Index(
                fields=["executing_authority", "state", "urgency", "next_due_at", "id"],
                name="request_queue_state",
                condition=models.Q(direction="incoming"),
            ),
            # The statistics (mla.statistics.queries): each side of one authority read by an
            # index-only scan over the period column it is filtered on (PostgreSQL; other
            # databases keep the key columns only).
            models.Index(
                fields=["issuing_authority", "created_at"],
                include=[
                    "declaration_code",
                    "state",
                    "outcome_ground",
                    "executing_country",
                    "received_at",
                    "acknowledged_at",
                    "decided_at",
                    "closed_at",
                    "id",
                ],
                condition=models.Q(direction="outgoing"),
                name="request_stats_outgoing",
            ),
            models.Index(
                fields=["executing_authority", "received_at"],
                include=[
                    "declaration_code",
                    "state",
                    "outcome_ground",
                    "issuing_country_code",
                    "acknowledged_at",
                    "decided_at",
                    "closed_at",
                    "id",
                ],
                condition=models.Q(direction="incoming"),
                name="request_stats_incoming",
            ),
            # The lapsed preservations listed on the statistics page: the expired ones only.
            models.Index(
                fields=["issuing_authority", "created_at"],
                condition=models.Q(direction="outgoing", state="expired"),
                name="request_expired_outgoing",
            ),
            models.Index(
                fields=["executing_authority", "received_at"],
                condition=models.Q(direction="incoming", state="expired"),
                name="request_expired_incoming",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["reference"],
                condition=models.Q(direction="outgoing"),
                name="request_outgoing_reference_once",
            ),
            # An authority holds one copy of a given issuer's request.
            models.UniqueConstraint(
                fields=["issuing_authority", "reference", "executing_authority"],
                condition=models.Q(direction="incoming"),
                name="request_incoming_copy_once",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    def get_absolute_url(self) -> str:
        return reverse("requests:detail", kwargs=self.url_kwargs)

    def get_state_display(self) -> str:  # type: ignore[no-redef]  # Django's, replaced
        """The state's name in the active language, in the request's own words (see
        ``state_label``). Django's own translates every state (to hash the choices) on each
        call: over a list of rows that cost more than its queries."""
        return str(
            state_label(
                state=self.state, declaration_code=self.declaration_code, direction=self.direction
            )
        )

    @property
    def url_args(self) -> tuple[str, str]:
        """What names this copy in its pages' URLs (``/requests/<issuer>/<reference>/``): the
        issuer and the reference, never the reference alone, which two issuers may use.
        Lists load issuing_authority with their rows (select_related or only), so that no
        row costs a query; the ``request_url`` template tag builds links from it."""
        return (self.issuing_authority.identifier, self.reference)

    @property
    def copy_key(self) -> str:
        """The issuer and reference in one form value (``fr-paris/FR-PARIS-EIO-2026-000001``):
        an identifier is a slug, so the first slash parts them."""
        issuer, reference = self.url_args
        return f"{issuer}/{reference}"

    @property
    def url_kwargs(self) -> dict[str, str]:
        issuer, reference = self.url_args
        return {"issuer": issuer, "reference": reference}

    @property
    def data_digest(self) -> str:
        return hashlib.sha256(canonical_json(self.data)).hexdigest()

    @property
    def owning_authority_id(self) -> int | None:
        """The authority whose copy this is: the issuer's outgoing, the receiver's incoming."""
        if self.direction == self.Direction.INCOMING:
            return self.executing_authority_id
        return self.issuing_authority_id

    @property
    def is_open(self) -> bool:
        return self.state not in self.FINAL

    @property
    def instrument(self) -> str:
        from mla.instruments.declarations import declaration_for

        return self.instrument_code or declaration_for(self.declaration_code).directory_instrument

    @property
    def is_preservation(self) -> bool:
        return self.instrument == "preservation"

    @property
    def is_confidential(self) -> bool:
        """The issuer asked for confidentiality in any section that offers it."""
        return any(
            isinstance(values, dict) and values.get("confidential") in (True, "true", "on")
            for values in self.data.values()
        )

    # Guards are checked by has_transition_perm and again when the transition runs; the
    # permissions (who may act) are checked by the lifecycle services, which pass the user.

    # Issuing side --------------------------------------------------------------------

    @transition(
        field=state,
        source=State.DRAFT,
        target=RETURN_VALUE(State.AWAITING_VALIDATION, State.READY),
        conditions=[_outgoing, lambda request: request_is_complete(request)],
        permission=_issuer,
    )
    def submit(self) -> str:
        return self.State.AWAITING_VALIDATION if self.needs_validation else self.State.READY

    @transition(
        field=state,
        source=State.AWAITING_VALIDATION,
        target=State.READY,
        conditions=[_outgoing],
        permission=lambda request, user: lifecycle_rules.may_validate(request=request, user=user),
    )
    def validate(self) -> None:
        pass

    @transition(
        field=state,
        source=State.AWAITING_VALIDATION,
        target=State.DRAFT,
        conditions=[_outgoing],
        permission=lambda request, user: lifecycle_rules.may_validate(request=request, user=user),
    )
    def return_for_changes(self) -> None:
        pass

    @transition(
        field=state,
        source=State.READY,
        target=State.SENT,
        conditions=[_outgoing],
        permission=_issuer,
    )
    def send(self) -> None:
        pass

    @transition(
        field=state,
        source=State.INFO_REQUESTED,
        target=RETURN_VALUE(
            State.DELIVERED, State.ACKNOWLEDGED, State.RECOGNISED, State.IN_EXECUTION
        ),
        conditions=[_outgoing],
        permission=_issuer,
    )
    def answer_information(self) -> str:
        return self.resume_state

    @transition(
        field=state,
        source=[State.PRESERVED, State.EXTENDED],
        target=State.FOLLOWED_UP,
        # e-Evidence: on an EPOC-PR this is Annex V (Art. 11(1)).
        conditions=[_outgoing, _preservation_order],
        permission=_issuer,
    )
    def follow_up(self) -> None:
        pass

    @transition(
        field=state,
        source=list(ISSUING_OPEN),
        target=State.WITHDRAWN,
        conditions=[_outgoing, _not_enforcing_notification],
        permission=_issuer,
    )
    def withdraw(self) -> None:
        pass

    @transition(
        field=state,
        source=[
            State.SENT,
            State.DELIVERED,
            State.ACKNOWLEDGED,
            State.RECOGNISED,
            State.IN_EXECUTION,
            State.INFO_REQUESTED,
            State.POSTPONED,
            State.PRESERVED,
            State.EXTENDED,
            State.FOLLOWED_UP,
            State.IMPOSSIBLE,  # e-Evidence
        ],
        target=GET_STATE(_followed_state, states=list(FOLLOWED)),
        conditions=[_outgoing],
        permission=_system_only,
    )
    def follow_executing_side(self, to: str) -> None:
        """Take the state the executing side reported (legal pairs: counterpart.FOLLOWS)."""

    # Executing side ------------------------------------------------------------------

    @transition(
        field=state,
        source=State.RECEIVED,
        target=State.ACKNOWLEDGED,
        conditions=[_incoming],
        permission=_executor,
    )
    def acknowledge(self) -> None:
        pass

    @transition(
        field=state,
        source=State.ACKNOWLEDGED,
        target=State.ASSIGNED,
        conditions=[_incoming],
        permission=_executor,
    )
    def assign(self) -> None:
        pass

    @transition(
        field=state,
        source=[State.ACKNOWLEDGED, State.ASSIGNED],
        target=State.RECOGNISED,
        conditions=[_incoming, _not_preservation, _not_enforcing_notification, _not_certificate],
        permission=_executor,
    )
    def recognise(self) -> None:
        pass

    @transition(
        field=state,
        source=State.RECOGNISED,
        target=State.IN_EXECUTION,
        conditions=[_incoming],
        permission=_executor,
    )
    def start_execution(self) -> None:
        pass

    @transition(
        field=state,
        # e-Evidence: an EPOC's data are produced from "preserved"; see _produces_from_state.
        source=[State.RECOGNISED, State.IN_EXECUTION, State.PRESERVED],
        target=State.EXECUTED,
        conditions=[_incoming, _produces_from_state],
        permission=_executor,
    )
    def execute(self) -> None:
        pass

    @transition(
        field=state,
        # e-Evidence: an EPOC's data are produced from "preserved"; see _produces_from_state.
        source=[State.RECOGNISED, State.IN_EXECUTION, State.PRESERVED],
        target=State.PARTIALLY_EXECUTED,
        conditions=[_incoming, _produces_from_state],
        permission=_executor,
    )
    def execute_partially(self) -> None:
        pass

    @transition(
        field=state,
        source=[
            State.RECEIVED,
            State.ACKNOWLEDGED,
            State.ASSIGNED,
            State.RECOGNISED,
            State.IN_EXECUTION,
            State.POSTPONED,
        ],
        target=State.REFUSED,
        # e-Evidence: the addressee uses Annex III; the enforcing authority decides on grounds.
        conditions=[_incoming, _not_enforcing_notification, _not_certificate],
        permission=_executor,
    )
    def refuse(self) -> None:
        pass

    @transition(
        field=state,
        source=[State.RECOGNISED, State.IN_EXECUTION],
        target=State.POSTPONED,
        conditions=[_incoming],
        permission=_executor,
    )
    def postpone(self) -> None:
        pass

    @transition(
        field=state,
        source=State.POSTPONED,
        target=RETURN_VALUE(State.RECOGNISED, State.IN_EXECUTION),
        conditions=[_incoming],
        permission=_executor,
    )
    def resume(self) -> str:
        return self.resume_state

    @transition(
        field=state,
        source=[
            State.RECEIVED,
            State.ACKNOWLEDGED,
            State.ASSIGNED,
            State.RECOGNISED,
            State.IN_EXECUTION,
        ],
        target=State.INFO_REQUESTED,
        conditions=[_incoming, _not_certificate],  # e-Evidence: Annex III section F
        permission=_executor,
    )
    def request_information(self) -> None:
        pass

    @transition(
        field=state,
        source=State.INFO_REQUESTED,
        target=RETURN_VALUE(
            State.RECEIVED,
            State.ACKNOWLEDGED,
            State.ASSIGNED,
            State.RECOGNISED,
            State.IN_EXECUTION,
        ),
        conditions=[_incoming],
        permission=_executor,
    )
    def receive_information(self) -> str:
        return self.resume_state

    @transition(
        field=state,
        source=[State.RECEIVED, State.ACKNOWLEDGED, State.ASSIGNED],
        target=State.FORWARDED,
        conditions=[_incoming, _not_enforcing_notification, _not_certificate],
        permission=_executor,
    )
    def forward(self) -> None:
        pass

    @transition(
        field=state,
        source=[State.ACKNOWLEDGED, State.ASSIGNED],
        target=State.PRESERVED,
        conditions=[_incoming, _preserves],  # e-Evidence: EPOC Art. 10(1), EPOC-PR Art. 11
        permission=_executor,
    )
    def preserve(self) -> None:
        pass

    @transition(
        field=state,
        source=[State.PRESERVED, State.EXTENDED],
        target=State.EXTENDED,
        conditions=[_incoming, _preservation],
        permission=_executor,
    )
    def extend_preservation(self) -> None:
        pass

    @transition(
        field=state,
        source=[State.PRESERVED, State.EXTENDED],
        target=State.FOLLOWED_UP,
        conditions=[_incoming, _preservation_order],
        permission=_executor_not_certificate,  # e-Evidence: follows the issuer's Annex V
    )
    def record_follow_up(self) -> None:
        pass

    @transition(
        field=state,
        source=[State.PRESERVED, State.EXTENDED, State.FOLLOWED_UP],
        target=State.EXPIRED,
        conditions=[_incoming, _preservation_order],
        permission=_executor,
    )
    def end_preservation(self) -> None:
        pass

    @transition(
        field=state,
        source=list(EXECUTING_OPEN),
        target=State.WITHDRAWN,
        conditions=[_incoming],
        permission=_system_only,
    )
    def record_withdrawal(self) -> None:
        """The issuing side withdrew the request."""

    # Enforcing authority (e-Evidence) --------------------------------------------------

    @transition(
        field=state,
        source=State.DRAFT,
        target=State.READY,
        conditions=[_outgoing, _enforcing_notification],
        permission=_system_only,
    )
    def prepare_notification(self) -> None:
        """Made from the EPOC being sent, whose checks and validation it shares (Art. 8)."""

    @transition(
        field=state,
        source=[State.ACKNOWLEDGED, State.ASSIGNED],
        target=State.NO_GROUNDS,
        conditions=[_incoming, _enforcing_notification],
        permission=_executor,
    )
    def confirm_no_grounds(self) -> None:
        pass

    @transition(
        field=state,
        source=[State.ACKNOWLEDGED, State.ASSIGNED],
        target=State.GROUNDS_RAISED,
        conditions=[_incoming, _enforcing_notification],
        permission=_executor,
    )
    def raise_grounds(self) -> None:
        pass

    @transition(
        field=state,
        # Once sent (ISSUING_OPEN from "sent" on), on either copy.
        source=list(dict.fromkeys((*ISSUING_OPEN[3:], *EXECUTING_OPEN, State.IMPOSSIBLE))),
        target=State.REFUSED,
        conditions=[_production_order],
        permission=_system_only,
    )
    def refuse_on_enforcing_grounds(self) -> None:
        """The enforcing authority raised a ground against the whole order (Art. 12(1))."""

    @transition(
        field=state,
        source=list(ISSUING_OPEN),
        target=State.WITHDRAWN,
        conditions=[_outgoing, _enforcing_notification],
        permission=_system_only,
    )
    def withdraw_with_certificate(self) -> None:
        """The EPOC it notifies was withdrawn."""

    # e-Evidence (Regulation (EU) 2023/1543): the addressee's Annex III, the issuing
    # authority's answer and Annex VI, and the addressee's copy following them -------------

    @transition(
        field=state,
        source=[
            State.RECEIVED,
            State.ACKNOWLEDGED,
            State.ASSIGNED,
            State.PRESERVED,
            State.EXTENDED,
            State.FOLLOWED_UP,
        ],
        target=State.IMPOSSIBLE,
        conditions=[_incoming, _certificate],
        permission=_executor,
    )
    def report_impossibility(self) -> None:
        """Annex III: the addressee cannot execute as it stands (Art. 10(5)-(8), 11(4)-(5))."""

    @transition(
        field=state,
        source=State.IMPOSSIBLE,
        target=RETURN_VALUE(
            State.DELIVERED,
            State.ACKNOWLEDGED,
            State.PRESERVED,
            State.EXTENDED,
            State.FOLLOWED_UP,
        ),
        conditions=[_outgoing, _certificate],
        permission=_issuer,
    )
    def answer_impossibility(self) -> str:
        """The certificate was corrected or completed: back to where it was."""
        return self.resume_state or self.State.DELIVERED

    @transition(
        field=state,
        source=State.IMPOSSIBLE,
        target=RETURN_VALUE(
            State.RECEIVED,
            State.ACKNOWLEDGED,
            State.ASSIGNED,
            State.PRESERVED,
            State.EXTENDED,
            State.FOLLOWED_UP,
        ),
        conditions=[_incoming, _certificate],
        permission=_system_only,
    )
    def record_impossibility_answer(self) -> str:
        return self.resume_state or self.State.RECEIVED

    @transition(
        field=state,
        # Once (Art. 11(1)): from "preserved" only, so a second Annex VI has no source.
        source=State.PRESERVED,
        target=State.EXTENDED,
        conditions=[_outgoing, _preservation_order, _certificate],
        permission=_issuer,
    )
    def order_extension(self) -> None:
        """Annex VI: the issuing authority extends the preservation by 30 days."""

    @transition(
        field=state,
        source=State.PRESERVED,
        target=State.EXTENDED,
        conditions=[_incoming, _preservation_order, _certificate],
        permission=_system_only,
    )
    def record_extension(self) -> None:
        """The addressee's copy follows the issuing authority's Annex VI."""

    @property
    def needs_validation(self) -> bool:
        from mla.instruments.completeness import holds
        from mla.instruments.declarations import declaration_for

        declaration = declaration_for(self.declaration_code)
        if declaration.validation_rule is not None:
            # By who issues it as well as by the data (e-Evidence, Art. 4).
            return declaration.validation_rule(self.data, self.issuing_authority.kind)
        rule = declaration.needs_validation
        return holds(rule, self.data) if rule is not None else False

    @property
    def is_complete(self) -> bool:
        from mla.requests.drafting.language import request_problems

        return not request_problems(request=self)


class ReferenceCounter(models.Model):
    """The last number an authority gave its references in a year (mla.requests.references)."""

    authority = models.ForeignKey(Authority, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["authority", "year"], name="reference_counter_once_per_year"
            )
        ]

    def __str__(self) -> str:
        return f"{self.authority_id}/{self.year}: {self.last}"


class RequestOffence(models.Model):
    """An offence category the request names (EIO Annex D), for the statistics' filter."""

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="offences")
    category = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "category"], name="request_offence_once")
        ]
        indexes = [models.Index(fields=["category", "request"], name="request_offence_category")]

    def __str__(self) -> str:
        return f"{self.request} {self.category}"


class RequestLink(models.Model):
    """A request that follows or relates to an earlier one (e.g. the MLA after a preservation)."""

    from_request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="links_out")
    to_request = models.ForeignKey(Request, on_delete=models.PROTECT, related_name="links_in")
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["from_request", "to_request"], name="request_link_once"
            ),
            models.CheckConstraint(
                condition=~models.Q(from_request=models.F("to_request")),
                name="request_link_not_itself",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_request} → {self.to_request}"


def attachment_path(instance: "Attachment", filename: str) -> str:
    # Stored under the digest, never under the name the user chose.
    return f"attachments/{instance.sha256[:2]}/{instance.sha256}"


class Attachment(models.Model):
    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path)
    name = models.CharField(_("file name"), max_length=255)
    media_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    # Empty on a copy received from another node: its uploader is not a user here.
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.name


class CertificateWording(models.TextChoices):
    """The words an e-Evidence certificate (Regulation (EU) 2023/1543) uses for the states
    it shares with the other instruments: the addressee preserves and produces data, the
    issuing authority receives them; nothing is "executed"."""

    DATA_PRODUCED = "data_produced", _("Data produced")
    DATA_RECEIVED = "data_received", _("Data received")
    DATA_PARTLY_PRODUCED = "data_partly_produced", _("Data partly produced")
    DATA_PARTLY_RECEIVED = "data_partly_received", _("Data partly received")
    DATA_PRESERVED = "data_preserved", _("Data preserved")


# (declaration, state): the wording on the addressee's copy, then on the issuing copy.
CERTIFICATE_STATES: dict[tuple[str, str], tuple[str, str]] = {
    (eevidence.EPOC, Request.State.EXECUTED): (
        CertificateWording.DATA_PRODUCED,
        CertificateWording.DATA_RECEIVED,
    ),
    (eevidence.EPOC, Request.State.PARTIALLY_EXECUTED): (
        CertificateWording.DATA_PARTLY_PRODUCED,
        CertificateWording.DATA_PARTLY_RECEIVED,
    ),
    (eevidence.EPOC, Request.State.PRESERVED): (
        CertificateWording.DATA_PRESERVED,
        CertificateWording.DATA_PRESERVED,
    ),
    (eevidence.EPOC_PR, Request.State.PRESERVED): (
        CertificateWording.DATA_PRESERVED,
        CertificateWording.DATA_PRESERVED,
    ),
}

# Each state's and each certificate wording's lazy name by its value (state_label).
STATE_LABELS: dict[str, Any] = dict([*Request.State.choices, *CertificateWording.choices])


def state_wording(*, state: str, declaration_code: str = "", direction: str = "") -> str:
    """The code of the words a request's state reads in: a certificate's own for the states
    it words its own way (the issuing copy's with ``direction`` outgoing, the addressee's
    otherwise), else the state itself."""
    worded = CERTIFICATE_STATES.get((declaration_code, state))
    if worded is None:
        return state
    addressee, issuing = worded
    return issuing if direction == Request.Direction.OUTGOING else addressee


def state_label(*, state: str, declaration_code: str = "", direction: str = "") -> Any:
    """The lazy name of a request's state as every page, list, message and figure shows it:
    an EIO's "executed" is an EPOC's "data produced" (or "data received" on its issuing
    copy). The code itself when unknown."""
    wording = state_wording(state=state, declaration_code=declaration_code, direction=direction)
    return STATE_LABELS.get(wording, wording)


class AuditEntry(AppendOnlyModel):
    """One act on a request, chained by hash (see mla.requests.audit). Never updated."""

    request = models.ForeignKey(Request, on_delete=models.PROTECT, related_name="audit_entries")
    # Snapshots: the record must read the same after users or authorities change.
    request_reference = models.CharField(max_length=40)
    sequence = models.PositiveIntegerField()  # within the request
    position = models.PositiveBigIntegerField(unique=True)  # within the node
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    actor_name = models.CharField(max_length=255)
    authority_name = models.CharField(max_length=255, blank=True)
    at = models.DateTimeField()
    event = models.CharField(max_length=64)
    from_state = models.CharField(max_length=32, blank=True)
    to_state = models.CharField(max_length=32, blank=True)
    note = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    request_hash = models.CharField(max_length=64)
    node_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["request", "sequence"], name="audit_sequence_once")
        ]

    def __str__(self) -> str:
        return f"{self.request_reference} #{self.sequence} {self.event}"


class AuditChainHead(models.Model):
    """The end of the node-wide chain: its row lock serialises appends."""

    position = models.PositiveBigIntegerField(default=0)
    node_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"audit head at {self.position}"


class RequestUserObjectPermission(UserObjectPermissionBase):
    """Per-request permissions of one user (a request shared with a named colleague)."""

    content_object = models.ForeignKey(Request, on_delete=models.CASCADE)


class RequestGroupObjectPermission(GroupObjectPermissionBase):
    """Per-request permissions of a group: each authority has one (see mla.requests.access)."""

    content_object = models.ForeignKey(Request, on_delete=models.CASCADE)


class Deadline(models.Model):
    """A legal deadline of one copy of a request, as last computed from its events.

    Recomputed by mla.requests.deadlines.store on every event of the request, and by the
    periodic check for those whose due instant passed (running to missed)."""

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="deadlines")
    code = models.CharField(max_length=40)
    label = models.CharField(max_length=100)  # document label key
    source = models.CharField(_("legal source"), max_length=255)
    starts_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(_("due"))
    state = models.CharField(_("state"), max_length=16, choices=DeadlineState.choices)
    met_at = models.DateTimeField(null=True, blank=True)
    late = models.BooleanField(default=False)
    extended_days = models.PositiveIntegerField(default=0)
    extension_reason = models.TextField(blank=True)
    suspended_since = models.DateTimeField(null=True, blank=True)
    paused_seconds = models.PositiveBigIntegerField(default=0)
    computed_at = models.DateTimeField()  # when its values last changed

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "code"], name="deadline_once_per_code")
        ]
        indexes = [
            # The periodic check reads the open deadlines by due instant.
            models.Index(
                fields=["due_at"],
                name="deadline_open_due",
                condition=models.Q(state__in=["running", "extended"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.request} {self.code} {self.state}"
