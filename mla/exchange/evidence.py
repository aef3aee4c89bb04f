"""The evidence bundle of a request: what was sent and received about it, signed, with the
keys and the instructions to check every signature with the standard gpg tool alone.

A ZIP archive:

    messages/<n>-<kind>-<message id>/manifest.json, manifest.json.sig, documents/<name>,
                                     receipt.json, receipt.json.sig (when a receipt is kept)
    keys/<authority identifier>.asc   the public keys the directory pins for each signer
    timeline.json, timeline.txt       the request's audit trail with its hash chain
    checkpoints/<position>-<authority>.json, .json.sig
                                      the node's signed checkpoints of its audit chain that
                                      cover the timeline (mla.exchange.anchor)
    index.json                        what the bundle holds, for programs
    VERIFY.txt                        how to check it, and what this node found

The node checks each signature itself while it makes the bundle, in an empty GnuPG home
holding only the keys it puts in it, exactly as a reader would: VERIFY.txt gives the
fingerprint each signature must show. A bundle is still made when something cannot be read
(a key no longer on the node, a copy kept before messages were kept as received): what is
missing is said in VERIFY.txt and in the message's NOTE.txt.
"""

import datetime
import hashlib
import io
import json
import re
import shlex
import subprocess
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from contact_points.models import Authority
from mla.core.errors import ApplicationError
from mla.exchange.models import AuditCheckpoint, InboxMessage, OutboxMessage
from mla.exchange.selectors import INCOMING, OUTGOING
from mla.exchange.stored import manifest_event, stored_message_open, stored_receipt_entries
from mla.exchange.wire.container import SIGNATURE_ENTRY
from mla.exchange.wire.manifest import MANIFEST_ENTRY
from mla.exchange.wire.receipts import RECEIPT_ENTRY, RECEIPT_SIGNATURE_ENTRY
from mla.instruments.eevidence import E_EVIDENCE_DECLARATIONS, EPOC_NOTIFICATION
from mla.requests.audit import GENESIS, audit_entry_body
from mla.requests.documents.eevidence_annexes import (
    annex_document,
    annex_document_name,
    annexes_issued,
)
from mla.requests.documents.rendering import structured_export
from mla.requests.documents.signing import signature_file_name, signed_document_stored
from mla.requests.events import Event
from mla.requests.models import Attachment, AuditEntry, Request, RequestLink, canonical_json

GPG_TIMEOUT_SECONDS = 60
_UNSAFE_FILE_CHARACTERS = re.compile(r"[^-A-Za-z0-9_.]")


@dataclass(frozen=True)
class _DirectoryKey:
    fingerprint: str
    armored: str
    pinned_now: bool


@dataclass
class _Signed:
    """A file and its detached signature, and who must have signed it."""

    path: str
    data: bytes = field(repr=False)
    signature: bytes = field(repr=False)
    signer: Authority
    found_fingerprint: str = ""
    problem: str = ""


@dataclass
class _Folder:
    name: str
    direction: str
    kind: str
    event: str
    message_id: str
    sender: Authority
    recipient: Authority
    moment: datetime.datetime
    state: str
    manifest_sha256: str
    files: list[tuple[str, bytes]] = field(default_factory=list)
    signed: list[_Signed] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


# The messages -------------------------------------------------------------------------------


def _add_message(folder: _Folder, *, sealed: bytes) -> None:
    try:
        stored = stored_message_open(sealed=sealed)
    except ApplicationError as error:
        folder.problems.append(
            _("The kept copy of the message cannot be read: %(error)s") % {"error": error.message}
        )
        return
    if stored.manifest_sha256 != folder.manifest_sha256:
        folder.problems.append(
            _("The kept copy's manifest is not the one recorded when the message was exchanged.")
        )
    folder.event = manifest_event(stored.manifest.data)
    prefix = f"{folder.name}/"
    folder.files.append((prefix + MANIFEST_ENTRY, stored.manifest_bytes))
    if stored.signature:
        folder.files.append((prefix + SIGNATURE_ENTRY, stored.signature))
        folder.signed.append(
            _Signed(
                path=prefix + MANIFEST_ENTRY,
                data=stored.manifest_bytes,
                signature=stored.signature,
                signer=folder.sender,
            )
        )
    else:
        folder.problems.append(_("The message carries no signature of its manifest."))
    for name, content in stored.documents.items():
        folder.files.append((f"{prefix}documents/{name}", content))


def _add_manifest_only(folder: _Folder, *, manifest: Any) -> None:
    """An incoming message kept before messages were kept as received: its manifest only."""
    folder.problems.append(
        _(
            "This message was received before this node kept messages as they arrived: only "
            "its manifest is here, without its signature or documents."
        )
    )
    try:
        manifest_bytes = canonical_json(manifest)
    except (TypeError, ValueError):
        return
    if hashlib.sha256(manifest_bytes).hexdigest() == folder.manifest_sha256:
        folder.files.append((f"{folder.name}/{MANIFEST_ENTRY}", manifest_bytes))


