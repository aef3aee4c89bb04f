"""Statistics of one authority's requests, for its supervisors and auditors (read-only).

Scope: the authority's own copies only, the outgoing requests it issued and the incoming
ones it received, never another authority's copy of the same request.

Period: an outgoing copy falls in the period by ``created_at`` (when the authority started
it, drafts included), an incoming copy by ``received_at`` (when it arrived): for each side
the moment the request entered its work. ``date_from`` and ``date_to`` are whole days in
the authority's time zone, both included.

Durations run from receipt by the executing side (``received_at``) to the acknowledgement,
the decision (recognised, preserved or refused) and, for executed or partially executed
requests, the closing. Only copies that carry both instants count, which in practice are
the incoming ones: this authority's own speed, per requesting country. They are in hours,
the median and 90th percentile by linear interpolation (PostgreSQL's ``percentile_cont``;
the same formula in Python on the embedded SQLite).

Cost, on PostgreSQL: the counts (of requests, and of deadlines met and missed) are summed
from rollups that triggers keep in the transaction of every change (StatisticsRequestCount,
StatisticsDeadlineCount: one row per UTC day and key, not per request); the hours at either
end of a period that are not whole UTC days in the authority's zone are counted from the
requests themselves. Medians and percentiles cannot be summed: they are computed from the
durations the same triggers store (StatisticsDuration, one row per request and offence
category), one (other country, request type) group at a time, each a range of an index, so
that nothing sorts the side's rows by group and no filter needs a join. Four queries (three
when no preservation lapsed), whatever the number of requests. On other databases
everything is counted from the requests. No personal data: counts, durations and
references.
"""

import datetime
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry
from django.contrib.postgres.fields import ArrayField
from django.db import connections
from django.db.models import (
    Aggregate,
    BigIntegerField,
    BooleanField,
    Case,
    CharField,
    Count,
    DurationField,
    Exists,
    Expression,
    ExpressionWrapper,
    F,
    Field,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contact_points.models import Authority, iso_name_translated
from mla.accounts.models import User
from mla.accounts.roles import Role
from mla.core.errors import ApplicationError
from mla.instruments.declarations import DECLARATIONS
from mla.instruments.declarations.eio import OFFENCE_CATEGORIES
from mla.instruments.labels import label
from mla.requests.deadlines.engine import DeadlineState
from mla.requests.events import Event
from mla.requests.models import (
    AuditEntry,
    CertificateWording,
    Deadline,
    RefusalGround,
    Request,
    RequestOffence,
    state_label,
    state_wording,
)
from mla.statistics.models import (
    StatisticsDeadlineCount,
    StatisticsDuration,
    StatisticsRequestCount,
)

STATISTICS_ROLES = (Role.SUPERVISOR, Role.AUDITOR)

BOTH = "both"
DIRECTIONS = (BOTH, Request.Direction.OUTGOING.value, Request.Direction.INCOMING.value)
INSTRUMENTS = ("eio", "mla", "preservation")  # contact_points.instruments.Instrument values
INSTRUMENT_LABELS = {
    "eio": gettext_lazy("EIO"),
    "mla": gettext_lazy("MLA"),
    "preservation": gettext_lazy("Preservation"),
}
DEADLINE_LABELS = {
    "acknowledgement": gettext_lazy("Acknowledgement of receipt"),
    "recognition": gettext_lazy("Decision on recognition"),
    "execution": gettext_lazy("Execution"),
    "provisional_measures": gettext_lazy("Decision on a provisional measure"),
    "requested_date": gettext_lazy("Date requested by the issuer"),
    "preservation": gettext_lazy("Preservation period"),
}
EXECUTED_STATES = (Request.State.EXECUTED, Request.State.PARTIALLY_EXECUTED)
PERCENTILES = (0.5, 0.9)
# The page lists this many lapsed preservations; the CSV export lists them all.
LAPSED_PAGE_LIMIT = 100


def codes_of(instrument: str) -> list[str]:
    """The declaration codes of a directory instrument (e.g. mla and mla_subscriber)."""
    return sorted(
        code
        for code, declaration in DECLARATIONS.items()
        if declaration.directory_instrument == instrument
    )


def instrument_of(declaration_code: str) -> str:
    declaration = DECLARATIONS.get(declaration_code)
    return declaration.directory_instrument if declaration else declaration_code


def instrument_label(instrument: str) -> str:
    return str(INSTRUMENT_LABELS.get(instrument, instrument))


def offence_label(category: str, language: str) -> str:
    return label(f"eio.G.offence_categories.{category}", language)


def offence_choices(language: str) -> list[tuple[str, str]]:
    """The EIO Annex D offence categories, by their label in ``language``."""
    return sorted(
        ((category, offence_label(category, language)) for category in OFFENCE_CATEGORIES),
        key=lambda pair: pair[1].casefold(),
    )


@cache
def _english_country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code) if code else None
    return str(country.name) if country else ""


