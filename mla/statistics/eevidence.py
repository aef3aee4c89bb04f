"""The statistics Art. 28 of Regulation (EU) 2023/1543 (e-Evidence) asks each Member State
for, over one authority's own copies, for its supervisors and auditors (as the other
statistics, mla.statistics.queries).

Issued: the authority's outgoing EPOCs and EPOC-PRs, counted from when they were sent (the
SENT step sets ``sent_at``; a draft or a certificate awaiting validation is not issued).
Received: its incoming ones (a provider's designated establishment or legal
representative), from ``received_at``. Notifications (Art. 8): the authority's outgoing
copies of the enforcing-authority notification (``epoc_notification``) sent, and its
incoming ones received (as an enforcing authority), with the decisions on them (events
no_grounds and grounds_raised, whose payload names the ground and its scope).

Complied with: for an EPOC the data received, in full or in part (state executed or
partially_executed); for an EPOC-PR the data preserved (a ``preserved`` step, whatever
came after: extension, follow-up, end). Not complied with: impossible (Annex III, whose
reasons the impossibility_reported step's payload lists), refused (a ground raised by the
enforcing authority), withdrawn. The average time runs from issue (``sent_at``; on a
received copy from ``received_at``) to the first executed or partially_executed step for
an EPOC and to the first preserved step for an EPOC-PR, in hours.

The period is whole days in the authority's time zone, both included; by default the
current calendar year there. Cost: three aggregate queries whatever the number of
requests (both sides' certificates and notifications grouped by their key; the audit
entries grouped by event and payload; the transmissions by other means grouped by
direction and item).
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    CharField,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contact_points.models import Authority
from mla.accounts.models import User
from mla.core.errors import ApplicationError
from mla.eevidence.models import OtherMeansTransmission, TransmittedItem
from mla.instruments import eevidence
from mla.requests.events import Event
from mla.requests.models import AuditEntry, Request
from mla.statistics.queries import StatisticsFilter, Tally, can_see_statistics
from mla.statistics.queries import _period as period_span
from mla.statistics.queries import _within as within
from mla.statistics.queries import _zone as authority_zone

OUTGOING, INCOMING = Request.Direction.OUTGOING.value, Request.Direction.INCOMING.value
CERTIFICATE_CODES = (eevidence.EPOC, eevidence.EPOC_PR)
CERTIFICATE_LABELS = {
    eevidence.EPOC: gettext_lazy("European Production Orders (EPOC)"),
    eevidence.EPOC_PR: gettext_lazy("European Preservation Orders (EPOC-PR)"),
}
CATEGORY_LABELS = {
    eevidence.SUBSCRIBER: gettext_lazy("Subscriber data"),
    eevidence.IDENTIFICATION: gettext_lazy("Data requested solely to identify the user"),
    eevidence.TRAFFIC: gettext_lazy("Traffic data"),
    eevidence.CONTENT: gettext_lazy("Content data"),
}
NOT_COMPLIED_LABELS = {
    Request.State.IMPOSSIBLE.value: gettext_lazy("Impossible to execute (Annex III)"),
    Request.State.REFUSED.value: gettext_lazy(
        "Ground for refusal raised by the enforcing authority"
    ),
    Request.State.WITHDRAWN.value: gettext_lazy("Withdrawn"),
}
# Descriptions of the codes of mla.instruments.eevidence, not the annexes' wording.
ANNEX_III_REASON_LABELS = {
    "incomplete": gettext_lazy("Incomplete"),
    "manifest_errors": gettext_lazy("Manifest errors"),
    "insufficient_information": gettext_lazy("Insufficient information"),
    "data_not_stored": gettext_lazy("Data not stored when the certificate was received"),
    "data_no_longer_held": gettext_lazy("Data no longer held"),
    "de_facto_impossible": gettext_lazy("Other de facto impossibility"),
    "not_competent_authority": gettext_lazy("Not issued or validated by a competent authority"),
    "offence_not_covered": gettext_lazy("Offence not covered"),
    "service_not_covered": gettext_lazy("Service not covered"),
    "immunities_privileges": gettext_lazy("Immunities or privileges, press freedom"),
    "conflicting_obligations": gettext_lazy("Conflicting obligations under a third country's law"),
    "other": gettext_lazy("Other"),
}
GROUND_LABELS = {
    "immunities_privileges": gettext_lazy(
        "Immunities or privileges, freedom of the press or of expression (Art. 12(1)(a))"
    ),
    "fundamental_rights": gettext_lazy("Manifest breach of a fundamental right (Art. 12(1)(b))"),
    "ne_bis_in_idem": gettext_lazy("Ne bis in idem (Art. 12(1)(c))"),
    "double_criminality": gettext_lazy("No double criminality (Art. 12(1)(d))"),
}
SCOPE_LABELS = {"full": gettext_lazy("In full"), "partial": gettext_lazy("In part")}
ANSWER_EVENTS = {
    eevidence.EPOC: (Event.EXECUTED, Event.PARTIALLY_EXECUTED),
    eevidence.EPOC_PR: (Event.PRESERVED,),
}
COUNTED_EVENTS = (
    Event.IMPOSSIBILITY_REPORTED,
    Event.NO_GROUNDS,
    Event.GROUNDS_RAISED,
    Event.ENFORCING_NOTIFIED,
)


# The period ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EevidencePeriod:
    date_from: datetime.date
    date_to: datetime.date  # included
    time_zone: str


def eevidence_period(
    *,
    authority: Authority,
    year: int | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> EevidencePeriod:
    """The days counted: from and until the dates given, else the calendar ``year``, else
    the current year, all in the authority's time zone."""
    zone = authority_zone(authority)
    if date_from or date_to:
        if year is not None:
            date_from = date_from or datetime.date(year, 1, 1)
            date_to = date_to or datetime.date(year, 12, 31)
        today = timezone.now().astimezone(zone).date()
        start = date_from or datetime.date(today.year, 1, 1)
        end = date_to or today
    else:
        if year is None:
            year = timezone.now().astimezone(zone).year
        if not 1 <= year <= 9998:
            raise ApplicationError(_("Unknown year."), extra={"field": "year"})
        start, end = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    if start > end:
        raise ApplicationError(_("The period ends before it starts."), extra={"field": "date_to"})
    return EevidencePeriod(date_from=start, date_to=end, time_zone=str(zone))


