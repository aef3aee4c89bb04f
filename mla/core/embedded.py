"""The embedded default's first-run set-up (`make run`): a secret key of its own, and no
debug server open to the network."""

import ipaddress
import os
import secrets
from pathlib import Path

from mla.core.errors import ApplicationError

SECRET_KEY_NAME = "SECRET_KEY"  # noqa: S105 (the setting's name, not a key)

REFUSED_HOST = (
    "Refusing to serve on {host} with DEBUG on: the debug server shows tracebacks, settings "
    "and source to anyone who reaches it, and is not made for a network.\n"
    "  - On this machine only: make run (HOST=127.0.0.1, the default).\n"
    "  - For other users: run the node as in production (gunicorn behind nginx, see "
    '"Running in production" in README.md and deploy/README.md).\n'
    "  - A demo on a trusted network, knowingly: DEBUG=false ALLOWED_HOSTS=<name or address> "
    "make run HOST={host}"
)


def host_is_loopback(host: str) -> bool:
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def serve_address_check(*, host: str, debug: bool) -> None:
    """ApplicationError when the debug server would listen beyond this machine."""
    if debug and not host_is_loopback(host):
        raise ApplicationError(REFUSED_HOST.format(host=host))


def secret_key_ensure(*, env_file: Path) -> bool:
    """Give this install a secret key of its own in `env_file` (created owner-only), unless
    the environment or the file already sets one. True when a key was written."""
    if os.environ.get(SECRET_KEY_NAME):
        return False
    lines = env_file.read_text().splitlines() if env_file.exists() else []
    if any(line.split("=", 1)[0].strip() == SECRET_KEY_NAME for line in lines if "=" in line):
        return False
    key = secrets.token_urlsafe(50)
    if not env_file.exists():
        env_file.touch(mode=0o600)
    with env_file.open("a") as handle:
        if lines and lines[-1] != "":
            handle.write("\n")
        handle.write(
            "# Written by `make run` on first run: this install's own secret key.\n"
            f"{SECRET_KEY_NAME}={key}\n"
        )
    return True
