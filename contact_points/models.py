import gettext
import unicodedata
from datetime import date, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import pycountry
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from contact_points.instruments import E_EVIDENCE_INSTRUMENTS, Instrument
from contact_points.office_hours import validate_office_hours
from contact_points.reference_codes import REFERENCE_CODE_RE, reference_code_derive
from contact_points.validators import (
    normalise_phone,
    validate_country_code,
    validate_inbox_url,
    validate_phone,
    validate_time_zone,
)
from mla.core.text import validate_no_control_characters, validate_one_line

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django_stubs_ext.db.models.manager import RelatedManager


@lru_cache(maxsize=16)
def _iso_catalogue(domain: str, language: str) -> gettext.NullTranslations:
    try:
        return gettext.translation(domain, pycountry.LOCALES_DIR, languages=[language])
    except OSError:
        return gettext.NullTranslations()


def iso_name_translated(domain: str, english_name: str) -> str:
    """An ISO country or language name in the interface language (pycountry's catalogues)."""
    language = translation.get_language() or "en"
    if language.startswith("en"):
        return english_name
    return _iso_catalogue(domain, language.split("-")[0]).gettext(english_name)


class Language(models.Model):
    """An ISO 639-1 language (seeded from pycountry by a data migration)."""

    code = models.CharField(_("code"), max_length=3, primary_key=True)
    name = models.CharField(_("name"), max_length=100, validators=[validate_one_line])

    class Meta:
        ordering = ["code"]
        verbose_name = _("language")
        verbose_name_plural = _("languages")

    def __str__(self) -> str:
        return f"{self.display_name} ({self.code})"

    @property
    def display_name(self) -> str:
        return iso_name_translated("iso639-3", self.name)


class Country(models.Model):
    code = models.CharField(
        _("ISO 3166 code"), max_length=2, unique=True, validators=[validate_country_code]
    )
    name = models.CharField(_("name"), max_length=100, validators=[validate_one_line])
    eio_bound = models.BooleanField(
        _("bound by the EIO Directive"),
        default=False,
        help_text=_(
            "EU Member State taking part in Directive 2014/41/EU (not Denmark or Ireland)."
        ),
    )
    eevidence_bound = models.BooleanField(
        _("bound by the e-Evidence Regulation"),
        default=False,
        help_text=_(
            "EU Member State taking part in Regulation (EU) 2023/1543 on European Production "
            "and Preservation Orders (not Denmark)."
        ),
    )
    budapest_party = models.BooleanField(_("Party to the Budapest Convention"), default=False)
    budapest_second_protocol_party = models.BooleanField(
        _("Party to the Second Additional Protocol (CETS 224)"), default=False
    )
    history = HistoricalRecords()

    accepted_languages: "RelatedManager[AcceptedLanguages]"
    authorities: "RelatedManager[Authority]"

    class Meta:
        ordering = ["name"]
        verbose_name = _("country")
        verbose_name_plural = _("countries")

    def __str__(self) -> str:
        # In the interface language wherever a country is named (lists, choices, forms).
        return f"{self.display_name} ({self.code})"

    @property
    def display_name(self) -> str:
        # Demo and imported names are in English, as ISO 3166 gives them.
        return iso_name_translated("iso3166-1", self.name)


class AcceptedLanguages(models.Model):
    """Languages a country accepts for incoming requests under one instrument."""

    country = models.ForeignKey(
        Country, on_delete=models.CASCADE, related_name="accepted_languages"
    )
    instrument = models.CharField(_("instrument"), max_length=32, choices=Instrument.choices)
    languages = models.ManyToManyField(Language, verbose_name=_("languages"), related_name="+")
    history = HistoricalRecords(m2m_fields=[languages])

    class Meta:
        ordering = ["country__code", "instrument"]
        constraints = [
            models.UniqueConstraint(
                fields=["country", "instrument"], name="accepted_languages_one_per_instrument"
            )
        ]
        verbose_name = _("accepted languages")
        verbose_name_plural = _("accepted languages")

    def __str__(self) -> str:
        return f"{self.country.code} {self.get_instrument_display()}"


