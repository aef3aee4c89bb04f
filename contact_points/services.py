"""Write-side services of the directory."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from contact_points.models import (
    Authority,
    Country,
    DirectoryChange,
    authority_instruments_problems,
)
from contact_points.signals import trust_change_applied, trust_changes_proposed
from contact_points.validators import validate_inbox_url
from mla.core.errors import ApplicationError
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


def authority_instruments_check(
    *, kind: str, country: Country | None, instruments: Iterable[str]
) -> None:
    """ApplicationError when an entry of ``kind`` in ``country`` may not receive
    ``instruments`` (contact_points.models.authority_instruments_problems says why)."""
    problems = authority_instruments_problems(kind=kind, country=country, instruments=instruments)
    if problems:
        raise ApplicationError(" ".join(problems), extra={"field": "instruments"})


def key_text(armored: str) -> str:
    """An armoured key as it is compared and stored: Unix line ends (a browser's text area
    sends CRLF), no surrounding blank space."""
    return armored.replace("\r\n", "\n").replace("\r", "\n").strip()


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
    """Pin ``armored`` as the authority's key once gpg has validated it (else ApplicationError).

    Applied at once: for the keys this node makes for the authorities it hosts
    (mla.exchange.keys), and for setting up. A directory administrator's change to an entry's
    key goes through ``directory_change_propose`` instead.
    """
    key = public_key_inspect(armored=armored) if armored.strip() else None
    if key is not None and authority.active:
        fingerprint_ensure_free(fingerprint=key.fingerprint, authority=authority)
    authority_apply_key_info(authority=authority, key=key)
    authority.save()
    return authority


def fingerprint_pinned_elsewhere(
    *, fingerprint: str, authority: Authority | None
) -> Authority | None:
    """The other active entry that pins ``fingerprint``, if any."""
    if not fingerprint:
        return None
    others = Authority.objects.filter(active=True, key_fingerprint=fingerprint.upper())
    if authority is not None and authority.pk:
        others = others.exclude(pk=authority.pk)
    return others.only("identifier", "name").first()


def fingerprint_ensure_free(*, fingerprint: str, authority: Authority | None) -> None:
    other = fingerprint_pinned_elsewhere(fingerprint=fingerprint, authority=authority)
    if other is not None:
        raise ApplicationError(
            _(
                "The key %(fingerprint)s is already pinned for %(other)s (%(identifier)s); "
                "one key speaks for one active authority only."
            )
            % {"fingerprint": fingerprint, "other": other.name, "identifier": other.identifier},
            extra={"field": "public_key"},
        )


def inbox_url_check(*, url: str) -> str:
    """``url`` if it may serve as an inbox URL, else ApplicationError saying why."""
    url = url.strip()
    if not url:
        return ""
    try:
        URLValidator(schemes=["http", "https"])(url)
        validate_inbox_url(url)
    except ValidationError as error:
        raise ApplicationError(" ".join(error.messages), extra={"field": "inbox_url"}) from error
    return url


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


# Four eyes on the trust anchors ---------------------------------------------------------------


def may_administer_directory(user: User) -> bool:
    """Who may propose and decide a change of key or inbox URL: a directory administrator,
    or a node administrator, who introduces the node's partners (mla.exchange.introduction)."""
    return bool(
        user.is_active
        and (user.is_superuser or user.is_directory_administrator or user.is_node_administrator)
    )


def directory_administrator_ensure(*, actor: User) -> None:
    """ApplicationError unless ``actor`` may propose and decide changes of key or inbox URL
    (also for reading those awaiting a decision, as the API lists them)."""
    if not may_administer_directory(actor):
        raise ApplicationError(
            _("Only a directory administrator may propose or decide a change of key or inbox."),
            code="forbidden",
        )


def _locked_authority(authority: Authority) -> Authority:
    return Authority.objects.select_for_update().select_related("country").get(pk=authority.pk)


def _supersede_pending(*, authority_ids: Iterable[int], now: datetime) -> int:
    return DirectoryChange.objects.filter(
        authority_id__in=list(authority_ids), status=DirectoryChange.Status.PENDING
    ).update(status=DirectoryChange.Status.SUPERSEDED, decided_at=now)


