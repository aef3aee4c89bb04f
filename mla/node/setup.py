"""The first start of a real node (``manage.py node_init``): its name and public base URL, the
authorities it hosts with their key pairs and inbox URLs, and its first administrator.

Everything is checked before anything is written, and the database is written in one
transaction. The key pairs are made by gpg, outside the database, last in that transaction:
if the run fails after gpg made a key pair, the database forgets the run but the secret
home keeps the key pair, and the next run pins it (``node_key_repin``) instead of making
another. Running it again with the same answers is safe: it keeps what exists and says so.
"""

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

import pycountry
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _

from contact_points.instruments import Instrument
from contact_points.models import (
    Authority,
    AuthorityInstrument,
    AuthorityKind,
    Country,
    authority_instruments_problems,
)
from contact_points.reference_data import EEVIDENCE_BOUND_STATES, EIO_BOUND_STATES
from contact_points.services import inbox_url_check
from mla.accounts.models import User
from mla.accounts.roles import Role
from mla.core.errors import ApplicationError
from mla.core.node import node_identity_set
from mla.exchange.keys import node_held_keys, node_key_create, node_key_repin


class NodeInitError(ApplicationError):
    """An answer node_init cannot use; nothing was written."""


@dataclass(frozen=True)
class NewAuthority:
    """An authority this node hosts that is not in the directory yet."""

    identifier: str
    name: str
    country_code: str
    kind: str
    time_zone: str
    # Instrument codes (contact_points.instruments.Instrument) it receives.
    instruments: tuple[str, ...] = ()


@dataclass(frozen=True)
class FirstAdministrator:
    username: str
    email: str
    # Default: the first authority the node hosts.
    authority_identifier: str = ""
    # Empty: a random one, handed back once in the result and stored only as its hash.
    password: str = ""


class KeyAction:
    CREATED = "created"
    KEPT = "kept"
    PINNED_AGAIN = "pinned_again"


@dataclass(frozen=True)
class HostedAuthority:
    identifier: str
    name: str
    fingerprint: str
    key_action: str
    inbox_url: str
    inbox_set: bool

    @property
    def fingerprint_groups(self) -> str:
        return " ".join(self.fingerprint[i : i + 4] for i in range(0, len(self.fingerprint), 4))


@dataclass(frozen=True)
class AdministratorOutcome:
    username: str
    created: bool
    # The random password made for a new administrator; empty when one was given or none made.
    password: str = ""


@dataclass(frozen=True)
class NodeInitResult:
    name: str
    base_url: str
    sign_in_url: str
    authorities: list[HostedAuthority]
    administrator: AdministratorOutcome | None
    notes: list[str] = field(default_factory=list)


@dataclass
class _Plan:
    name: str
    base_url: str
    inbox_url: str
    identifiers: list[str]
    new_authority: NewAuthority | None
    create_country: bool
    key_actions: dict[str, str]
    administrator: FirstAdministrator | None
    password_generated: bool
    notes: list[str]


def node_inbox_url(*, base_url: str) -> str:
    """The inbox URL of every authority hosted on a node reached at ``base_url``."""
    return base_url.rstrip("/") + reverse("exchange:inbox")


def node_sign_in_url(*, base_url: str) -> str:
    return base_url.rstrip("/") + reverse("accounts:login")


def node_administrators() -> list[User]:
    """The node's active administrators: superusers and holders of the node role."""
    return list(
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=Role.NODE_ADMINISTRATOR))
        .distinct()
        .order_by("date_joined", "pk")
    )


