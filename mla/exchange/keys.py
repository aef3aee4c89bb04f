"""The OpenPGP keys of the exchange: this node's key pairs and the partners' pinned keys.

Two GnuPG homes, never mixed:

- ``NODE_SECRET_GNUPG_HOME`` holds the key pairs of the authorities hosted on this node.
  Keys are made here by ``node_key_create``/``node_key_rotate`` and never leave it; a rotated
  key stays, so that messages still in flight to it decrypt, but only the key the directory
  pins for an authority ever signs.
- ``NODE_GNUPG_HOME`` holds the public keys of every authority we verify or encrypt to,
  ours included. They come only from the directory (``partner_key_sync``), one pinned
  fingerprint per authority; nothing here is trusted by web of trust, only by that pin.

An authority is *hosted here* when this node holds the secret key whose fingerprint the
directory pins for it (``authority_is_hosted``).

The homes themselves, and the gpg machinery, are ``mla.openpgp``'s.
"""

import hashlib
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from contact_points.hosting import HeldKeys
from contact_points.models import Authority
from contact_points.services import authority_set_public_key
from mla.core.errors import ApplicationError
from mla.openpgp.homes import (
    hosted_keyring,
    node_key_passphrase,
    partner_keyring,
    secret_home_locked,
)
from mla.openpgp.keys import KeyGenerationError, key_pair_generate


class NodeKeyError(ApplicationError):
    """A key of this node, or the key the directory pins for an authority, cannot serve."""


@dataclass(frozen=True)
class HostedKey:
    authority_identifier: str
    fingerprint: str
    user_id: str
    created_at: datetime
    expires_at: datetime | None
    pinned: bool


_lock = threading.Lock()
# Per home: fingerprints of the secret keys held there (refreshed on a miss).
_hosted: dict[str, frozenset[str]] = {}
# Per partner home: fingerprint -> SHA-256 of the directory key text last imported.
_synced: dict[str, dict[str, str]] = {}


def _timestamp(value: object) -> datetime | None:
    text = str(value or "")
    return datetime.fromtimestamp(int(text), tz=UTC) if text.isdigit() else None


def _identifier_from_user_ids(user_ids: Iterable[str]) -> str:
    """The authority identifier this node wrote as the local part of a key's e-mail."""
    for user_id in user_ids:
        if "<" in user_id and user_id.endswith(">"):
            email = user_id[user_id.rindex("<") + 1 : -1]
            if "@" in email:
                return email.rsplit("@", 1)[0]
    return ""


def _secret_keys() -> list[dict[str, Any]]:
    keys = list(hosted_keyring().list_keys(secret=True))
    fingerprints = frozenset(str(key["fingerprint"]).upper() for key in keys)
    with _lock:
        _hosted[str(settings.NODE_SECRET_GNUPG_HOME)] = fingerprints
    return keys


def hosted_fingerprints(*, refresh: bool = False) -> frozenset[str]:
    """Fingerprints of the secret keys on this node (cached per process)."""
    if not refresh:
        with _lock:
            cached = _hosted.get(str(settings.NODE_SECRET_GNUPG_HOME))
        if cached is not None:
            return cached
    _secret_keys()
    with _lock:
        return _hosted[str(settings.NODE_SECRET_GNUPG_HOME)]


def node_held_keys() -> HeldKeys:
    """The secret keys on this node, by fingerprint and by the authority each was made for.

    Installed as the directory's answer to which entries are this node's own (see
    contact_points.hosting): an imported directory leaves those entries as they are.
    """
    keys = _secret_keys()
    # Only the keys node_keys made name an authority here: a demo or hand-made key whose
    # e-mail happens to start with an identifier does not make that entry the node's.
    suffix = f"@{settings.NODE_KEY_EMAIL_DOMAIN}>"
    made_here = [
        [str(uid) for uid in key.get("uids", []) if str(uid).endswith(suffix)] for key in keys
    ]
    return HeldKeys(
        fingerprints=frozenset(str(key["fingerprint"]).upper() for key in keys),
        identifiers=frozenset(
            identifier for uids in made_here if (identifier := _identifier_from_user_ids(uids))
        ),
    )


# How long a "not hosted here" answer stands before the secret home is listed again: every
# delivery to another node asks, and listing the keys is a gpg process each time.
HOSTED_RECHECK_SECONDS = 10.0
_rechecked_at: dict[str, float] = {}


