"""A webhook receiver for the tests: a real HTTP server on 127.0.0.1, in a thread, that is
down until started and answers each POST with the status it was told to, and a check of
the signature written from the documentation (not from the node's code)."""

import hashlib
import hmac
import http.server
import json
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.nodes import free_port


@dataclass(frozen=True)
class Hit:
    """One POST the receiver got, and what it answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def payload(self) -> dict[str, Any]:
        return dict(json.loads(self.body))

    @property
    def event_id(self) -> str:
        return self.headers["X-MLA-Event-Id"]


@dataclass
class Receiver:
    """Nothing listens on ``port`` until ``up()``: a connection is refused. Each POST is
    answered with the next status of ``answers`` (then 200), after ``gate`` opens."""

    port: int = field(default_factory=free_port)
    answers: list[int] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    location: str = ""
    # (certificate, key) files: the receiver speaks https with them.
    certificate: tuple[Path, Path] | None = None
    # Set when a POST arrived; the answer waits for ``gate`` (open unless a test closes it).
    arrived: threading.Event = field(default_factory=threading.Event)
    gate: threading.Event = field(default_factory=threading.Event)
    _server: http.server.ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.gate.set()

    @property
    def url(self) -> str:
        scheme = "https" if self.certificate else "http"
        return f"{scheme}://127.0.0.1:{self.port}/hooks/mla"

    def answer(self, *statuses: int) -> None:
        with self._lock:
            self.answers.extend(statuses)

    def _next_status(self) -> int:
        with self._lock:
            return self.answers.pop(0) if self.answers else 200

    def _record(self, hit: Hit) -> None:
        with self._lock:
            self.hits.append(hit)

    def up(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.arrived.set()
                receiver.gate.wait(timeout=30)
                status = receiver._next_status()
                receiver._record(Hit(self.path, dict(self.headers.items()), body, status))
                self.send_response(status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        if self.certificate:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.certificate)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def acknowledged(self) -> list[Hit]:
        return [hit for hit in self.hits if 200 <= hit.status < 300]


@contextmanager
def receiver_running(
    *, up: bool = True, certificate: tuple[Path, Path] | None = None
) -> Iterator[Receiver]:
    receiver = Receiver(certificate=certificate)
    if up:
        receiver.up()
    try:
        yield receiver
    finally:
        receiver.gate.set()
        receiver.down()


def signature_verifies(*, secret: str, hit: Hit) -> bool:
    """What a receiver does: recompute HMAC-SHA256(secret, "<t>.<body>") over the body as
    received and compare it with the header's v1, in constant time."""
    fields = dict(
        part.split("=", 1) for part in hit.headers["X-MLA-Signature"].split(",") if "=" in part
    )
    if "t" not in fields or "v1" not in fields:
        return False
    expected = hmac.new(
        secret.encode(), fields["t"].encode() + b"." + hit.body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no authority signed, and its key."""
    certificate, key = folder / "receiver.crt", folder / "receiver.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(certificate),
        ],
        check=True,
        capture_output=True,
    )
    return certificate, key