def country_label(code: str) -> str:
    """The country's name in the interface language, with its code."""
    if not code:
        return _("Unknown")
    name = _english_country_name(code)
    return f"{iso_name_translated('iso3166-1', name)} ({code})" if name else code


def can_see_statistics(*, user: object) -> bool:
    return isinstance(user, User) and any(user.has_role(role) for role in STATISTICS_ROLES)


# Filters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatisticsFilter:
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    direction: str = BOTH
    instrument: str = ""  # one of INSTRUMENTS, or any
    offence: str = ""  # one of OFFENCE_CATEGORIES, or any


def _check(filters: StatisticsFilter) -> None:
    if filters.direction not in DIRECTIONS:
        raise ApplicationError(_("Unknown direction."), extra={"field": "direction"})
    if filters.instrument and filters.instrument not in INSTRUMENTS:
        raise ApplicationError(_("Unknown instrument."), extra={"field": "instrument"})
    if filters.offence and filters.offence not in OFFENCE_CATEGORIES:
        raise ApplicationError(_("Unknown offence category."), extra={"field": "offence"})
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise ApplicationError(_("The period ends before it starts."), extra={"field": "date_to"})


def _zone(authority: Authority) -> ZoneInfo:
    try:
        return ZoneInfo(authority.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _midnight(day: datetime.date, zone: ZoneInfo) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=zone)


Span = tuple[datetime.datetime | None, datetime.datetime | None]  # [from, until); None: open


def _period(filters: StatisticsFilter, zone: ZoneInfo) -> Span | None:
    """The filters' days as instants; None for all time."""
    if not filters.date_from and not filters.date_to:
        return None
    start = _midnight(filters.date_from, zone) if filters.date_from else None
    next_day = filters.date_to + datetime.timedelta(days=1) if filters.date_to else None
    return (start, _midnight(next_day, zone) if next_day else None)


def _within(field: str, span: Span | None) -> Q:
    within = Q()
    if span is not None and span[0] is not None:
        within &= Q(**{f"{field}__gte": span[0]})
    if span is not None and span[1] is not None:
        within &= Q(**{f"{field}__lt": span[1]})
    return within


@dataclass(frozen=True)
class Side:
    """One side of the authority's work: its outgoing or its incoming copies."""

    direction: str
    requests: QuerySet[Request]  # the copies of this side the filters select, unordered
    other_country: F  # the country of the other side, on these copies
    # On PostgreSQL: the (country, request type) groups these copies fall in, as the counts
    # found them, and the durations of these copies (StatisticsDuration rows).
    groups: tuple["Group", ...] | None = None
    durations: QuerySet[StatisticsDuration] | None = None


def _sides(*, authority: Authority, filters: StatisticsFilter, span: Span | None) -> list[Side]:
    outgoing, incoming = Request.Direction.OUTGOING, Request.Direction.INCOMING
    sides = []
    if filters.direction in (BOTH, outgoing):
        requests = Request.objects.filter(
            _within("created_at", span),
            issuing_authority_id=authority.pk,
            direction=outgoing,
        )
        sides.append(Side(outgoing, requests, F("executing_country__code")))
    if filters.direction in (BOTH, incoming):
        requests = Request.objects.filter(
            _within("received_at", span),
            executing_authority_id=authority.pk,
            direction=incoming,
        )
        sides.append(Side(incoming, requests, F("issuing_country_code")))
    narrowed = Q()
    if filters.instrument:
        narrowed &= Q(declaration_code__in=codes_of(filters.instrument))
    if filters.offence:
        narrowed &= Q(
            Exists(RequestOffence.objects.filter(request=OuterRef("pk"), category=filters.offence))
        )
    return [
        Side(side.direction, side.requests.filter(narrowed).order_by(), side.other_country)
        for side in sides
    ]


def statistics_sides(*, authority: Authority, filters: StatisticsFilter) -> list[Side]:
    """The authority's own copies that the filters select, one queryset per direction.

    Apart, because each side is then read from its own covering index (see the
    statistics_indexes migration) without visiting the table; the aggregates below are the
    UNION ALL of both sides' parts, still one query each."""
    _check(filters)
    return _sides(authority=authority, filters=filters, span=_period(filters, _zone(authority)))


