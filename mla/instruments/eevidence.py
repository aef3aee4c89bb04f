"""The rules of Regulation (EU) 2023/1543 (e-Evidence) that read a certificate's data.

One place for what the declarations (Annex I, II), the completeness check, the deadlines
and the lifecycle all ask of an EPOC or EPOC-PR, so that none of them decides it on its own:
the data categories asked for, whether it is an emergency, and whether the enforcing
authority must be notified (Art. 8). The field names are those of the Annex I and II
declarations (mla.instruments.declarations.eevidence).
"""

from collections.abc import Mapping
from typing import Any

# Declaration codes.
EPOC = "epoc"  # Annex I: European Production Order Certificate
EPOC_PR = "epoc_pr"  # Annex II: European Preservation Order Certificate
# The copy of an EPOC sent to the enforcing authority (Art. 8(1)): the same certificate,
# section M included, travelling to the enforcing authority of the addressee's State.
EPOC_NOTIFICATION = "epoc_notification"
CERTIFICATES = frozenset({EPOC, EPOC_PR})
E_EVIDENCE_DECLARATIONS = frozenset({EPOC, EPOC_PR, EPOC_NOTIFICATION})

# Where the rules' inputs live in the data: section code and field name.
DEADLINE_SECTION = "C"
DEADLINE_FIELD = "deadline"
DATA_SECTION = "F"
DATA_CATEGORIES_FIELD = "data_categories"
NOTIFICATION_SECTION = "G"
OFFENCE_IN_ISSUING_STATE_FIELD = "offence_in_issuing_state"
PERSON_RESIDES_IN_ISSUING_STATE_FIELD = "person_resides_in_issuing_state"
# Section G: the Annex IV category of the offence, as the issuing authority indicates it
# (a code, or a list of codes; empty when none), and whether the offence is punishable in
# the issuing State by a custodial sentence of a maximum of at least 3 years (yes|no|unknown).
# Together they take double criminality out of the enforcing authority's grounds (Art. 12(1)(d)).
ANNEX_IV_CATEGORY_FIELD = "annex_iv_category"
# The Art. 5(4) basis of an order for traffic or content data (section G, Annex I
# declaration): an offence punishable by at least 3 years at most, or one of Art. 5(4)(b)-(d).
THREE_YEARS_FIELD = "art_5_4_basis"
THREE_YEAR_MAXIMUM = "three_year_maximum"

# Section C: the deadline the issuing authority sets (Art. 10(2)-(4)).
TEN_DAYS = "ten_days"
EIGHT_HOURS = "eight_hours"  # an emergency case (Art. 3(18))
DEADLINE_CHOICES = (TEN_DAYS, EIGHT_HOURS)
EMERGENCY_GROUNDS = ("life", "physical_integrity", "safety", "critical_infrastructure")

# Section F: the categories of data (Art. 3(9)-(12)).
SUBSCRIBER = "subscriber"
IDENTIFICATION = "identification"  # data requested for the sole purpose of identifying the user
TRAFFIC = "traffic"
CONTENT = "content"
DATA_CATEGORIES = (SUBSCRIBER, IDENTIFICATION, TRAFFIC, CONTENT)
# Traffic (other than for identification only) and content data: the order must be issued
# or validated by a judge, a court or an investigating judge (Art. 4(2)), for an offence
# punishable by at least 3 years or listed in Art. 5(4)(b)-(d) (Art. 5(4)), and the
# enforcing authority is notified (Art. 8(1)).
SENSITIVE_CATEGORIES = frozenset({TRAFFIC, CONTENT})

YES, NO, UNKNOWN = "yes", "no", "unknown"
ANSWERS = (YES, NO, UNKNOWN)

# Authority kinds (contact_points.models.AuthorityKind) that may issue or validate an order
# for traffic or content data (Art. 4(2)); for subscriber and identification data a
# prosecutor may too (Art. 4(1)).
JUDICIAL_KINDS = frozenset({"court", "investigating_judge"})
SUBSCRIBER_ISSUER_KINDS = frozenset({"court", "investigating_judge", "prosecutor"})