def _add_receipt(folder: _Folder, *, receipt: bytes | None) -> None:
    if receipt is None:
        return
    try:
        entries = stored_receipt_entries(receipt=receipt)
    except ApplicationError as error:
        folder.problems.append(
            _("The kept receipt cannot be read: %(error)s") % {"error": error.message}
        )
        return
    prefix = f"{folder.name}/"
    folder.files.append((prefix + RECEIPT_ENTRY, entries.receipt_bytes))
    if entries.signature:
        folder.files.append((prefix + RECEIPT_SIGNATURE_ENTRY, entries.signature))
        # The recipient signs the receipt of a message.
        folder.signed.append(
            _Signed(
                path=prefix + RECEIPT_ENTRY,
                data=entries.receipt_bytes,
                signature=entries.signature,
                signer=folder.recipient,
            )
        )


def _folders(*, request: Request) -> list[_Folder]:
    outbox = list(
        OutboxMessage.objects.filter(request=request)
        .select_related("sender__country", "recipient__country")
        .defer("sealed", "receipt")
    )
    inbox = list(
        InboxMessage.objects.filter(request=request)
        .select_related("sender__country", "recipient__country")
        .defer("sealed", "receipt")
    )
    exchanged: list[tuple[datetime.datetime, str, OutboxMessage | InboxMessage]] = [
        (message.created_at, OUTGOING, message) for message in outbox
    ] + [(message.received_at, INCOMING, message) for message in inbox]
    exchanged.sort(key=lambda item: (item[0], str(item[2].message_id)))
    width = max(2, len(str(len(exchanged))))
    folders = []
    for number, (moment, direction, message) in enumerate(exchanged, start=1):
        folder = _Folder(
            name=f"messages/{number:0{width}d}-{message.kind}-{message.message_id}",
            direction=direction,
            kind=message.kind,
            event="",
            message_id=str(message.message_id),
            sender=message.sender,
            recipient=message.recipient,
            moment=moment,
            state=message.state if isinstance(message, OutboxMessage) else "received",
            manifest_sha256=message.manifest_sha256,
        )
        # One message's bytes at a time: documents are megabytes.
        kept = OutboxMessage.objects if isinstance(message, OutboxMessage) else InboxMessage.objects
        sealed, receipt = kept.values_list("sealed", "receipt").get(pk=message.pk)
        if sealed is not None:
            _add_message(folder, sealed=bytes(sealed))
        elif isinstance(message, InboxMessage):
            _add_manifest_only(folder, manifest=message.manifest)
        _add_receipt(folder, receipt=bytes(receipt) if receipt is not None else None)
        folders.append(folder)
    return folders


# Keys and signatures ------------------------------------------------------------------------


def _directory_keys(*, authority: Authority) -> list[_DirectoryKey]:
    """The key the directory pins for ``authority`` now, then those it pinned before (from
    the entry's history): a signature made before a key rotation is checked with the key of
    its time."""
    keys: dict[str, _DirectoryKey] = {}
    if authority.key_fingerprint and authority.public_key.strip():
        fingerprint = authority.key_fingerprint.upper()
        keys[fingerprint] = _DirectoryKey(fingerprint, authority.public_key, pinned_now=True)
    earlier = (
        authority.history.exclude(key_fingerprint="")
        .order_by("-history_date", "-history_id")
        .values_list("key_fingerprint", "public_key")
    )
    for fingerprint, armored in earlier:
        if armored and armored.strip():
            keys.setdefault(
                fingerprint.upper(), _DirectoryKey(fingerprint.upper(), armored, pinned_now=False)
            )
    return list(keys.values())


def _status(output: bytes) -> list[tuple[str, list[str]]]:
    lines = []
    for line in output.decode("utf-8", "replace").splitlines():
        if line.startswith("[GNUPG:] "):
            keyword, _sep, rest = line[9:].partition(" ")
            lines.append((keyword, rest.split()))
    return lines


def _gpg(home: Path, *arguments: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [
            str(settings.GNUPG_BINARY),
            "--homedir",
            str(home),
            "--batch",
            "--no-tty",
            "--no-autostart",
            *arguments,
        ],
        capture_output=True,
        timeout=GPG_TIMEOUT_SECONDS,
        check=False,
    )


def _signatures_check(*, signed: list[_Signed], armored: Iterable[str]) -> None:
    """Verify each signature as a reader of the bundle would: an empty GnuPG home, the
    bundle's keys imported, ``gpg --verify``; record the signing key's fingerprint."""
    if not signed:
        return
    with tempfile.TemporaryDirectory(prefix="mla-evidence-") as work:
        home = Path(work) / "home"
        home.mkdir(mode=0o700)
        keys = Path(work) / "keys.asc"
        keys.write_text("\n".join(armored), encoding="utf-8")
        _gpg(home, "--import", str(keys))
        for index, item in enumerate(signed):
            data, signature = Path(work) / f"{index}.data", Path(work) / f"{index}.sig"
            data.write_bytes(item.data)
            signature.write_bytes(item.signature)
            try:
                result = _gpg(home, "--status-fd", "1", "--verify", str(signature), str(data))
            except subprocess.TimeoutExpired:
                item.problem = _("gpg did not answer in time.")
                continue
            statuses = _status(result.stdout)
            keywords = [keyword for keyword, _args in statuses]
            valid = [args for keyword, args in statuses if keyword == "VALIDSIG"]
            if result.returncode != 0 or "BADSIG" in keywords or len(valid) != 1:
                item.problem = _("gpg does not find a valid signature (%(status)s).") % {
                    "status": " ".join(keywords) or result.stderr.decode("utf-8", "replace")[-200:]
                }
                continue
            # The primary key's fingerprint (the 10th field), also when a subkey signed.
            item.found_fingerprint = (valid[0][9] if len(valid[0]) >= 10 else valid[0][0]).upper()