class AuthorityKind(models.TextChoices):
    CENTRAL_AUTHORITY = "central_authority", _("Central authority")
    COURT = "court", _("Judicial authority: court")
    PROSECUTOR = "prosecutor", _("Judicial authority: prosecutor's office")
    INVESTIGATING_JUDGE = "investigating_judge", _("Judicial authority: investigating judge")
    POINT_24_7 = "point_24_7", _("24/7 point of contact (Budapest Art. 35)")
    EJN_CONTACT_POINT = "ejn_contact_point", _("EJN contact point")
    POLICE = "police", _("Police or cybercrime unit")
    SERVICE_PROVIDER = "service_provider", _("Service provider or its legal representative")


class ProviderService(models.TextChoices):
    """The kinds of service a provider offers, as Regulation (EU) 2023/1543, Art. 3(3)
    defines a service provider (wording summarised, not the Official Journal's)."""

    ELECTRONIC_COMMUNICATIONS = "electronic_communications", _("Electronic communications services")
    DOMAIN_NAME_IP_NUMBERING = (
        "domain_name_ip_numbering",
        _("Internet domain name and IP numbering services"),
    )
    INFORMATION_SOCIETY = (
        "information_society",
        _("Other information society services enabling communication or storage"),
    )


class ProviderDesignation(models.TextChoices):
    """In what capacity the entry receives orders for its provider (Directive (EU) 2023/1544)."""

    DESIGNATED_ESTABLISHMENT = "designated_establishment", _("Designated establishment")
    LEGAL_REPRESENTATIVE = "legal_representative", _("Legal representative")


# The instruments addressed to a service provider itself, and the one addressed to the
# enforcing authority (a public authority) of the provider's Member State.
PROVIDER_INSTRUMENTS = frozenset({Instrument.EPOC.value, Instrument.EPOC_PR.value})
ENFORCING_INSTRUMENT = Instrument.EPOC_NOTIFICATION.value
# Fields only an entry of kind service_provider carries.
PROVIDER_FIELDS = (
    "provider_name",
    "provider_services",
    "provider_designation",
    "emergency_phone",
    "emergency_email",
)


