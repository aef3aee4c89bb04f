"""One signed POST to a webhook: to the address checked, within a time limit, following no
redirect.

The signature (``X-MLA-Signature: t=<unix time>,v1=<hex>``) is the HMAC-SHA256, keyed with
the webhook's secret (its UTF-8 bytes), of ``"<t>.<body>"``: the receiver recomputes it over
the body exactly as received, compares in constant time, and refuses a timestamp too far
from its clock (a replay). ``X-MLA-Event-Id`` is the same at every attempt and for every
resending of the event: a receiver that keeps the ids it has processed processes each once.
"""

import contextlib
import hashlib
import hmac
import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any, TypeVar

from django.utils.translation import gettext as _

from mla.webhooks.addresses import Target

SIGNATURE_HEADER = "X-MLA-Signature"
EVENT_ID_HEADER = "X-MLA-Event-Id"
EVENT_TYPE_HEADER = "X-MLA-Event-Type"
USER_AGENT = "MLA-exchange-node-webhooks/1"

SocketT = TypeVar("SocketT", bound=socket.socket)


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The value of the signature header for ``body`` sent at ``timestamp``."""
    digest = hmac.new(
        secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(frozen=True)
class Answer:
    """How an attempt ended: the receiver's status, or why there was none."""

    status: int | None = None
    error: str = ""

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _Deadline:
    """Ends an attempt at its deadline: the sockets it opened are shut, which ends any read
    or write in progress (a socket's own timeout bounds one read only: a receiver answering
    a byte at a time would hold the worker for as long as it likes)."""

    def __init__(self) -> None:
        self.expired = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def watch(self, sock: SocketT) -> SocketT:
        with self._lock:
            self._sockets.append(sock)
            if self.expired.is_set():
                sock.close()
                raise TimeoutError("the attempt's time is up")
        return sock

    def cut(self) -> None:
        with self._lock:
            self.expired.set()
            for sock in self._sockets:
                with contextlib.suppress(OSError):  # closed already, or handed to TLS
                    sock.shutdown(socket.SHUT_RDWR)


class _WatchedContext(ssl.SSLContext):
    """TLS as ssl.create_default_context() sets it up (the certificate and the host name
    checked), its sockets watched by the attempt's deadline from the handshake on."""

    deadline: _Deadline

    def wrap_socket(self, sock: socket.socket, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        return self.deadline.watch(super().wrap_socket(sock, *args, **kwargs))


def _connection(
    *, target: Target, address: str, timeout: float, deadline: _Deadline
) -> http.client.HTTPConnection:
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        # The certificate is checked against the URL's host name, while the socket goes to
        # the address that was checked.
        context = _WatchedContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_default_certs()
        context.deadline = deadline
        connection = http.client.HTTPSConnection(
            target.host, target.port, timeout=timeout, context=context
        )
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)

    def pinned(_address: Any, timeout: Any = None, source_address: Any = None) -> socket.socket:
        return deadline.watch(
            socket.create_connection((address, target.port), timeout, source_address)
        )

    connection._create_connection = pinned  # type: ignore[attr-defined]  # http.client's hook
    return connection


def post(
    *,
    target: Target,
    address: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
) -> Answer:
    """POST ``body``; the whole attempt (connecting, sending, the answer's headers) ends
    after ``timeout`` seconds. The answer's body is not read: only its status counts."""
    deadline = _Deadline()
    connection = _connection(target=target, address=address, timeout=timeout, deadline=deadline)
    expired = deadline.expired
    cut = deadline.cut
    timer = threading.Timer(timeout, cut)
    timer.daemon = True
    started = time.monotonic()
    timer.start()
    try:
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={
                **headers,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "Connection": "close",
            },
        )
        response = connection.getresponse()
        status = response.status
    except (OSError, http.client.HTTPException) as error:
        if expired.is_set() or isinstance(error, TimeoutError | socket.timeout):
            return Answer(
                error=_("No answer within %(seconds)d seconds.")
                % {"seconds": max(1, round(time.monotonic() - started))}
            )
        return Answer(error=_("Not delivered: %(reason)s") % {"reason": _reason(error)})
    finally:
        timer.cancel()
        connection.close()
    if 300 <= status < 400:
        return Answer(
            status=status,
            error=_(
                "The receiver answered with a redirect (HTTP %(status)d); webhooks follow "
                "no redirect: register the URL it points to."
            )
            % {"status": status},
        )
    if not 200 <= status < 300:
        return Answer(
            status=status, error=_("HTTP %(status)d from the receiver.") % {"status": status}
        )
    return Answer(status=status)


def _reason(error: BaseException) -> str:
    if isinstance(error, ssl.SSLError):
        return _("the TLS handshake failed (%(reason)s)") % {
            "reason": error.reason or error.__class__.__name__
        }
    text = getattr(error, "strerror", None) or str(error) or error.__class__.__name__
    return str(text)[:300]
