"""The node's GnuPG homes, never mixed:

- the *secret home* (``NODE_SECRET_GNUPG_HOME``) holds the key pairs of the authorities
  hosted on this node;
- the *public home* (``NODE_GNUPG_HOME``) holds the public keys the node verifies and
  encrypts to;
- a *throw-away home* reads or checks keys that must touch neither, and is removed after.

``gnupg.GPG`` objects run gpg once when built, so the two node homes are built once per
process and home (``hosted_keyring``, ``partner_keyring``).
"""

import fcntl
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import gnupg
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Larger pipe reads than python-gnupg's 16 KiB: documents are megabytes.
_GPG_BUFFER_SIZE = 256 * 1024

_lock = threading.Lock()
_keyrings: dict[tuple[str, str, str], gnupg.GPG] = {}


def _home(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    # gpg refuses to work quietly in a home others can read; the secret keys live here.
    path.chmod(0o700)
    return path


def _secret_home(path: Path) -> Path:
    home = _home(path)
    if not (home / "pubring.kbx").exists():
        # The public halves of our key pairs in a keyring file (pubring.gpg) rather than a
        # keybox (pubring.kbx, what a new home gets): gpg caches the checks of their
        # self-signatures in a keyring only, and checks them again on every signature and
        # decryption otherwise, which made each of those take twice as long.
        (home / "pubring.gpg").touch(mode=0o600, exist_ok=True)
    return home


# In the secret home, so that it needs no other directory the service may write to; a
# backup leaves it out.
KEY_OPERATIONS_LOCK = ".mla-key-operations.lock"


@contextmanager
def secret_home_locked() -> Iterator[None]:
    """Exclusive, across processes, while the secret home and the keys pinned for it change.

    Key creation and rotation hold it until their pin is committed, and a backup while it
    copies the home and takes its database snapshot, so that a backup never holds a pin
    without its key pair, nor a key pair half-written. Usable as a decorator.
    """
    home = _secret_home(Path(settings.NODE_SECRET_GNUPG_HOME))
    with open(home / KEY_OPERATIONS_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _keyring(home: Path) -> gnupg.GPG:
    gpg = gnupg.GPG(gpgbinary=settings.GNUPG_BINARY, gnupghome=str(home))
    gpg.encoding = "utf-8"
    return gpg


def secret_keyring() -> gnupg.GPG:
    """Key pairs of the authorities hosted on this node, in a new (uncached) object."""
    return _keyring(_secret_home(Path(settings.NODE_SECRET_GNUPG_HOME)))


def _partner_keyring_build() -> gnupg.GPG:
    # Public keys only, but gpg warns about (and some versions refuse) homes others can read.
    return _keyring(_home(Path(settings.NODE_GNUPG_HOME)))


def _cached_keyring(role: str, home: Path, build: Callable[[], gnupg.GPG]) -> gnupg.GPG:
    key = (role, str(settings.GNUPG_BINARY), str(home))
    with _lock:
        gpg = _keyrings.get(key)
    if gpg is None:
        gpg = build()
        gpg.buffer_size = _GPG_BUFFER_SIZE
        with _lock:
            gpg = _keyrings.setdefault(key, gpg)
    return gpg


def hosted_keyring() -> gnupg.GPG:
    """The secret home: key pairs of the authorities hosted on this node."""
    return _cached_keyring("secret", Path(settings.NODE_SECRET_GNUPG_HOME), secret_keyring)


def partner_keyring() -> gnupg.GPG:
    """The public home: keys the directory pins, imported on demand."""
    return _cached_keyring("partner", Path(settings.NODE_GNUPG_HOME), _partner_keyring_build)


@contextmanager
def throwaway_keyring(*, prefix: str) -> Iterator[gnupg.GPG]:
    """An empty home of its own, removed on leaving: what is read there touches no other."""
    with tempfile.TemporaryDirectory(prefix=prefix) as home:
        yield _keyring(Path(home))


def node_homes() -> list[Path]:
    """The node's two homes, as the settings name them."""
    return [Path(settings.NODE_SECRET_GNUPG_HOME), Path(settings.NODE_GNUPG_HOME)]


def agents_stop(*, homes: list[Path]) -> int:
    """Stop the gpg-agent (and any other gpg daemon) of each existing home: gpg starts one
    for secret-key work and leaves it running after the process that needed it ends. How
    many homes were told; a home without a daemon is left as it is."""
    gpgconf = shutil.which("gpgconf")
    if gpgconf is None:
        return 0
    told = 0
    for home in homes:
        if not home.is_dir():
            continue
        subprocess.run(
            [gpgconf, "--homedir", str(home), "--kill", "all"],
            check=False,
            capture_output=True,
            timeout=30,
        )
        told += 1
    return told


def node_key_passphrase() -> str | None:
    """The passphrase of the hosted secret keys, from the environment or a file; None if unset.

    Never from user input: it goes to gpg over stdin, where a line break would inject data.
    """
    value = str(settings.NODE_KEY_PASSPHRASE or "")
    path = str(settings.NODE_KEY_PASSPHRASE_FILE or "")
    if value and path:
        raise ImproperlyConfigured("Set NODE_KEY_PASSPHRASE or NODE_KEY_PASSPHRASE_FILE, not both.")
    if path:
        try:
            value = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise ImproperlyConfigured(
                f"NODE_KEY_PASSPHRASE_FILE {path} cannot be read: {error.strerror}"
            ) from error
        value = value.removesuffix("\n").removesuffix("\r")
    if not value:
        return None
    if any(char in value for char in "\r\n\0"):
        raise ImproperlyConfigured("The node key passphrase must be one line without NUL.")
    return value