@transaction.atomic
def directory_change_propose(
    *,
    authority: Authority,
    actor: User | None,
    public_key: str,
    inbox_url: str,
    origin: str = DirectoryChange.Origin.FORM,
) -> DirectoryChange | None:
    """Propose ``public_key`` and ``inbox_url`` for an existing entry; None if both are as now.

    Nothing changes on the entry: the old key and URL stay in force until a second directory
    administrator approves (``directory_change_approve``). A newer proposal for the same
    entry supersedes one still pending. ``actor`` None: an import on the command line.
    """
    if actor is not None:
        directory_administrator_ensure(actor=actor)
    authority = _locked_authority(authority)
    public_key = key_text(public_key)
    key = public_key_inspect(armored=public_key) if public_key else None
    new_key = key.armored if key else ""
    new_fingerprint = key.fingerprint if key else ""
    new_url = inbox_url_check(url=inbox_url)
    if key_text(new_key) == key_text(authority.public_key) and new_url == authority.inbox_url:
        return None
    if authority.active and new_fingerprint != authority.key_fingerprint:
        fingerprint_ensure_free(fingerprint=new_fingerprint, authority=authority)
    now = timezone.now()
    _supersede_pending(authority_ids=[authority.pk], now=now)
    change = DirectoryChange.objects.create(
        authority=authority,
        origin=origin,
        proposed_by=actor,
        proposed_at=now,
        old_inbox_url=authority.inbox_url,
        new_inbox_url=new_url,
        old_public_key=authority.public_key,
        new_public_key=new_key,
        old_fingerprint=authority.key_fingerprint,
        new_fingerprint=new_fingerprint,
    )
    trust_changes_proposed.send(sender=DirectoryChange, changes=[change])
    return change


def _locked_pending(change: DirectoryChange) -> DirectoryChange:
    locked = DirectoryChange.objects.select_for_update().get(pk=change.pk)
    if locked.status != DirectoryChange.Status.PENDING:
        raise ApplicationError(
            _("This change was already decided (%(status)s).")
            % {"status": locked.get_status_display()},
            code="not_allowed_in_state",
        )
    return locked


@transaction.atomic
def directory_change_approve(*, change: DirectoryChange, actor: User) -> DirectoryChange:
    """Apply a pending change, as the second pair of eyes: never its proposer's.

    In one transaction: the entry takes the new key and URL (its history records who
    approved), the change is marked approved with who and when, and the exchange is told
    (``trust_change_applied``) so that the staff dealing with that partner hear of it.
    """
    directory_administrator_ensure(actor=actor)
    authority = _locked_authority(change.authority)
    change = _locked_pending(change)
    if change.proposed_by_id == actor.pk:
        raise ApplicationError(
            _(
                "You proposed this change: another directory administrator must approve it "
                "(four eyes)."
            ),
            code="forbidden",
        )
    if (
        key_text(authority.public_key) != key_text(change.old_public_key)
        or authority.inbox_url != change.old_inbox_url
    ):
        # Approving would silently undo whatever changed the entry since the proposal.
        raise ApplicationError(
            _(
                "The entry's key or inbox URL has changed since this was proposed: reject it, "
                "and propose the change again if it is still wanted."
            ),
            code="stale",
        )
    key = public_key_inspect(armored=change.new_public_key) if change.new_public_key else None
    new_url = inbox_url_check(url=change.new_inbox_url)
    if key is not None and authority.active and key.fingerprint != authority.key_fingerprint:
        fingerprint_ensure_free(fingerprint=key.fingerprint, authority=authority)
    authority_apply_key_info(authority=authority, key=key)
    authority.inbox_url = new_url
    authority._change_reason = f"change {change.pk} approved"  # type: ignore[attr-defined]
    authority._history_user = actor  # type: ignore[attr-defined]  # simple_history
    authority.save()
    change.status = DirectoryChange.Status.APPROVED
    change.decided_by = actor
    change.decided_at = timezone.now()
    change.save(update_fields=["status", "decided_by", "decided_at"])
    trust_change_applied.send(sender=DirectoryChange, change=change)
    return change


@transaction.atomic
def directory_change_reject(*, change: DirectoryChange, actor: User) -> DirectoryChange:
    """Drop a pending change; the entry keeps its key and URL. Its proposer may withdraw it."""
    directory_administrator_ensure(actor=actor)
    change = _locked_pending(change)
    change.status = DirectoryChange.Status.REJECTED
    change.decided_by = actor
    change.decided_at = timezone.now()
    change.save(update_fields=["status", "decided_by", "decided_at"])
    return change
