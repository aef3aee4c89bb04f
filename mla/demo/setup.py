"""Demo data for a first run: the fictional directory, a key pair per authority, demo users.

Idempotent: a second run finds what exists and adds nothing twice.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction

from contact_points.directory_io import ImportReport, directory_import
from contact_points.models import AcceptedLanguages, Authority, Country, Language
from contact_points.services import authority_set_public_key
from mla.accounts.models import User
from mla.accounts.roles import Role
from mla.accounts.services import user_create
from mla.openpgp.homes import secret_keyring
from mla.openpgp.keys import hosted_key_generate, secret_key_fingerprints_by_email
from mla.requests.drafting.services import request_create, request_save_section
from mla.requests.models import Request

DEMO_DIRECTORY = Path(settings.BASE_DIR) / "fixtures" / "demo_directory.json"
DEMO_PASSWORD = "Demo-Cooperation-2026"  # noqa: S105  # printed by `make run`; fictional data


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    authority: str
    roles: tuple[Role, ...]
    language: str = "en"


DEMO_USERS = (
    DemoUser("prosecutor.fr", "Camille", "Roux", "fr-paris-prosecutor", (Role.PROSECUTOR,), "fr"),
    DemoUser(
        "judge.fr",
        "Hélène",
        "Marchand",
        "fr-paris-investigating-judge",
        (Role.VALIDATING_AUTHORITY,),
        "fr",
    ),
    DemoUser("prosecutor.de", "Jonas", "Becker", "de-berlin-prosecutor", (Role.PROSECUTOR,)),
    # The Berlin office's contact point: receives, acknowledges and decides incoming requests.
    DemoUser("intake.de", "Lena", "Schulz", "de-berlin-prosecutor", (Role.CONTACT_POINT_STAFF,)),
    DemoUser(
        "central.de", "Miriam", "Vogel", "de-central-authority", (Role.CENTRAL_AUTHORITY_STAFF,)
    ),
    DemoUser("cp247.ro", "Andrei", "Popescu", "ro-247-point", (Role.CONTACT_POINT_STAFF,)),
    DemoUser("cp247.us", "Dana", "Whitfield", "us-247-point", (Role.CONTACT_POINT_STAFF,)),
    DemoUser(
        "central.fr",
        "Louis",
        "Garnier",
        "fr-central-authority",
        (Role.CENTRAL_AUTHORITY_STAFF, Role.CONTACT_POINT_STAFF),
        "fr",
    ),
    DemoUser(
        "directory.admin",
        "Sofia",
        "Lind",
        "fr-central-authority",
        (Role.DIRECTORY_ADMINISTRATOR,),
    ),
    DemoUser("auditor", "Pieter", "de Wit", "de-central-authority", (Role.AUDITOR,)),
    # Oversees the Berlin office: its statistics, and the deadlines it missed.
    DemoUser("supervisor.de", "Katrin", "Hoffmann", "de-berlin-prosecutor", (Role.SUPERVISOR,)),
    # Prosecutors who issue requests and receive them, so that the demo's history has
    # someone on each side (mla.demo.history).
    DemoUser(
        "prosecutor.it",
        "Giulia",
        "Ferri",
        "it-milan-prosecutor",
        (Role.PROSECUTOR, Role.CONTACT_POINT_STAFF),
    ),
    DemoUser(
        "prosecutor.es",
        "Pablo",
        "Navarro",
        "es-madrid-prosecutor",
        (Role.PROSECUTOR, Role.CONTACT_POINT_STAFF),
    ),
    DemoUser(
        "prosecutor.ro",
        "Ioana",
        "Dumitru",
        "ro-diicot",
        (Role.PROSECUTOR, Role.CONTACT_POINT_STAFF),
    ),
    # e-Evidence (Regulation (EU) 2023/1543): a judge who validates the German prosecutor's
    # orders, the staff of two service providers' addressees who receive them, and the
    # staff of the enforcing authorities notified of production orders.
    DemoUser("judge.de", "Matthias", "Richter", "de-berlin-court", (Role.VALIDATING_AUTHORITY,)),
    DemoUser("provider.nl", "Sanne", "de Vries", "nl-lowlands-hosting", (Role.PROVIDER_STAFF,)),
    DemoUser(
        "provider.de", "Julia", "Neumann", "de-example-mail-representative", (Role.PROVIDER_STAFF,)
    ),
    DemoUser(
        "enforcing.nl",
        "Eva",
        "Janssen",
        "nl-eevidence-enforcing",
        (Role.CENTRAL_AUTHORITY_STAFF,),
    ),
    DemoUser(
        "enforcing.de",
        "Anna",
        "Krüger",
        "de-eevidence-enforcing",
        (Role.CENTRAL_AUTHORITY_STAFF,),
    ),
)


def demo_directory_load() -> ImportReport:
    """The entries of the demo directory not in the directory yet: a second run adds what
    is missing and leaves every entry there as it is, with what an administrator edited
    since (a phone number, office hours). Its keys are this node's own (demo_keys_ensure),
    so the file, which holds none, says nothing about them."""
    document = json.loads(DEMO_DIRECTORY.read_bytes())
    demo_accepted_languages_add(countries=document["countries"])
    countries = set(Country.objects.values_list("code", flat=True))
    authorities = set(Authority.objects.values_list("identifier", flat=True))
    document["countries"] = [
        entry for entry in document["countries"] if entry["code"] not in countries
    ]
    document["authorities"] = [
        entry for entry in document["authorities"] if entry["identifier"] not in authorities
    ]
    if not document["countries"] and not document["authorities"]:
        return ImportReport()
    for entry in document["authorities"]:
        entry.pop("public_key", None)
        entry.pop("key_fingerprint", None)
    return directory_import(data=json.dumps(document).encode(), fmt="json")


def demo_accepted_languages_add(*, countries: list[dict[str, Any]]) -> int:
    """The languages the file gives a country already in the directory for an instrument it
    has none for (the e-Evidence instruments, on a demo set up before them); a country's
    existing policies stay as they are."""
    added = 0
    existing = {
        (code, instrument)
        for code, instrument in AcceptedLanguages.objects.values_list("country__code", "instrument")
    }
    by_code = {country.code: country for country in Country.objects.all()}
    for entry in countries:
        country = by_code.get(entry["code"])
        if country is None:
            continue  # imported whole, with its policies
        for instrument, codes in entry.get("accepted_languages", {}).items():
            if (country.code, instrument) in existing:
                continue
            policy = AcceptedLanguages.objects.create(country=country, instrument=instrument)
            policy.languages.set(Language.objects.filter(code__in=codes))
            added += 1
    return added


def demo_keys_ensure() -> int:
    """Give every demo authority without a key a freshly generated key pair."""
    gpg = secret_keyring()
    existing = secret_key_fingerprints_by_email(gpg=gpg)
    created = 0
    for authority in Authority.objects.filter(public_key="").select_related("country"):
        email = f"{authority.identifier}@keys.demo.example"
        fingerprint = existing.get(email) or hosted_key_generate(
            gpg=gpg, user_id_name=f"{authority.name} [demo]", user_id_email=email
        )
        authority_set_public_key(authority=authority, armored=gpg.export_keys(fingerprint))
        created += 1
    return created


DEMO_FACTS = (
    "Fictional demo case. Between March and October 2026 a group recruited victims through "
    "online job advertisements, organised their travel from Romania and exploited them in "
    "France and Germany; payments went through accounts held in Germany."
)


@transaction.atomic
def demo_requests_ensure() -> int:
    """One started EIO draft for the French demo prosecutor, so that the drafting pages
    have something to show on a first run."""
    prosecutor = User.objects.filter(username="prosecutor.fr").first()
    if prosecutor is None or Request.objects.filter(created_by=prosecutor).exists():
        return 0
    berlin = Authority.objects.get(identifier="de-berlin-prosecutor")
    draft = request_create(
        actor=prosecutor,
        declaration_code="eio",
        executing_country=berlin.country,
        executing_authority=berlin,
    )
    request_save_section(
        request=draft,
        actor=prosecutor,
        section_code="G",
        values={"facts": DEMO_FACTS, "offence_categories": ["trafficking_human_beings"]},
        expected_version=draft.version,
    )
    return 1


@transaction.atomic
def demo_users_ensure() -> list[DemoUser]:
    created = []
    hashed = ""  # one hash of the one password, made when the first account needs it
    for demo in DEMO_USERS:
        if User.objects.filter(username=demo.username).exists():
            continue
        hashed = hashed or make_password(DEMO_PASSWORD)
        user_create(
            username=demo.username,
            password=DEMO_PASSWORD,
            password_hash=hashed,
            authority=Authority.objects.get(identifier=demo.authority),
            roles=demo.roles,
            first_name=demo.first_name,
            last_name=demo.last_name,
            email=f"{demo.username}@demo.example",
            preferred_language=demo.language,
        )
        created.append(demo)
    return created
