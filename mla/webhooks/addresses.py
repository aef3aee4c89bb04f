"""Where a webhook may point: https to a public address, never into the node's own network.

A webhook's URL is typed by a user, and the node then POSTs to it from inside its network:
without these checks, a URL naming a loopback, private or link-local address would let a
user reach services that only the node can (server-side request forgery). The URL is checked
when it is registered and its host resolved again at every attempt, and the connection goes
to the address that was checked, so that a name that resolves elsewhere afterwards (DNS
rebinding) reaches nothing it should not.

``WEBHOOK_ALLOWED_HOSTS`` names the hosts exempt from both rules (plain http, any address):
for the tests' receiver on 127.0.0.1 and a receiver beside a node run locally.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from mla.core.errors import ApplicationError
from mla.core.text import text_problem

URL_MAX_LENGTH = 500

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Target:
    """A webhook's URL taken apart, as an attempt connects to it."""

    scheme: str
    host: str
    port: int
    path: str  # with its query string


def _allowed_host(host: str) -> bool:
    allowed = {name.lower() for name in getattr(settings, "WEBHOOK_ALLOWED_HOSTS", [])}
    return host.lower() in allowed


def _public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is the loopback
    return address.is_global and not address.is_multicast


def _split(url: str) -> SplitResult:
    problem = text_problem(url)
    if problem or any(character.isspace() for character in url):
        raise ApplicationError(_("The URL holds spaces or control characters."), code="invalid")
    if len(url) > URL_MAX_LENGTH:
        raise ApplicationError(
            _("The URL is longer than %(count)d characters.") % {"count": URL_MAX_LENGTH},
            code="invalid",
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port out of range)
    except ValueError as error:
        raise ApplicationError(_("This is not a valid URL."), code="invalid") from error
    return parts


def target_of(url: str) -> Target:
    """The URL's parts, or ApplicationError saying why a webhook may not point there (its
    host is not resolved: see ``address_for``)."""
    parts = _split(url)
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise ApplicationError(_("A webhook's URL is an https:// URL."), code="invalid")
    if parts.scheme == "http" and not _allowed_host(host):
        raise ApplicationError(
            _(
                "A webhook's URL is an https:// URL: plain http would show every event to "
                "whoever is on the way."
            ),
            code="invalid",
        )
    if parts.username is not None or parts.password is not None:
        raise ApplicationError(
            _(
                "A webhook's URL carries no user name or password: the signature of each "
                "delivery proves where it comes from."
            ),
            code="invalid",
        )
    if parts.fragment:
        raise ApplicationError(_("A webhook's URL has no fragment (#…)."), code="invalid")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme=parts.scheme, host=host, port=port, path=path)


def _resolved(host: str, port: int) -> list[IPAddress]:
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [literal]
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise ApplicationError(
            _("The host %(host)s cannot be found.") % {"host": host}, code="unreachable"
        ) from error
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def address_for(target: Target) -> str:
    """The address to connect to for ``target``: ApplicationError ``unreachable`` when its
    host cannot be resolved now, ``address_refused`` when it resolves (even in part) to an
    address that is not public. Every address must be public: a name resolving to a public
    and a private one would let the attempt choose."""
    addresses = _resolved(target.host, target.port)
    if not addresses:
        raise ApplicationError(
            _("The host %(host)s cannot be found.") % {"host": target.host}, code="unreachable"
        )
    if not _allowed_host(target.host):
        refused = [address for address in addresses if not _public(address)]
        if refused:
            raise ApplicationError(
                _(
                    "%(host)s is at %(address)s, an address of a private, loopback or reserved "
                    "network: webhooks go to public addresses only."
                )
                % {"host": target.host, "address": refused[0]},
                code="address_refused",
            )
    return str(addresses[0])


def webhook_url_check(*, url: str) -> Target:
    """ApplicationError unless a webhook may point at ``url`` now: https (or an allowed
    host), no credentials, a host that resolves to public addresses only."""
    target = target_of(url)
    address_for(target)
    return target
