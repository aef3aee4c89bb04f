"""The language a request goes in, and what its free text needs in it.

The executing State must receive a request in a language it accepts (for the EIO,
Directive 2014/41/EU, Art. 5(2)); the directory records the languages each country accepts
per instrument. A draft's target language (``Request.executing_language``: the second
column of its document) is the first of them, the country's own before English, that has a
label catalogue. When none has one, the request goes with English labels, and the
completeness check asks why (e.g. an arrangement with the executing authority) before it
can be sent.

An e-Evidence certificate (Regulation (EU) 2023/1543, Art. 9(1)-(2)) goes in a language the
ADDRESSEE accepts: the languages its service provider's designated establishment or legal
representative declared (its Authority.languages in the directory), else those its Member
State accepts for the instrument.

Free text is the issuing authority's to translate: each free-text value of a request going
out in another language has its translation beside it (see
mla.instruments.completeness.TRANSLATIONS_KEY), unless the translation is attached as a
document instead.
"""

from dataclasses import dataclass
from typing import Any

import pycountry
from django.db import transaction
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from contact_points.models import AcceptedLanguages, Authority, Country, iso_name_translated
from mla.accounts.models import User
from mla.core.errors import ApplicationError
from mla.core.text import text_problem
from mla.instruments.completeness import (
    Problem,
    request_completeness,
    section_problems,
    translation_problems,
)
from mla.instruments.declarations import InstrumentDeclaration, declaration_for
from mla.instruments.declarations.schema import Section
from mla.instruments.eevidence import CERTIFICATES
from mla.instruments.labels import FALLBACK_LANGUAGE, has_language
from mla.requests.access import edit_refusal
from mla.requests.audit import audit_record
from mla.requests.events import Event
from mla.requests.models import Request

# The problem of a request going in a language its executing country does not accept: of
# the request as a whole, not of a section.
LANGUAGE_PROBLEM_PATH = "language"
LANGUAGE_REASON_MAX_LENGTH = 2_000

_INSTRUMENT_NAMES = {
    "eio": gettext_lazy("the EIO"),
    "mla": gettext_lazy("mutual legal assistance requests"),
    "preservation": gettext_lazy("preservation requests"),
    "epoc": gettext_lazy("European Production Orders"),
    "epoc_pr": gettext_lazy("European Preservation Orders"),
    "epoc_notification": gettext_lazy("European Production Orders"),
}


# Interface languages that write a language's name in lower case in a sentence ("en
# allemand"), where the ISO catalogues capitalise it as a heading ("Allemand").
_LOWER_CASE_NAMES = frozenset({"fr", "es", "it", "pt", "ro", "pl", "da", "sv"})


def language_name(code: str) -> str:
    """A language's name in the interface language ("German", "allemand"), else its code."""
    language = pycountry.languages.get(alpha_2=code) if len(code) == 2 else None
    if language is None:
        return code
    name = iso_name_translated("iso639-3", language.name)
    if (get_language() or "en").split("-")[0] in _LOWER_CASE_NAMES:
        return name[:1].lower() + name[1:]
    return name


def _names(codes: list[str]) -> str:
    return ", ".join(language_name(code) for code in codes)


def accepted_languages(*, country: Country, instrument: str) -> list[str]:
    """The languages ``country`` accepts for ``instrument``, in the directory's order (by
    code), its own before English."""
    policy = (
        AcceptedLanguages.objects.filter(country=country, instrument=instrument)
        .prefetch_related("languages")
        .first()
    )
    codes = sorted(language.code for language in policy.languages.all()) if policy else []
    return sorted(codes, key=lambda code: code == "en")


def addressee_languages(
    *, declaration: InstrumentDeclaration, authority: Authority | None
) -> list[str]:
    """For an e-Evidence certificate, the languages its addressee declared it accepts (the
    directory's, by code, English last); [] for any other request, or an addressee that
    declared none (then the country's apply)."""
    if declaration.code not in CERTIFICATES or authority is None or authority.pk is None:
        return []
    codes = sorted(language.code for language in authority.languages.all())
    return sorted(codes, key=lambda code: code == "en")