# The checkpoints ----------------------------------------------------------------------------


@dataclass
class _CheckpointFile:
    """A signed checkpoint of the node's audit chain put in the bundle."""

    checkpoint: AuditCheckpoint
    signed: _Signed
    # The timeline's entry at the checkpoint's position, if it is one of this request's.
    sequence: int | None


def _checkpoints(*, request: Request) -> list[_CheckpointFile]:
    """The checkpoints that cover the request's timeline: the first at or after its last
    entry (its node_hash then commits every entry of the timeline), and those taken exactly
    at one of its entries (a reader compares their hash with the timeline's own)."""
    sequences = dict(AuditEntry.objects.filter(request=request).values_list("position", "sequence"))
    if not sequences:
        return []
    covering = (
        AuditCheckpoint.objects.filter(position__gte=max(sequences))
        .order_by("position")
        .values_list("position", flat=True)
        .first()
    )
    chosen = Q(position__in=list(sequences))
    if covering is not None:
        chosen |= Q(position=covering)
    files = []
    for checkpoint in (
        AuditCheckpoint.objects.filter(chosen)
        .select_related("authority__country")
        .order_by("position", "authority__identifier")
    ):
        path = f"checkpoints/{checkpoint.position}-{checkpoint.authority.identifier}.json"
        files.append(
            _CheckpointFile(
                checkpoint=checkpoint,
                signed=_Signed(
                    path=path,
                    data=bytes(checkpoint.statement),
                    signature=bytes(checkpoint.signature),
                    signer=checkpoint.authority,
                ),
                sequence=sequences.get(checkpoint.position),
            )
        )
    return files


def _checkpoint_line(item: _CheckpointFile) -> str:
    checkpoint = item.checkpoint
    if item.sequence is not None:
        covers = _("taken at timeline entry #%(sequence)d: its node_hash must be that entry's") % {
            "sequence": item.sequence
        }
    else:
        covers = _("taken after the timeline's last entry: it covers every entry through the node")
    return _("%(file)s: position %(position)d, %(time)s UTC, %(covers)s") % {
        "file": item.signed.path,
        "position": checkpoint.position,
        "time": f"{checkpoint.signed_at.astimezone(datetime.UTC):%Y-%m-%d %H:%M:%S}",
        "covers": covers,
    }


# The timeline -------------------------------------------------------------------------------


def _timeline(*, request: Request) -> tuple[dict[str, Any], str, list[str]]:
    entries = list(AuditEntry.objects.filter(request=request).order_by("sequence"))
    problems: list[str] = []
    previous = GENESIS
    rows = []
    lines = []
    for entry in entries:
        body = audit_entry_body(entry)
        if hashlib.sha256(previous.encode() + b"\n" + body).hexdigest() != entry.request_hash:
            problems.append(
                _("Timeline entry %(sequence)d does not match its hash chain.")
                % {"sequence": entry.sequence}
            )
        previous = entry.request_hash
        rows.append(
            {
                "sequence": entry.sequence,
                "position": entry.position,
                "at": entry.at.isoformat(),
                "actor": entry.actor_name,
                "authority": entry.authority_name,
                "event": entry.event,
                "from": entry.from_state,
                "to": entry.to_state,
                "note": entry.note,
                "payload": entry.payload,
                "body": body.decode("utf-8"),
                "request_hash": entry.request_hash,
                "node_hash": entry.node_hash,
            }
        )
        states = f" ({entry.from_state} -> {entry.to_state})" if entry.to_state else ""
        who = entry.actor_name + (f", {entry.authority_name}" if entry.authority_name else "")
        note = f": {entry.note}" if entry.note else ""
        lines.append(
            f"#{entry.sequence} {entry.at.astimezone(datetime.UTC):%Y-%m-%d %H:%M:%S} UTC  "
            f"{entry.event}{states}  {who}{note}\n    request_hash {entry.request_hash}"
        )
    timeline = {
        "request": request.reference,
        "copy": request.direction,
        "genesis": GENESIS,
        "entries": rows,
    }
    text = "\n".join(lines) + "\n" if lines else _("No entry.") + "\n"
    return timeline, text, problems


# e-Evidence ---------------------------------------------------------------------------------

# The steps that carry the produced data (Regulation (EU) 2023/1543): their payload names the
# request's attachments that hold it, by SHA-256: the production step's "files" (objects
# with a "sha256", mla.requests.lifecycle.certificates), or "attachments" as a received
# request's step names its documents.
PRODUCTION_EVENTS = (Event.EXECUTED, Event.PARTIALLY_EXECUTED, Event.DATA_PART_RECEIVED)
# The enforcing authority's decision on a notified EPOC (Art. 12).
ENFORCING_DECISION_EVENTS = (Event.NO_GROUNDS, Event.GROUNDS_RAISED)


