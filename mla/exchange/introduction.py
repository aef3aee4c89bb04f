"""Introducing two nodes to each other: a signed file that hands a partner the keys and inbox
URLs of the authorities hosted here, and the taking in of the partner's file.

The file is one JSON envelope::

    {"format": "mla-introduction", "version": 1,
     "payload": "<the introduction, itself JSON, as text>",
     "signatures": [{"authority": "...", "fingerprint": "...",
                     "signature": "-----BEGIN PGP SIGNATURE-----..."}]}

The payload is carried as text so that the bytes each key signed are exactly the bytes
checked (no re-serialisation in between); each hosted authority's pinned key signs it with
a detached signature (``directory_sign``), which proves that whoever made the file holds
every secret key it lists. A reader checks each signature in a throw-away GnuPG home
holding that one key (``directory_signature_verify``), as signed directories are checked.

Taking a file in never changes the directory by itself: the administrator compares it side
by side with the directory, ticks each fingerprint the partner read aloud over the phone,
and the ticked keys and inbox URLs are *proposed* (``directory_change_propose``); a second
administrator approves them on the usual approval page. An entry hosted here is never
touched by an introduction.
"""

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contact_points import directory_io
from contact_points.directory_signing import (
    BAD_SIGNATURE,
    KEY_EXPIRED,
    KEY_REVOKED,
    DirectorySignatureError,
    directory_sign,
    directory_signature_verify,
    fingerprints_parse,
)
from contact_points.instruments import Instrument
from contact_points.models import (
    PROVIDER_FIELDS,
    Authority,
    AuthorityInstrument,
    AuthorityKind,
    Country,
    DirectoryChange,
    Language,
)
from contact_points.reference_data import EEVIDENCE_BOUND_STATES
from contact_points.services import (
    directory_change_propose,
    inbox_url_check,
    may_administer_directory,
)
from contact_points.validators import validate_time_zone
from mla.core.errors import ApplicationError
from mla.core.node import node_identity
from mla.exchange.keys import authority_is_hosted, hosted_fingerprints, node_key_export
from mla.exchange.models import IntroductionConfirmation, PartnerIntroduction
from mla.openpgp.keys import public_key_inspect

if TYPE_CHECKING:
    from mla.accounts.models import User

FORMAT_NAME = "mla-introduction"
FORMAT_VERSION = 1
# A few authorities with their keys: far below this. A larger upload is not an introduction.
MAX_INTRODUCTION_BYTES = 1_000_000
MAX_AUTHORITIES = 100
FILE_SUFFIX = ".mlaintro.json"

# What of an entry the file carries: what a partner needs to address the authority and
# list it in its directory. Contact persons stay home (personal data, not needed to pin).
RECORD_FIELDS = (
    "identifier",
    "reference_code",
    "name",
    "name_local",
    "kind",
    "country",
    "postal_address",
    "phone",
    "email",
    "time_zone",
    "office_hours",
    "available_24_7",
    "languages",
    "instruments",
    # A service provider's entry is incomplete without them (contact_points.models).
    *PROVIDER_FIELDS,
    "eevidence_central_authority",
)
_IDENTIFIER = re.compile(r"^[-a-zA-Z0-9_]{1,100}$")


class IntroductionError(ApplicationError):
    """A partner's introduction that cannot be taken in, or a step that may not be taken."""


def _refused(message: str) -> IntroductionError:
    return IntroductionError(
        _("The introduction was refused; nothing was changed. %(reason)s") % {"reason": message}
    )


def fingerprint_grouped(fingerprint: str) -> str:
    """A fingerprint in groups of four, as it is read aloud over the phone."""
    return DirectoryChange.grouped(fingerprint)


def may_introduce(user: "User") -> bool:
    """Who may hand out the introduction and take a partner's in: who may propose a change
    of key or inbox URL (directory and node administrators)."""
    return may_administer_directory(user)