# The figures --------------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateFigures:
    """One side's certificates of one kind (EPOC or EPOC-PR) in the period."""

    code: str
    label: str
    total: int
    by_category: list[Tally]  # a certificate asking for several categories counts in each
    by_other_party: list[Tally]  # issued: the addressee; received: the issuing authority
    emergency: int
    not_emergency: int
    complied: int
    complied_in_part: int  # among ``complied``: partially executed (EPOC)
    not_complied: list[Tally]  # by why: impossible, refused, withdrawn
    pending: int
    annex_iii_reasons: list[Tally]  # the reasons the Annex III reports gave
    average_hours: float | None  # issue (or receipt) to data, or to preservation
    timed: int  # how many certificates that average is over


@dataclass(frozen=True)
class NotificationFigures:
    """One side's notifications to the enforcing authority (Art. 8) and its decisions."""

    total: int
    no_grounds: int
    grounds_raised: int
    by_scope: list[Tally]
    by_ground: list[Tally]


@dataclass(frozen=True)
class OtherMeansFigures:
    direction: str
    item: str
    label: str
    count: int
    size_bytes: int


@dataclass(frozen=True)
class Side:
    direction: str
    certificates: list[CertificateFigures]
    notifications: NotificationFigures
    notified_certificates: int  # certificates whose copy records enforcing_notified


@dataclass(frozen=True)
class EevidenceStatistics:
    authority: Authority
    period: EevidencePeriod
    issued: Side
    received: Side
    other_means: list[OtherMeansFigures]

    @property
    def sides(self) -> tuple[Side, Side]:
        return (self.issued, self.received)


def _tallies(counted: Mapping[str, int], labels: Mapping[str, Any]) -> list[Tally]:
    order = list(labels)
    keys = sorted(
        (key for key, n in counted.items() if n),
        key=lambda key: (order.index(key) if key in order else len(order), key),
    )
    return [
        Tally(key=key, label=str(labels.get(key, key or _("None given"))), count=counted[key])
        for key in keys
    ]


