"""Read-side queries of requests.

Until per-object permissions arrive with the lifecycle, a user sees the requests of their
own authority; a request they may not see answers 404, as one that does not exist.
"""

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet, Window
from django.utils import timezone
from django.utils.translation import gettext as _

from contact_points.instruments import instrument_applicability
from contact_points.models import AcceptedLanguages, Authority, AuthorityInstrument, Country
from mla.accounts.models import User
from mla.accounts.selectors import users_with_roles
from mla.accounts.services import authority_group
from mla.core.errors import ApplicationError
from mla.instruments.declarations import DECLARATIONS, InstrumentDeclaration
from mla.instruments.labels import label
from mla.requests.access import visible_requests
from mla.requests.deadlines.engine import DeadlineState, format_remaining, in_zone
from mla.requests.lifecycle.rules import executing_roles
from mla.requests.models import (
    Attachment,
    AuditEntry,
    Request,
    RequestGroupObjectPermission,
    RequestLink,
    RequestUserObjectPermission,
)


def receiving_authorities(
    *, country: Country, declaration: InstrumentDeclaration
) -> QuerySet[Authority]:
    """Active authorities of ``country`` that the directory lists as receiving this type."""
    return Authority.objects.filter(
        country=country,
        active=True,
        id__in=AuthorityInstrument.objects.filter(
            instrument=declaration.directory_instrument
        ).values("authority_id"),
    ).order_by("-available_24_7", "name")


@dataclass(frozen=True)
class DraftingOption:
    """One request type as offered on the new-request page for a country."""

    declaration: InstrumentDeclaration
    title: str
    applies: bool
    reason: str  # why not, when it does not apply
    languages: list[str]  # the executing country accepts these for it
    authorities: list[Authority]  # receivers in that country
    # Why the instrument applies between the two countries, when it does ("Both countries
    # take part in the e-Evidence Regulation (EU) 2023/1543.").
    basis: str = ""


def drafting_options(
    *, user: User, executing_country: Country, language: str
) -> list[DraftingOption]:
    policies = {
        policy.instrument: sorted(code.code for code in policy.languages.all())
        for policy in AcceptedLanguages.objects.filter(country=executing_country).prefetch_related(
            "languages"
        )
    }
    options = []
    # A copy the system makes (the EPOC's for the enforcing authority) is never offered.
    for declaration in (item for item in DECLARATIONS.values() if item.drafted):
        applicability = instrument_applicability(
            instrument=declaration.directory_instrument,
            issuing=user.authority.country,
            executing=executing_country,
        )
        can_issue = user.authority.kind in declaration.issuer_kinds
        if not applicability.applies:
            reason = str(applicability.reason)
        elif not can_issue:
            reason = _("Your authority (%(kind)s) cannot issue it.") % {
                "kind": user.authority.get_kind_display()
            }
        else:
            reason = ""
        options.append(
            DraftingOption(
                declaration=declaration,
                title=label(declaration.title, language),
                applies=applicability.applies and can_issue,
                reason=reason,
                languages=policies.get(declaration.directory_instrument, []),
                authorities=list(
                    receiving_authorities(
                        country=executing_country, declaration=declaration
                    ).prefetch_related("languages")
                )
                if applicability.applies
                else [],
                basis=str(applicability.reason) if applicability.applies else "",
            )
        )
    return options


def drafting_countries() -> QuerySet[Country]:
    """The countries a request may be drafted to, by name."""
    return Country.objects.order_by("name")


def drafting_country(*, code: str) -> Country | None:
    """The executing country chosen on the new-request page (its ISO code, any case)."""
    return Country.objects.filter(code=code.upper()).first()


def drafting_authority(*, country: Country, authority_id: str) -> Authority | None:
    """The executing authority chosen on the new-request page, if it is of ``country``."""
    return Authority.objects.filter(pk=authority_id, country=country).first()


def drafting_authority_named(*, country: Country, identifier: str) -> Authority | None:
    """The executing authority of ``country`` named by its directory identifier."""
    return Authority.objects.filter(identifier=identifier, country=country).first()


def requests_for_user(*, user: User) -> QuerySet[Request]:
    """What the user may see (guardian object permissions, filtered in the database)."""
    return visible_requests(user=user).select_related(
        "executing_country", "executing_authority", "issuing_authority__country"
    )


def outgoing_requests(*, user: User) -> QuerySet[Request]:
    """The requests of the user's own authority, newest first.

    Its authority's group always holds the view permission on these (it is granted at
    creation and cannot be revoked), so filtering on the authority gives the same rows as
    the permission tables, through an index that also serves the order.
    """
    return (
        Request.objects.filter(
            issuing_authority_id=user.authority_id, direction=Request.Direction.OUTGOING
        )
        # The issuing authority names each row's link (Request.url_args).
        .select_related("executing_country", "executing_authority", "issuing_authority")
        .defer("data")  # lists never show the form content, which can be large
        .order_by("-updated_at", "-id")
    )