def _union_all(querysets: Sequence[QuerySet[Any, Any]]) -> QuerySet[Any, Any]:
    first, *rest = querysets
    return first.union(*rest, all=True) if rest else first


def _group_instrument(declaration_code: str) -> str:
    """What _instrument() gives in SQL: the instrument, or the code of an unknown type."""
    return next(
        (code for code in INSTRUMENTS if declaration_code in codes_of(code)), declaration_code
    )


def _instrument() -> Case:
    return Case(
        *(When(declaration_code__in=codes_of(code), then=Value(code)) for code in INSTRUMENTS),
        default=F("declaration_code"),
        output_field=CharField(),
    )


def _lapsed() -> Q:
    """A preservation that expired without a request for the data following it up."""
    # In this order: the subquery runs only for the expired preservations.
    followed_up = AuditEntry.objects.filter(request=OuterRef("pk"), event=Event.FOLLOWED_UP)
    return Q(
        Q(declaration_code__in=codes_of("preservation"), state=Request.State.EXPIRED),
        ~Exists(followed_up),
    )


# The rollups --------------------------------------------------------------------------


def _rollups_kept() -> bool:
    """Whether triggers keep the rollups: on PostgreSQL (migration statistics_rollup)."""
    return connections[Request.objects.db].vendor == "postgresql"


_DAY = datetime.timedelta(days=1)


def _utc_midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)


@dataclass(frozen=True)
class _Cut:
    """A period as the rollups can give it: the whole UTC days in it, from the rollup rows
    (``days``: the first and the one after the last, None when open; None when the period
    holds no whole UTC day), and the hours left at either end, from the requests."""

    dated: bool  # a period was asked for: the rows without a day are left out
    days: tuple[datetime.date | None, datetime.date | None] | None
    edges: tuple[Span, ...]


def _cut(period: Span | None) -> _Cut:
    if period is None:
        return _Cut(dated=False, days=(None, None), edges=())
    start, stop = period
    first = end = None
    if start is not None:
        utc = start.astimezone(datetime.UTC)
        first = utc.date() if utc == _utc_midnight(utc.date()) else utc.date() + _DAY
    if stop is not None:
        end = stop.astimezone(datetime.UTC).date()
    if first is not None and end is not None and first >= end:
        return _Cut(dated=True, days=None, edges=(period,))
    edges = []
    if start is not None and first is not None and start != _utc_midnight(first):
        edges.append((start, _utc_midnight(first)))
    if stop is not None and end is not None and stop != _utc_midnight(end):
        edges.append((_utc_midnight(end), stop))
    return _Cut(dated=True, days=(first, end), edges=tuple(edges))


def _rollup(
    rows: QuerySet[Any, Any], *, authority: Authority, filters: StatisticsFilter, cut: _Cut
) -> QuerySet[Any, Any]:
    """The rollup rows of the period's whole days that the filters select."""
    assert cut.days is not None
    first, end = cut.days
    rows = rows.filter(authority_id=authority.pk, offence=filters.offence)
    if cut.dated:
        rows = (
            rows.filter(day__gte=first)
            if first
            else rows.filter(day__gt=StatisticsRequestCount.UNDATED)
        )
    if end is not None:
        rows = rows.filter(day__lt=end)
    if filters.instrument:
        rows = rows.filter(declaration_code__in=codes_of(filters.instrument))
    return rows.order_by()


def _parts(
    *,
    authority: Authority,
    filters: StatisticsFilter,
    from_rollup: Callable[[str, _Cut], QuerySet[Any, Any]],
    from_requests: Callable[[Side], QuerySet[Any, Any]],
) -> list[QuerySet[Any, Any]]:
    """The querysets whose UNION ALL gives a section's rows: on PostgreSQL the rollups for
    the period's whole UTC days and the requests for the hours left at either end;
    elsewhere the requests of the whole period."""
    if not _rollups_kept():
        return [
            from_requests(side) for side in statistics_sides(authority=authority, filters=filters)
        ]
    _check(filters)
    cut = _cut(_period(filters, _zone(authority)))
    parts = []
    if cut.days is not None:
        outgoing, incoming = Request.Direction.OUTGOING.value, Request.Direction.INCOMING.value
        parts += [
            from_rollup(direction, cut)
            for direction in (outgoing, incoming)
            if filters.direction in (BOTH, direction)
        ]
    for span in cut.edges:
        parts += [
            from_requests(side) for side in _sides(authority=authority, filters=filters, span=span)
        ]
    return parts


