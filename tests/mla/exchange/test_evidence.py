"""The evidence bundle, checked with the real gpg command line in a fresh home, as a reader
without this software would."""

import hashlib
import io
import json
import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from contact_points.services import authority_set_public_key
from mla.exchange.anchor import audit_checkpoint_make
from mla.exchange.evidence import COMMANDS_BEGIN, COMMANDS_END, evidence_bundle
from mla.exchange.models import InboxMessage, OutboxMessage
from mla.exchange.outbox import outbox_deliver
from mla.requests.models import AuditEntry, Request
from tests.support.factories import UserFactory
from tests.support.keys import gnupg_home, gnupg_homes_remove
from tests.support.sending import ANNEX, enqueue, outgoing_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def prosecutor(sender):
    return UserFactory(authority=sender, roles=["prosecutor"])


@pytest.fixture
def reader_home():
    """A reader's own, empty GnuPG home."""
    home = gnupg_home("mlax-r")
    yield home
    gnupg_homes_remove(home)


@pytest.fixture
def delivered(sender, recipient, prosecutor):
    """A request sent and delivered on this node: the issuing copy's outbox message, with
    its receipt, and the receiving copy's inbox message."""
    request = outgoing_request(sender, recipient, prosecutor)
    message = enqueue(request, sender, recipient)
    outbox_deliver(message_id=str(message.message_id))
    message.refresh_from_db()
    assert message.state == OutboxMessage.State.DELIVERED
    request.refresh_from_db()
    return request, message