def _section(data: Mapping[str, Any], code: str) -> Mapping[str, Any]:
    value = data.get(code)
    return value if isinstance(value, Mapping) else {}


def data_categories(data: Mapping[str, Any]) -> frozenset[str]:
    value = _section(data, DATA_SECTION).get(DATA_CATEGORIES_FIELD)
    if not isinstance(value, list):
        return frozenset()
    return frozenset(code for code in value if code in DATA_CATEGORIES)


def asks_sensitive_data(data: Mapping[str, Any]) -> bool:
    """Traffic data (not solely to identify the user) or content data are asked for."""
    return bool(data_categories(data) & SENSITIVE_CATEGORIES)


def is_emergency(data: Mapping[str, Any]) -> bool:
    return _section(data, DEADLINE_SECTION).get(DEADLINE_FIELD) == EIGHT_HOURS


def notification_required(data: Mapping[str, Any]) -> bool:
    """Whether the enforcing authority must be notified of this EPOC (Art. 8(1)-(2)).

    Required for traffic and content data unless the issuing authority has reasonable
    grounds to believe both that the offence has been, is being or is likely to be
    committed in the issuing State and that the person whose data are sought resides
    there. An answer left open ("unknown") is not such a ground, so it notifies.
    """
    if not asks_sensitive_data(data):
        return False
    section = _section(data, NOTIFICATION_SECTION)
    both_at_home = (
        section.get(OFFENCE_IN_ISSUING_STATE_FIELD) == YES
        and section.get(PERSON_RESIDES_IN_ISSUING_STATE_FIELD) == YES
    )
    return not both_at_home


def validator_kinds(data: Mapping[str, Any], declaration_code: str = EPOC) -> frozenset[str]:
    """The authority kinds that may issue an order alone, or validate one (Art. 4): for a
    production order, judges for traffic and content data and prosecutors too for
    subscriber and identification data (and while no category is chosen); for a
    preservation order, judges and prosecutors whatever the data (Art. 4(3))."""
    if declaration_code == EPOC_PR:
        return SUBSCRIBER_ISSUER_KINDS
    return JUDICIAL_KINDS if asks_sensitive_data(data) else SUBSCRIBER_ISSUER_KINDS


def validation_needed(data: Mapping[str, Any], issuer_kind: str) -> bool:
    """Whether a production order issued by an authority of ``issuer_kind`` must be
    validated before it is sent (Art. 4(1)(b), 4(2)(b)): its kind may not issue it alone
    for these data."""
    return issuer_kind not in validator_kinds(data, EPOC)


def preservation_validation_needed(data: Mapping[str, Any], issuer_kind: str) -> bool:
    """The same for a preservation order (Art. 4(3)(b))."""
    return issuer_kind not in validator_kinds(data, EPOC_PR)


# Section B: the emergency tick box (an establishment other than the designated one).
ADDRESSEE_SECTION = "B"
OTHER_ESTABLISHMENT_FIELD = "other_establishment"
# Section H: whether the enforcing authority is notified, as the issuing authority states it.
ENFORCING_SECTION = "H"
ENFORCING_NOTIFIED_FIELD = "enforcing_authority_notified"