# Counts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    key: str
    label: str
    count: int


@dataclass(frozen=True)
class Counts:
    total: int
    by_instrument: list[Tally]
    by_country: list[Tally]
    by_state: list[Tally]
    refusal_grounds: list[Tally]
    lapsed: int  # preservations that expired without a follow-up


@dataclass(frozen=True)
class Group:
    """The copies of one row of the durations: a side, the other side's country, a type."""

    direction: str
    country: str
    country_id: int | None  # on the outgoing side, the executing country's id
    instrument: str
    codes: frozenset[str]  # the declaration codes of that type among them


def _tallies(
    counted: Mapping[str, int], order: Sequence[str], labelled: Callable[[str], str]
) -> list[Tally]:
    rank = {key: position for position, key in enumerate(order)}
    keys = sorted(counted, key=lambda key: (rank.get(key, len(rank)), key))
    return [Tally(key=key, label=labelled(key), count=counted[key]) for key in keys]


# The states' tallies in order, an e-Evidence certificate's own wordings after them.
STATE_ORDER = (*Request.State.values, *CertificateWording.values)


def _state_label(wording: str) -> str:
    return str(state_label(state=wording))


def _ground_label(ground: str) -> str:
    if not ground:
        return _("No ground given")
    return str(RefusalGround(ground).label) if ground in RefusalGround.values else ground


def _country_id(direction: str) -> Any:
    if direction == Request.Direction.OUTGOING:
        return F("executing_country_id")
    return Value(None, output_field=BigIntegerField())


def _counted_rows(*, authority: Authority, filters: StatisticsFilter) -> list[Mapping[str, Any]]:
    """(side, declaration code, state, ground, country, country id): how many, how many
    lapsed. One query."""

    def from_rollup(direction: str, cut: _Cut) -> QuerySet[Any, Any]:
        country = (
            F("executing_country__code")
            if direction == Request.Direction.OUTGOING
            else F("issuing_country_code")
        )
        lapsed = Q(
            followed_up=False,
            state=Request.State.EXPIRED,
            declaration_code__in=codes_of("preservation"),
        )
        return (
            _rollup(
                StatisticsRequestCount.objects.filter(direction=direction),
                authority=authority,
                filters=filters,
                cut=cut,
            )
            .values(
                "declaration_code",
                "state",
                "outcome_ground",
                side=Value(direction, output_field=CharField()),
                country=country,
                country_id=_country_id(direction),
            )
            .annotate(tally=Sum("n"), lapsed=Sum("n", filter=lapsed, default=0))
        )

    def from_requests(side: Side) -> QuerySet[Any, Any]:
        return side.requests.values(
            "declaration_code",
            "state",
            "outcome_ground",
            side=Value(side.direction, output_field=CharField()),
            country=side.other_country,
            country_id=_country_id(side.direction),
        ).annotate(tally=Count("*"), lapsed=Count("id", filter=_lapsed()))

    parts = _parts(
        authority=authority, filters=filters, from_rollup=from_rollup, from_requests=from_requests
    )
    return [row for row in _union_all(parts) if row["tally"]] if parts else []


def _counts(rows: Iterable[Mapping[str, Any]]) -> Counts:
    instruments: dict[str, int] = defaultdict(int)
    countries: dict[str, int] = defaultdict(int)
    states: dict[str, int] = defaultdict(int)
    grounds: dict[str, int] = defaultdict(int)
    lapsed = 0
    for row in rows:
        n = row["tally"]
        lapsed += row["lapsed"]
        instruments[instrument_of(row["declaration_code"])] += n
        countries[row["country"] or ""] += n
        # A certificate's state counts under its own words ("data produced", not "executed").
        wording = state_wording(
            state=row["state"], declaration_code=row["declaration_code"], direction=row["side"]
        )
        states[wording] += n
        if row["state"] == Request.State.REFUSED:
            grounds[row["outcome_ground"]] += n
    by_country = sorted(
        (Tally(key=code, label=country_label(code), count=n) for code, n in countries.items()),
        key=lambda tally: (-tally.count, tally.key),
    )
    return Counts(
        total=sum(states.values()),
        by_instrument=_tallies(instruments, INSTRUMENTS, instrument_label),
        by_country=by_country,
        by_state=_tallies(states, STATE_ORDER, _state_label),
        refusal_grounds=_tallies(grounds, RefusalGround.values, _ground_label),
        lapsed=lapsed,
    )


