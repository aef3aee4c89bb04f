"""Write-side services of the directory."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from contact_points.models import Authority
from mla.openpgp.keys import PublicKeyInfo, public_key_inspect

if TYPE_CHECKING:
    from mla.accounts.models import User


def authority_identifier_suggest(*, country_code: str, name: str) -> str:
    """A readable, unused identifier such as ``ro-directorate-for-organised-crime``."""
    base = f"{country_code.lower()}-{slugify(name)}"[:90].strip("-") or country_code.lower()
    candidate, counter = base, 2
    while Authority.objects.filter(identifier=candidate).exists():
        candidate = f"{base}-{counter}"
        counter += 1
    return candidate


def authority_apply_key_info(*, authority: Authority, key: PublicKeyInfo | None) -> None:
    """Copy what gpg read from the key onto the entry (or clear it when ``key`` is None)."""
    authority.public_key = key.armored if key else ""
    authority.key_fingerprint = key.fingerprint if key else ""
    authority.key_algorithm = key.algorithm if key else ""
    authority.key_user_id = key.user_id[:255] if key else ""
    authority.key_created_at = key.created_at if key else None
    authority.key_expires_at = key.expires_at if key else None


@transaction.atomic
def authority_set_public_key(*, authority: Authority, armored: str) -> Authority:
    """Pin ``armored`` as the authority's key once gpg has validated it (else ApplicationError)."""
    key = public_key_inspect(armored=armored) if armored.strip() else None
    authority_apply_key_info(authority=authority, key=key)
    authority.save()
    return authority


def verifier_label(user: User) -> str:
    name = user.get_full_name() or user.username
    return re.sub(r"\s+", " ", f"{name} ({user.authority.name})")[:255]


@transaction.atomic
def authorities_mark_verified(
    *, authorities: Iterable[Authority], actor: User, on: date | None = None
) -> int:
    """Record that ``actor`` checked these entries today; each save lands in their history."""
    on = on or timezone.localdate()
    label = verifier_label(actor)
    count = 0
    for authority in authorities:
        authority.last_verified_at = on
        authority.last_verified_by = label
        authority._change_reason = "verified"  # type: ignore[attr-defined]  # simple_history
        authority.save(update_fields=["last_verified_at", "last_verified_by", "updated_at"])
        count += 1
    return count