def _side_requests(
    *, authority: Authority, direction: str, span: tuple[Any, Any]
) -> QuerySet[Request]:
    if direction == OUTGOING:
        return Request.objects.filter(
            within("sent_at", span), issuing_authority_id=authority.pk, direction=OUTGOING
        ).order_by()
    return Request.objects.filter(
        within("received_at", span), executing_authority_id=authority.pk, direction=INCOMING
    ).order_by()


def _request_rows(sides: Mapping[str, QuerySet[Request]]) -> list[Mapping[str, Any]]:
    """One aggregate query: both sides' certificates and notifications grouped by side,
    type, state, other party, data categories, deadline and whether the data were
    preserved, with the time to the data or the preservation summed."""
    # An EPOC is answered by executed or partially_executed, an EPOC-PR by preserved: a
    # certificate never records the other's, so one subquery serves both.
    answer_events = [event for events in ANSWER_EVENTS.values() for event in events]
    answered = Subquery(
        AuditEntry.objects.filter(request=OuterRef("pk"), event__in=answer_events)
        .order_by("sequence")
        .values("at")[:1]
    )
    preserved = AuditEntry.objects.filter(request=OuterRef("pk"), event=Event.PRESERVED)
    parts = []
    for direction, requests in sides.items():
        start = "sent_at" if direction == OUTGOING else "received_at"
        # The addressee by its provider (Art. 28), its establishment's name failing one.
        other = (
            Coalesce(
                NullIf(F("executing_authority__provider_name"), Value("")),
                F("executing_authority__name"),
            )
            if direction == OUTGOING
            else F("issuing_authority__name")
        )
        parts.append(
            requests.filter(declaration_code__in=sorted(eevidence.E_EVIDENCE_DECLARATIONS))
            .annotate(answered_at=answered)
            .values(
                "declaration_code",
                "state",
                side=Value(direction, output_field=CharField()),
                other_party=other,
                categories=F(f"data__{eevidence.DATA_SECTION}__{eevidence.DATA_CATEGORIES_FIELD}"),
                deadline=F(f"data__{eevidence.DEADLINE_SECTION}__{eevidence.DEADLINE_FIELD}"),
                preserved=Exists(preserved),
            )
            .annotate(
                n=Count("id"),
                timed=Count("answered_at"),
                waited=Sum(
                    ExpressionWrapper(F("answered_at") - F(start), output_field=DurationField())
                ),
            )
        )
    first, *rest = parts
    return list(first.union(*rest, all=True))


