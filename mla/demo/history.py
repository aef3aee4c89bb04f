"""A fictional history for the demo: a few hundred requests of every instrument over the
past months, in every state, so that the queues, the tracker and the statistics show
something real on a first run.

Each case is played step by step as the lifecycle services would play it, on requests held
in memory: every state change is the model's own transition (its source states and guards
checked), each step is written to both copies as the services write it (the executing
side's steps recorded on the issuing copy on behalf of the executing authority, and the
issuer's withdrawal on the received copy), and the deadlines are those the engine computes
from the audit entries. Only the writing is in bulk: one insert per table, with the audit
trail chained as ``audit_record`` chains it, in the order of the steps' instants. The
services, with their documents, signatures and notifications, would take minutes.

Everything is fictional: the facts say so, every name is a demo name, and the history is
made once, on a node that has received no request yet (``demo_history_ensure``).
"""

import datetime
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import Permission
from django.db import transaction
from django.utils import timezone

from contact_points.models import Authority
from mla.accounts.models import User
from mla.accounts.services import authority_group
from mla.instruments.completeness import TRANSLATIONS_KEY, is_translated
from mla.instruments.declarations import declaration_for
from mla.instruments.declarations.schema import Field, Group, InstrumentDeclaration
from mla.requests.access import VIEW_CODENAME
from mla.requests.audit import GENESIS, chain_hash
from mla.requests.deadlines.escalation import MISSED_EVENT
from mla.requests.deadlines.store import deadlines_computed
from mla.requests.derived import offence_categories_of, request_derived_assign
from mla.requests.drafting.language import target_language
from mla.requests.events import Event
from mla.requests.models import (
    AuditChainHead,
    AuditEntry,
    Deadline,
    ReferenceCounter,
    Request,
    RequestGroupObjectPermission,
    RequestOffence,
)
from mla.requests.references import reference_format

State = Request.State
FICTIONAL = "Fictional demo case, not a real investigation."
NODE = "the node"  # who the node's own steps are recorded as, like counterpart._side
LAPSED_NOTE = "The preservation period ended without a follow-up request."

FACTS = {
    "trafficking": (
        "A group recruited victims through online job advertisements, organised their "
        "travel and exploited them in several countries; payments went through accounts "
        "held abroad."
    ),
    "fraud": (
        "Investment fraud: a call centre sold non-existent crypto-assets to about 300 "
        "victims; the proceeds were moved through payment accounts abroad."
    ),
    "drugs": (
        "Cocaine was shipped in containers of fruit through the port; the organisers used "
        "encrypted telephones and company accounts abroad."
    ),
    "cyber": (
        "Ransomware attack on a hospital: the attackers used servers and e-mail accounts "
        "hosted abroad and asked for a payment in bitcoin."
    ),
    "laundering": (
        "Proceeds of VAT fraud were laundered through shell companies and real estate "
        "bought abroad."
    ),
}
OFFENCES = {
    "trafficking": ["trafficking_human_beings", "criminal_organisation"],
    "fraud": ["fraud", "swindling"],
    "drugs": ["drug_trafficking", "criminal_organisation"],
    "cyber": ["computer_crime", "racketeering_extortion"],
    "laundering": ["money_laundering"],
}