def incoming_requests(*, user: User) -> QuerySet[Request]:
    """The requests the user's authority received, newest first (its group sees them all,
    as it does its outgoing ones)."""
    return (
        Request.objects.filter(
            executing_authority_id=user.authority_id, direction=Request.Direction.INCOMING
        )
        .select_related("issuing_authority", "executing_country", "assignee")
        .defer("data")
        .order_by("-updated_at", "-id")
    )


def other_visible_requests(*, user: User, limit: int) -> list[Request]:
    """The newest ``limit`` requests of other authorities the user may see: shared with
    them, or to validate.

    Read from guardian's permission tables without the user's own authority group, whose
    grants (every request of the authority) would otherwise be scanned only to be dropped;
    one query per table, so that each is a join on its own index (an OR of the two makes
    the planner scan every request).
    """
    own_group = authority_group(authority=user.authority)
    sources: list[QuerySet[Any, Any]] = [
        RequestUserObjectPermission.objects.filter(
            user=user, permission__codename="view_request"
        ).values("content_object_id")
    ]
    # Group ids are read first: a literal list lets the planner use the permission index.
    other_groups = list(user.groups.exclude(pk=own_group.pk).values_list("pk", flat=True))
    if other_groups:
        sources.append(
            RequestGroupObjectPermission.objects.filter(
                group_id__in=other_groups, permission__codename="view_request"
            ).values("content_object_id")
        )
    base = (
        Request.objects.exclude(
            issuing_authority_id=user.authority_id, direction=Request.Direction.OUTGOING
        )
        .exclude(executing_authority_id=user.authority_id, direction=Request.Direction.INCOMING)
        .select_related("executing_country", "executing_authority", "issuing_authority")
        .defer("data")
        .order_by("-updated_at", "-id")
    )
    found = {row.pk: row for source in sources for row in base.filter(pk__in=source)[:limit]}
    return sorted(found.values(), key=lambda row: (row.updated_at, row.pk), reverse=True)[:limit]


def request_for_user(*, user: User, issuer: str, reference: str) -> Request | None:
    """The user's copy of the request ``reference`` of the issuing authority ``issuer`` (its
    identifier), or None if they may not see one. A copy is named by both: a partner cannot
    reach or hide another issuer's request by using its reference.

    Both sides' copies share the issuer and reference; a user who sees both (shared with a
    colleague of the other side) gets their own authority's copy."""
    found = list(
        requests_for_user(user=user)
        .prefetch_related(
            "attachments",
            "links_out__to_request__issuing_authority",
            "links_in__from_request__issuing_authority",
            "deadlines",
        )
        .filter(reference=reference, issuing_authority__identifier=issuer)[:3]
    )
    found.sort(key=lambda item: item.owning_authority_id != user.authority_id)
    return found[0] if found else None


# The request's page shows the latest entries of its timeline; the whole of it on demand.
TIMELINE_SIZE = 100


@dataclass(frozen=True)
class Timeline:
    entries: list[AuditEntry]  # oldest first
    total: int

    @property
    def earlier(self) -> int:
        """How many older entries are not shown."""
        return self.total - len(self.entries)


def request_timeline(*, request: Request, size: int | None = TIMELINE_SIZE) -> Timeline:
    """The request's audit entries as its timeline shows them, oldest first: the latest
    ``size`` of them (all with None) and how many there are, in one query whatever their
    number (the hashes and payloads, which the page never shows, are not read)."""
    entries = (
        AuditEntry.objects.filter(request=request)
        .only(
            "request_id",
            "position",
            "at",
            "event",
            "from_state",
            "to_state",
            "actor_name",
            "authority_name",
            "note",
        )
        .annotate(total=Window(Count("pk")))
        .order_by("-position")
    )
    latest: list[AuditEntry] = list(entries if size is None else entries[:size])
    latest.reverse()
    return Timeline(entries=latest, total=getattr(latest[0], "total", 0) if latest else 0)


def request_acknowledged(*, request: Request) -> bool:
    """Whether the request's receipt was acknowledged (its timeline records it)."""
    return AuditEntry.objects.filter(request=request, event="acknowledged").exists()


@dataclass(frozen=True)
class VisibleLinks:
    follows: list[RequestLink]  # from this request
    referred_by: list[RequestLink]  # to this request