def _groups(rows: Iterable[Mapping[str, Any]]) -> dict[str, tuple[Group, ...]]:
    """Each side's (country, request type) groups among the counted rows."""
    codes: dict[tuple[str, str, int | None, str], set[str]] = defaultdict(set)
    for row in rows:
        country = row["country"] or ""
        instrument = _group_instrument(row["declaration_code"])
        codes[(row["side"], country, row["country_id"], instrument)].add(row["declaration_code"])
    groups: dict[str, list[Group]] = defaultdict(list)
    for (direction, country, country_id, instrument), found in sorted(
        codes.items(), key=lambda item: (item[0][0], item[0][1], item[0][3])
    ):
        groups[direction].append(
            Group(direction, country, country_id, instrument, frozenset(found))
        )
    return {direction: tuple(found) for direction, found in groups.items()}


def statistics_counts(*, authority: Authority, filters: StatisticsFilter) -> Counts:
    """Requests by instrument, by the other side's country and by state, the grounds of the
    refusals, and the preservations that lapsed. One query."""
    return _counts(_counted_rows(authority=authority, filters=filters))


# Durations ----------------------------------------------------------------------------


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set ``percentile_cont(fractions) WITHIN GROUP (ORDER BY …)``: the
    percentiles at each fraction, from one sort of the values."""

    function = "PERCENTILE_CONT"
    name = "PercentileCont"
    template = "%(function)s(%(percentiles)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, *, fractions: Sequence[float], **extra: Any) -> None:
        # Interpolated into the SQL: numbers, never text.
        numbers = [float(fraction) for fraction in fractions]
        for fraction in numbers:
            if not 0 <= fraction <= 1:
                raise ValueError(f"A percentile is a fraction between 0 and 1, not {fraction}.")
        percentiles = f"ARRAY[{', '.join(map(repr, numbers))}]::double precision[]"
        super().__init__(
            expression,
            percentiles=percentiles,
            output_field=ArrayField(FloatField()),
            **extra,
        )


@dataclass(frozen=True)
class Spread:
    """A duration's distribution in hours: how many, the median and the 90th percentile."""

    n: int
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class DurationRow:
    direction: str
    country: str
    country_label: str
    instrument: str
    instrument_label: str
    acknowledge: Spread
    decide: Spread
    execute: Spread

    @property
    def key(self) -> str:
        return f"{self.direction}:{self.country}:{self.instrument}"

    @property
    def label(self) -> str:
        return f"{self.country_label} · {self.instrument_label}"


# measure -> (end instant, the states it applies to, or None for all)
MEASURES: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "acknowledge": ("acknowledged_at", None),
    "decide": ("decided_at", None),
    "execute": ("closed_at", EXECUTED_STATES),
}