def _accepted(
    *, country: Country, declaration: InstrumentDeclaration, authority: Authority | None
) -> tuple[list[str], Authority | None]:
    """The languages the request may go in, and the addressee whose they are (None: the
    country's)."""
    own = addressee_languages(declaration=declaration, authority=authority)
    if own:
        return own, authority
    return accepted_languages(country=country, instrument=declaration.directory_instrument), None


@dataclass(frozen=True)
class TargetLanguage:
    """The language a new request to a country goes in, and why."""

    code: str
    accepted: tuple[str, ...]
    # The language is one the country accepts (and has a label catalogue).
    accepted_with_form: bool
    reason: str  # why, for the page: "Germany accepts German for the EIO."

    @property
    def name(self) -> str:
        return language_name(self.code)

    @property
    def needs_reason(self) -> bool:
        """The country accepts languages, none with a form: the user will record why."""
        return bool(self.accepted) and not self.accepted_with_form


def target_language(
    *,
    country: Country,
    declaration: InstrumentDeclaration,
    authority: Authority | None = None,
) -> TargetLanguage:
    """The first language ``country`` accepts for the instrument that has a catalogue; for
    an e-Evidence certificate, the first that its addressee ``authority`` accepts, when the
    directory records any."""
    instrument = declaration.directory_instrument
    accepted, addressee = _accepted(country=country, declaration=declaration, authority=authority)
    names = {
        # The addressee (a service provider's establishment) accepts, or the country does.
        "country": addressee.name if addressee is not None else country.display_name,
        "instrument": _INSTRUMENT_NAMES.get(instrument, instrument),
    }
    chosen = next((code for code in accepted if has_language(code)), None)
    if chosen is not None:
        return TargetLanguage(
            chosen,
            tuple(accepted),
            True,
            _("%(country)s accepts %(language)s for %(instrument)s.")
            % {**names, "language": language_name(chosen)},
        )
    if not accepted:
        return TargetLanguage(
            FALLBACK_LANGUAGE,
            (),
            False,
            _(
                "The directory records no language %(country)s accepts for %(instrument)s: "
                "the form's second column is in %(language)s."
            )
            % {**names, "language": language_name(FALLBACK_LANGUAGE)},
        )
    return TargetLanguage(
        FALLBACK_LANGUAGE,
        tuple(accepted),
        False,
        _(
            "%(country)s accepts %(languages)s for %(instrument)s, and no form exists in "
            "any of them yet: the form's second column would be in %(language)s, which "
            "%(country)s does not accept. Before the request can be sent, record why it "
            "goes in %(language)s (for example an arrangement with the executing authority)."
        )
        % {**names, "languages": _names(accepted), "language": language_name(FALLBACK_LANGUAGE)},
    )


def translation_needed(*, request: Request) -> bool:
    """Whether the request's free text is translated beside each field: it goes out in
    another language than it is written in, and no translated document stands for it."""
    return (
        request.direction == Request.Direction.OUTGOING
        and request.executing_language != request.issuing_language
        and not request.translation_attached
    )


def translations_apply(*, request: Request) -> bool:
    """Whether the request goes out in another language than it is written in."""
    return request.executing_language != request.issuing_language