def _certificates(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {
        code: {
            "total": 0,
            "categories": defaultdict(int),
            "other": defaultdict(int),
            "emergency": 0,
            "complied": 0,
            "in_part": 0,
            "not_complied": defaultdict(int),
            "timed": 0,
            "waited": datetime.timedelta(),
        }
        for code in CERTIFICATE_CODES
    }
    for row in rows:
        if row["declaration_code"] not in found:
            continue
        figures, n = found[row["declaration_code"]], row["n"]
        # The rules of mla.instruments.eevidence, read from the grouped values.
        data = {
            eevidence.DATA_SECTION: {eevidence.DATA_CATEGORIES_FIELD: row["categories"]},
            eevidence.DEADLINE_SECTION: {eevidence.DEADLINE_FIELD: row["deadline"]},
        }
        figures["total"] += n
        for category in eevidence.data_categories(data):
            figures["categories"][category] += n
        figures["other"][row["other_party"] or ""] += n
        if eevidence.is_emergency(data):
            figures["emergency"] += n
        state = row["state"]
        if row["declaration_code"] == eevidence.EPOC_PR:
            complied = bool(row["preserved"])
        else:
            complied = state in (Request.State.EXECUTED, Request.State.PARTIALLY_EXECUTED)
            if state == Request.State.PARTIALLY_EXECUTED:
                figures["in_part"] += n
        if complied:
            figures["complied"] += n
        elif state in NOT_COMPLIED_LABELS:
            figures["not_complied"][state] += n
        figures["timed"] += row["timed"]
        figures["waited"] += row["waited"] or datetime.timedelta()
    return found


def _entry_rows(requests: Sequence[QuerySet[Request]]) -> list[Mapping[str, Any]]:
    """One aggregate query: the entries counted, by side, type, event and payload."""
    sides = Q()
    for side in requests:
        sides |= Q(request__in=side.values("pk"))
    return list(
        AuditEntry.objects.filter(sides, event__in=COUNTED_EVENTS)
        .values(
            "event",
            direction=F("request__direction"),
            code=F("request__declaration_code"),
            reasons=F("payload__reasons"),
            ground=F("payload__ground"),
            scope=F("payload__scope"),
        )
        .annotate(n=Count("id"), requests=Count("request", distinct=True))
        .order_by()
    )


def _side(
    direction: str,
    certificates: Mapping[str, Mapping[str, Any]],
    notifications_total: int,
    entries: Iterable[Mapping[str, Any]],
) -> Side:
    reasons: dict[str, dict[str, int]] = {code: defaultdict(int) for code in CERTIFICATE_CODES}
    decisions = {"no_grounds": 0, "grounds_raised": 0}
    scopes: dict[str, int] = defaultdict(int)
    grounds: dict[str, int] = defaultdict(int)
    notified = 0
    for row in entries:
        if row["direction"] != direction:
            continue
        event, code, n = row["event"], row["code"], row["n"]
        if event == Event.IMPOSSIBILITY_REPORTED and code in reasons:
            listed = row["reasons"] if isinstance(row["reasons"], list) else []
            for reason in listed or [""]:
                reasons[code][str(reason)] += n
        elif event == Event.ENFORCING_NOTIFIED and code == eevidence.EPOC:
            notified += row["requests"]
        elif event in (Event.NO_GROUNDS, Event.GROUNDS_RAISED) and (
            code == eevidence.EPOC_NOTIFICATION
        ):
            decisions[str(event)] += n
            if event == Event.GROUNDS_RAISED:
                scopes[str(row["scope"] or "")] += n
                grounds[str(row["ground"] or "")] += n
    figures = []
    for code in CERTIFICATE_CODES:
        found = certificates[code]
        waited: datetime.timedelta = found["waited"]
        not_complied = sum(found["not_complied"].values())
        figures.append(
            CertificateFigures(
                code=code,
                label=str(CERTIFICATE_LABELS[code]),
                total=found["total"],
                by_category=_tallies(found["categories"], CATEGORY_LABELS),
                by_other_party=sorted(
                    (
                        Tally(key=name, label=name or _("Unknown"), count=n)
                        for name, n in found["other"].items()
                    ),
                    key=lambda tally: (-tally.count, tally.key),
                ),
                emergency=found["emergency"],
                not_emergency=found["total"] - found["emergency"],
                complied=found["complied"],
                complied_in_part=found["in_part"],
                not_complied=_tallies(found["not_complied"], NOT_COMPLIED_LABELS),
                pending=found["total"] - found["complied"] - not_complied,
                annex_iii_reasons=_tallies(reasons[code], ANNEX_III_REASON_LABELS),
                average_hours=(
                    waited.total_seconds() / 3600 / found["timed"] if found["timed"] else None
                ),
                timed=found["timed"],
            )
        )
    return Side(
        direction=direction,
        certificates=figures,
        notifications=NotificationFigures(
            total=notifications_total,
            no_grounds=decisions["no_grounds"],
            grounds_raised=decisions["grounds_raised"],
            by_scope=_tallies(scopes, SCOPE_LABELS),
            by_ground=_tallies(grounds, GROUND_LABELS),
        ),
        notified_certificates=notified,
    )


def _other_means(*, authority: Authority, span: tuple[Any, Any]) -> list[OtherMeansFigures]:
    """One aggregate query: the transmissions by other means the authority's copies
    recorded in the period, by direction and what was transmitted."""
    rows = (
        OtherMeansTransmission.objects.filter(within("transmitted_at", span), authority=authority)
        .values("direction", "item")
        .annotate(n=Count("id"), size=Sum("size_bytes"))
        .order_by("direction", "item")
    )
    labels = dict(TransmittedItem.choices)
    return [
        OtherMeansFigures(
            direction=row["direction"],
            item=row["item"],
            label=str(labels.get(row["item"], row["item"])),
            count=row["n"],
            size_bytes=row["size"] or 0,
        )
        for row in rows
    ]


def eevidence_statistics(*, authority: Authority, period: EevidencePeriod) -> EevidenceStatistics:
    """Every figure Art. 28 asks for, over the authority's own copies. Three queries."""
    filters = StatisticsFilter(date_from=period.date_from, date_to=period.date_to)
    span = period_span(filters, authority_zone(authority))
    assert span is not None
    sides = {
        direction: _side_requests(authority=authority, direction=direction, span=span)
        for direction in (OUTGOING, INCOMING)
    }
    rows = _request_rows(sides)
    entries = _entry_rows(list(sides.values()))

    def side(direction: str) -> Side:
        own = [row for row in rows if row["side"] == direction]
        notifications = sum(
            row["n"] for row in own if row["declaration_code"] == eevidence.EPOC_NOTIFICATION
        )
        return _side(direction, _certificates(own), notifications, entries)

    return EevidenceStatistics(
        authority=authority,
        period=period,
        issued=side(OUTGOING),
        received=side(INCOMING),
        other_means=_other_means(authority=authority, span=span),
    )


def eevidence_statistics_for_user(*, user: User, period: EevidencePeriod) -> EevidenceStatistics:
    if not can_see_statistics(user=user):
        raise ApplicationError(_("Only supervisors and auditors read the statistics."))
    return eevidence_statistics(authority=user.authority, period=period)


# The long CSV form: one row per figure ------------------------------------------------


def eevidence_statistics_rows(
    statistics: EevidenceStatistics,
) -> Iterable[tuple[str, str, str, str, str, Any]]:
    """(side, section, key, label, metric, value) for every figure, in page order, after the
    authority and the period they were computed for."""
    authority, period = statistics.authority, statistics.period
    yield (
        "",
        "authority",
        authority.identifier,
        authority.name,
        "identifier",
        authority.identifier,
    )
    yield ("", "period", "date_from", "", "value", period.date_from.isoformat())
    yield ("", "period", "date_to", "", "value", period.date_to.isoformat())
    yield ("", "period", "time_zone", "", "value", period.time_zone)
    for side in statistics.sides:
        name = "issued" if side.direction == OUTGOING else "received"
        for figures in side.certificates:
            code = figures.code
            yield (name, code, "", figures.label, "count", figures.total)
            for tally in figures.by_category:
                yield (name, f"{code}.data_category", tally.key, tally.label, "count", tally.count)
            for tally in figures.by_other_party:
                yield (name, f"{code}.other_party", tally.key, tally.label, "count", tally.count)
            yield (name, f"{code}.emergency", "yes", _("Emergency"), "count", figures.emergency)
            yield (
                name,
                f"{code}.emergency",
                "no",
                _("Not an emergency"),
                "count",
                figures.not_emergency,
            )
            yield (name, f"{code}.complied", "yes", _("Complied with"), "count", figures.complied)
            yield (
                name,
                f"{code}.complied",
                "in_part",
                _("In part"),
                "count",
                figures.complied_in_part,
            )
            for tally in figures.not_complied:
                yield (name, f"{code}.not_complied", tally.key, tally.label, "count", tally.count)
            yield (name, f"{code}.pending", "", _("Not answered yet"), "count", figures.pending)
            for tally in figures.annex_iii_reasons:
                yield (
                    name,
                    f"{code}.annex_iii_reason",
                    tally.key,
                    tally.label,
                    "count",
                    tally.count,
                )
            average = "" if figures.average_hours is None else round(figures.average_hours, 2)
            yield (name, f"{code}.average_time", "", _("Average time"), "hours", average)
            yield (name, f"{code}.average_time", "", _("Average time"), "n", figures.timed)
        notifications = side.notifications
        yield (name, "notification", "", _("Notifications"), "count", notifications.total)
        yield (
            name,
            "notification",
            "no_grounds",
            _("No ground raised"),
            "count",
            notifications.no_grounds,
        )
        yield (
            name,
            "notification",
            "grounds_raised",
            _("Ground raised"),
            "count",
            notifications.grounds_raised,
        )
        for tally in notifications.by_scope:
            yield (name, "notification.scope", tally.key, tally.label, "count", tally.count)
        for tally in notifications.by_ground:
            yield (name, "notification.ground", tally.key, tally.label, "count", tally.count)
    for row in statistics.other_means:
        side_name = "issued" if row.direction == OUTGOING else "received"
        yield (side_name, "other_means", row.item, row.label, "count", row.count)
        yield (side_name, "other_means", row.item, row.label, "size_bytes", row.size_bytes)