def certificate_problems(data: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The checks across fields of an EPOC (the declaration's ``rules``): (section code,
    field name, message) for each."""
    from django.utils.translation import gettext as _

    problems: list[tuple[str, str, str]] = []
    if _section(data, ADDRESSEE_SECTION).get(OTHER_ESTABLISHMENT_FIELD) is True and not (
        is_emergency(data)
    ):
        problems.append(
            (
                ADDRESSEE_SECTION,
                OTHER_ESTABLISHMENT_FIELD,
                _(
                    "Another establishment may be addressed only in an emergency: choose the "
                    "8-hour deadline in section C, or untick this box."
                ),
            )
        )
    stated = _section(data, ENFORCING_SECTION).get(ENFORCING_NOTIFIED_FIELD)
    if stated in (YES, NO) and (stated == YES) != notification_required(data):
        problems.append(
            (
                ENFORCING_SECTION,
                ENFORCING_NOTIFIED_FIELD,
                _(
                    "The enforcing authority must be notified: the order asks for traffic or "
                    "content data, and section G does not answer yes to both questions of "
                    "Art. 8(2)."
                )
                if notification_required(data)
                else _(
                    "No notification is required for this order (subscriber or "
                    "identification data only, or section G answers yes to both questions "
                    "of Art. 8(2)): answer no."
                ),
            )
        )
    return problems


def double_criminality_excluded(data: Mapping[str, Any]) -> bool:
    """Whether the enforcing authority may not raise double criminality (Art. 12(1)(d)):
    section G gives an Annex IV category and the offence carries at least 3 years at most
    in the issuing State (its Art. 5(4) basis)."""
    section = _section(data, NOTIFICATION_SECTION)
    category = section.get(ANNEX_IV_CATEGORY_FIELD)
    has_category = bool(category.strip()) if isinstance(category, str) else bool(category)
    return has_category and section.get(THREE_YEARS_FIELD) == THREE_YEAR_MAXIMUM


def data_for_addressee(*, declaration_code: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The certificate's data as the addressee may see it: sections withheld left out."""
    from mla.instruments.declarations import declaration_for

    declaration = declaration_for(declaration_code)
    withheld = {section.code for section in declaration.sections if section.withheld_from_addressee}
    return {key: value for key, value in data.items() if key not in withheld}


# Annex III: why the addressee cannot execute (Art. 10(5)-(8), 11(4)-(5), 16-17), as the
# public provider templates lay it out; the official wording is unverified.
ANNEX_III_REASONS = (
    "incomplete",
    "manifest_errors",
    "insufficient_information",
    "data_not_stored",  # the data were not stored when the certificate was received
    "data_no_longer_held",  # deleted before it arrived, or cannot be preserved
    "de_facto_impossible",  # other de facto impossibility
    "not_competent_authority",  # not issued or validated by a competent authority
    "offence_not_covered",
    "service_not_covered",
    "immunities_privileges",  # immunities, privileges, press freedom (Art. 10(5))
    "conflicting_obligations",  # a third country's law (Art. 17)
    "other",
)
# The Annex III fields describing a conflicting obligation under a third country's law
# (Art. 17(1)); required when that reason is given.
CONFLICTING_OBLIGATION_FIELDS = (
    "third_country",
    "law_provision",
    "law_text",
    "nature_of_obligation",
    "why_it_applies",
    "why_it_conflicts",
    "provider_link",
    "consequences",
)
# The issuing authority's answer to an Annex III, within 5 days (Art. 10(5)): it corrects
# or completes the certificate, or withdraws it.
ANNEX_III_ANSWERS = ("corrected", "completed", "withdrawn")

# Art. 12(1): the grounds on which the enforcing authority may refuse a notified order.
ENFORCING_GROUNDS = (
    "immunities_privileges",  # (a) immunities, privileges, freedom of the press/expression
    "fundamental_rights",  # (b) exceptionally, a manifest breach of a fundamental right
    "ne_bis_in_idem",  # (c)
    "double_criminality",  # (d) unless an Annex IV category punishable by >= 3 years
)
DOUBLE_CRIMINALITY = "double_criminality"
# A ground raised against the whole order, or against some of its data categories only.
FULL, PARTIAL = "full", "partial"
GROUNDS_SCOPES = (FULL, PARTIAL)

# The enforcing authority's clock (Art. 12(1); Art. 10(4) in an emergency), counted from the
# receipt of the notification and met by its decision. The ``epoc_notification`` declaration
# carries them (mla.instruments.declarations.eevidence.ENFORCING_DEADLINES).
ENFORCING_ASSESSMENT = "enforcing_assessment"
ENFORCING_ASSESSMENT_EMERGENCY = "enforcing_assessment_emergency"