def authority_is_hosted(*, authority: Authority) -> bool:
    """Whether this node holds the secret key the directory pins for ``authority``."""
    fingerprint = authority.key_fingerprint.upper()
    if not fingerprint:
        return False
    if fingerprint in hosted_fingerprints():
        return True
    # A key made by another process (the node_keys command) is found on a later look.
    home = str(settings.NODE_SECRET_GNUPG_HOME)
    now = time.monotonic()
    with _lock:
        recent = now - _rechecked_at.get(home, -HOSTED_RECHECK_SECONDS) < HOSTED_RECHECK_SECONDS
        if not recent:
            _rechecked_at[home] = now
    if recent:
        return False
    return fingerprint in hosted_fingerprints(refresh=True)


def partner_key_sync(*, authority: Authority, force: bool = False) -> str:
    """Make the public home hold the key the directory pins for ``authority``; its fingerprint.

    Imported again whenever the directory's key text changes (a new expiry, a revocation),
    and only if that text holds exactly the pinned key. The public home is a cache of the
    directory: ``force`` imports again even when this process believes it already did.
    """
    fingerprint = authority.key_fingerprint.upper()
    armored = authority.public_key
    if not fingerprint or not armored.strip():
        raise NodeKeyError(
            _("The directory pins no key for %(authority)s.") % {"authority": authority.identifier}
        )
    digest = hashlib.sha256(armored.encode()).hexdigest()
    home = str(settings.NODE_GNUPG_HOME)
    with _lock:
        if not force and _synced.get(home, {}).get(fingerprint) == digest:
            return fingerprint
    gpg = partner_keyring()
    scanned = gpg.scan_keys_mem(armored)
    found = [str(key.get("fingerprint", "")).upper() for key in scanned]
    if found != [fingerprint] or any(key.get("type") == "sec" for key in scanned):
        raise NodeKeyError(
            _(
                "The directory entry of %(authority)s does not hold exactly its pinned key "
                "%(fingerprint)s."
            )
            % {"authority": authority.identifier, "fingerprint": fingerprint}
        )
    imported = gpg.import_keys(armored)
    if {str(fpr).upper() for fpr in imported.fingerprints if fpr} != {fingerprint}:
        raise NodeKeyError(
            _("gpg could not import the key of %(authority)s: %(detail)s")
            % {"authority": authority.identifier, "detail": str(imported.stderr)[-300:]}
        )
    with _lock:
        _synced.setdefault(home, {})[fingerprint] = digest
    return fingerprint


def _key_pair_generate(*, authority: Authority) -> str:
    """ed25519 signing primary key and cv25519 encryption subkey; the fingerprint."""
    try:
        fingerprint = key_pair_generate(
            gpg=hosted_keyring(),
            user_id_name=authority.name[:200],
            user_id_email=f"{authority.identifier}@{settings.NODE_KEY_EMAIL_DOMAIN}",
            passphrase=node_key_passphrase(),
        )
    except KeyGenerationError as error:
        raise NodeKeyError(
            _("gpg could not create a key pair for %(authority)s: %(detail)s")
            % {"authority": authority.identifier, "detail": error.stderr[-300:]}
        ) from error
    return fingerprint.upper()


def _key_pair_make_and_pin(*, authority: Authority, reason: str) -> str:
    fingerprint = _key_pair_generate(authority=authority)
    hosted_fingerprints(refresh=True)
    armored = hosted_keyring().export_keys(fingerprint)
    authority._change_reason = reason  # type: ignore[attr-defined]  # simple_history
    authority_set_public_key(authority=authority, armored=armored)
    return fingerprint


def _owned_secret_keys(*, authority: Authority, keys: list[dict[str, Any]]) -> list[str]:
    pinned = authority.key_fingerprint.upper()
    return [
        str(key["fingerprint"]).upper()
        for key in keys
        if str(key["fingerprint"]).upper() == pinned
        or _identifier_from_user_ids(key.get("uids", [])) == authority.identifier
    ]


def _locked(authority: Authority) -> Authority:
    # One key operation per authority at a time: two concurrent creations would both pass
    # the checks and pin two keys.
    return Authority.objects.select_for_update().select_related("country").get(pk=authority.pk)


# The lock outside the transaction: it is released only once the pin is committed.
@secret_home_locked()
@transaction.atomic
def node_key_create(*, authority: Authority) -> str:
    """Give a hosted authority its first key pair and pin it in its directory entry."""
    given, authority = authority, _locked(authority)
    owned = _owned_secret_keys(authority=authority, keys=_secret_keys())
    if owned:
        raise NodeKeyError(
            _(
                "%(authority)s already has a key pair on this node (%(fingerprint)s); "
                "rotate it instead."
            )
            % {"authority": authority.identifier, "fingerprint": owned[0]}
        )
    if authority.key_fingerprint:
        raise NodeKeyError(
            _(
                "The directory pins key %(fingerprint)s for %(authority)s, and this node does "
                "not hold it: the authority is hosted elsewhere. If it moves to this node, "
                "remove that key from its directory entry first."
            )
            % {"authority": authority.identifier, "fingerprint": authority.key_fingerprint}
        )
    fingerprint = _key_pair_make_and_pin(authority=authority, reason="node key created")
    given.refresh_from_db()
    return fingerprint


