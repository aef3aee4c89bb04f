"""Read-side queries of requests.

Until per-object permissions arrive with the lifecycle, a user sees the requests of their
own authority; a request they may not see answers 404, as one that does not exist.
"""

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from contact_points.instruments import instrument_applicability
from contact_points.models import AcceptedLanguages, Authority, AuthorityInstrument, Country
from mla.accounts.models import User
from mla.accounts.services import authority_group
from mla.requests.access import visible_requests
from mla.requests.declarations import DECLARATIONS, InstrumentDeclaration
from mla.requests.labels import label
from mla.requests.models import (
    Request,
    RequestGroupObjectPermission,
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
    for declaration in DECLARATIONS.values():
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
            )
        )
    return options


def requests_for_user(*, user: User) -> QuerySet[Request]:
    """What the user may see (guardian object permissions, filtered in the database)."""
    return visible_requests(user=user).select_related(
        "executing_country", "executing_authority", "issuing_authority"
    )


def outgoing_requests(*, user: User) -> QuerySet[Request]:
    """The requests of the user's own authority, newest first.

    Its authority's group always holds the view permission on these (it is granted at
    creation and cannot be revoked), so filtering on the authority gives the same rows as
    the permission tables, through an index that also serves the order.
    """
    return (
        Request.objects.filter(issuing_authority_id=user.authority_id)
        .select_related("executing_country", "executing_authority")
        .defer("data")  # lists never show the form content, which can be large
        .order_by("-updated_at", "-id")
    )


def other_visible_requests(*, user: User) -> QuerySet[Request]:
    """Requests of other authorities the user may see: shared, or to validate.

    Read from guardian's permission tables without the user's own authority group, whose
    grants (every request of the authority) would otherwise be scanned only to be dropped.
    """
    own_group = authority_group(authority=user.authority)
    visible = Q(
        pk__in=RequestUserObjectPermission.objects.filter(
            user=user, permission__codename="view_request"
        ).values("content_object_id")
    )
    # Group ids are read first: a literal list lets the planner use the permission index.
    other_groups = list(user.groups.exclude(pk=own_group.pk).values_list("pk", flat=True))
    if other_groups:
        visible |= Q(
            pk__in=RequestGroupObjectPermission.objects.filter(
                group_id__in=other_groups, permission__codename="view_request"
            ).values("content_object_id")
        )
    return (
        Request.objects.filter(visible)
        .exclude(issuing_authority_id=user.authority_id)
        .select_related("executing_country", "executing_authority")
        .defer("data")
        .order_by("-updated_at", "-id")
    )


def request_for_user(*, user: User, reference: str) -> Request | None:
    return (
        requests_for_user(user=user)
        .prefetch_related(
            "attachments", "links_out__to_request", "links_in__from_request", "audit_entries"
        )
        .filter(reference=reference)
        .first()
    )