def _unzip(bundle: bytes, into: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        assert archive.testzip() is None
        archive.extractall(into)
    return into


def _gpg(home: str, *arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["gpg", "--homedir", home, "--batch", *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def _import_keys(home: str, root: Path) -> None:
    keys = sorted(str(path.relative_to(root)) for path in (root / "keys").glob("*.asc"))
    assert keys
    imported = _gpg(home, "--import", *keys, cwd=root)
    assert imported.returncode == 0, imported.stderr


def _verified_by(home: str, folder: Path, name: str) -> str:
    """The primary-key fingerprint gpg reports for a good signature of ``name``."""
    result = _gpg(home, "--status-fd", "1", "--verify", f"{name}.sig", name, cwd=folder)
    assert result.returncode == 0, result.stderr
    valid = [line.split() for line in result.stdout.splitlines() if " VALIDSIG " in line]
    assert len(valid) == 1
    return valid[0][-1]


def test_every_signature_of_the_bundle_verifies_with_plain_gpg(
    delivered, sender, recipient, exchange_keys, reader_home, tmp_path
):
    request, message = delivered

    root = _unzip(evidence_bundle(request=request), tmp_path / "bundle")

    [folder] = (root / "messages").iterdir()
    assert folder.name == f"01-request-{message.message_id}"
    _import_keys(reader_home, root)
    assert _verified_by(reader_home, folder, "manifest.json") == exchange_keys.sender
    assert _verified_by(reader_home, folder, "receipt.json") == exchange_keys.recipient
    manifest = json.loads((folder / "manifest.json").read_bytes())
    assert manifest["message_id"] == str(message.message_id)
    assert hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest() == (
        message.manifest_sha256
    )
    names = sorted(path.name for path in (folder / "documents").iterdir())
    assert names == sorted(entry["name"] for entry in manifest["documents"])
    for entry in manifest["documents"]:
        content = (folder / "documents" / entry["name"]).read_bytes()
        assert hashlib.sha256(content).hexdigest() == entry["sha256"]
    assert (folder / "documents" / "annex 1.pdf").read_bytes() == ANNEX
    receipt = json.loads((folder / "receipt.json").read_bytes())
    assert (receipt["message_id"], receipt["manifest_sha256"], receipt["receiver"]) == (
        str(message.message_id),
        message.manifest_sha256,
        recipient.identifier,
    )
    assert sorted(path.name for path in (root / "keys").iterdir()) == [
        f"{sender.identifier}.asc",
        f"{recipient.identifier}.asc",
    ]
    verify = (root / "VERIFY.txt").read_text()
    assert 'EVIDENCE_KEYS="$(mktemp -d)"' in verify
    assert "--verify manifest.json.sig manifest.json" in verify
    assert "sha256sum documents/*" in verify
    assert exchange_keys.sender in verify
    assert exchange_keys.recipient in verify
    assert "No problem found." in verify
    assert not (folder / "NOTE.txt").exists()


def test_a_manifest_changed_by_one_byte_fails_gpg(delivered, reader_home, tmp_path):
    request, _message = delivered
    root = _unzip(evidence_bundle(request=request), tmp_path / "bundle")
    [folder] = (root / "messages").iterdir()
    _import_keys(reader_home, root)
    manifest = bytearray((folder / "manifest.json").read_bytes())
    manifest[10] ^= 0x01
    (folder / "manifest.json").write_bytes(bytes(manifest))

    result = _gpg(
        reader_home,
        "--status-fd",
        "1",
        "--verify",
        "manifest.json.sig",
        "manifest.json",
        cwd=folder,
    )

    assert result.returncode != 0
    assert "BADSIG" in result.stdout
    assert "VALIDSIG" not in result.stdout


def test_the_receiving_copy_bundles_the_message_as_it_arrived(
    delivered, sender, recipient, exchange_keys, reader_home, tmp_path
):
    _request, message = delivered
    incoming = Request.objects.get(direction=Request.Direction.INCOMING)

    root = _unzip(evidence_bundle(request=incoming), tmp_path / "bundle")

    [folder] = (root / "messages").iterdir()
    assert folder.name == f"01-request-{message.message_id}"
    _import_keys(reader_home, root)
    assert _verified_by(reader_home, folder, "manifest.json") == exchange_keys.sender
    assert _verified_by(reader_home, folder, "receipt.json") == exchange_keys.recipient
    assert (folder / "documents" / "annex 1.pdf").read_bytes() == ANNEX


def test_the_timeline_carries_its_hash_chain_and_the_given_check_passes(delivered, tmp_path):
    request, _message = delivered
    root = _unzip(evidence_bundle(request=request), tmp_path / "bundle")
    timeline = json.loads((root / "timeline.json").read_text())
    entries = list(AuditEntry.objects.filter(request=request).order_by("sequence"))
    assert [row["request_hash"] for row in timeline["entries"]] == [
        entry.request_hash for entry in entries
    ]
    assert [row["event"] for row in timeline["entries"]] == [entry.event for entry in entries]
    assert "delivered" in (root / "timeline.txt").read_text()
    # The check VERIFY.txt gives, run as written.
    verify = (root / "VERIFY.txt").read_text()
    script = re.search(r"^python3 - <<'EOF'\n(.*?)\nEOF$", verify, re.DOTALL | re.MULTILINE)
    assert script is not None
    code = script.group(1)

    checked = subprocess.run(
        ["python3", "-"], input=code, cwd=root, capture_output=True, text=True, check=True
    )
    assert checked.stdout.split() == [
        value for entry in entries for value in (str(entry.sequence), "ok")
    ]

    rows = timeline["entries"]
    rows[0]["body"] = rows[0]["body"].replace(rows[0]["event"], "edited", 1)
    (root / "timeline.json").write_text(json.dumps(timeline))
    broken = subprocess.run(
        ["python3", "-"], input=code, cwd=root, capture_output=True, text=True, check=True
    )
    assert "BROKEN" in broken.stdout


def test_a_request_without_messages_gets_its_timeline_and_an_explanation(
    sender, recipient, prosecutor, tmp_path
):
    request = outgoing_request(sender, recipient, prosecutor)

    with zipfile.ZipFile(io.BytesIO(evidence_bundle(request=request))) as archive:
        names = archive.namelist()
        verify = archive.read("VERIFY.txt").decode()

    assert sorted(names) == ["VERIFY.txt", "index.json", "timeline.json", "timeline.txt"]
    assert "No message has been sent or received about this request" in verify


def test_a_signature_made_before_a_key_rotation_still_verifies_with_the_earlier_key(
    delivered, sender, exchange_keys, reader_home, tmp_path
):
    request, _message = delivered
    authority_set_public_key(
        authority=sender, armored=exchange_keys.armored[exchange_keys.sender_other]
    )

    root = _unzip(evidence_bundle(request=request), tmp_path / "bundle")

    [folder] = (root / "messages").iterdir()
    _import_keys(reader_home, root)
    assert _verified_by(reader_home, folder, "manifest.json") == exchange_keys.sender
    verify = (root / "VERIFY.txt").read_text()
    assert f"{exchange_keys.sender_other}  pinned now" in verify
    assert f"{exchange_keys.sender}  pinned earlier, since replaced" in verify


def test_a_kept_copy_that_no_longer_matches_is_reported(delivered, tmp_path):
    request, message = delivered
    OutboxMessage.objects.filter(pk=message.pk).update(manifest_sha256="0" * 64)

    index = json.loads(
        zipfile.ZipFile(io.BytesIO(evidence_bundle(request=request))).read("index.json")
    )

    assert index["problems"]
    assert index["messages"][0]["problems"]


# Download and command -----------------------------------------------------------------------


def test_the_bundle_is_downloaded_from_the_request_page_and_recorded_if_confidential(
    client, sender, recipient, prosecutor
):
    request = outgoing_request(sender, recipient, prosecutor, confidential=True)
    enqueue(request, sender, recipient)
    client.force_login(prosecutor)
    url = reverse("exchange:evidence", args=[*request.url_args])
    assert url in client.get(request.get_absolute_url()).content.decode()

    response = client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert f"evidence_{request.reference}_{sender.identifier}_" in response["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert "VERIFY.txt" in archive.namelist()
    entry = AuditEntry.objects.get(request=request, event="downloaded")
    assert (entry.actor, entry.payload) == (prosecutor, {"document": "evidence"})


def test_the_command_writes_the_bundle_of_the_copy_asked_for(delivered, recipient, tmp_path):
    request, _message = delivered
    output = tmp_path / "evidence.zip"

    with pytest.raises(CommandError, match="several copies"):
        call_command("evidence_bundle", request.reference, "-o", str(output))
    call_command(
        "evidence_bundle",
        request.reference,
        "--authority",
        recipient.identifier,
        "-o",
        str(output),
        stdout=io.StringIO(),
    )

    index = json.loads(zipfile.ZipFile(output).read("index.json"))
    assert (index["copy"], index["authority"]) == ("incoming", recipient.identifier)
    with pytest.raises(CommandError, match="No request"):
        call_command("evidence_bundle", "NO-SUCH-REFERENCE", "-o", str(output))


def test_a_message_received_before_copies_were_kept_gives_its_manifest_and_says_so(
    delivered, exchange_keys, reader_home, tmp_path
):
    _request, message = delivered
    InboxMessage.objects.filter(message_id=message.message_id).update(sealed=None)
    incoming = Request.objects.get(direction=Request.Direction.INCOMING)

    root = _unzip(evidence_bundle(request=incoming), tmp_path / "bundle")

    [folder] = (root / "messages").iterdir()
    assert hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest() == (
        message.manifest_sha256
    )
    assert not (folder / "manifest.json.sig").exists()
    assert "only its manifest is here" in (folder / "NOTE.txt").read_text()
    _import_keys(reader_home, root)
    assert _verified_by(reader_home, folder, "receipt.json") == exchange_keys.recipient


def _command_blocks(verify: str) -> list[str]:
    """The lines VERIFY.txt marks to paste, block by block, exactly as printed."""
    blocks = re.findall(
        rf"^{re.escape(COMMANDS_BEGIN)}\n(.*?)\n{re.escape(COMMANDS_END)}$",
        verify,
        re.DOTALL | re.MULTILINE,
    )
    return [f"{COMMANDS_BEGIN}\n{block}\n{COMMANDS_END}\n" for block in blocks]


def test_verify_txt_commands_work_pasted_as_printed_twice_in_a_fresh_shell(
    delivered, exchange_keys, tmp_path
):
    request, message = delivered
    audit_checkpoint_make()  # signed by each hosted authority: step 6 has files to check
    root = _unzip(evidence_bundle(request=request), tmp_path / "bundle")
    checkpoints = sorted((root / "checkpoints").glob("*.json.sig"))
    assert len(checkpoints) == 2
    verify = (root / "VERIFY.txt").read_text()
    blocks = _command_blocks(verify)
    assert len(blocks) == 6  # one per step
    home = tmp_path / "home"
    home.mkdir()
    # A fresh shell: no GnuPG home nor variable of a previous run, the reader's own HOME.
    environment = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8"}

    # Pasted into the shell's input, steps 1 to 6 then steps 1 to 6 again; -e stops at the
    # first command that fails.
    shell = subprocess.run(
        ["bash", "-e"],
        input="".join(blocks) * 2,
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )

    assert shell.returncode == 0, shell.stderr
    output = shell.stdout + shell.stderr
    # Step 1, each run in a GnuPG home of its own, new and empty.
    homes = re.findall(r"keybox '([^']+)/pubring.kbx' created", shell.stderr)
    assert len(set(homes)) == 2
    assert not (home / ".gnupg" / "pubring.kbx").exists()
    # Steps 2 and 6: a good signature by the pinned key for the manifest, the receipt and
    # each checkpoint.
    assert output.count("Good signature") == 2 * 4
    signers = [line.split()[-1] for line in shell.stdout.splitlines() if " VALIDSIG " in line]
    checkpoint_signers = sorted([exchange_keys.sender, exchange_keys.recipient])
    assert signers[:2] == [exchange_keys.sender, exchange_keys.recipient]
    assert sorted(signers[2:4]) == checkpoint_signers
    assert signers[4:] == signers[:4]
    # Steps 3 and 4: the digests the manifest and the message record.
    manifest = json.loads(
        (root / f"messages/01-request-{message.message_id}/manifest.json").read_text()
    )
    for entry in manifest["documents"]:
        assert shell.stdout.count(f"{entry['sha256']}  documents/{entry['name']}") == 2
    assert shell.stdout.count(f"{message.manifest_sha256}  manifest.json") == 2
    # Step 5: every entry of the timeline "ok", twice.
    entries = AuditEntry.objects.filter(request=request).order_by("sequence")
    for entry in entries:
        assert shell.stdout.splitlines().count(f"{entry.sequence} ok") == 2
    assert "BROKEN" not in shell.stdout
    # Nothing of the bundle was changed by the checks.
    assert (root / "VERIFY.txt").read_text() == verify