def request_language_problems(
    *, request: Request, data: dict[str, Any] | None = None
) -> list[Problem]:
    """The problems of the request's language: a language its executing country does not
    accept with no reason recorded, and each free text without its translation (in
    ``data``, the request's own unless given: a section as typed, not yet saved)."""
    if request.direction != Request.Direction.OUTGOING:
        return []
    declaration = declaration_for(request.declaration_code)
    problems: list[Problem] = []
    accepted, addressee = _accepted(
        country=request.executing_country,
        declaration=declaration,
        authority=request.executing_authority,
    )
    if (
        accepted
        and request.executing_language not in accepted
        and not request.language_reason.strip()
    ):
        problems.append(
            Problem(
                "",
                LANGUAGE_PROBLEM_PATH,
                "",
                _(
                    "%(country)s does not accept %(language)s for %(instrument)s (it accepts "
                    "%(languages)s, and no form exists in any of them yet). Record why the "
                    "request goes in %(language)s, for example an arrangement with the "
                    "executing authority."
                )
                % {
                    "country": addressee.name
                    if addressee is not None
                    else request.executing_country.display_name,
                    "language": language_name(request.executing_language),
                    "instrument": _INSTRUMENT_NAMES.get(
                        declaration.directory_instrument, declaration.directory_instrument
                    ),
                    "languages": _names(accepted),
                },
                code="language_not_accepted",
            )
        )
    if translation_needed(request=request):
        problems += translation_problems(
            declaration=declaration,
            data=request.data if data is None else data,
            language=request.executing_language,
            language_name=language_name(request.executing_language),
        )
    return problems


def request_problems(*, request: Request) -> list[Problem]:
    """The full completeness check of a request: its language first, then its sections'
    fields in the declaration's order, each with its missing translation after it."""
    declaration = declaration_for(request.declaration_code)
    fields = request_completeness(declaration=declaration, data=request.data)
    language = request_language_problems(request=request)
    whole = [problem for problem in language if not problem.section]
    order = {section.code: index for index, section in enumerate(declaration.sections)}
    in_sections = sorted(
        fields + [problem for problem in language if problem.section],
        key=lambda problem: order.get(problem.section, len(order)),
    )
    return whole + in_sections


def request_section_problems(
    *, request: Request, section: Section, data: dict[str, Any] | None = None
) -> list[Problem]:
    """The problems of one section of the request, as its page lists them: its fields',
    then its free text's missing translations (in ``data``, the request's own unless given:
    a section as typed, not yet saved)."""
    data = request.data if data is None else data
    problems = section_problems(
        declaration=declaration_for(request.declaration_code), section=section, data=data
    )
    if translation_needed(request=request):
        problems += [
            problem
            for problem in request_language_problems(request=request, data=data)
            if problem.section == section.code
        ]
    return problems


@transaction.atomic
def request_language_reason_record(*, request: Request, actor: User, reason: str) -> Request:
    """Record why the request goes in a language its executing country does not accept."""
    locked = Request.objects.select_for_update().get(pk=request.pk)
    edit_refusal(request=locked, user=actor)
    text = reason.strip()
    problem = text_problem(text)
    if problem:
        raise ApplicationError(problem)
    if len(text) > LANGUAGE_REASON_MAX_LENGTH:
        raise ApplicationError(
            _("This is too long: %(length)d characters, %(limit)d at most for this field.")
            % {"length": len(text), "limit": LANGUAGE_REASON_MAX_LENGTH}
        )
    if text == locked.language_reason:
        return locked
    locked.language_reason = text
    locked.save(update_fields=["language_reason", "updated_at"])
    audit_record(
        request=locked,
        actor=actor,
        event=Event.LANGUAGE_REASON,
        note=text,
        payload={"language": locked.executing_language},
    )
    return locked


@transaction.atomic
def request_translation_attached_set(*, request: Request, actor: User, attached: bool) -> Request:
    """Choose whether the free text's translation is attached as a document (which then
    satisfies the completeness check) or given beside each field."""
    locked = Request.objects.select_for_update().get(pk=request.pk)
    edit_refusal(request=locked, user=actor)
    if locked.translation_attached == attached:
        return locked
    locked.translation_attached = attached
    locked.save(update_fields=["translation_attached", "updated_at"])
    audit_record(
        request=locked,
        actor=actor,
        event=Event.TRANSLATION_ATTACHED if attached else Event.TRANSLATION_BESIDE,
        payload={"language": locked.executing_language},
    )
    return locked