def _introducer_required(actor: "User") -> None:
    if not may_introduce(actor):
        raise IntroductionError(
            _(
                "Only a directory administrator or a node administrator may introduce this "
                "node to a partner."
            )
        )


# Making our introduction ----------------------------------------------------------------


def hosted_authorities() -> list[Authority]:
    """The active authorities whose pinned key pair this node holds."""
    fingerprints = hosted_fingerprints(refresh=True)
    candidates = (
        Authority.objects.filter(active=True, key_fingerprint__in=fingerprints)
        .select_related("country", "parent")
        .prefetch_related("languages", "instrument_links", "contacts__languages")
        .order_by("identifier")
    )
    return [authority for authority in candidates if authority_is_hosted(authority=authority)]


def _default_inbox_url(base_url: str) -> str:
    return base_url.rstrip("/") + reverse("exchange:inbox")


def _introduced_record(authority: Authority, *, base_url: str) -> dict[str, Any]:
    # The directory export's record, cut to what a partner needs.
    full = directory_io._authority_record(authority)
    record = {name: full[name] for name in RECORD_FIELDS if name != "country"}
    country = authority.country
    record["country"] = {name: getattr(country, name) for name in directory_io.COUNTRY_FIELDS}
    record["inbox_url"] = authority.inbox_url or _default_inbox_url(base_url)
    record["public_key"] = node_key_export(authority=authority)
    record["fingerprint"] = authority.key_fingerprint.upper()
    return record