def validate_provider_services(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        raise ValidationError(translation.gettext("Expected a list of service codes."))
    unknown = sorted(set(value) - set(ProviderService.values))
    if unknown:
        raise ValidationError(
            translation.gettext("Unknown services: %(codes)s (known: %(known)s).")
            % {"codes": ", ".join(unknown), "known": ", ".join(ProviderService.values)}
        )


def provider_fields_errors(
    *,
    kind: str,
    provider_name: str,
    provider_services: list[str],
    provider_designation: str,
    emergency_phone: str,
    emergency_email: str,
) -> dict[str, list[str]]:
    """What is wrong with an entry's provider fields for its kind, by field.

    A service provider's entry (the designated establishment or legal representative that
    receives orders under Regulation (EU) 2023/1543) names its provider, the services it
    offers, its capacity, and a contact answering at any hour: an emergency order must be
    answered within 8 hours (Art. 10(4)). Any other kind of entry carries none of them.
    """
    values = {
        "provider_name": provider_name,
        "provider_services": provider_services,
        "provider_designation": provider_designation,
        "emergency_phone": emergency_phone,
        "emergency_email": emergency_email,
    }
    errors: dict[str, list[str]] = {}
    if kind != AuthorityKind.SERVICE_PROVIDER:
        for name, value in values.items():
            if value:
                errors[name] = [
                    translation.gettext(
                        "Only an entry of kind “service provider” has this; leave it empty."
                    )
                ]
        return errors
    required = {
        "provider_name": translation.gettext(
            "Name the provider (the group), e.g. “Example Mail Ltd”."
        ),
        "provider_services": translation.gettext(
            "Choose at least one of the services the provider offers."
        ),
        "provider_designation": translation.gettext(
            "Say whether this is the designated establishment or the legal representative."
        ),
        "emergency_phone": translation.gettext(
            "A phone answered at any hour is needed: an emergency order must be answered "
            "within 8 hours."
        ),
        "emergency_email": translation.gettext(
            "An e-mail address read at any hour is needed: an emergency order must be "
            "answered within 8 hours."
        ),
    }
    for name, message in required.items():
        if not values[name]:
            errors[name] = [message]
    return errors


def instruments_offered_by_default(*, kind: str) -> list[str]:
    """The instruments an entry of ``kind`` is offered when nobody chose: a service provider
    the orders addressed to it; any other kind all but those of the e-Evidence Regulation
    (enforcing authorities are designated, not assumed)."""
    if kind == AuthorityKind.SERVICE_PROVIDER:
        return sorted(PROVIDER_INSTRUMENTS)
    return [code for code in Instrument.values if code not in E_EVIDENCE_INSTRUMENTS]


def authority_instruments_problems(
    *, kind: str, country: "Country | None", instruments: "Iterable[str]"
) -> list[str]:
    """Why an entry of ``kind`` in ``country`` may not receive ``instruments``.

    European Production and Preservation Orders go to a service provider's designated
    establishment or legal representative in a Member State taking part in Regulation (EU)
    2023/1543; the notification of an order goes to that State's enforcing authority, a
    public authority, never to a provider.
    """
    codes = set(instruments)
    problems = []
    provider_codes = sorted(codes & PROVIDER_INSTRUMENTS)
    if kind == AuthorityKind.SERVICE_PROVIDER:
        if provider_codes and country is not None and not country.eevidence_bound:
            problems.append(
                translation.gettext(
                    "%(country)s does not take part in the e-Evidence Regulation: a service "
                    "provider there cannot receive European Production or Preservation Orders."
                )
                % {"country": country.name}
            )
        if ENFORCING_INSTRUMENT in codes:
            problems.append(
                translation.gettext(
                    "A service provider cannot be an enforcing authority: the notification of "
                    "a European Production Order goes to a public authority."
                )
            )
        other = sorted(codes - PROVIDER_INSTRUMENTS - {ENFORCING_INSTRUMENT})
        if other:
            problems.append(
                translation.gettext(
                    "A service provider receives only European Production and Preservation "
                    "Orders, not %(codes)s."
                )
                % {"codes": ", ".join(other)}
            )
    elif provider_codes:
        problems.append(
            translation.gettext(
                "European Production and Preservation Orders are addressed to a service "
                "provider: only an entry of kind “service provider” receives %(codes)s."
            )
            % {"codes": ", ".join(provider_codes)}
        )
    return problems


class AuthorityQuerySet(models.QuerySet["Authority"]):
    def stale(self, *, today: date | None = None) -> "AuthorityQuerySet":
        return self.filter(stale_entries_q(today=today))

    def fresh(self, *, today: date | None = None) -> "AuthorityQuerySet":
        return self.exclude(stale_entries_q(today=today))


def stale_cutoff(*, today: date | None = None) -> date:
    today = today or timezone.localdate()
    return today - timedelta(days=settings.DIRECTORY_STALE_AFTER_DAYS)


def stale_entries_q(*, today: date | None = None) -> models.Q:
    return models.Q(last_verified_at__isnull=True) | models.Q(
        last_verified_at__lt=stale_cutoff(today=today)
    )


KEY_DERIVED_FIELDS = (
    "key_fingerprint",
    "key_algorithm",
    "key_user_id",
    "key_created_at",
    "key_expires_at",
)


def search_fold(text: str) -> str:
    """Lower-case, accents removed, spaces collapsed: “München” and “munchen” match."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(stripped.split())


class Authority(models.Model):
    identifier = models.SlugField(
        _("identifier"),
        max_length=100,
        unique=True,
        help_text=_("Stable identifier used by imports and exports, e.g. “ro-diicot-247”."),
    )
    # Its short code in the references it issues; derived from the identifier when left empty.
    reference_code = models.CharField(
        _("reference code"),
        max_length=12,
        unique=True,
        blank=True,
        validators=[
            RegexValidator(
                REFERENCE_CODE_RE,
                _("2 to 12 capital letters or digits, e.g. “PARIS1”."),
            )
        ],
        help_text=_(
            "Its short code in the references it issues (FR-PARIS1-EIO-2026-000042); "
            "derived from the identifier when left empty."
        ),
    )
    name = models.CharField(_("name"), max_length=255, validators=[validate_one_line])
    name_local = models.CharField(
        _("name in its own language"), max_length=255, blank=True, validators=[validate_one_line]
    )
    country = models.ForeignKey(
        Country, on_delete=models.PROTECT, related_name="authorities", verbose_name=_("country")
    )
    kind = models.CharField(_("kind"), max_length=32, choices=AuthorityKind.choices)
    postal_address = models.TextField(
        _("postal address"), blank=True, validators=[validate_no_control_characters]
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True, validators=[validate_phone])
    email = models.EmailField(_("e-mail"), blank=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, validators=[validate_time_zone], default="UTC"
    )
    office_hours = models.CharField(
        _("office hours"),
        max_length=255,
        blank=True,
        validators=[validate_one_line, validate_office_hours],
        help_text=_("Local time, e.g. “Mon-Fri 08:00-18:00; Sat 09:00-12:00”."),
    )
    available_24_7 = models.BooleanField(_("reachable 24/7"), default=False)
    languages = models.ManyToManyField(
        Language, verbose_name=_("languages"), related_name="+", blank=True
    )
    # Regulation (EU) 2023/1543 and Directive (EU) 2023/1544: the entries of kind
    # service_provider are a provider's addressee; ``languages`` are then the languages it
    # accepts certificates in.
    provider_name = models.CharField(
        _("service provider"),
        max_length=255,
        blank=True,
        validators=[validate_one_line],
        help_text=_(
            "Service providers only: the provider (the group) this entry receives orders for, "
            "e.g. “Example Mail Ltd”."
        ),
    )
    provider_services = models.JSONField(
        _("services offered"),
        default=list,
        blank=True,
        validators=[validate_provider_services],
        help_text=_(
            "Service providers only: the services it offers, as Regulation (EU) 2023/1543, "
            "Art. 3(3) sorts them."
        ),
    )
    provider_designation = models.CharField(
        _("capacity"),
        max_length=32,
        blank=True,
        choices=ProviderDesignation.choices,
        help_text=_(
            "Service providers only: whether this entry is the provider's designated "
            "establishment or its legal representative (Directive (EU) 2023/1544)."
        ),
    )
    emergency_phone = models.CharField(
        _("24/7 emergency phone"),
        max_length=32,
        blank=True,
        validators=[validate_phone],
        help_text=_("Service providers only: answered at any hour, for emergency orders."),
    )
    emergency_email = models.EmailField(
        _("24/7 emergency e-mail"),
        blank=True,
        help_text=_("Service providers only: read at any hour, for emergency orders."),
    )
    # Directive (EU) 2023/1544, Art. 6: each Member State designates central authorities.
    eevidence_central_authority = models.BooleanField(
        _("central authority under Directive (EU) 2023/1544"),
        default=False,
        help_text=_(
            "Designated by its Member State under Art. 6 of Directive (EU) 2023/1544 "
            "(designated establishments and legal representatives of service providers)."
        ),
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent authority"),
    )
    active = models.BooleanField(_("active"), default=True)
    source = models.CharField(
        _("source of the entry"),
        max_length=255,
        blank=True,
        validators=[validate_one_line],
        help_text=_("Where the data comes from, e.g. “EJN Atlas, 2026-10”."),
    )
    last_verified_at = models.DateField(_("last verified on"), null=True, blank=True)
    last_verified_by = models.CharField(
        _("last verified by"), max_length=255, blank=True, validators=[validate_one_line]
    )

    inbox_url = models.URLField(
        _("inbox URL"), blank=True, max_length=500, validators=[validate_inbox_url]
    )
    public_key = models.TextField(
        _("OpenPGP public key"), blank=True, validators=[validate_no_control_characters]
    )
    # Derived from public_key by gpg when it is saved; never typed.
    key_fingerprint = models.CharField(_("key fingerprint"), max_length=40, blank=True)
    key_algorithm = models.CharField(_("key algorithm"), max_length=64, blank=True)
    key_user_id = models.CharField(_("key user ID"), max_length=255, blank=True)
    key_created_at = models.DateTimeField(_("key created"), null=True, blank=True)
    key_expires_at = models.DateTimeField(_("key expires"), null=True, blank=True)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Derived on every save (refresh_derived_fields), for fast listing and search:
    # the country code, so that lists sort by it from one index without a join, and the
    # folded searchable text, which a trigram index (migration 0002) serves on PostgreSQL.
    country_code = models.CharField(max_length=2, editable=False, default="")
    search_text = models.TextField(editable=False, default="")

    history = HistoricalRecords(
        m2m_fields=[languages], excluded_fields=["updated_at", "search_text", "country_code"]
    )
    objects = AuthorityQuerySet.as_manager()

    instrument_links: "RelatedManager[AuthorityInstrument]"
    contacts: "RelatedManager[ContactPerson]"
    children: "RelatedManager[Authority]"

    class Meta:
        ordering = ["country_code", "name"]
        verbose_name = _("authority")
        verbose_name_plural = _("authorities")
        indexes = [
            # The directory's default listing order, for active entries.
            models.Index(
                "country_code",
                models.F("available_24_7").desc(),
                "name",
                "id",
                condition=models.Q(active=True),
                name="authority_listing",
            ),
            models.Index(fields=["country", "kind"], name="authority_country_kind"),
            models.Index(fields=["last_verified_at"], name="authority_last_verified"),
        ]
        constraints = [
            # One key speaks for one authority: a fingerprint pinned for two active entries
            # would let a message signed for one be taken as the other's.
            models.UniqueConstraint(
                fields=["key_fingerprint"],
                condition=models.Q(active=True) & ~models.Q(key_fingerprint=""),
                name="authority_fingerprint_once_among_active",
            )
        ]
        permissions = [("verify_authority", _("Can mark directory entries as verified"))]

    def __str__(self) -> str:
        return f"{self.name} ({self.country.code})" if self.country_id else self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.refresh_derived_fields()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {
                *update_fields,
                "search_text",
                "country_code",
                "reference_code",
            }
        super().save(*args, **kwargs)

    def refresh_derived_fields(self) -> None:
        self.country_code = self.country.code
        if not self.reference_code:
            self.reference_code = authority_reference_code_free(
                identifier=self.identifier, country_code=self.country.code, exclude_pk=self.pk
            )
        self.search_text = search_fold(
            " ".join(
                [
                    self.name,
                    self.name_local,
                    self.provider_name,
                    self.identifier,
                    self.email,
                    self.postal_address,
                    self.country.name,
                    self.country.code,
                ]
            )
        )

    def clean(self) -> None:
        self.phone = normalise_phone(self.phone)
        try:
            self.emergency_phone = normalise_phone(self.emergency_phone)
        except ValidationError as error:
            raise ValidationError({"emergency_phone": error.messages}) from error
        if isinstance(self.provider_services, list):
            self.provider_services = sorted(set(self.provider_services))
        errors = provider_fields_errors(
            kind=self.kind,
            provider_name=self.provider_name,
            provider_services=self.provider_services,
            provider_designation=self.provider_designation,
            emergency_phone=self.emergency_phone,
            emergency_email=self.emergency_email,
        )
        if errors:
            raise ValidationError(errors)
        if self.pk and self.parent_id:
            ancestor: Authority | None = self.parent
            seen = {self.pk}
            while ancestor is not None:
                if ancestor.pk in seen:
                    raise ValidationError(
                        {"parent": _("An authority cannot be its own parent, even indirectly.")}
                    )
                seen.add(ancestor.pk)
                ancestor = ancestor.parent

    @property
    def fingerprint_groups(self) -> str:
        """The fingerprint in groups of four, as it is read aloud over the phone."""
        fpr = self.key_fingerprint
        return " ".join(fpr[i : i + 4] for i in range(0, len(fpr), 4))

    @property
    def is_stale(self) -> bool:
        return self.last_verified_at is None or self.last_verified_at < stale_cutoff()

    @property
    def instrument_codes(self) -> list[str]:
        return sorted(link.instrument for link in self.instrument_links.all())

    @property
    def is_service_provider(self) -> bool:
        return self.kind == AuthorityKind.SERVICE_PROVIDER

    @property
    def is_enforcing_authority(self) -> bool:
        """Receives the notification of European Production Orders (Regulation (EU)
        2023/1543, Art. 8): the enforcing authority of its Member State."""
        return ENFORCING_INSTRUMENT in self.instrument_codes

    @property
    def provider_services_labels(self) -> list[str]:
        labels = dict(ProviderService.choices)
        return [str(labels.get(code, code)) for code in self.provider_services or []]


def authority_reference_code_free(
    *, identifier: str, country_code: str, exclude_pk: int | None = None
) -> str:
    """The short code derived for ``identifier`` (contact_points.reference_codes), avoiding
    the codes other authorities already hold."""
    others = Authority.objects.exclude(pk=exclude_pk) if exclude_pk else Authority.objects.all()

    class _Held:
        """The codes other authorities hold, asked one candidate at a time."""

        def __contains__(self, code: object) -> bool:
            return others.filter(reference_code=code).exists()

    return reference_code_derive(identifier=identifier, country_code=country_code, taken=_Held())


class AuthorityInstrument(models.Model):
    """An instrument an authority receives (one row per instrument)."""

    authority = models.ForeignKey(
        Authority, on_delete=models.CASCADE, related_name="instrument_links"
    )
    instrument = models.CharField(_("instrument"), max_length=32, choices=Instrument.choices)

    class Meta:
        ordering = ["instrument"]
        constraints = [
            models.UniqueConstraint(
                fields=["authority", "instrument"], name="authority_instrument_once"
            )
        ]
        indexes = [models.Index(fields=["instrument", "authority"], name="instrument_authority")]

    def __str__(self) -> str:
        return self.get_instrument_display()


class ContactPerson(models.Model):
    authority = models.ForeignKey(Authority, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=255, validators=[validate_one_line])
    function = models.CharField(
        _("function"), max_length=255, blank=True, validators=[validate_one_line]
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True, validators=[validate_phone])
    email = models.EmailField(_("e-mail"), blank=True)
    languages = models.ManyToManyField(
        Language, verbose_name=_("languages"), related_name="+", blank=True
    )
    history = HistoricalRecords(m2m_fields=[languages])

    class Meta:
        ordering = ["authority", "name"]
        verbose_name = _("contact person")
        verbose_name_plural = _("contact persons")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        self.phone = normalise_phone(self.phone)


class DirectoryChange(models.Model):
    """A change to the trust anchors of an entry: its public key, its inbox URL or both.

    Proposed by one directory administrator (or an unsigned import), applied only once a
    second one approves it; until then the old key and URL stay in force. A change that a
    signed directory from a pinned publisher carries is applied at once, and recorded here
    too, approved by that publisher. The row is the record of who proposed, who decided and
    when, with the old and new values side by side.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("awaiting approval")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")
        SUPERSEDED = "superseded", _("superseded")

    class Origin(models.TextChoices):
        FORM = "form", _("change form")
        IMPORT = "import", _("unsigned import")
        SIGNED_IMPORT = "signed_import", _("import signed by a pinned publisher")
        # A partner node's signed introduction, its fingerprint confirmed over the phone.
        INTRODUCTION = "introduction", _("partner introduction")

    authority = models.ForeignKey(
        Authority,
        on_delete=models.CASCADE,
        related_name="trust_changes",
        verbose_name=_("authority"),
    )
    origin = models.CharField(_("origin"), max_length=16, choices=Origin.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    # Null: proposed by an import on the command line, where nobody is signed in.
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("proposed by"),
    )
    proposed_at = models.DateTimeField(_("proposed"), default=timezone.now)
    old_inbox_url = models.CharField(_("current inbox URL"), max_length=500, blank=True)
    new_inbox_url = models.CharField(_("proposed inbox URL"), max_length=500, blank=True)
    old_public_key = models.TextField(_("current public key"), blank=True)
    new_public_key = models.TextField(_("proposed public key"), blank=True)
    old_fingerprint = models.CharField(_("current fingerprint"), max_length=40, blank=True)
    new_fingerprint = models.CharField(_("proposed fingerprint"), max_length=40, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    # The pinned publisher whose signature stood for the second approval.
    publisher_fingerprint = models.CharField(
        _("approved by the signature of"), max_length=40, blank=True
    )

    class Meta:
        ordering = ["-proposed_at", "-id"]
        verbose_name = _("key or inbox change")
        verbose_name_plural = _("key and inbox changes")
        constraints = [
            models.UniqueConstraint(
                fields=["authority"],
                condition=models.Q(status="pending"),
                name="directory_change_one_pending_per_authority",
            )
        ]
        indexes = [
            models.Index(fields=["status", "-proposed_at"], name="directory_change_status"),
            # The request page's warning: the latest approved key of an authority.
            models.Index(
                fields=["authority", "-decided_at"],
                condition=models.Q(status="approved"),
                name="directory_change_approved",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.authority.identifier}: {self.get_status_display()}"

    @property
    def key_changes(self) -> bool:
        return self.new_fingerprint != self.old_fingerprint

    @property
    def inbox_url_changes(self) -> bool:
        return self.new_inbox_url != self.old_inbox_url

    @staticmethod
    def grouped(fingerprint: str) -> str:
        return " ".join(fingerprint[i : i + 4] for i in range(0, len(fingerprint), 4))

    @property
    def old_fingerprint_groups(self) -> str:
        return self.grouped(self.old_fingerprint)

    @property
    def new_fingerprint_groups(self) -> str:
        return self.grouped(self.new_fingerprint)
