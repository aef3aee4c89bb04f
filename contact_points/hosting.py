"""Which directory entries are this node's own: those of the authorities whose key pair it holds.

The key pairs live in the exchange (``mla.exchange.keys``), an app above the directory that
the directory may not import. The exchange installs its answer when Django starts (in its
AppConfig.ready), as it installs the requests' channel to other nodes; a node without the
exchange holds no key pair, so every entry is the directory's to change.

An imported directory never changes the key, the inbox URL or anything else of an entry
this node hosts (``contact_points.directory_io``): the node is the one that knows them.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class HeldKeys:
    """The secret keys this node holds, by fingerprint and by the authority each was made for."""

    fingerprints: frozenset[str] = frozenset()
    # Identifiers written in the user IDs of the keys node_keys made
    # (``identifier@NODE_KEY_EMAIL_DOMAIN``): they name the authority even once its pin
    # has been overwritten.
    identifiers: frozenset[str] = frozenset()

    def hosts(self, *, identifier: str, pinned_fingerprint: str) -> bool:
        """Whether the entry ``identifier``, pinning ``pinned_fingerprint``, is this node's."""
        return (
            bool(pinned_fingerprint) and pinned_fingerprint.upper() in self.fingerprints
        ) or identifier in self.identifiers


HeldKeysSource = Callable[[], HeldKeys]


def _none_held() -> HeldKeys:
    return HeldKeys()


_source: list[HeldKeysSource] = [_none_held]


def held_keys_source_register(source: HeldKeysSource) -> None:
    """Make ``source`` the answer to "which key pairs does this node hold" (once, at start-up)."""
    _source[0] = source


def held_keys() -> HeldKeys:
    """The key pairs this node holds now (asked afresh: a key may have been made meanwhile)."""
    return _source[0]()