def percentile_cont(values: Sequence[float], fraction: float) -> float | None:
    """What ``percentile_cont`` gives: linear interpolation between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower, upper = math.floor(position), math.ceil(position)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else float(seconds) / 3600


def _seconds(end: str) -> Func:
    # DATE_PART over the interval gives a double precision, which sorts faster than the
    # interval itself or the numeric that EXTRACT gives (a third less time at 250,000 rows).
    elapsed = ExpressionWrapper(F(end) - F("received_at"), output_field=DurationField())
    return Func(Value("epoch"), elapsed, function="DATE_PART", output_field=FloatField())


def _spread_aggregates() -> dict[str, Any]:
    aggregates: dict[str, Any] = {"rows": Count("*")}
    for measure, (end, states) in MEASURES.items():
        only = Q(state__in=states) if states else None
        aggregates[f"{measure}_n"] = Count(end, filter=only)
        aggregates[f"{measure}_spread"] = PercentileCont(
            _seconds(end), fractions=PERCENTILES, filter=only
        )
    return aggregates


class _Slot(Expression):
    """A parameter of a query compiled once and run for several values (_group_parts)."""

    def __init__(self, output_field: "Field[Any, Any]") -> None:
        super().__init__(output_field=output_field)
        self.marker = object()

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        return "%s", (self.marker,)

    def get_group_by_cols(self) -> list[Any]:
        return []  # a constant


class _EqualsAny(Expression):
    """``column = ANY(array)``: one SQL text for any number of values."""

    output_field = BooleanField()

    def __init__(self, column: str, values: Expression) -> None:
        super().__init__()
        self.column, self.values = F(column), values

    def get_source_expressions(self) -> list[Any]:
        return [self.column, self.values]

    def set_source_expressions(self, expressions: Sequence[Any]) -> None:
        self.column, self.values = expressions

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        column, column_params = compiler.compile(self.column)
        values, values_params = compiler.compile(self.values)
        return f"{column} = ANY({values})", (*column_params, *values_params)


def _group_parts(
    side: Side, durations: QuerySet[StatisticsDuration], groups: Sequence[Group]
) -> list[tuple[str, Sequence[Any]]]:
    """The SQL of each (country, request type) group of a side: a range of its durations'
    index (stats_durations_*), so that the percentiles sort only the group's durations and
    nothing sorts the side's rows by group. One row each; ``rows`` 0 when none of the group's
    copies carries a receipt.

    Compiled once per side and run with each group's values: building and compiling one
    queryset per group costs milliseconds of Python each, more than the query itself for an
    authority dealing with many countries."""
    country, instrument = _Slot(CharField()), _Slot(CharField())
    # The other side's country as the rows hold it: the executing country's id on the
    # outgoing side, the issuing country's code on the incoming one.
    codes, other = _Slot(CharField()), _Slot(CharField())
    outgoing = side.direction == Request.Direction.OUTGOING
    aggregates: dict[str, Any] = {"rows": Count("*")}
    for measure in MEASURES:
        aggregates[f"{measure}_n"] = Count(measure)
        aggregates[f"{measure}_spread"] = PercentileCont(F(measure), fractions=PERCENTILES)
    sql, template = (
        durations.filter(
            _EqualsAny("declaration_code", codes),
            Q(executing_country_id=other) if outgoing else Q(issuing_country_code=other),
        )
        .values(
            side=Value(side.direction, output_field=CharField()),
            country=country,
            instrument=instrument,
        )
        .annotate(**aggregates)
        .query.sql_with_params()
    )
    parts: list[tuple[str, Sequence[Any]]] = []
    for group in groups:
        # By identity: the markers are the only parameters that are these objects.
        values = {
            id(country.marker): group.country,
            id(instrument.marker): group.instrument,
            id(codes.marker): sorted(group.codes),
            id(other.marker): group.country_id if outgoing else group.country,
        }
        parts.append((sql, [values.get(id(param), param) for param in template]))
    return parts


def _spreads_in_database(sides: Sequence[Side]) -> list[Mapping[str, Any]]:
    parts: list[tuple[str, Sequence[Any]]] = []
    for side in sides:
        if side.groups is not None and side.durations is not None:
            parts += _group_parts(side, side.durations, side.groups) if side.groups else []
            continue
        # Without the stored durations: one GROUP BY over the side's requests.
        grouped = (
            side.requests.filter(received_at__isnull=False)
            # The side as a constant: selecting the direction column itself would make the
            # scan visit the table (it is in the index's condition, not its columns).
            .values(
                side=Value(side.direction, output_field=CharField()),
                country=side.other_country,
                instrument=_instrument(),
            )
            .annotate(**_spread_aggregates())
        )
        parts.append(grouped.query.sql_with_params())
    if not parts:
        return []
    with connections[Request.objects.db].cursor() as cursor:
        cursor.execute(
            " UNION ALL ".join(f"({sql})" for sql, _params in parts),
            [param for _sql, params in parts for param in params],
        )
        columns = [column.name for column in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        for measure in MEASURES:
            spread = row.pop(f"{measure}_spread") or [None] * len(PERCENTILES)
            for fraction, value in zip(PERCENTILES, spread, strict=True):
                row[f"{measure}_{fraction}"] = value
    return [row for row in rows if row["rows"]]


def _spreads_in_python(sides: Sequence[Side]) -> list[Mapping[str, Any]]:
    # SQLite has no percentile_cont; the embedded default is small enough to read.
    groups: dict[tuple[str, str, str], dict[str, list[float]]] = defaultdict(
        lambda: {measure: [] for measure in MEASURES}
    )
    rows = _union_all(
        [
            side.requests.filter(received_at__isnull=False).values_list(
                Value(side.direction, output_field=CharField()),
                side.other_country,
                _instrument(),
                "state",
                "received_at",
                *(end for end, _states in MEASURES.values()),
            )
            for side in sides
        ]
    )
    for direction, country, instrument, state, received, *ends in rows:
        values = groups[(direction, country, instrument)]
        for (measure, (_end, states)), end in zip(MEASURES.items(), ends, strict=True):
            if end is not None and (states is None or state in states):
                values[measure].append((end - received).total_seconds())
    result: list[Mapping[str, Any]] = []
    for (direction, country, instrument), values in groups.items():
        row: dict[str, Any] = {"side": direction, "country": country}
        row["instrument"] = instrument
        for measure, seconds in values.items():
            row[f"{measure}_n"] = len(seconds)
            for fraction in PERCENTILES:
                row[f"{measure}_{fraction}"] = percentile_cont(seconds, fraction)
        result.append(row)
    return result


def _durations(sides: Sequence[Side]) -> list[DurationRow]:
    rows: list[Mapping[str, Any]]
    if connections[Request.objects.db].vendor == "postgresql":
        rows = _spreads_in_database(sides)
    else:
        rows = _spreads_in_python(sides)

    def spread(row: Mapping[str, Any], measure: str) -> Spread:
        median, p90 = (_hours(row[f"{measure}_{fraction}"]) for fraction in PERCENTILES)
        return Spread(n=row[f"{measure}_n"], median=median, p90=p90)

    ordered = sorted(rows, key=lambda row: (row["side"], row["country"] or "", row["instrument"]))
    return [
        DurationRow(
            direction=row["side"],
            country=row["country"] or "",
            country_label=country_label(row["country"] or ""),
            instrument=row["instrument"],
            instrument_label=instrument_label(row["instrument"]),
            acknowledge=spread(row, "acknowledge"),
            decide=spread(row, "decide"),
            execute=spread(row, "execute"),
        )
        for row in ordered
    ]


def _with_durations(
    sides: Sequence[Side],
    groups: Mapping[str, tuple[Group, ...]],
    *,
    authority: Authority,
    filters: StatisticsFilter,
) -> list[Side]:
    """The sides with their groups and their stored durations (PostgreSQL)."""
    period = _period(filters, _zone(authority))
    durations = StatisticsDuration.objects.filter(
        _within("instant", period), authority_id=authority.pk, offence=filters.offence
    )
    if filters.instrument:
        durations = durations.filter(declaration_code__in=codes_of(filters.instrument))
    return [
        Side(
            side.direction,
            side.requests,
            side.other_country,
            groups.get(side.direction, ()),
            durations.filter(direction=side.direction).order_by(),
        )
        for side in sides
    ]


def statistics_durations(*, authority: Authority, filters: StatisticsFilter) -> list[DurationRow]:
    """Time to acknowledge, to decide and to execute, by direction, the other side's country
    and instrument. On PostgreSQL two queries: the groups (from the counts), then their
    stored durations."""
    sides = statistics_sides(authority=authority, filters=filters)
    if _rollups_kept():
        groups = _groups(_counted_rows(authority=authority, filters=filters))
        sides = _with_durations(sides, groups, authority=authority, filters=filters)
    return _durations(sides)


# Deadlines ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineTally:
    code: str
    label: str
    on_time: int
    late: int  # met, but after the due instant
    missed: int


def statistics_deadlines(*, authority: Authority, filters: StatisticsFilter) -> list[DeadlineTally]:
    """Deadlines met on time, met late and missed, by deadline. One query."""

    def from_rollup(direction: str, cut: _Cut) -> QuerySet[Any, Any]:
        rows = StatisticsDeadlineCount.objects.filter(direction=direction)
        return (
            _rollup(rows, authority=authority, filters=filters, cut=cut)
            .values("code", "state", "late")
            .annotate(tally=Sum("n"))
        )

    def from_requests(side: Side) -> QuerySet[Any, Any]:
        # A GROUP BY per side rather than one over both sides' ids: the planner sizes each
        # side's ids right (for a union of them it guesses 200 and probes the deadlines of
        # every request one by one).
        return (
            Deadline.objects.filter(
                request__in=side.requests.values("pk"),
                state__in=[DeadlineState.MET, DeadlineState.MISSED],
            )
            .values("code", "state", "late")
            .annotate(tally=Count("id"))
            .order_by()
        )

    parts = _parts(
        authority=authority, filters=filters, from_rollup=from_rollup, from_requests=from_requests
    )
    counted: dict[str, dict[str, int]] = defaultdict(lambda: {"on_time": 0, "late": 0, "missed": 0})
    for row in _union_all(parts) if parts else []:
        if row["state"] == DeadlineState.MISSED:
            bucket = "missed"
        else:
            bucket = "late" if row["late"] else "on_time"
        counted[row["code"]][bucket] += row["tally"]
    order = list(DEADLINE_LABELS)
    return [
        DeadlineTally(code=code, label=str(DEADLINE_LABELS.get(code, code)), **counted[code])
        for code in sorted(
            (code for code, found in counted.items() if any(found.values())),
            key=lambda code: (order.index(code) if code in order else 99, code),
        )
    ]


# Lapsed preservations -----------------------------------------------------------------


@dataclass(frozen=True)
class LapsedPreservations:
    count: int
    references: list[str]  # the most recently closed first, perhaps not all


def statistics_lapsed_preservations(
    *, authority: Authority, filters: StatisticsFilter, limit: int | None = LAPSED_PAGE_LIMIT
) -> list[str]:
    """References of the preservation requests that expired without being followed up by a
    request for the data (Budapest Art. 29(7)), most recently closed first, at most
    ``limit``; statistics_counts counts them all. One query, over the expired copies only
    (request_expired_* indexes)."""
    sides = statistics_sides(authority=authority, filters=filters)
    lapsed = _union_all([side.requests.filter(_lapsed()).values("pk") for side in sides])
    listed = (
        Request.objects.filter(pk__in=lapsed)
        .order_by(F("closed_at").desc(nulls_last=True), "-id")
        .values_list("reference", flat=True)
    )
    return list(listed if limit is None else listed[:limit])


# Everything ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthorityStatistics:
    authority: Authority
    filters: StatisticsFilter
    counts: Counts
    durations: list[DurationRow]
    deadlines: list[DeadlineTally]
    lapsed: LapsedPreservations


def authority_statistics(
    *,
    authority: Authority,
    filters: StatisticsFilter,
    lapsed_limit: int | None = LAPSED_PAGE_LIMIT,
) -> AuthorityStatistics:
    """Every section of the statistics page: four queries, three when no preservation
    lapsed."""
    rows = _counted_rows(authority=authority, filters=filters)
    counts = _counts(rows)
    references = (
        statistics_lapsed_preservations(authority=authority, filters=filters, limit=lapsed_limit)
        if counts.lapsed
        else []
    )
    sides = statistics_sides(authority=authority, filters=filters)
    if _rollups_kept():
        sides = _with_durations(sides, _groups(rows), authority=authority, filters=filters)
    return AuthorityStatistics(
        authority=authority,
        filters=filters,
        counts=counts,
        durations=_durations(sides),
        deadlines=statistics_deadlines(authority=authority, filters=filters),
        lapsed=LapsedPreservations(count=counts.lapsed, references=references),
    )


def statistics_for_user(
    *, user: User, filters: StatisticsFilter, lapsed_limit: int | None = LAPSED_PAGE_LIMIT
) -> AuthorityStatistics:
    """The statistics of the user's own authority; only its supervisors and auditors read
    them (the view answers 404 to anyone else, as for anything they may not see)."""
    if not can_see_statistics(user=user):
        raise ApplicationError(_("Only supervisors and auditors read the statistics."))
    return authority_statistics(
        authority=user.authority, filters=filters, lapsed_limit=lapsed_limit
    )


# The long CSV form: one row per figure ------------------------------------------------


def statistics_rows(statistics: AuthorityStatistics) -> Iterable[tuple[str, str, str, str, Any]]:
    """(section, key, label, metric, value) for every figure, in page order, after the
    authority and the filters they were computed for."""
    authority, filters = statistics.authority, statistics.filters
    yield ("authority", authority.identifier, authority.name, "identifier", authority.identifier)
    for name in ("date_from", "date_to", "direction", "instrument", "offence"):
        value = getattr(filters, name)
        yield (
            "filter",
            name,
            "",
            "value",
            value.isoformat() if value and name.startswith("date") else value or "",
        )
    counts = statistics.counts
    yield ("total", "", _("Requests"), "count", counts.total)
    for section, tallies in (
        ("instrument", counts.by_instrument),
        ("country", counts.by_country),
        ("state", counts.by_state),
        ("refusal_ground", counts.refusal_grounds),
    ):
        for tally in tallies:
            yield (section, tally.key, tally.label, "count", tally.count)
    for row in statistics.durations:
        for measure in MEASURES:
            spread: Spread = getattr(row, measure)
            label_ = f"{Request.Direction(row.direction).label} · {row.label}"
            yield (f"time_to_{measure}", row.key, label_, "n", spread.n)
            yield (f"time_to_{measure}", row.key, label_, "median_hours", _round(spread.median))
            yield (f"time_to_{measure}", row.key, label_, "p90_hours", _round(spread.p90))
    for deadline in statistics.deadlines:
        for metric in ("on_time", "late", "missed"):
            yield ("deadline", deadline.code, deadline.label, metric, getattr(deadline, metric))
    lapsed = statistics.lapsed
    yield ("lapsed_preservation", "", _("Lapsed preservations"), "count", lapsed.count)
    for reference in lapsed.references:
        yield ("lapsed_preservation", reference, reference, "reference", reference)


def _round(value: float | None) -> float | str:
    return "" if value is None else round(value, 2)