def _errors(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(
            f"{name}: {message}"
            for name, messages in error.message_dict.items()
            for message in messages
        )
    return " ".join(error.messages)


def _check_identity(*, name: str, base_url: str) -> tuple[str, str, str]:
    name, base_url = name.strip(), base_url.strip().rstrip("/")
    if not name:
        raise NodeInitError(_("The node needs a name (--name)."))
    if not base_url:
        raise NodeInitError(_("The node needs its public base URL (--base-url)."))
    try:
        URLValidator(schemes=["http", "https"])(base_url)
    except ValidationError as error:
        raise NodeInitError(
            _("“%(url)s” is not a base URL such as https://mla.example.org.") % {"url": base_url}
        ) from error
    try:
        inbox_url = inbox_url_check(url=node_inbox_url(base_url=base_url))
    except ApplicationError as error:
        raise NodeInitError(_("Base URL: %(reason)s") % {"reason": error.message}) from error
    return name, base_url, inbox_url


def _check_new_authority(new: NewAuthority) -> tuple[NewAuthority, bool]:
    """The new authority's answers, cleaned; and whether its country must be created."""
    new = NewAuthority(
        identifier=new.identifier.strip(),
        name=new.name.strip(),
        country_code=new.country_code.strip().upper(),
        kind=new.kind.strip(),
        time_zone=new.time_zone.strip(),
        instruments=tuple(sorted({code.strip().lower() for code in new.instruments})),
    )
    unknown = [code for code in new.instruments if code not in Instrument.values]
    if unknown:
        raise NodeInitError(
            _("--instruments: “%(codes)s” is not an instrument (one of: %(known)s).")
            % {"codes": ", ".join(unknown), "known": ", ".join(Instrument.values)}
        )
    missing = [
        option
        for option, value in (
            ("--authority-name", new.name),
            ("--country", new.country_code),
            ("--kind", new.kind),
            ("--time-zone", new.time_zone),
        )
        if not value
    ]
    if missing:
        raise NodeInitError(
            _("To create the authority %(identifier)s, give also: %(options)s.")
            % {"identifier": new.identifier, "options": ", ".join(missing)}
        )
    if new.kind not in AuthorityKind.values:
        raise NodeInitError(
            _("--kind: “%(kind)s” is not a kind of authority (one of: %(kinds)s).")
            % {"kind": new.kind, "kinds": ", ".join(AuthorityKind.values)}
        )
    country = Country.objects.filter(code=new.country_code).first()
    create_country = country is None
    problems = authority_instruments_problems(
        kind=new.kind,
        country=country
        or Country(
            code=new.country_code,
            name=new.country_code,
            eevidence_bound=new.country_code in EEVIDENCE_BOUND_STATES,
        ),
        instruments=new.instruments,
    )
    if problems:
        raise NodeInitError("--instruments: " + " ".join(problems))
    if create_country:
        country = Country(code=new.country_code, name=_iso_country_name(new.country_code))
        try:
            country.full_clean(validate_unique=False)
        except ValidationError as error:
            raise NodeInitError(_("--country: %(reason)s") % {"reason": _errors(error)}) from error
    candidate = Authority(
        identifier=new.identifier, name=new.name, kind=new.kind, time_zone=new.time_zone
    )
    try:
        candidate.full_clean(exclude=["country"], validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise NodeInitError(
            _("The authority %(identifier)s cannot be created: %(reason)s")
            % {"identifier": new.identifier, "reason": _errors(error)}
        ) from error
    return new, create_country


def _iso_country_name(code: str) -> str:
    found = pycountry.countries.get(alpha_2=code)
    return str(found.name) if found is not None else ""


def _key_action(
    *, authority: Authority, held_fingerprints: frozenset[str], held_for: frozenset[str]
) -> str:
    pinned = authority.key_fingerprint.upper()
    if pinned and pinned in held_fingerprints:
        return KeyAction.KEPT
    if pinned and authority.identifier in held_for:
        raise NodeInitError(
            _(
                "The directory pins key %(fingerprint)s for %(authority)s, which this node does "
                "not hold, although it holds a key pair made for it: pin that one again with "
                "`node_keys repin %(authority)s`, then run node_init again."
            )
            % {"fingerprint": pinned, "authority": authority.identifier}
        )
    if pinned:
        raise NodeInitError(
            _(
                "The directory pins key %(fingerprint)s for %(authority)s, and this node does not "
                "hold it: the authority is hosted on another node. If it moves to this node, "
                "remove that key from its directory entry first."
            )
            % {"fingerprint": pinned, "authority": authority.identifier}
        )
    if authority.identifier in held_for:
        return KeyAction.PINNED_AGAIN
    return KeyAction.CREATED


def _check_administrator(
    administrator: FirstAdministrator | None, *, identifiers: list[str], notes: list[str]
) -> FirstAdministrator | None:
    """The administrator to create, their authority resolved (None: none to create)."""
    existing = node_administrators()
    if existing:
        first = existing[0].username
        if administrator is None or administrator.username.strip() == first:
            notes.append(
                _("The node's first administrator %(username)s already exists: kept.")
                % {"username": first}
            )
        else:
            notes.append(
                _(
                    "No administrator created: the node already has its first administrator "
                    "(%(username)s). Add others with `createsuperuser`, or by the first "
                    "administrator in the browser."
                )
                % {"username": first}
            )
        return None
    if administrator is None:
        raise NodeInitError(
            _(
                "The node has no administrator yet: give --admin-username and --admin-email "
                "for the first one."
            )
        )
    username = administrator.username.strip()
    email = administrator.email.strip()
    if not username:
        raise NodeInitError(_("The first administrator needs a username (--admin-username)."))
    try:
        User.username_validator(username)
    except ValidationError as error:
        raise NodeInitError(
            _("--admin-username: %(reason)s") % {"reason": _errors(error)}
        ) from error
    if len(username) > 150:
        raise NodeInitError(_("--admin-username: at most 150 characters."))
    if User.objects.filter(username__iexact=username).exists():
        raise NodeInitError(
            _("--admin-username: the username “%(username)s” is taken.") % {"username": username}
        )
    if not email:
        raise NodeInitError(_("The first administrator needs an e-mail address (--admin-email)."))
    try:
        validate_email(email)
    except ValidationError as error:
        raise NodeInitError(
            _("--admin-email: “%(email)s” is not an e-mail address.") % {"email": email}
        ) from error
    authority = administrator.authority_identifier.strip() or identifiers[0]
    if authority not in identifiers and not Authority.objects.filter(identifier=authority).exists():
        raise NodeInitError(
            _("--admin-authority: no authority “%(identifier)s” in the directory.")
            % {"identifier": authority}
        )
    if administrator.password:
        try:
            validate_password(administrator.password, User(username=username, email=email))
        except ValidationError as error:
            raise NodeInitError(
                _("The administrator's password: %(reason)s") % {"reason": _errors(error)}
            ) from error
    return FirstAdministrator(
        username=username,
        email=email,
        authority_identifier=authority,
        password=administrator.password,
    )


def _plan(
    *,
    name: str,
    base_url: str,
    authorities: Sequence[str],
    new_authority: NewAuthority | None,
    administrator: FirstAdministrator | None,
) -> _Plan:
    notes: list[str] = []
    name, base_url, inbox_url = _check_identity(name=name, base_url=base_url)
    held = node_held_keys()
    named = [identifier.strip() for identifier in authorities]
    if new_authority is not None:
        named.append(new_authority.identifier.strip())
    if not any(named):
        # Run again without naming any: the authorities it already hosts.
        named = list(
            Authority.objects.filter(key_fingerprint__in=held.fingerprints)
            .order_by("identifier")
            .values_list("identifier", flat=True)
        )
    identifiers: list[str] = []
    for identifier in named:
        if identifier and identifier not in identifiers:
            identifiers.append(identifier)
    if not identifiers:
        raise NodeInitError(
            _(
                "Name the authorities this node hosts: --authority IDENTIFIER for one already "
                "in the directory, or --create-authority IDENTIFIER with --authority-name, "
                "--country, --kind and --time-zone for a new one."
            )
        )
    create_country = False
    if new_authority is not None:
        if Authority.objects.filter(identifier=new_authority.identifier.strip()).exists():
            notes.append(
                _("%(identifier)s is already in the directory: its entry is kept as it is.")
                % {"identifier": new_authority.identifier.strip()}
            )
            new_authority = None
        else:
            new_authority, create_country = _check_new_authority(new_authority)
    found = {a.identifier: a for a in Authority.objects.filter(identifier__in=identifiers)}
    key_actions: dict[str, str] = {}
    for identifier in identifiers:
        if new_authority is not None and identifier == new_authority.identifier:
            key_actions[identifier] = (
                KeyAction.PINNED_AGAIN if identifier in held.identifiers else KeyAction.CREATED
            )
            continue
        authority = found.get(identifier)
        if authority is None:
            raise NodeInitError(
                _(
                    "No authority “%(identifier)s” in the directory: import the directory first, "
                    "or create it with --create-authority %(identifier)s --authority-name NAME "
                    "--country CC --kind KIND --time-zone ZONE."
                )
                % {"identifier": identifier}
            )
        if not authority.active:
            raise NodeInitError(
                _("%(identifier)s is inactive in the directory; a node hosts active authorities.")
                % {"identifier": identifier}
            )
        key_actions[identifier] = _key_action(
            authority=authority,
            held_fingerprints=held.fingerprints,
            held_for=held.identifiers,
        )
    administrator = _check_administrator(administrator, identifiers=identifiers, notes=notes)
    password_generated = administrator is not None and not administrator.password
    if password_generated:
        assert administrator is not None
        administrator = FirstAdministrator(
            username=administrator.username,
            email=administrator.email,
            authority_identifier=administrator.authority_identifier,
            # About 120 random bits, in characters that survive being copied from a terminal.
            password=secrets.token_urlsafe(15),
        )
    return _Plan(
        name=name,
        base_url=base_url,
        inbox_url=inbox_url,
        identifiers=identifiers,
        new_authority=new_authority,
        create_country=create_country,
        key_actions=key_actions,
        administrator=administrator,
        password_generated=password_generated,
        notes=notes,
    )


def _create_authority(
    new: NewAuthority, *, create_country: bool, inbox_url: str, notes: list[str]
) -> None:
    if create_country:
        country = Country(
            code=new.country_code,
            name=_iso_country_name(new.country_code),
            eio_bound=new.country_code in EIO_BOUND_STATES,
            eevidence_bound=new.country_code in EEVIDENCE_BOUND_STATES,
        )
        country._change_reason = "node_init"  # type: ignore[attr-defined]  # simple_history
        country.save()
        notes.append(
            _(
                "Country %(code)s was not in the directory: added with its ISO name, as bound "
                "by the EIO Directive: %(eio)s, by the e-Evidence Regulation: %(eevidence)s. "
                "Say whether the Budapest Convention binds it in the administration, or "
                "import the directory."
            )
            % {
                "code": new.country_code,
                "eio": _("yes") if country.eio_bound else _("no"),
                "eevidence": _("yes") if country.eevidence_bound else _("no"),
            }
        )
    else:
        country = Country.objects.get(code=new.country_code)
    authority = Authority(
        identifier=new.identifier,
        name=new.name,
        kind=new.kind,
        time_zone=new.time_zone,
        country=country,
        inbox_url=inbox_url,
    )
    authority._change_reason = "node_init"  # type: ignore[attr-defined]  # simple_history
    authority.save()
    AuthorityInstrument.objects.bulk_create(
        AuthorityInstrument(authority=authority, instrument=code) for code in new.instruments
    )
    if authority.is_service_provider:
        notes.append(
            _(
                "%(identifier)s is a service provider's entry: record its provider, services, "
                "capacity and 24/7 emergency contact in the administration."
            )
            % {"identifier": new.identifier}
        )
    if not new.instruments:
        notes.append(
            _(
                "%(identifier)s receives no instrument yet: no partner can address a request "
                "to it. Add them in the administration (or run again with --instruments)."
            )
            % {"identifier": new.identifier}
        )


def _administrator_create(administrator: FirstAdministrator) -> User:
    user = User.objects.create_superuser(
        username=administrator.username,
        email=administrator.email,
        password=administrator.password,
        authority=administrator.authority_identifier,
    )
    role, _created = Group.objects.get_or_create(name=Role.NODE_ADMINISTRATOR)
    user.groups.add(role)
    return user


def node_init(
    *,
    name: str,
    base_url: str,
    authorities: Sequence[str] = (),
    new_authority: NewAuthority | None = None,
    administrator: FirstAdministrator | None = None,
) -> NodeInitResult:
    """Set this node up, or finish setting it up; NodeInitError (nothing written) if an
    answer cannot serve.

    ``authorities``: identifiers of directory entries this node hosts; ``new_authority``:
    one to add to the directory and host. Each gets the node's inbox URL when it has none,
    and a key pair unless it already has one here. ``administrator`` is created, a superuser
    with the node administrator role, only if the node has no administrator yet.
    """
    plan = _plan(
        name=name,
        base_url=base_url,
        authorities=authorities,
        new_authority=new_authority,
        administrator=administrator,
    )
    notes = list(plan.notes)
    with transaction.atomic():
        node_identity_set(name=plan.name, base_url=plan.base_url)
        if plan.new_authority is not None:
            _create_authority(
                plan.new_authority,
                create_country=plan.create_country,
                inbox_url=plan.inbox_url,
                notes=notes,
            )
        hosted = {
            a.identifier: a
            for a in Authority.objects.select_for_update().filter(identifier__in=plan.identifiers)
        }
        inbox_set: set[str] = set()
        for identifier in plan.identifiers:
            authority = hosted[identifier]
            if plan.new_authority is not None and identifier == plan.new_authority.identifier:
                inbox_set.add(identifier)
            elif not authority.inbox_url:
                authority.inbox_url = plan.inbox_url
                authority._change_reason = "node_init"  # type: ignore[attr-defined]
                authority.save(update_fields=["inbox_url", "updated_at"])
                inbox_set.add(identifier)
            elif authority.inbox_url != plan.inbox_url:
                notes.append(
                    _(
                        "%(identifier)s keeps its inbox URL %(url)s, which is not this node's "
                        "(%(ours)s): change it in the administration if it moved here."
                    )
                    % {"identifier": identifier, "url": authority.inbox_url, "ours": plan.inbox_url}
                )
        outcome: AdministratorOutcome | None = None
        if plan.administrator is not None:
            _administrator_create(plan.administrator)
            outcome = AdministratorOutcome(
                username=plan.administrator.username,
                created=True,
                password=plan.administrator.password if plan.password_generated else "",
            )
        else:
            existing = node_administrators()
            outcome = AdministratorOutcome(username=existing[0].username, created=False)
        # Last, since gpg writes outside the database: a failure here rolls the database
        # back under a key pair already made, which the next run pins (PINNED_AGAIN).
        for identifier in plan.identifiers:
            action = plan.key_actions[identifier]
            if action == KeyAction.CREATED:
                node_key_create(authority=hosted[identifier])
            elif action == KeyAction.PINNED_AGAIN:
                node_key_repin(authority=hosted[identifier])
    results = []
    for authority in Authority.objects.filter(identifier__in=plan.identifiers):
        results.append(
            HostedAuthority(
                identifier=authority.identifier,
                name=authority.name,
                fingerprint=authority.key_fingerprint,
                key_action=plan.key_actions[authority.identifier],
                inbox_url=authority.inbox_url,
                inbox_set=authority.identifier in inbox_set,
            )
        )
    results.sort(key=lambda result: plan.identifiers.index(result.identifier))
    return NodeInitResult(
        name=plan.name,
        base_url=plan.base_url,
        sign_in_url=node_sign_in_url(base_url=plan.base_url),
        authorities=results,
        administrator=outcome,
        notes=notes,
    )