@secret_home_locked()
@transaction.atomic
def node_key_rotate(*, authority: Authority) -> str:
    """A new key pair for a hosted authority, pinned instead of the old one.

    The old secret key stays on the node, so messages encrypted to it still open; it no
    longer signs, since only the pinned key does.
    """
    given, authority = authority, _locked(authority)
    if not authority_is_hosted(authority=authority):
        raise NodeKeyError(
            _("%(authority)s has no pinned key pair on this node to rotate; create one first.")
            % {"authority": authority.identifier}
        )
    fingerprint = _key_pair_make_and_pin(authority=authority, reason="node key rotated")
    given.refresh_from_db()
    return fingerprint


@transaction.atomic
def node_key_repin(*, authority: Authority, fingerprint: str = "") -> str:
    """Pin again a key pair this node holds for ``authority``: the newest, or ``fingerprint``.

    Repairs an entry whose pin was overwritten (by an older version's directory import, or
    by hand), or left unpinned by a first start that failed after making the key pair. Only
    a key pair made for this authority (its user ID names it) or already pinned for it may
    be pinned; gpg checks it as any pinned key (not expired, not revoked). Pinning the key
    already pinned changes nothing.
    """
    given, authority = authority, _locked(authority)
    keys = _secret_keys()
    owned = _owned_secret_keys(authority=authority, keys=keys)
    wanted = fingerprint.replace(" ", "").upper()
    if wanted:
        if wanted not in {str(key["fingerprint"]).upper() for key in keys}:
            raise NodeKeyError(
                _("This node holds no secret key %(fingerprint)s.") % {"fingerprint": wanted}
            )
        if wanted not in owned:
            raise NodeKeyError(
                _("The key pair %(fingerprint)s was not made for %(authority)s.")
                % {"fingerprint": wanted, "authority": authority.identifier}
            )
        chosen = wanted
    elif owned:
        # Newest by creation time; of two made in the same second, the later in the keyring.
        made = {
            str(key["fingerprint"]).upper(): (int(key.get("date") or 0), position)
            for position, key in enumerate(keys)
        }
        chosen = max(owned, key=lambda fpr: made[fpr])
    else:
        raise NodeKeyError(
            _(
                "This node holds no key pair for %(authority)s; create one with "
                "`node_keys create %(authority)s`."
            )
            % {"authority": authority.identifier}
        )
    if chosen == authority.key_fingerprint.upper():
        return chosen
    authority._change_reason = "node key re-pinned"  # type: ignore[attr-defined]  # simple_history
    authority_set_public_key(authority=authority, armored=hosted_keyring().export_keys(chosen))
    given.refresh_from_db()
    return chosen


def node_keys_list() -> list[HostedKey]:
    """Every secret key on this node, with its authority and whether the directory pins it."""
    keys = _secret_keys()
    fingerprints = [str(key["fingerprint"]).upper() for key in keys]
    pins = dict(
        Authority.objects.filter(key_fingerprint__in=fingerprints).values_list(
            "key_fingerprint", "identifier"
        )
    )
    listed = []
    for key, fingerprint in zip(keys, fingerprints, strict=True):
        user_ids = [str(uid) for uid in key.get("uids", [])]
        created_at = _timestamp(key.get("date"))
        assert created_at is not None  # gpg always reports the creation time
        listed.append(
            HostedKey(
                authority_identifier=pins.get(fingerprint) or _identifier_from_user_ids(user_ids),
                fingerprint=fingerprint,
                user_id=user_ids[0] if user_ids else "",
                created_at=created_at,
                expires_at=_timestamp(key.get("expires")),
                pinned=fingerprint in pins,
            )
        )
    return sorted(listed, key=lambda key: (key.authority_identifier, key.created_at))


def node_key_export(*, authority: Authority) -> str:
    """The ASCII-armoured public key of the hosted authority's pinned key pair."""
    if not authority_is_hosted(authority=authority):
        raise NodeKeyError(
            _("%(authority)s has no pinned key pair on this node.")
            % {"authority": authority.identifier}
        )
    armored = str(hosted_keyring().export_keys(authority.key_fingerprint.upper()))
    if "BEGIN PGP PUBLIC KEY BLOCK" not in armored:
        raise NodeKeyError(
            _("gpg could not export the key of %(authority)s.")
            % {"authority": authority.identifier}
        )
    return armored