def introduction_export(*, now: datetime | None = None) -> bytes:
    """Our introduction file: every hosted authority's entry, inbox URL and public key,
    signed by each of their keys."""
    identity = node_identity()
    if identity is None:
        raise IntroductionError(
            _("This node has no name and address yet: set them up first (manage.py node_init).")
        )
    authorities = hosted_authorities()
    if not authorities:
        raise IntroductionError(
            _(
                "This node holds no pinned key pair of an active authority: create one first "
                "(manage.py node_keys create AUTHORITY)."
            )
        )
    payload = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "node": {"name": identity.name, "base_url": identity.base_url},
        "made_at": (now or timezone.now()).replace(microsecond=0).isoformat(),
        "authorities": [
            _introduced_record(authority, base_url=identity.base_url) for authority in authorities
        ],
    }
    text = json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True)
    data = text.encode("utf-8")
    signatures = []
    for authority in authorities:
        signature = directory_sign(content=data, fingerprint=authority.key_fingerprint)
        signatures.append(
            {
                "authority": authority.identifier,
                "fingerprint": authority.key_fingerprint.upper(),
                "signature": signature.decode("ascii"),
            }
        )
    envelope = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "payload": text,
        "signatures": signatures,
    }
    return (json.dumps(envelope, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def introduction_file_name() -> str:
    identity = node_identity()
    name = slugify(identity.name) if identity else "node"
    return f"{name or 'node'}-{timezone.localdate():%Y-%m-%d}{FILE_SUFFIX}"


# Reading a partner's introduction ---------------------------------------------------------


@dataclass(frozen=True)
class IntroducedCountry:
    code: str
    name: str
    eio_bound: bool
    eevidence_bound: bool
    budapest_party: bool
    budapest_second_protocol_party: bool


@dataclass(frozen=True)
class IntroducedAuthority:
    identifier: str
    reference_code: str
    name: str
    name_local: str
    kind: str
    country: IntroducedCountry
    postal_address: str
    phone: str
    email: str
    time_zone: str
    office_hours: str
    available_24_7: bool
    languages: list[str]
    instruments: list[str]
    inbox_url: str
    public_key: str
    fingerprint: str
    key_expires_at: datetime | None
    # Absent from an introduction made before the e-Evidence Regulation: empty.
    provider_name: str = ""
    provider_services: tuple[str, ...] = ()
    provider_designation: str = ""
    emergency_phone: str = ""
    emergency_email: str = ""
    eevidence_central_authority: bool = False

    @property
    def fingerprint_groups(self) -> str:
        return fingerprint_grouped(self.fingerprint)

    @property
    def kind_label(self) -> str:
        return str(AuthorityKind(self.kind).label)


@dataclass(frozen=True)
class Introduction:
    node_name: str
    node_base_url: str
    made_at: datetime
    authorities: list[IntroducedAuthority]
    content: bytes
    sha256: str


def _text(record: dict[str, Any], name: str, where: str, *, required: bool = False) -> str:
    value = record.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise _refused(
            _("%(where)s: “%(field)s” must be a text%(required)s.")
            % {
                "where": where,
                "field": name,
                "required": _(", not empty") if required else "",
            }
        )
    return value.strip()


def _codes(record: dict[str, Any], name: str, where: str) -> list[str]:
    value = record.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _refused(
            _("%(where)s: “%(field)s” must be a list of codes.") % {"where": where, "field": name}
        )
    return sorted(set(value))


def _country_read(value: Any, where: str) -> IntroducedCountry:
    if not isinstance(value, dict):
        raise _refused(_("%(where)s: the country is missing.") % {"where": where})
    code = _text(value, "code", where, required=True).upper()
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise _refused(
            _("%(where)s: “%(code)s” is not a country code.") % {"where": where, "code": code}
        )
    return IntroducedCountry(
        code=code,
        name=_text(value, "name", where) or code,
        eio_bound=value.get("eio_bound") is True,
        # An introduction made before the e-Evidence Regulation says nothing of it: the
        # country is taken as the reference data has it (contact_points.reference_data).
        eevidence_bound=(
            value["eevidence_bound"] is True
            if "eevidence_bound" in value
            else code in EEVIDENCE_BOUND_STATES
        ),
        budapest_party=value.get("budapest_party") is True,
        budapest_second_protocol_party=value.get("budapest_second_protocol_party") is True,
    )


def _authority_read(record: Any, number: int) -> IntroducedAuthority:
    where = _("Authority %(number)d") % {"number": number}
    if not isinstance(record, dict):
        raise _refused(_("%(where)s is not a record.") % {"where": where})
    identifier = _text(record, "identifier", where, required=True)
    if not _IDENTIFIER.fullmatch(identifier):
        raise _refused(
            _("%(where)s: “%(identifier)s” is not a directory identifier.")
            % {"where": where, "identifier": identifier}
        )
    where = identifier
    kind = _text(record, "kind", where, required=True)
    if kind not in AuthorityKind.values:
        raise _refused(_("%(where)s: unknown kind “%(kind)s”.") % {"where": where, "kind": kind})
    time_zone = _text(record, "time_zone", where) or "UTC"
    try:
        validate_time_zone(time_zone)
    except ValidationError as error:
        raise _refused(f"{where}: {' '.join(error.messages)}") from error
    instruments = _codes(record, "instruments", where)
    unknown = [code for code in instruments if code not in Instrument.values]
    if unknown:
        raise _refused(
            _("%(where)s: unknown instruments %(codes)s.")
            % {"where": where, "codes": ", ".join(unknown)}
        )
    try:
        inbox_url = inbox_url_check(url=_text(record, "inbox_url", where, required=True))
    except ApplicationError as error:
        raise _refused(f"{where}: {error.message}") from error
    public_key = _text(record, "public_key", where, required=True)
    try:
        stated = fingerprints_parse(values=[_text(record, "fingerprint", where, required=True)])
        # Refuses a key that is expired, revoked, has no encryption subkey or cannot sign.
        key = public_key_inspect(armored=public_key)
    except ApplicationError as error:
        raise _refused(f"{where}: {error.message}") from error
    if stated != [key.fingerprint]:
        raise _refused(
            _("%(where)s: the key given is %(actual)s, not the fingerprint the file states.")
            % {"where": where, "actual": key.fingerprint}
        )
    return IntroducedAuthority(
        identifier=identifier,
        reference_code=_text(record, "reference_code", where),
        name=_text(record, "name", where, required=True),
        name_local=_text(record, "name_local", where),
        kind=kind,
        country=_country_read(record.get("country"), where),
        postal_address=_text(record, "postal_address", where),
        phone=_text(record, "phone", where),
        email=_text(record, "email", where),
        time_zone=time_zone,
        office_hours=_text(record, "office_hours", where),
        available_24_7=record.get("available_24_7") is True,
        languages=_codes(record, "languages", where),
        instruments=instruments,
        inbox_url=inbox_url,
        public_key=key.armored,
        fingerprint=key.fingerprint,
        key_expires_at=key.expires_at,
        provider_name=_text(record, "provider_name", where),
        provider_services=tuple(_codes(record, "provider_services", where)),
        provider_designation=_text(record, "provider_designation", where),
        emergency_phone=_text(record, "emergency_phone", where),
        emergency_email=_text(record, "emergency_email", where),
        eevidence_central_authority=record.get("eevidence_central_authority") is True,
    )


def _envelope_read(content: bytes) -> tuple[str, list[Any]]:
    if len(content) > MAX_INTRODUCTION_BYTES:
        raise _refused(_("The file is too large to be an introduction."))
    try:
        envelope = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise _refused(_("The file is not an introduction (it is not JSON).")) from error
    if (
        not isinstance(envelope, dict)
        or envelope.get("format") != FORMAT_NAME
        or not isinstance(envelope.get("payload"), str)
    ):
        raise _refused(_("The file is not an introduction of this system."))
    if envelope.get("version") != FORMAT_VERSION:
        raise _refused(
            _("The introduction is of version %(version)s; this node reads version %(ours)d.")
            % {"version": envelope.get("version"), "ours": FORMAT_VERSION}
        )
    signatures = envelope.get("signatures")
    if not isinstance(signatures, list) or not signatures:
        raise _refused(_("The introduction is not signed."))
    return envelope["payload"], signatures


def _signature_check(*, data: bytes, authority: IntroducedAuthority, signature: str) -> None:
    try:
        directory_signature_verify(
            content=data,
            signature=signature.encode("utf-8"),
            pinned=[authority.fingerprint],
            publisher_keys=[authority.public_key],
        )
    except DirectorySignatureError as error:
        messages = {
            BAD_SIGNATURE: _(
                "The signature of %(authority)s does not hold: the file was changed after it "
                "was signed, or the signature is not one of its key."
            ),
            KEY_EXPIRED: _("The key of %(authority)s has expired."),
            KEY_REVOKED: _("The key of %(authority)s has been revoked."),
        }
        message = messages.get(
            error.reason,
            _("The signature of %(authority)s cannot be verified with the key the file gives."),
        )
        raise _refused(message % {"authority": authority.identifier}) from error


def _own_entries_refuse(authorities: Iterable[IntroducedAuthority], node_base_url: str) -> None:
    identity = node_identity()
    if identity is not None and identity.base_url.rstrip("/") == node_base_url.rstrip("/"):
        raise _refused(_("This is this node's own introduction; take in the partner's."))
    ours = hosted_fingerprints(refresh=True)
    for introduced in authorities:
        current = Authority.objects.filter(identifier=introduced.identifier).first()
        if introduced.fingerprint in ours or (
            current is not None and authority_is_hosted(authority=current)
        ):
            raise _refused(
                _(
                    "%(authority)s is hosted on this node: an introduction never changes this "
                    "node's own entries."
                )
                % {"authority": introduced.identifier}
            )


def introduction_read(*, content: bytes) -> Introduction:
    """Parse and verify a partner's introduction; IntroductionError says why it is refused.

    Every listed key must have signed the payload (proof that the partner holds it), every
    key must be current and able to sign and encrypt, and no authority hosted here may be
    listed.
    """
    text, signatures = _envelope_read(content)
    data = text.encode("utf-8")
    try:
        payload = json.loads(text)
    except ValueError as error:
        raise _refused(_("The introduction's payload is not JSON.")) from error
    if (
        not isinstance(payload, dict)
        or payload.get("format") != FORMAT_NAME
        or payload.get("version") != FORMAT_VERSION
    ):
        raise _refused(_("The introduction's payload is not of this format."))
    node = payload.get("node")
    if not isinstance(node, dict):
        raise _refused(_("The introduction does not name its node."))
    node_name = _text(node, "name", _("The node"), required=True)
    node_base_url = _text(node, "base_url", _("The node"), required=True)
    try:
        made_at = datetime.fromisoformat(str(payload.get("made_at", "")))
    except ValueError as error:
        raise _refused(_("The introduction does not say when it was made.")) from error
    if timezone.is_naive(made_at):
        raise _refused(_("The introduction does not say when it was made."))
    records = payload.get("authorities")
    if not isinstance(records, list) or not records:
        raise _refused(_("The introduction lists no authority."))
    if len(records) > MAX_AUTHORITIES:
        raise _refused(_("The introduction lists too many authorities."))
    authorities = [_authority_read(record, number) for number, record in enumerate(records, 1)]
    identifiers = [authority.identifier for authority in authorities]
    fingerprints = [authority.fingerprint for authority in authorities]
    if len(set(identifiers)) != len(identifiers) or len(set(fingerprints)) != len(fingerprints):
        raise _refused(_("The introduction lists an authority or a key twice."))
    by_fingerprint: dict[str, str] = {}
    for entry in signatures:
        if not isinstance(entry, dict) or not isinstance(entry.get("signature"), str):
            raise _refused(_("A signature of the introduction is not readable."))
        try:
            signer = fingerprints_parse(values=[str(entry.get("fingerprint", ""))])
        except ApplicationError as error:
            raise _refused(error.message) from error
        if len(signer) != 1 or signer[0] not in fingerprints or signer[0] in by_fingerprint:
            raise _refused(
                _("The introduction carries a signature by a key it does not list, or two.")
            )
        by_fingerprint[signer[0]] = entry["signature"]
    for authority in authorities:
        signature = by_fingerprint.get(authority.fingerprint)
        if signature is None:
            raise _refused(
                _("The key of %(authority)s did not sign the introduction.")
                % {"authority": authority.identifier}
            )
        _signature_check(data=data, authority=authority, signature=signature)
    _own_entries_refuse(authorities, node_base_url)
    return Introduction(
        node_name=node_name,
        node_base_url=node_base_url,
        made_at=made_at,
        authorities=authorities,
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
    )


# Side by side -----------------------------------------------------------------------------


class Comparison(models.TextChoices):
    NEW = "new", gettext_lazy("new authority")
    KEY = "key", gettext_lazy("key change")
    INBOX = "inbox", gettext_lazy("inbox URL change")
    KEY_AND_INBOX = "key_and_inbox", gettext_lazy("key and inbox URL change")
    UNCHANGED = "unchanged", gettext_lazy("unchanged")


@dataclass(frozen=True)
class ReviewRow:
    introduced: IntroducedAuthority
    current: Authority | None
    comparison: Comparison
    pending: DirectoryChange | None
    # Another active entry of our directory that pins the same key: it cannot be proposed.
    pinned_elsewhere: Authority | None

    @property
    def current_fingerprint_groups(self) -> str:
        return self.current.fingerprint_groups if self.current else ""

    @property
    def needs_confirmation(self) -> bool:
        return self.comparison != Comparison.UNCHANGED


def _compare(introduced: IntroducedAuthority, current: Authority | None) -> Comparison:
    if current is None:
        return Comparison.NEW
    key = current.key_fingerprint.upper() != introduced.fingerprint
    inbox = current.inbox_url != introduced.inbox_url
    if key and inbox:
        return Comparison.KEY_AND_INBOX
    if key:
        return Comparison.KEY
    if inbox:
        return Comparison.INBOX
    return Comparison.UNCHANGED


def introduction_compare(*, introduction: Introduction) -> list[ReviewRow]:
    """What the file says beside what our directory holds today, authority by authority."""
    rows = []
    for introduced in introduction.authorities:
        current = (
            Authority.objects.select_related("country")
            .filter(identifier=introduced.identifier)
            .first()
        )
        pending = (
            current.trust_changes.filter(status=DirectoryChange.Status.PENDING).first()
            if current is not None
            else None
        )
        elsewhere = Authority.objects.filter(active=True, key_fingerprint=introduced.fingerprint)
        if current is not None:
            elsewhere = elsewhere.exclude(pk=current.pk)
        rows.append(
            ReviewRow(
                introduced=introduced,
                current=current,
                comparison=_compare(introduced, current),
                pending=pending,
                pinned_elsewhere=elsewhere.first(),
            )
        )
    return rows


# Taking it in -------------------------------------------------------------------------------


@transaction.atomic
def introduction_take_in(*, content: bytes, actor: "User") -> PartnerIntroduction:
    """Keep a verified partner introduction for review; the directory is not changed."""
    _introducer_required(actor)
    introduction = introduction_read(content=content)
    return PartnerIntroduction.objects.create(
        node_name=introduction.node_name[:255],
        node_base_url=introduction.node_base_url[:500],
        made_at=introduction.made_at,
        content=introduction.content,
        sha256=introduction.sha256,
        taken_in_by=actor,
    )


def _country_for(introduced: IntroducedCountry, *, reason: str, actor: "User") -> Country:
    country = Country.objects.filter(code=introduced.code).first()
    if country is not None:
        # Our own record of a country stands: a partner does not redefine it.
        return country
    country = Country(
        code=introduced.code,
        name=introduced.name[:100],
        eio_bound=introduced.eio_bound,
        eevidence_bound=introduced.eevidence_bound,
        budapest_party=introduced.budapest_party,
        budapest_second_protocol_party=introduced.budapest_second_protocol_party,
    )
    country._change_reason = reason  # type: ignore[attr-defined]  # simple_history
    country._history_user = actor  # type: ignore[attr-defined]
    country.save()
    return country


def _authority_create(
    introduced: IntroducedAuthority, *, introduction: PartnerIntroduction, actor: "User"
) -> Authority:
    """The entry of an authority new to our directory, from the file, with no key nor inbox
    URL: those come only through the four-eyes proposal."""
    reason = f"introduced by {introduction.node_name}"[:100]
    country = _country_for(introduced.country, reason=reason, actor=actor)
    reference_code = introduced.reference_code
    if reference_code and Authority.objects.filter(reference_code=reference_code).exists():
        reference_code = ""  # derived on save from the identifier instead
    authority = Authority(
        identifier=introduced.identifier,
        reference_code=reference_code,
        name=introduced.name[:255],
        name_local=introduced.name_local[:255],
        country=country,
        kind=introduced.kind,
        postal_address=introduced.postal_address,
        phone=introduced.phone[:32],
        email=introduced.email[:254],
        time_zone=introduced.time_zone,
        office_hours=introduced.office_hours[:255],
        available_24_7=introduced.available_24_7,
        provider_name=introduced.provider_name[:255],
        provider_services=list(introduced.provider_services),
        provider_designation=introduced.provider_designation[:32],
        emergency_phone=introduced.emergency_phone[:32],
        emergency_email=introduced.emergency_email[:254],
        eevidence_central_authority=introduced.eevidence_central_authority,
        source=_("Introduction by %(node)s, %(date)s")
        % {"node": introduction.node_name, "date": f"{introduction.made_at:%Y-%m-%d}"},
    )
    try:
        authority.full_clean(exclude=["reference_code"])
    except ValidationError as error:
        raise IntroductionError(
            _("The entry of %(authority)s cannot be created: %(problems)s")
            % {"authority": introduced.identifier, "problems": " ".join(error.messages)}
        ) from error
    authority._change_reason = reason  # type: ignore[attr-defined]  # simple_history
    authority._history_user = actor  # type: ignore[attr-defined]
    authority.save()
    authority.languages.set(Language.objects.filter(code__in=introduced.languages))
    AuthorityInstrument.objects.bulk_create(
        [
            AuthorityInstrument(authority=authority, instrument=code)
            for code in introduced.instruments
        ]
    )
    return authority


def spoke_with_clean(value: str) -> str:
    cleaned = " ".join(value.split())[:255]
    if not cleaned:
        raise IntroductionError(
            _("Say whom you spoke to at the partner when they read the fingerprint aloud.")
        )
    return cleaned


@transaction.atomic
def introduction_propose(
    *,
    introduction: PartnerIntroduction,
    confirmed: Iterable[str],
    spoke_with: str,
    actor: "User",
) -> list[IntroductionConfirmation]:
    """Propose the keys and inbox URLs whose fingerprints ``actor`` confirmed over the phone.

    ``confirmed``: fingerprints (spaces allowed) the partner read aloud and that matched.
    An authority new to our directory gets its entry now, without key nor inbox URL; every
    key and URL goes through ``directory_change_propose`` and is pinned only once a second
    administrator approves it. Authorities not confirmed are left as they are.
    """
    _introducer_required(actor)
    spoke_with = spoke_with_clean(spoke_with)
    try:
        ticked = fingerprints_parse(values=list(confirmed))
    except ApplicationError as error:
        raise IntroductionError(error.message) from error
    if not ticked:
        raise IntroductionError(
            _(
                "Tick at least one fingerprint the partner read aloud to you over the phone; "
                "nothing is proposed without that confirmation."
            )
        )
    # Read again: a key may have expired, or an entry become ours, since it was taken in.
    read = introduction_read(content=bytes(introduction.content))
    rows = {row.introduced.fingerprint: row for row in introduction_compare(introduction=read)}
    strangers = [fingerprint for fingerprint in ticked if fingerprint not in rows]
    if strangers:
        raise IntroductionError(
            _("%(fingerprints)s: not a fingerprint of this introduction.")
            % {"fingerprints": ", ".join(fingerprint_grouped(f) for f in strangers)}
        )
    confirmations = []
    now = timezone.now()
    for fingerprint in ticked:
        row = rows[fingerprint]
        introduced = row.introduced
        authority = row.current or _authority_create(
            introduced, introduction=introduction, actor=actor
        )
        change = None
        if row.comparison != Comparison.UNCHANGED:
            try:
                change = directory_change_propose(
                    authority=authority,
                    actor=actor,
                    public_key=introduced.public_key,
                    inbox_url=introduced.inbox_url,
                    origin=DirectoryChange.Origin.INTRODUCTION,
                )
            except ApplicationError as error:
                raise IntroductionError(
                    _("%(authority)s: %(problem)s")
                    % {"authority": introduced.identifier, "problem": error.message}
                ) from error
        confirmations.append(
            IntroductionConfirmation.objects.create(
                introduction=introduction,
                authority=authority,
                fingerprint=fingerprint,
                inbox_url=introduced.inbox_url,
                spoke_with=spoke_with,
                confirmed_by=actor,
                confirmed_at=now,
                change=change,
            )
        )
    return confirmations


def introduction_pending_change(*, identifier: str) -> DirectoryChange:
    """The change an introduction proposed for ``identifier`` that awaits its second
    administrator; IntroductionError if there is none."""
    change = (
        DirectoryChange.objects.select_related("authority")
        .filter(
            authority__identifier=identifier,
            status=DirectoryChange.Status.PENDING,
            origin=DirectoryChange.Origin.INTRODUCTION,
        )
        .first()
    )
    if change is None:
        raise IntroductionError(
            _("No change proposed by an introduction awaits approval for %(authority)s.")
            % {"authority": identifier}
        )
    return change