# Who plays the demo's cases: (issuing authority, its user) → (executing authority, its
# staff), with the instrument and how many cases. Only authorities with demo users act, so
# that every step has someone who could have taken it.
FLOWS: tuple[tuple[str, str, str, str, str, int], ...] = (
    ("eio", "fr-paris-prosecutor", "prosecutor.fr", "de-berlin-prosecutor", "intake.de", 70),
    ("eio", "it-milan-prosecutor", "prosecutor.it", "de-berlin-prosecutor", "intake.de", 25),
    ("eio", "es-madrid-prosecutor", "prosecutor.es", "de-berlin-prosecutor", "intake.de", 25),
    ("eio", "ro-diicot", "prosecutor.ro", "de-berlin-prosecutor", "intake.de", 20),
    ("eio", "de-berlin-prosecutor", "prosecutor.de", "it-milan-prosecutor", "prosecutor.it", 15),
    ("eio", "de-berlin-prosecutor", "prosecutor.de", "es-madrid-prosecutor", "prosecutor.es", 15),
    ("eio", "de-berlin-prosecutor", "prosecutor.de", "ro-diicot", "prosecutor.ro", 15),
    ("mla", "fr-paris-prosecutor", "prosecutor.fr", "de-central-authority", "central.de", 20),
    ("mla", "de-berlin-prosecutor", "prosecutor.de", "fr-central-authority", "central.fr", 20),
    ("preservation", "fr-paris-prosecutor", "prosecutor.fr", "ro-247-point", "cp247.ro", 20),
    ("preservation", "fr-paris-prosecutor", "prosecutor.fr", "us-247-point", "cp247.us", 20),
    ("preservation", "de-berlin-prosecutor", "prosecutor.de", "us-247-point", "cp247.us", 20),
    ("preservation", "it-milan-prosecutor", "prosecutor.it", "ro-247-point", "cp247.ro", 15),
)
# How far back the history goes.
HISTORY_DAYS = 180

# The last state a case reaches, by instrument, with its weight: most closed, some open, a
# few still being drafted.
ENDINGS: dict[str, tuple[tuple[str, int], ...]] = {
    "eio": (
        (State.DRAFT, 2),
        (State.READY, 1),
        (State.RECEIVED, 4),
        (State.ACKNOWLEDGED, 4),
        (State.ASSIGNED, 4),
        (State.RECOGNISED, 4),
        (State.IN_EXECUTION, 5),
        (State.EXECUTED, 12),
        (State.PARTIALLY_EXECUTED, 3),
        (State.REFUSED, 4),
        (State.WITHDRAWN, 1),
    ),
    "mla": (
        (State.DRAFT, 1),
        (State.RECEIVED, 3),
        (State.ACKNOWLEDGED, 3),
        (State.ASSIGNED, 2),
        (State.RECOGNISED, 3),
        (State.IN_EXECUTION, 3),
        (State.EXECUTED, 8),
        (State.REFUSED, 3),
    ),
    "preservation": (
        (State.RECEIVED, 2),
        (State.ACKNOWLEDGED, 2),
        (State.PRESERVED, 8),
        (State.EXTENDED, 3),
        (State.EXPIRED, 6),
        (State.REFUSED, 2),
    ),
}
REFUSALS = {
    "eio": ("eio_11_1_a", "The measure would not be available in a similar domestic case."),
    "mla": ("other", "The facts are not an offence under the law of the requested State."),
    "preservation": ("other", "The provider keeps no data of this kind."),
}


def _person(user: User) -> str:
    return user.get_full_name() or user.username


# --- Request data ---------------------------------------------------------------------


def _value(item: Field, *, case: str, issuer: Authority, user: User) -> Any:
    """A fictional value for a field, of its type."""
    kind = item.type
    if item.name in ("requested_date", "urgency_reasons"):
        return ""  # not urgent: no date asked for
    if item.name in ("facts", "summary") or (kind == "textarea" and "fact" in item.name):
        return f"{FICTIONAL} {FACTS[case]}"
    if item.name == "offence_categories":
        return [code for code in OFFENCES[case] if code in item.choices] or list(item.choices[:1])
    if kind == "choice":
        return item.choices[0]
    if kind == "multichoice":
        return list(item.choices[:1]) if item.required else []
    if kind == "boolean":
        # Ticked only where the form asks for it (the issuer's declarations): no urgency,
        # no confidentiality, no provisional measure.
        return item.required or item.required_when is not None
    values: dict[str, Any] = {
        "text": f"Demo {item.name.replace('_', ' ')}",
        "textarea": f"Demo text ({item.name.replace('_', ' ')}). {FICTIONAL}",
        "integer": "1",
        "date": "2026-01-15",
        "datetime": {"value": "2026-01-15T10:00", "tz": issuer.time_zone or "UTC"},
        "datetime_range": {
            "start": "2026-01-01T00:00",
            "end": "2026-01-31T23:59",
            "tz": issuer.time_zone or "UTC",
        },
        "email": user.email or "demo@demo.example",
        "phone": issuer.phone or "+33100000000",
        "url": "https://provider.example/abuse",
        "ip": "192.0.2.10",
        "country": issuer.country_code,
        "language": "en",
        "identifier": "192.0.2.10",
    }
    return values.get(kind, f"Demo {item.name}")