@dataclass
class _Eevidence:
    """What an EPOC's or EPOC-PR's bundle holds besides the messages and the timeline: the
    certificate, the enforcing authority's decisions and the linked notification's
    documents, the produced data, and the Annexes III, V and VI, each with its SHA-256 for
    index.json."""

    files: list[tuple[str, bytes]] = field(default_factory=list)
    listed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add(self, section: str, path: str, content: bytes, **about: Any) -> None:
        self.files.append((path, content))
        self.listed.setdefault(section, []).append(
            {
                "file": path,
                "sha256": hashlib.sha256(content).hexdigest(),
                "size": len(content),
                **about,
            }
        )


def _safe(name: str) -> str:
    return _UNSAFE_FILE_CHARACTERS.sub("_", name) or "file"


def _named_digests(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return []
    listed: list[Any] = []
    for key in ("files", "attachments"):
        value = payload.get(key)
        if isinstance(value, list):
            listed.extend(value)
    digests = []
    for item in listed:
        digest = item.get("sha256") if isinstance(item, dict) else item
        if isinstance(digest, str) and digest:
            digests.append(digest.lower())
    return digests


def _attachment_read(attachment: Attachment, found: _Eevidence) -> bytes | None:
    try:
        with attachment.file.open("rb") as stored:
            content = stored.read()
    except OSError:
        found.problems.append(
            _("The document %(name)s (%(sha256)s) is no longer on this node.")
            % {"name": attachment.name, "sha256": attachment.sha256}
        )
        return None
    if hashlib.sha256(content).hexdigest() != attachment.sha256:
        found.problems.append(
            _("The document %(name)s does not match the SHA-256 recorded when it was attached.")
            % {"name": attachment.name}
        )
    return content


def _linked_notifications(request: Request) -> list[Request]:
    """The enforcing-authority notifications (Art. 8) linked to this certificate, either
    way round."""
    links = RequestLink.objects.filter(Q(from_request=request) | Q(to_request=request))
    linked = {
        pk
        for pair in links.values_list("from_request_id", "to_request_id")
        for pk in pair
        if pk != request.pk
    }
    return list(
        Request.objects.filter(pk__in=linked, declaration_code=EPOC_NOTIFICATION)
        .select_related("issuing_authority", "executing_country", "executing_authority")
        .order_by("created_at", "id")
    )


def _eevidence(*, request: Request) -> _Eevidence:
    found = _Eevidence()
    if request.declaration_code not in E_EVIDENCE_DECLARATIONS:
        return found
    reference = _safe(request.reference)
    found.add("certificate", f"document/{reference}.json", structured_export(request=request))
    notifications = _linked_notifications(request)
    decisions = AuditEntry.objects.filter(
        request__in=[request, *notifications], event__in=ENFORCING_DECISION_EVENTS
    ).order_by("at", "position")
    found.listed["enforcing_decisions"] = [
        {
            "request": entry.request_reference,
            "sequence": entry.sequence,
            "at": entry.at.isoformat(),
            "event": entry.event,
            "authority": entry.authority_name,
            "note": entry.note,
            "payload": entry.payload,
            "request_hash": entry.request_hash,
        }
        for entry in decisions
    ]
    for notification in notifications:
        folder = f"enforcing/{_safe(notification.reference)}"
        found.add(
            "enforcing_documents",
            f"{folder}/{_safe(notification.reference)}.json",
            structured_export(request=notification),
            request=notification.reference,
        )
        signed_pdf = signed_document_stored(request=notification)
        if signed_pdf is not None:
            found.add(
                "enforcing_documents",
                f"{folder}/{_safe(notification.reference)}.pdf",
                signed_pdf.pdf,
                request=notification.reference,
            )
        for document in notification.attachments.order_by("uploaded_at", "id"):
            content = _attachment_read(document, found)
            if content is not None:
                found.add(
                    "enforcing_documents",
                    f"{folder}/{document.pk}-{_safe(document.name)}",
                    content,
                    request=notification.reference,
                    name=document.name,
                )
    _annexes(request, found)
    attachments = {item.sha256.lower(): item for item in request.attachments.order_by("id")}
    for entry in AuditEntry.objects.filter(request=request, event__in=PRODUCTION_EVENTS).order_by(
        "sequence"
    ):
        for digest in _named_digests(entry.payload):
            attachment = attachments.get(digest)
            if attachment is None:
                found.problems.append(
                    _("Timeline entry %(sequence)d names a document (%(sha256)s) not held here.")
                    % {"sequence": entry.sequence, "sha256": digest}
                )
                continue
            content = _attachment_read(attachment, found)
            if content is not None:
                found.add(
                    "produced_data",
                    f"produced/{entry.sequence:03d}-{_safe(attachment.name)}",
                    content,
                    name=attachment.name,
                    media_type=attachment.media_type,
                    event=entry.event,
                    timeline_sequence=entry.sequence,
                    recorded_sha256=attachment.sha256,
                )
    return found


def _annexes(request: Request, found: _Eevidence) -> None:
    """The Annexes III, V and VI sent about the certificate: the one the other side sent, as
    received, or the one this side sent, drawn from its timeline."""
    for annex in annexes_issued(request=request):
        try:
            document = annex_document(request=request, annex=annex)
        except ApplicationError as error:  # a render over its budget
            found.problems.append(
                _("The document %(name)s could not be drawn: %(error)s")
                % {
                    "name": annex_document_name(request=request, annex=annex),
                    "error": error.message,
                }
            )
            continue
        if document is None:
            continue
        found.add(
            "annexes",
            f"annexes/{_safe(annex_document_name(request=request, annex=annex))}",
            document.content,
            annex=annex,
            timeline_sequence=document.sequence,
            as_received=document.received,
        )


def _eevidence_text(found: _Eevidence) -> list[str]:
    if not found.listed:
        return []
    parts = [
        _("E-EVIDENCE (REGULATION (EU) 2023/1543)"),
        "",
        "document/<reference>.json  "
        + _("the certificate's structured data, as its JSON download gives it"),
        "enforcing/<reference>/     "
        + _("the linked notification to the enforcing authority (Art. 8): its data and documents"),
        "produced/<n>-<name>        "
        + _("the data produced, attached to timeline entry <n> (executed or partially executed)"),
        "annexes/<annex>-<reference>.pdf  "
        + _(
            "the Annexes III, V and VI sent about the certificate: as the other side sent "
            "them, or as this side drew them from its timeline"
        ),
        "",
        _(
            'index.json lists each file under "e_evidence" with its SHA-256, and the enforcing '
            "authority's decisions (no ground, or a ground raised in full or in part) as "
            "their timeline entries give them. Check the files with:"
        ),
        "",
        *_commands("sha256sum document/*.json produced/* annexes/* enforcing/*/* 2>/dev/null"),
        "",
    ]
    for section in ("certificate", "produced_data", "annexes", "enforcing_documents"):
        for item in found.listed.get(section, []):
            parts.append(f"  {item['sha256']}  {item['file']}")
    decisions = found.listed.get("enforcing_decisions", [])
    if decisions:
        parts.append("")
        for decision in decisions:
            payload = decision["payload"] if isinstance(decision["payload"], dict) else {}
            details = ", ".join(
                f"{key}: {payload[key]}"
                for key in ("ground", "scope", "categories")
                if key in payload
            )
            parts.append(
                f"  {decision['request']} #{decision['sequence']} {decision['event']}"
                + (f" ({details})" if details else "")
            )
    return [*parts, ""]


# The bundle ---------------------------------------------------------------------------------


def _owner(request: Request) -> Authority:
    if request.direction == Request.Direction.INCOMING and request.executing_authority:
        return request.executing_authority
    return request.issuing_authority


def evidence_file_name(*, request: Request, at: datetime.datetime | None = None) -> str:
    stamp = (at or timezone.now()).astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    reference = _UNSAFE_FILE_CHARACTERS.sub("_", request.reference)
    return f"evidence_{reference}_{_owner(request).identifier}_{stamp}.zip"


def _pin_label(key: _DirectoryKey | None) -> str:
    if key is None:
        return _("NOT a key the directory pins for this authority")
    return _("pinned now") if key.pinned_now else _("pinned earlier, since replaced")


def _signature_line(item: _Signed, keys: dict[str, list[_DirectoryKey]]) -> str:
    name = item.path.rsplit("/", 1)[-1]
    if item.problem:
        return _("%(file)s.sig: NOT VERIFIED: %(problem)s") % {
            "file": name,
            "problem": item.problem,
        }
    known = {key.fingerprint: key for key in keys.get(item.signer.identifier, [])}
    return _("%(file)s.sig: good signature by %(authority)s, key %(fingerprint)s (%(pin)s)") % {
        "file": name,
        "authority": item.signer.identifier,
        "fingerprint": item.found_fingerprint,
        "pin": _pin_label(known.get(item.found_fingerprint)),
    }


# VERIFY.txt's commands are pasted into a shell as they are printed: at column 0 (Python's
# indentation and a here-document's closing line are significant), between two comment lines
# that mark where to copy from and to (a test runs exactly the lines between them).
COMMANDS_BEGIN = "# --- paste from here ---"
COMMANDS_END = "# --- to here ---"
# Every gpg command names the run's own GnuPG home: a fresh one per run of step 1, so that a
# second bundle checked in the same shell never mixes its keys with the first's.
_GPG_HOME_FIRST = '--homedir "$EVIDENCE_KEYS"'
_GPG_OPTIONS = '--homedir "${EVIDENCE_KEYS:?run step 1 first}" --batch --status-fd 1'


def _commands(*lines: str) -> list[str]:
    return [COMMANDS_BEGIN, *lines, COMMANDS_END]


def _verify_text(
    *,
    request: Request,
    made_at: datetime.datetime,
    folders: list[_Folder],
    keys: dict[str, list[_DirectoryKey]],
    signers: dict[str, Authority],
    problems: list[str],
    checkpoints: list[_CheckpointFile],
    eevidence: _Eevidence | None = None,
) -> str:
    owner = _owner(request)
    example = folders[0].name if folders else "messages/01-request-<message id>"
    parts = [
        _("Evidence bundle of request %(reference)s, the %(copy)s copy held by %(authority)s.")
        % {
            "reference": request.reference,
            "copy": request.get_direction_display().lower(),
            "authority": f"{owner.name} ({owner.identifier})",
        },
        _("Made on %(time)s UTC by %(node)s.")
        % {
            "time": f"{made_at.astimezone(datetime.UTC):%Y-%m-%d %H:%M:%S}",
            "node": settings.NODE_NAME,
        },
        "",
        _("WHAT IS IN IT"),
        "",
        _(
            "messages/<n>-<kind>-<message id>/  one folder per message sent or received about "
            "this request, in the order they were exchanged:"
        ),
        "  manifest.json       " + _("the message's manifest, exactly the bytes the sender signed"),
        "  manifest.json.sig   " + _("the sender's detached OpenPGP signature of manifest.json"),
        "  documents/<name>    "
        + _("each document the manifest lists, under the name the manifest gives"),
        "  receipt.json        " + _("the receipt the recipient signed, when one was received"),
        "  receipt.json.sig    " + _("the recipient's detached OpenPGP signature of receipt.json"),
        "  NOTE.txt            " + _("what could not be included, if anything"),
        "keys/<authority>.asc  "
        + _(
            "the OpenPGP public keys the directory of this node pins (or pinned before) for "
            "each authority that signed something here"
        ),
        "timeline.json, timeline.txt  "
        + _("the request's audit trail, each entry chained to the previous one by SHA-256"),
        "checkpoints/          "
        + _(
            "this node's signed checkpoints of its whole audit chain that cover the timeline, "
            "each <position>-<authority>.json with its signature .json.sig"
        ),
        "index.json            " + _("the same content, for programs"),
        "",
        _(
            "Nothing here needs this software to be checked: GnuPG (gpg), sha256sum and, for "
            "the timeline, Python 3 are enough."
        ),
        "",
    ]
    if not folders:
        parts += [
            _(
                "No message has been sent or received about this request through the exchange "
                "of this node (it was not sent, or it was exchanged by other means): this "
                "bundle holds its timeline only. Step 5 below still applies."
            ),
            "",
        ]
    example_folder = folders[0] if folders else None
    folder_argument = shlex.quote(example)
    has_receipt = example_folder is not None and any(
        name.endswith(f"/{RECEIPT_ENTRY}") for name, _content in example_folder.files
    )
    step_2 = [
        f"(cd {folder_argument} &&",
        f"gpg {_GPG_OPTIONS} --verify manifest.json.sig manifest.json"
        + (" &&" if has_receipt else ")"),
    ]
    if has_receipt:
        step_2.append(f"gpg {_GPG_OPTIONS} --verify receipt.json.sig receipt.json)")
    step_4 = (
        [
            f"(cd {folder_argument} && sha256sum manifest.json &&",
            "python3 -m json.tool receipt.json)",
        ]
        if has_receipt
        else [f"(cd {folder_argument} && sha256sum manifest.json)"]
    )
    parts += [
        _(
            'Each step\'s commands are between a line "%(begin)s" and a line "%(end)s" '
            "(both are shell comments): paste them as they are into a shell (bash or sh) "
            "opened in the bundle's top folder, step by step and in order. They change no "
            "file of the bundle and can be run again."
        )
        % {"begin": COMMANDS_BEGIN, "end": COMMANDS_END},
        "",
        _("1. IMPORT THE KEYS INTO A FRESH, EMPTY KEYRING"),
        "",
        _(
            "Each run makes a new, empty GnuPG home (mktemp -d) holding only this bundle's "
            "keys, never your own keyring nor the keys of another bundle; the next steps "
            "find it in EVIDENCE_KEYS. gpg says how many keys it imported."
        ),
        "",
        *_commands(
            'EVIDENCE_KEYS="$(mktemp -d)"',
            f"gpg {_GPG_HOME_FIRST} --batch --import keys/*.asc",
        ),
        "",
        _("2. CHECK EACH SIGNATURE"),
        "",
        _("For each folder under messages/ (the receipt only where there is one), for example:"),
        "",
        *_commands(*step_2),
        "",
        _(
            'gpg must say "Good signature" and print one VALIDSIG line; the last field of '
            "that line is the fingerprint of the key that signed. Compare it with the "
            "fingerprint the directory pins for the sender (for manifest.json) or the "
            "recipient (for receipt.json), listed below; for full assurance, compare it with "
            "the directory itself or have the authority read it to you. That comparison is "
            "what says who signed: gpg's warning that the key \"is not certified with a "
            "trusted signature\" is expected, since trust comes from the directory's pin, not "
            "from the web of trust. Any other answer (BAD signature, no public key, another "
            "fingerprint) means the file is not what was signed."
        ),
        "",
        _("3. CHECK THE DOCUMENTS AGAINST THE MANIFEST"),
        "",
        *_commands(
            f"(cd {folder_argument} && sha256sum documents/* &&",
            "python3 -m json.tool manifest.json)",
        ),
        "",
        _(
            'Each document\'s SHA-256 must equal the "sha256" the manifest gives for that '
            'name (and its size the "size"). The manifest being signed, a matching digest '
            "binds the document to the sender's signature."
        ),
        "",
        _("4. CHECK THAT THE RECEIPT IS FOR THIS MESSAGE"),
        "",
        *_commands(*step_4),
        "",
        _(
            'The receipt\'s "message_id" must be the manifest\'s "message_id", its '
            '"manifest_sha256" the SHA-256 of manifest.json, and its "receiver" the '
            'manifest\'s "recipient"; "received_at" is when the recipient received it '
            "(UTC)."
        ),
        "",
        _("5. CHECK THE TIMELINE'S HASH CHAIN"),
        "",
        _(
            "Each entry's request_hash is the SHA-256 of the previous entry's request_hash "
            '(64 zeros for the first), a line feed, and the entry\'s "body" (UTF-8), whose '
            "fields are those shown in the entry. A changed, removed or reordered entry "
            "breaks the chain from there on. The check prints each entry's sequence number "
            'and "ok", or "BROKEN" from the first entry that does not follow:'
        ),
        "",
        *_commands(
            "python3 - <<'EOF'",
            "import hashlib, json",
            'timeline = json.load(open("timeline.json", encoding="utf-8"))',
            'previous = timeline["genesis"]',
            'for entry in timeline["entries"]:',
            '    digest = hashlib.sha256((previous + "\\n" + entry["body"]).encode()).hexdigest()',
            '    print(entry["sequence"], "ok" if digest == entry["request_hash"] else "BROKEN")',
            '    previous = entry["request_hash"]',
            "EOF",
        ),
        "",
        _(
            "(node_hash chains the entry to the entries of every request of the node; it is "
            "checked on the node with: python manage.py verify_audit.)"
        ),
        "",
        _("6. CHECK THE AUDIT CHECKPOINTS"),
        "",
        _(
            "Each hour the node signs where its whole audit chain ends (position, node_hash, "
            "time) with the key of an authority it hosts, keeps it, and sends it to the "
            "partners it exchanged with. For each checkpoint in checkpoints/ (when there is "
            'one), gpg must say "Good signature" as in step 2:'
        ),
        "",
        *_commands(
            "for signature in checkpoints/*.json.sig; do",
            '[ -e "$signature" ] || continue',
            f'gpg {_GPG_OPTIONS} --verify "$signature" "${{signature%.sig}}"',
            "done",
        ),
        "",
        _(
            "The signing key must be the one the directory pins for the authority the "
            'checkpoint names. A checkpoint whose "position" is that of a timeline entry '
            '(its "position" field) must have that entry\'s "node_hash". One taken after the '
            "last entry covers every entry of the timeline through the node-wide chain: the "
            "node checks it with python manage.py verify_audit, and the partners that "
            "received it keep copies to compare with. If no checkpoint is here, none was "
            "signed yet after the request's last entry: the next one will cover it."
        ),
        "",
        *(_eevidence_text(eevidence) if eevidence is not None else []),
        _("KEYS THE DIRECTORY PINS"),
        "",
    ]
    if not signers:
        parts.append("  " + _("None: nothing in this bundle is signed."))
    for identifier, authority in sorted(signers.items()):
        parts.append(f"  {identifier} — {authority.name}")
        for key in keys.get(identifier, []):
            parts.append(f"    {key.fingerprint}  {_pin_label(key)}")
        if not keys.get(identifier):
            parts.append("    " + _("no key in the directory"))
    parts += ["", _("WHAT THIS NODE FOUND WHEN IT MADE THE BUNDLE"), ""]
    for folder in folders:
        parts.append(f"  {folder.name}")
        parts.append(
            "    "
            + _("%(kind)s from %(sender)s to %(recipient)s")
            % {
                "kind": folder.kind + (f" ({folder.event})" if folder.event else ""),
                "sender": folder.sender.identifier,
                "recipient": folder.recipient.identifier,
            }
        )
        parts += ["    " + _signature_line(item, keys) for item in folder.signed]
        parts += ["    " + problem for problem in folder.problems]
    if checkpoints:
        parts.append("  checkpoints/")
        for item in checkpoints:
            parts.append("    " + _checkpoint_line(item))
            parts.append("    " + _signature_line(item.signed, keys))
    else:
        parts.append("  " + _("No checkpoint covers this request's last entry yet."))
    if not problems:
        parts += ["", "  " + _("No problem found.")]
    else:
        parts += ["", _("PROBLEMS"), ""] + [f"  - {problem}" for problem in problems]
    return "\n".join(parts) + "\n"


def _index(
    *,
    request: Request,
    made_at: datetime.datetime,
    folders: list[_Folder],
    keys: dict[str, list[_DirectoryKey]],
    problems: list[str],
    checkpoints: list[_CheckpointFile],
    eevidence: _Eevidence | None = None,
) -> dict[str, Any]:
    listed = {"e_evidence": eevidence.listed} if eevidence is not None and eevidence.listed else {}
    return {
        **listed,
        "request": request.reference,
        "copy": request.direction,
        "authority": _owner(request).identifier,
        "made_at": made_at.astimezone(datetime.UTC).isoformat(),
        "node": str(settings.NODE_NAME),
        "messages": [
            {
                "folder": folder.name,
                "direction": folder.direction,
                "kind": folder.kind,
                "event": folder.event,
                "message_id": folder.message_id,
                "sender": folder.sender.identifier,
                "recipient": folder.recipient.identifier,
                "state": folder.state,
                "manifest_sha256": folder.manifest_sha256,
                "signatures": [
                    {
                        "file": item.path.rsplit("/", 1)[-1],
                        "signer": item.signer.identifier,
                        "fingerprint": item.found_fingerprint,
                        "problem": item.problem,
                    }
                    for item in folder.signed
                ],
                "problems": folder.problems,
            }
            for folder in folders
        ],
        "keys": {
            identifier: [
                {"fingerprint": key.fingerprint, "pinned_now": key.pinned_now} for key in listed
            ]
            for identifier, listed in keys.items()
        },
        "checkpoints": [
            {
                "file": item.signed.path,
                "position": item.checkpoint.position,
                "node_hash": item.checkpoint.node_hash,
                "signed_at": item.checkpoint.signed_at.astimezone(datetime.UTC).isoformat(),
                "signer": item.checkpoint.authority.identifier,
                "fingerprint": item.signed.found_fingerprint,
                "timeline_sequence": item.sequence,
                "problem": item.signed.problem,
            }
            for item in checkpoints
        ],
        "problems": problems,
    }


def _signature_problem(item: _Signed, keys: dict[str, list[_DirectoryKey]]) -> str:
    pinned = {key.fingerprint for key in keys.get(item.signer.identifier, [])}
    if item.problem:
        return f"{item.path}.sig: {item.problem}"
    if item.found_fingerprint not in pinned:
        return _(
            "%(file)s.sig is signed by key %(fingerprint)s, which the directory does "
            "not pin for %(authority)s."
        ) % {
            "file": item.path,
            "fingerprint": item.found_fingerprint,
            "authority": item.signer.identifier,
        }
    return ""


def evidence_bundle(*, request: Request, now: datetime.datetime | None = None) -> bytes:
    """The evidence bundle of this copy of a request (a ZIP archive)."""
    made_at = now or timezone.now()
    folders = _folders(request=request)
    checkpoints = _checkpoints(request=request)
    signed = [item for folder in folders for item in folder.signed]
    signed += [item.signed for item in checkpoints]
    signers = {item.signer.identifier: item.signer for item in signed}
    keys = {
        identifier: _directory_keys(authority=authority)
        for identifier, authority in signers.items()
    }
    _signatures_check(
        signed=signed, armored=[key.armored for listed in keys.values() for key in listed]
    )
    timeline, timeline_text, problems = _timeline(request=request)
    for folder in folders:
        problems += [_signature_problem(item, keys) for item in folder.signed]
        problems += [f"{folder.name}: {problem}" for problem in folder.problems]
    problems += [_signature_problem(item.signed, keys) for item in checkpoints]
    eevidence = _eevidence(request=request)
    problems += eevidence.problems
    problems = [problem for problem in problems if problem]

    buffer = io.BytesIO()
    stamp = made_at.astimezone(datetime.UTC).timetuple()[:6]

    def add(name: str, content: bytes) -> None:
        info = zipfile.ZipInfo(name, date_time=stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        archive.writestr(info, content)

    with zipfile.ZipFile(buffer, "w") as archive:
        add(
            "VERIFY.txt",
            _verify_text(
                request=request,
                made_at=made_at,
                folders=folders,
                keys=keys,
                signers=signers,
                problems=problems,
                checkpoints=checkpoints,
                eevidence=eevidence,
            ).encode("utf-8"),
        )
        for folder in folders:
            for name, content in folder.files:
                add(name, content)
            if folder.problems:
                add(f"{folder.name}/NOTE.txt", ("\n".join(folder.problems) + "\n").encode())
        # The PDF the issuing authority signed on this node, with its detached signature.
        signed_pdf = signed_document_stored(request=request)
        if signed_pdf is not None:
            add(f"document/{request.reference}.pdf", signed_pdf.pdf)
            add(f"document/{signature_file_name(request=request)}", signed_pdf.signature)
        for name, content in eevidence.files:
            add(name, content)
        for item in checkpoints:
            add(item.signed.path, item.signed.data)
            add(f"{item.signed.path}.sig", item.signed.signature)
        for identifier, listed in sorted(keys.items()):
            if listed:
                add(f"keys/{identifier}.asc", "\n".join(key.armored for key in listed).encode())
        add("timeline.json", json.dumps(timeline, ensure_ascii=False, indent=2).encode("utf-8"))
        add("timeline.txt", timeline_text.encode("utf-8"))
        add(
            "index.json",
            json.dumps(
                _index(
                    request=request,
                    made_at=made_at,
                    folders=folders,
                    keys=keys,
                    problems=problems,
                    checkpoints=checkpoints,
                    eevidence=eevidence,
                ),
                ensure_ascii=False,
                indent=2,
            ).encode("utf-8"),
        )
    return buffer.getvalue()