def request_visible_links(*, request: Request, user: User) -> VisibleLinks:
    """The request's links to and from requests the user also sees: a link never reveals the
    reference of a request the user may not open."""
    out = list(request.links_out.all())
    into = list(request.links_in.all())
    ids = {link.to_request_id for link in out} | {link.from_request_id for link in into}
    visible = (
        set(visible_requests(user=user).filter(pk__in=ids).values_list("pk", flat=True))
        if ids
        else set()
    )
    return VisibleLinks(
        follows=[link for link in out if link.to_request_id in visible],
        referred_by=[link for link in into if link.from_request_id in visible],
    )


def request_by_typed_reference(*, user: User, reference: str) -> Request | None:
    """The request a user names by its reference alone (typed to link one request to another
    or to name a follow-up): the user's copy, or None when they see none, or copies of
    several issuers (which one would be a guess)."""
    found = list(requests_for_user(user=user).filter(reference=reference)[:3])
    if len({item.issuing_authority_id for item in found}) != 1:
        return None
    found.sort(key=lambda item: item.owning_authority_id != user.authority_id)
    return found[0]


def request_attachment(*, request: Request, attachment_id: int) -> Attachment | None:
    """One of the request's supporting documents."""
    return request.attachments.filter(pk=attachment_id).first()


def share_user(*, username: str) -> User | None:
    """The active user of this node a request may be shared with, by username."""
    return User.objects.filter(username=username, is_active=True).first()


def share_authority(*, identifier: str) -> Authority | None:
    """The active authority of the directory a request may be shared with."""
    return Authority.objects.filter(identifier=identifier, active=True).first()


@dataclass(frozen=True)
class ShareTarget:
    """Whom a request is shared with (or revoked from): one colleague or one authority."""

    user: User | None = None
    authority: Authority | None = None


def share_target(*, username: str, identifier: str) -> ShareTarget:
    """The colleague (by username) or else the authority (by identifier) named to share a
    request with; ApplicationError when neither is named or found."""
    username, identifier = username.strip(), identifier.strip()
    if username:
        user = share_user(username=username)
        if user is None:
            # The same words whatever the reason, so that the answer does not tell who exists.
            raise ApplicationError(
                _("Could not share with “%(name)s”: check the username with your colleague.")
                % {"name": username}
            )
        return ShareTarget(user=user)
    if identifier:
        authority = share_authority(identifier=identifier)
        if authority is None:
            raise ApplicationError(
                _("No authority “%(identifier)s” in the directory.") % {"identifier": identifier}
            )
        return ShareTarget(authority=authority)
    raise ApplicationError(_("Name a colleague (username) or an authority (identifier)."))


def request_visible_to(*, user: User, request: Request) -> bool:
    """Whether the user may open this copy of a request."""
    return requests_for_user(user=user).filter(pk=request.pk).exists()


def executing_colleagues(*, request: Request) -> list[User]:
    """Who may be given a received request: the receiving authority's executing staff (a
    provider's staff, for a certificate addressed to it)."""
    return list(
        users_with_roles(
            authority_id=request.executing_authority_id, roles=executing_roles(request)
        ).order_by("last_name", "first_name", "username")
    )


def authority_colleague(*, authority_id: int, username: str) -> User | None:
    """The user of that authority with this username, if there is one."""
    return User.objects.filter(username=username, authority_id=authority_id).first()


@dataclass(frozen=True)
class DeadlineView:
    """A deadline as a user sees it: due in their zone and the other side's."""

    label: str
    source: str
    state: str
    state_display: str
    due_here: datetime.datetime
    zone_here: str
    due_there: datetime.datetime
    zone_there: str
    remaining: str
    late: bool
    extension_reason: str


def request_deadlines(*, request: Request, user: User, language: str) -> list[DeadlineView]:
    now = timezone.now()
    own_zone = user.zone
    other = (
        request.issuing_authority
        if user.authority_id == request.executing_authority_id
        else request.executing_authority
    )
    other_zone = (other.time_zone if other else "") or "UTC"
    views = []
    for row in request.deadlines.all():
        state = row.state
        # Stored states are as of the last event; a deadline that ran out since reads missed.
        if state in (DeadlineState.RUNNING, DeadlineState.EXTENDED) and row.due_at < now:
            state = DeadlineState.MISSED
        open_ = state in (DeadlineState.RUNNING, DeadlineState.EXTENDED, DeadlineState.MISSED)
        views.append(
            DeadlineView(
                label=label(row.label, language),
                source=row.source,
                state=state,
                state_display=str(DeadlineState(state).label),
                due_here=in_zone(row.due_at, own_zone),
                zone_here=own_zone,
                due_there=in_zone(row.due_at, other_zone),
                zone_there=other_zone,
                remaining=format_remaining(due_at=row.due_at, now=now) if open_ else "",
                late=row.late or state == DeadlineState.MISSED,
                extension_reason=row.extension_reason,
            )
        )
    return views