def _translated(
    values: dict[str, Any], fields: Sequence[Field], language: str | None
) -> dict[str, Any]:
    # Each free text with its (fictional) translation beside it, as the issuing authority
    # gives it when the request goes out in another language than it is written in.
    names = [item.name for item in fields if is_translated(item) and values.get(item.name)]
    if language and names:
        values[TRANSLATIONS_KEY] = {
            language: {
                name: f"[{language.upper()}, demo translation] {values[name]}" for name in names
            }
        }
    return values


def demo_data(
    *,
    declaration: InstrumentDeclaration,
    case: str,
    issuer: Authority,
    user: User,
    translate_into: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Complete, fictional data for a request of ``declaration``: every field filled, with
    the case's facts and offence categories, each free text translated into
    ``translate_into`` when given; no box ticked (no urgency, no confidentiality, no
    provisional measure)."""
    data: dict[str, dict[str, Any]] = {}
    for section in declaration.sections:
        values: dict[str, Any] = {}
        for item in section.items:
            if isinstance(item, Group):
                values[item.name] = [
                    _translated(
                        {
                            field.name: _value(field, case=case, issuer=issuer, user=user)
                            for field in item.fields
                        },
                        item.fields,
                        translate_into,
                    )
                    for _ in range(max(1, item.min_rows))
                ]
            else:
                values[item.name] = _value(item, case=case, issuer=issuer, user=user)
        fields = [item for item in section.items if isinstance(item, Field)]
        data[section.code] = _translated(values, fields, translate_into)
    if declaration.code == "eio":
        # Issued by a prosecutor who needs no validation (section L is the validation).
        data.get("K", {})["issuer_type"] = "prosecutor"
        data.pop("L", None)
    return data


# --- Playing a case -------------------------------------------------------------------


@dataclass
class _Step:
    event: str
    from_state: str
    to_state: str
    at: datetime.datetime
    actor: User | None
    actor_name: str
    authority_name: str
    note: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Copy:
    request: Request
    steps: list[_Step] = field(default_factory=list)

    def move(
        self,
        action: str,
        *arguments: Any,
        event: str,
        at: datetime.datetime,
        actor: User | None,
        on_behalf_of: tuple[str, str] | None = None,
        note: str = "",
        payload: dict[str, Any] | None = None,
        stamp: str = "",
    ) -> None:
        """One transition of the model, as run_transition runs it: its source states and
        guards are checked (TransitionNotAllowed otherwise)."""
        request = self.request
        method: Callable[..., Any] = getattr(request, action)
        source = request.state
        method(*arguments)
        if stamp:
            setattr(request, stamp, at)
        if request.state in Request.FINAL and request.closed_at is None:
            request.closed_at = at
        request.updated_at = at
        self.record(
            event=event,
            at=at,
            actor=actor,
            on_behalf_of=on_behalf_of,
            note=note,
            payload=payload,
            from_state=source,
        )

    def record(
        self,
        *,
        event: str,
        at: datetime.datetime,
        actor: User | None,
        on_behalf_of: tuple[str, str] | None = None,
        note: str = "",
        payload: dict[str, Any] | None = None,
        from_state: str = "",
        to_state: str | None = None,
    ) -> None:
        if on_behalf_of:
            name, authority = on_behalf_of
        elif actor is not None:
            name, authority = _person(actor), actor.authority.name
        else:
            name, authority = "system", ""
        self.steps.append(
            _Step(
                event=event,
                from_state=from_state,
                to_state=self.request.state if to_state is None else to_state,
                at=at,
                actor=None if on_behalf_of else actor,
                actor_name=name,
                authority_name=authority,
                note=note,
                payload=dict(payload or {}),
            )
        )


@dataclass
class _Case:
    outgoing: _Copy
    incoming: _Copy | None = None


class _Player:
    """Plays one case: the issuer drafts and sends, the executing side acts, and each side's
    steps are recorded on the other copy."""

    def __init__(
        self,
        *,
        chance: random.Random,
        code: str,
        issuer: Authority,
        author: User,
        executing: Authority,
        staff: User,
        reference: str,
        case: str,
        start: datetime.datetime,
    ) -> None:
        self.chance = chance
        self.issuer, self.author = issuer, author
        self.executing, self.staff = executing, staff
        self.at = start
        declaration = declaration_for(code)
        issuing_language = author.preferred_language or "en"
        # The language the request goes in, as the new-request page chooses it.
        target = target_language(country=executing.country, declaration=declaration)
        executing_language = target.code
        data = demo_data(
            declaration=declaration,
            case=case,
            issuer=issuer,
            user=author,
            translate_into=(executing_language if executing_language != issuing_language else None),
        )
        request = Request(
            reference=reference,
            direction=Request.Direction.OUTGOING,
            declaration_code=code,
            issuing_authority=issuer,
            executing_country=executing.country,
            executing_authority=executing,
            created_by=author,
            data=data,
            issuing_language=issuing_language,
            executing_language=executing_language,
            # No form yet in a language the country accepts: what a prosecutor records.
            language_reason=(
                "Demo: the executing authority agreed to receive the form in English."
                if target.needs_reason
                else ""
            ),
            state=State.DRAFT,
            created_at=start,
            updated_at=start,
        )
        request_derived_assign(request=request)
        self.case = _Case(outgoing=_Copy(request))
        self.case.outgoing.record(
            event=Event.CREATED,
            at=start,
            actor=author,
            to_state=State.DRAFT,
            payload={"type": code, "executing_country": executing.country_code},
        )

    def later(self, low_hours: float, high_hours: float) -> datetime.datetime:
        self.at += datetime.timedelta(hours=self.chance.uniform(low_hours, high_hours))
        return self.at

    def issuer_side(self) -> tuple[str, str]:
        return (_person(self.author), self.issuer.name)

    def executor_side(self, actor: User | None) -> tuple[str, str]:
        return (_person(actor) if actor else NODE, self.executing.name)

    def submit(self) -> None:
        outgoing = self.case.outgoing
        outgoing.move("submit", event=Event.SUBMIT, at=self.later(1, 72), actor=self.author)

    def send(self) -> None:
        outgoing = self.case.outgoing
        sent = self.later(0.2, 24)
        outgoing.move(
            "send",
            event=Event.SENT,
            at=sent,
            actor=self.author,
            payload={"to": self.executing.identifier},
            stamp="sent_at",
        )
        source = outgoing.request
        incoming = Request(
            reference=source.reference,
            direction=Request.Direction.INCOMING,
            declaration_code=source.declaration_code,
            issuing_authority=self.issuer,
            executing_country=self.executing.country,
            executing_authority=self.executing,
            data=source.data,
            issuing_language=source.issuing_language,
            executing_language=source.executing_language,
            language_reason=source.language_reason,
            state=State.RECEIVED,
            sent_at=sent,
            received_at=sent,
            created_at=sent,
            updated_at=sent,
        )
        request_derived_assign(request=incoming)
        self.case.incoming = _Copy(incoming)
        self.case.incoming.record(
            event=Event.RECEIVED,
            at=sent,
            actor=None,
            on_behalf_of=self.issuer_side(),
            to_state=State.RECEIVED,
            payload={
                "from": self.issuer.identifier,
                "attachments": [],
                "data_sha256": source.data_digest,
            },
        )
        outgoing.move(
            "follow_executing_side",
            State.DELIVERED,
            event=Event.DELIVERED,
            at=sent,
            actor=None,
            on_behalf_of=(NODE, self.executing.name),
            payload={"to": self.executing.identifier},
        )

    def executor(
        self,
        action: str,
        event: str,
        *,
        follow: str | None,
        at: datetime.datetime,
        actor: User | None = None,
        note: str = "",
        payload: dict[str, Any] | None = None,
        stamp: str = "",
    ) -> None:
        """A step of the executing side on its copy, followed by the issuing copy (into
        ``follow``; None: a step the issuing copy does not record)."""
        assert self.case.incoming is not None
        self.case.incoming.move(
            action, event=event, at=at, actor=actor, note=note, payload=payload, stamp=stamp
        )
        if follow is not None:
            self.case.outgoing.move(
                "follow_executing_side",
                follow,
                event=event,
                at=at,
                actor=None,
                on_behalf_of=self.executor_side(actor),
                note=note,
                payload=payload,
            )

    def withdraw(self) -> None:
        at = self.later(24, 24 * 20)
        note = "The investigation was closed."
        self.case.outgoing.move(
            "withdraw", event=Event.WITHDRAW, at=at, actor=self.author, note=note
        )
        if self.case.incoming is not None and self.case.incoming.request.is_open:
            self.case.incoming.move(
                "record_withdrawal",
                event=Event.WITHDRAWN,
                at=at,
                actor=None,
                on_behalf_of=self.issuer_side(),
                note=note,
            )


def _play(player: _Player, *, code: str, ending: str) -> None:
    """Take the case through the steps that lead to ``ending``, at plausible intervals."""
    if ending == State.DRAFT:
        return
    player.submit()
    if ending == State.READY:
        return
    player.send()
    staff = player.staff
    if ending == State.WITHDRAWN:
        if player.chance.random() < 0.5:
            player.executor(
                "acknowledge",
                Event.ACKNOWLEDGED,
                follow=State.ACKNOWLEDGED,
                at=player.later(2, 96),
                actor=staff,
                payload={"annex_b": code == "eio"},
                stamp="acknowledged_at",
            )
        player.withdraw()
        return
    if ending == State.RECEIVED:
        return
    player.executor(
        "acknowledge",
        Event.ACKNOWLEDGED,
        follow=State.ACKNOWLEDGED,
        at=player.later(1, 24 * 6 if player.chance.random() < 0.85 else 24 * 12),
        actor=staff,
        payload={"annex_b": code == "eio"},
        stamp="acknowledged_at",
    )
    if ending == State.ACKNOWLEDGED:
        return
    incoming = player.case.incoming
    assert incoming is not None
    if code != "preservation" or ending == State.ASSIGNED:
        incoming.request.assignee = staff
        player.executor(
            "assign",
            Event.ASSIGNED,
            follow=None,
            at=player.later(0.5, 48),
            actor=staff,
            payload={"assignee": staff.username, "previous": ""},
        )
    if ending == State.ASSIGNED:
        return
    if ending == State.REFUSED:
        ground, motivation = REFUSALS[code]
        incoming.request.outcome_ground = ground
        incoming.request.outcome_note = motivation
        player.executor(
            "refuse",
            Event.REFUSED,
            follow=State.REFUSED,
            at=player.later(24, 24 * 25),
            actor=staff,
            note=motivation,
            payload={"ground": ground},
            stamp="decided_at",
        )
        return
    if code == "preservation":
        _play_preservation(player, ending=ending)
        return
    player.executor(
        "recognise",
        Event.RECOGNISED,
        follow=State.RECOGNISED,
        at=player.later(24, 24 * (25 if player.chance.random() < 0.85 else 40)),
        actor=staff,
        stamp="decided_at",
    )
    if ending == State.RECOGNISED:
        return
    player.executor(
        "start_execution",
        Event.EXECUTION_STARTED,
        follow=State.IN_EXECUTION,
        at=player.later(2, 24 * 10),
        actor=staff,
    )
    if ending == State.IN_EXECUTION:
        return
    partially = ending == State.PARTIALLY_EXECUTED
    player.executor(
        "execute_partially" if partially else "execute",
        Event.PARTIALLY_EXECUTED if partially else Event.EXECUTED,
        follow=ending,
        at=player.later(24 * 5, 24 * (60 if player.chance.random() < 0.85 else 110)),
        actor=staff,
        note=(
            "The bank records were obtained; the witness could not be found."
            if partially
            else "The evidence is sent with this report."
        ),
    )


def _play_preservation(player: _Player, *, ending: str) -> None:
    staff = player.staff
    preserved = player.later(1, 20)
    player.executor(
        "preserve",
        Event.PRESERVED,
        follow=State.PRESERVED,
        at=preserved,
        actor=staff,
        stamp="decided_at",
    )
    if ending == State.EXTENDED:
        days = 90
        player.executor(
            "extend_preservation",
            Event.PRESERVATION_EXTENDED,
            follow=State.EXTENDED,
            at=player.later(24 * 20, 24 * 50),
            actor=staff,
            note="A request for the data is being prepared.",
            payload={"days": days, "reason": "A request for the data is being prepared."},
        )
    elif ending == State.EXPIRED:
        # The periodic check ends a preservation whose 60 days ran out, at one of its runs
        # after (the days are counted in the executing zone: an hour more or less).
        lapsed = preserved + datetime.timedelta(days=60, minutes=player.chance.randint(120, 600))
        player.at = lapsed
        player.executor(
            "end_preservation",
            Event.EXPIRED,
            follow=State.EXPIRED,
            at=lapsed,
            actor=None,
            note=LAPSED_NOTE,
        )


# --- Timing ---------------------------------------------------------------------------

_HOUR = datetime.timedelta(hours=1)
_DAY = datetime.timedelta(days=1)


def _last_step_at(
    chance: random.Random, *, code: str, ending: str, span: datetime.timedelta
) -> datetime.timedelta:
    """How long before now the case's last step happened: closed cases over the whole
    history, open ones recently (a few long enough ago to be overdue), and preservations
    within their period, as the periodic check ends those whose period ran out."""
    if ending in (State.DRAFT, State.READY):
        return chance.uniform(1, 24 * 10) * _HOUR
    if code == "preservation" and ending in (State.RECEIVED, State.ACKNOWLEDGED):
        return chance.uniform(1, 24 * 4) * _HOUR
    if ending == State.PRESERVED:
        return chance.uniform(1, 24 * 55) * _HOUR
    if ending == State.EXTENDED:
        return chance.uniform(1, 24 * 75) * _HOUR
    if ending in Request.FINAL:
        room = max(datetime.timedelta(days=HISTORY_DAYS) - span, 2 * _HOUR)
        return chance.uniform(1, room / _HOUR) * _HOUR
    overdue = chance.random() < 0.2
    return (
        chance.uniform(24 * 20, 24 * 70) * _HOUR if overdue else chance.uniform(1, 24 * 12) * _HOUR
    )


_STAMPS = (
    "created_at",
    "updated_at",
    "sent_at",
    "received_at",
    "acknowledged_at",
    "decided_at",
    "closed_at",
)


def _shift(case: _Case, by: datetime.timedelta) -> None:
    for copy in (case.outgoing, case.incoming):
        if copy is None:
            continue
        for name in _STAMPS:
            value = getattr(copy.request, name)
            if value is not None:
                setattr(copy.request, name, value + by)
        for step in copy.steps:
            step.at += by


def _steps_end(case: _Case) -> datetime.datetime:
    copies = [case.outgoing, *([case.incoming] if case.incoming else [])]
    return max(step.at for copy in copies for step in copy.steps)


# --- Writing --------------------------------------------------------------------------


class _TimestampsKept:
    """While writing the history, the request's "created" and "last changed" columns take
    the instants of the steps, not the moment of the insert."""

    def __enter__(self) -> None:
        created = Request._meta.get_field("created_at")
        updated = Request._meta.get_field("updated_at")
        self.saved = (created.auto_now_add, updated.auto_now)
        created.auto_now_add = False
        updated.auto_now = False

    def __exit__(self, *exc: object) -> None:
        created = Request._meta.get_field("created_at")
        updated = Request._meta.get_field("updated_at")
        created.auto_now_add, updated.auto_now = self.saved


def _entries(copy: _Copy) -> list[AuditEntry]:
    request = copy.request
    return [
        AuditEntry(
            request=request,
            request_reference=request.reference,
            sequence=number,
            position=0,
            actor=step.actor,
            actor_name=step.actor_name,
            authority_name=step.authority_name,
            at=step.at,
            event=step.event,
            from_state=step.from_state,
            to_state=step.to_state,
            note=step.note,
            payload=step.payload,
        )
        for number, step in enumerate(copy.steps, start=1)
    ]


def _references(cases: list[_Case]) -> None:
    """Number the cases in the order they were started, after what each authority's
    counter already gave, and move the counters on."""
    counters = {
        (row.authority_id, row.year): row for row in ReferenceCounter.objects.select_for_update()
    }
    for case in sorted(cases, key=lambda item: item.outgoing.request.created_at):
        request = case.outgoing.request
        year = request.created_at.year
        counter = counters.get((request.issuing_authority_id, year))
        if counter is None:
            counter = ReferenceCounter(authority_id=request.issuing_authority_id, year=year)
            counters[(request.issuing_authority_id, year)] = counter
        counter.last += 1
        request.reference = reference_format(
            authority=request.issuing_authority,
            declaration_code=request.declaration_code,
            year=year,
            number=counter.last,
        )
        if case.incoming is not None:
            case.incoming.request.reference = request.reference
    for counter in counters.values():
        counter.save()


def _missed_marks(copy: _Copy, *, deadlines: list[Deadline], now: datetime.datetime) -> None:
    """The marks the periodic escalation leaves on a received copy when one of its deadlines
    runs out while it is open (mla.requests.deadlines.escalation): one entry per missed
    deadline, a few minutes after it was due (its next run). The engine ignores them."""
    for row in deadlines:
        if row.due_at >= now or not (row.state == "missed" or (row.state == "met" and row.late)):
            continue
        copy.steps.append(
            _Step(
                event=MISSED_EVENT,
                from_state="",
                to_state="",
                at=row.due_at + datetime.timedelta(minutes=3),
                actor=None,
                actor_name="system",
                authority_name="",
                payload={
                    "deadline": row.code,
                    "due_at": row.due_at.astimezone(datetime.UTC).isoformat(),
                },
            )
        )
    copy.steps.sort(key=lambda step: step.at)  # stable: steps at one instant keep their order


def _write(cases: list[_Case], *, now: datetime.datetime) -> None:
    copies = [copy for case in cases for copy in (case.outgoing, case.incoming) if copy is not None]
    entries: dict[int, list[AuditEntry]] = {}
    deadlines: list[Deadline] = []
    for copy in copies:
        rows, next_due = deadlines_computed(request=copy.request, entries=_entries(copy), now=now)
        copy.request.next_due_at = next_due
        deadlines.extend(rows)
        if copy.request.direction == Request.Direction.INCOMING:
            _missed_marks(copy, deadlines=rows, now=now)
        entries[id(copy)] = _entries(copy)
    with _TimestampsKept():
        Request.objects.bulk_create([case.outgoing.request for case in cases], batch_size=500)
        received = [case for case in cases if case.incoming is not None]
        for case in received:
            assert case.incoming is not None
            case.incoming.request.counterpart = case.outgoing.request
        Request.objects.bulk_create(
            [case.incoming.request for case in received if case.incoming], batch_size=500
        )
        for case in received:
            assert case.incoming is not None
            case.outgoing.request.counterpart = case.incoming.request
        Request.objects.bulk_update(
            [case.outgoing.request for case in received], ["counterpart"], batch_size=500
        )
    Deadline.objects.bulk_create(deadlines, batch_size=1000)
    RequestOffence.objects.bulk_create(
        [
            RequestOffence(request=copy.request, category=category)
            for copy in copies
            for category in sorted(offence_categories_of(data=copy.request.data))
        ],
        batch_size=1000,
    )
    view = Permission.objects.get(content_type__app_label="mla_requests", codename=VIEW_CODENAME)
    groups: dict[int, Any] = {}
    grants = []
    for copy in copies:
        request = copy.request
        owner = (
            request.executing_authority
            if request.direction == Request.Direction.INCOMING
            else request.issuing_authority
        )
        assert owner is not None
        if owner.pk not in groups:
            groups[owner.pk] = authority_group(authority=owner)
        grants.append(
            RequestGroupObjectPermission(
                permission=view, group=groups[owner.pk], content_object=request
            )
        )
    RequestGroupObjectPermission.objects.bulk_create(grants, batch_size=1000)
    _audit_write([entry for copy in copies for entry in entries[id(copy)]])


def _audit_write(entries: list[AuditEntry]) -> None:
    """Chain the entries as audit_record would have, one after the other in the order of
    their instants (a request's own in its order), after the node's last entry."""
    head, _created = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
    ordered = sorted(enumerate(entries), key=lambda item: (item[1].at, item[0]))
    previous_in_request: dict[int, str] = {}
    for position, (_index, entry) in enumerate(ordered, start=head.position + 1):
        entry.position = position
        entry.request_reference = entry.request.reference
        entry.request_hash = chain_hash(
            previous=previous_in_request.get(entry.request.pk, GENESIS), entry=entry
        )
        entry.node_hash = chain_hash(previous=head.node_hash, entry=entry)
        previous_in_request[entry.request.pk] = entry.request_hash
        head.position, head.node_hash = position, entry.node_hash
    AuditEntry.objects.bulk_create([entry for _index, entry in ordered], batch_size=1000)
    head.save(update_fields=["position", "node_hash"])


# --- The history ----------------------------------------------------------------------

CASES_WEIGHTS = (("trafficking", 3), ("fraud", 2), ("drugs", 2), ("cyber", 2), ("laundering", 1))


def _pick(chance: random.Random, weighted: Sequence[tuple[str, int]]) -> str:
    return chance.choices([value for value, _w in weighted], [w for _v, w in weighted])[0]


@transaction.atomic
def demo_history_ensure(*, now: datetime.datetime | None = None, seed: int = 2026) -> int:
    """Write the demo's history once, on a node that has received no request yet (a second
    run adds nothing). Returns the number of cases (each an issuing copy, and once sent a
    received one)."""
    if Request.objects.filter(direction=Request.Direction.INCOMING).exists():
        return 0
    now = now or timezone.now()
    chance = random.Random(seed)  # noqa: S311 - fictional data, not secrets
    authorities = {
        authority.identifier: authority
        for authority in Authority.objects.select_related("country").filter(
            identifier__in={flow[i] for flow in FLOWS for i in (1, 3)}
        )
    }
    users = {
        user.username: user
        for user in User.objects.select_related("authority").filter(
            username__in={flow[i] for flow in FLOWS for i in (2, 4)}, is_active=True
        )
    }
    cases: list[_Case] = []
    for code, issuer, author, executing, staff, count in FLOWS:
        if not {issuer, executing} <= authorities.keys() or not {author, staff} <= users.keys():
            continue
        for _n in range(count):
            ending = _pick(chance, ENDINGS[code])
            player = _Player(
                chance=chance,
                code=code,
                issuer=authorities[issuer],
                author=users[author],
                executing=authorities[executing],
                staff=users[staff],
                reference="",
                case=_pick(chance, CASES_WEIGHTS),
                start=now - datetime.timedelta(days=3 * HISTORY_DAYS),
            )
            _play(player, code=code, ending=ending)
            start = player.case.outgoing.request.created_at
            end = _steps_end(player.case)
            ago = _last_step_at(chance, code=code, ending=ending, span=end - start)
            _shift(player.case, now - ago - end)
            cases.append(player.case)
    if not cases:
        return 0
    _references(cases)
    _write(cases, now=now)
    return len(cases)
