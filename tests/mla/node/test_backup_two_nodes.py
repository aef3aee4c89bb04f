"""A node lost and restored from its backup exchanges again (tests/support/nodes.py).

Node B is backed up while it runs, then lost whole: its processes, its database and its
files. It is restored into a new, empty database and empty directories at the same place,
started again, and the exchange with node A goes on in both directions.
"""

import shutil
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from tests.support.nodes import (
    FRENCH,
    INTAKE,
    PROSECUTOR,
    REPO,
    Node,
    NodeError,
    Postgres,
    TwoNodes,
    wait_for,
)

pytestmark = pytest.mark.two_nodes

DELIVERY_TIMEOUT = 30


@pytest.fixture
def nodes() -> Iterator[TwoNodes]:
    prefix = f"{settings.DATABASES['default']['TEST']['NAME']}_backup"
    with TwoNodes.start(prefix=prefix, postgres=Postgres.from_django()) as pair:
        try:
            yield pair
        finally:
            # Shown by pytest only for a failing test: what each process said last.
            print(pair.logs())


@pytest.fixture(autouse=True)
def _exchange_homes() -> None:
    """Replaces the directory's single-node key homes: the nodes have their own."""


def _manage(node: Node, *arguments: str) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=REPO,
        env=node.env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert completed.returncode == 0, f"{arguments}: {completed.stdout}\n{completed.stderr}"
    return completed


def _eio_sent(nodes: TwoNodes) -> str:
    reference = str(
        nodes.a.call(
            "request_ready",
            username=PROSECUTOR,
            declaration_code="eio",
            executing=FRENCH,
            attachments=[["annex 1.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 20 + b"\n%%EOF\n"]],
            changes={"K": {"issuer_type": "prosecutor"}, "L": None},
        )
    )
    nodes.a.call("request_send", reference=reference, username=PROSECUTOR)
    _delivered(nodes.a, reference=reference)
    return reference


def _delivered(node: Node, **which: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        message = node.call("outbox", **which)[-1]
        return dict(message) if message["state"] == "delivered" else None

    return wait_for(probe, timeout=DELIVERY_TIMEOUT, what=f"{which} delivered by {node.name}")


def _lose(nodes: TwoNodes, node: Node) -> None:
    """The node's processes stop, and its database and files are gone."""
    node.web.stop()
    node.worker.stop()
    assert node.console is not None
    node.console.close()
    for home in ("secret", "node"):
        subprocess.run(
            ["gpgconf", "--homedir", str(node.root / "gnupg" / home), "--kill", "gpg-agent"],
            check=False,
            capture_output=True,
        )
    nodes.postgres.drop(node.database)
    for directory in ("gnupg", "media"):
        shutil.rmtree(node.root / directory)
        (node.root / directory).mkdir()
    nodes.postgres.create(node.database)


def _start(node: Node) -> None:
    node.start_console()
    assert node.console is not None
    if node.console.receive(timeout=120) != "ready":
        raise NodeError(f"console {node.name} did not start")
    node.start_web()
    node.start_worker()


def test_a_node_restored_from_its_backup_into_a_fresh_database_exchanges_again(
    nodes: TwoNodes, tmp_path
) -> None:
    a, b = nodes.a, nodes.b
    before = _eio_sent(nodes)
    # A checkpoint of B's audit chain, signed with B's key: the restored node checks it.
    _manage(b, "audit_checkpoint", "create")
    _manage(b, "node_backup", "--output", str(tmp_path))
    (archive,) = tmp_path.glob("mla-backup-*.tar")

    _lose(nodes, b)
    restored = _manage(b, "node_restore", str(archive))
    _start(b)

    assert f"Hosted key: {FRENCH} {nodes.fingerprints[FRENCH]} (pinned)" in restored.stdout
    assert "The audit trail is intact" in restored.stdout
    assert "It matches 1 signed checkpoints" in restored.stdout
    # B still holds the request it received before, and its acknowledgement, signed with the
    # restored key, reaches A.
    b.call(
        "request_step",
        service="executing:request_acknowledge",
        reference=before,
        direction="incoming",
        username=INTAKE,
    )
    status = _delivered(b, reference=before)
    assert status["kind"] == "status"
    receipt = b.call("receipt_verify", message_id=status["message_id"])
    assert receipt["signer_fingerprint"] == receipt["recipient_pinned"]
    copy = a.call("request_copy", reference=before, direction="outgoing")
    assert copy["state"] == "acknowledged"
    # A new request from A is encrypted to B's restored key, and B opens it.
    after = _eio_sent(nodes)
    assert b.call("requests_count", reference=after) == 1
    assert b.call("request_copy", reference=after, direction="incoming")["state"] == "received"
    _manage(b, "verify_audit")
