"""The console of one node of the two-node harness: a long-lived Django process with the
node's settings that takes commands as JSON lines on stdin and answers each with one JSON
line on stdout.

A command is ``{"call": helper, "kwargs": {...}}`` (a function of this module, run in the
node) or ``{"exec": source, "vars": {...}}`` (a snippet that sets ``result``). The answer is
``{"ok": true, "result": ...}`` or ``{"ok": false, "error": ..., "traceback": ...}``. Bytes
travel as ``{"$bytes": base64}``.

Run by the harness as ``python -m tests.support.node_console`` (tests/support/nodes.py);
one command at a time, each in autocommit as a view or a task would run it.
"""

import base64
import datetime
import hashlib
import json
import os
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from typing import Any

BYTES = "$bytes"


def encode(value: Any) -> Any:
    """The JSON form of a value helpers take or give (see decode)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {BYTES: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(key): encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [encode(item) for item in value]
    return value


def decode_hook(value: dict[str, Any]) -> Any:
    if set(value) == {BYTES}:
        return base64.b64decode(value[BYTES])
    return value


# Helpers: what the tests do on a node, with the project's own services. ------------------


def _authority(identifier: str) -> Any:
    from contact_points.models import Authority

    return Authority.objects.select_related("country").get(identifier=identifier)


def _user(username: str) -> Any:
    from mla.accounts.models import User

    return User.objects.select_related("authority").get(username=username)


def _request(reference: str, direction: str) -> Any:
    from mla.requests.models import Request

    return Request.objects.select_related("issuing_authority", "executing_authority").get(
        reference=reference, direction=direction
    )


def directory_load(
    *, countries: list[dict[str, Any]], authorities: list[dict[str, Any]]
) -> list[str]:
    """The shared directory, as every node has it: countries and authorities (no keys yet)."""
    from tests.support.factories import AuthorityFactory, CountryFactory

    by_code = {
        country["code"]: CountryFactory(eio_bound=True, budapest_party=True, **country)
        for country in countries
    }
    for entry in authorities:
        AuthorityFactory(**{**entry, "country": by_code[entry["country"]]})
    return sorted(by_code)


def users_create(*, users: list[dict[str, Any]]) -> list[str]:
    """This node's users (each authority has users on its own node only)."""
    from tests.support.factories import UserFactory

    for entry in users:
        UserFactory(
            **{**entry, "authority": _authority(entry["authority"]), "preferred_language": "en"}
        )
    return [entry["username"] for entry in users]


def key_create(*, authority: str) -> str:
    """The hosted authority's first key pair, as `manage.py node_keys` makes it: pinned in
    this node's directory; its public key, for the other node's directory."""
    from mla.exchange.keys import node_key_create, node_key_export

    hosted = _authority(authority)
    node_key_create(authority=hosted)
    return node_key_export(authority=hosted)


def key_pin(*, authority: str, armored: str) -> str:
    """Pin another node's published key in this node's directory."""
    from contact_points.services import authority_set_public_key

    return str(
        authority_set_public_key(authority=_authority(authority), armored=armored).key_fingerprint
    )


def inbox_url_set(*, authority: str, url: str) -> None:
    entry = _authority(authority)
    entry.inbox_url = url
    entry.save(update_fields=["inbox_url"])


def request_ready(
    *,
    username: str,
    declaration_code: str,
    executing: str,
    attachments: Sequence[Sequence[Any]] = (),
    changes: dict[str, dict[str, Any]] | None = None,
) -> str:
    """A complete request of ``username`` to ``executing``, with ``attachments`` ([name,
    content] pairs), submitted (ready to send); its reference. ``changes`` replaces values of
    the sample data by section, or removes a section (None)."""
    from mla.instruments.declarations import declaration_for
    from mla.requests.drafting.services import attachment_add, request_create
    from mla.requests.lifecycle.issuing import request_submit
    from tests.support.samples import complete_data

    actor = _user(username)
    authority = _authority(executing)
    draft = request_create(
        actor=actor,
        declaration_code=declaration_code,
        executing_country=authority.country,
        executing_authority=authority,
    )
    draft.data = complete_data(declaration_for(declaration_code))
    for section, values in (changes or {}).items():
        if values is None:
            draft.data.pop(section, None)
        else:
            draft.data.setdefault(section, {}).update(values)
    draft.save()
    for name, content in attachments:
        attachment_add(request=draft, actor=actor, name=name, content=content)
    request_submit(request=draft, actor=actor)
    return str(draft.reference)


def request_document_prepared(*, reference: str) -> bool:
    """Whether the worker has made the PDF of the ready request ahead of its sending."""
    from django.core.files.storage import default_storage

    from mla.requests.documents.prepared import prepared_document_name

    return bool(
        default_storage.exists(prepared_document_name(request=_request(reference, "outgoing")))
    )


def request_send(*, reference: str, username: str) -> float:
    """Send the outgoing request; how long the send took (seconds)."""
    from mla.requests.lifecycle.issuing import request_send as send

    started = time.perf_counter()
    send(request=_request(reference, "outgoing"), actor=_user(username))
    return time.perf_counter() - started


def request_send_timed(*, reference: str, username: str) -> dict[str, Any]:
    """Send the outgoing request: when the send started (this node's clock) and how long
    the service took, of which rendering the request's PDF (timed again, alone)."""
    from django.utils import timezone

    from mla.requests.documents.rendering import request_pdf

    started_at = timezone.now()
    took = request_send(reference=reference, username=username)
    request = _request(reference, "outgoing")
    rendering = time.perf_counter()
    request_pdf(request=request)
    return {
        "started_at": started_at,
        "send_seconds": took,
        "pdf_seconds": time.perf_counter() - rendering,
    }


def request_pdf_bytes(*, reference: str) -> bytes:
    from mla.requests.documents.rendering import request_pdf

    return request_pdf(request=_request(reference, "outgoing"))


def request_step(
    *,
    service: str,
    reference: str,
    direction: str,
    username: str,
    requests: dict[str, list[str]] | None = None,
    **kwargs: Any,
) -> str:
    """Take a step with a service of mla.requests (``module:function``) on one copy; the new
    state. ``requests`` passes other requests by argument name: [reference, direction]."""
    import importlib

    module, _sep, name = service.partition(":")
    function = getattr(importlib.import_module(f"mla.requests.lifecycle.{module}"), name)
    for argument, (other, other_direction) in (requests or {}).items():
        kwargs[argument] = _request(other, other_direction)
    request = _request(reference, direction)
    function(request=request, actor=_user(username), **kwargs)
    request.refresh_from_db()
    return str(request.state)


def annex_b_received(*, reference: str) -> bytes | None:
    """The Annex B that came with the acknowledgement of this node's outgoing request."""
    from mla.requests.documents.annex_b import annex_b_document_name
    from mla.requests.lifecycle.channels import remote_channel

    request = _request(reference, "outgoing")
    return remote_channel().document_received(
        request=request, name=annex_b_document_name(request=request)
    )


def certificate_ready(
    *, username: str, declaration_code: str, executing: str, categories: Sequence[str]
) -> str:
    """An e-Evidence certificate (``epoc`` or ``epoc_pr``) of ``username`` to the addressee
    ``executing``, asking for data of ``categories``, ready to send (made ready as the
    submission would: who may issue for which data is the certificate's own test); its
    reference. Neither the offence nor the person is in the issuing State, so that an EPOC
    for traffic or content data is notified to the enforcing authority (Art. 8)."""
    from mla.instruments.declarations import declaration_for
    from mla.requests.drafting.services import request_create
    from mla.requests.models import Request
    from tests.support.fixtures.enforcing import epoc_data
    from tests.support.samples import complete_data

    actor = _user(username)
    addressee = _authority(executing)
    draft = request_create(
        actor=actor,
        declaration_code=declaration_code,
        executing_country=addressee.country,
        executing_authority=addressee,
    )
    if declaration_code == "epoc":
        draft.data = epoc_data(categories=tuple(categories))
    else:
        draft.data = complete_data(declaration_for(declaration_code))
        draft.data.setdefault("F", {})["data_categories"] = list(categories)
    draft.save(update_fields=["data"])
    Request.objects.filter(pk=draft.pk).update(state=Request.State.READY)
    return str(draft.reference)


def certificate_produce(*, reference: str, username: str, files: Sequence[Sequence[Any]]) -> str:
    """The addressee's staff produce ``files`` ([name, content]) on its copy; the new state."""
    from mla.requests.lifecycle.certificates import ProducedFile
    from mla.requests.lifecycle.certificates import certificate_produce as produce

    request = _request(reference, "incoming")
    produce(
        request=request,
        actor=_user(username),
        files=[ProducedFile(name=name, content=content) for name, content in files],
    )
    request.refresh_from_db()
    return str(request.state)


def notifications_sent(*, reference: str) -> list[str]:
    """The references of the enforcing authority's notifications sent with this node's
    outgoing EPOC."""
    from mla.requests.lifecycle.enforcing import notifications_of

    return [n.reference for n in notifications_of(certificate=_request(reference, "outgoing"))]


def step_document(*, reference: str, direction: str, name: str) -> bytes | None:
    """The document ``name`` the other node sent with one of its steps on this copy."""
    from mla.requests.lifecycle.channels import remote_channel

    return remote_channel().document_received(request=_request(reference, direction), name=name)


def outbox_sealed(*, message_id: str) -> bytes:
    """The sealed message as it was posted (to post it again)."""
    from mla.exchange.models import OutboxMessage

    return bytes(OutboxMessage.objects.get(message_id=message_id).sealed)


def audit_entries_count() -> int:
    """Every audit entry of this node."""
    from mla.requests.models import AuditEntry

    return AuditEntry.objects.count()


def request_copy(*, reference: str, direction: str) -> dict[str, Any] | None:
    """One copy of a request as the tests compare it: state, data, stored attachments (with
    the digest of the file as stored) and its timeline."""
    from mla.requests.models import Request

    request = Request.objects.filter(reference=reference, direction=direction).first()
    if request is None:
        return None
    attachments = []
    for attachment in request.attachments.order_by("name"):
        with attachment.file.open("rb") as stored:
            content = stored.read()
        attachments.append(
            {
                "name": attachment.name,
                "media_type": attachment.media_type,
                "size": attachment.size,
                "sha256": attachment.sha256,
                "stored_sha256": hashlib.sha256(content).hexdigest(),
            }
        )
    return {
        "id": request.pk,
        "state": request.state,
        "issuing_authority": request.issuing_authority.identifier,
        "executing_authority": request.executing_authority.identifier
        if request.executing_authority
        else None,
        "data": request.data,
        "data_digest": request.data_digest,
        "attachments": attachments,
        "timeline": [
            {
                "event": entry.event,
                "to_state": entry.to_state,
                "actor_name": entry.actor_name,
                "authority_name": entry.authority_name,
                "note": entry.note,
                "payload": entry.payload,
                "at": entry.at,
            }
            for entry in request.audit_entries.order_by("sequence")
        ],
    }


def requests_count(*, reference: str) -> int:
    from mla.requests.models import Request

    return Request.objects.filter(reference=reference).count()


def requests_count_like(*, prefix: str) -> int:
    from mla.requests.models import Request

    return Request.objects.filter(reference__startswith=prefix).count()


def outbox(*, reference: str | None = None, message_id: str | None = None) -> list[dict[str, Any]]:
    """Outbox messages (oldest first), with the receipt as stored."""
    from mla.exchange.models import OutboxMessage

    messages = OutboxMessage.objects.select_related("sender", "recipient").order_by("pk")
    if reference is not None:
        messages = messages.filter(request__reference=reference)
    if message_id is not None:
        messages = messages.filter(message_id=message_id)
    return [
        {
            "message_id": str(message.message_id),
            "kind": message.kind,
            "event": message.event,
            "sender": message.sender.identifier,
            "recipient": message.recipient.identifier,
            "state": message.state,
            "attempts": message.attempts,
            "last_error": message.last_error,
            "next_attempt_at": message.next_attempt_at,
            "delivered_at": message.delivered_at,
            "created_at": message.created_at,
            "manifest_sha256": message.manifest_sha256,
            "sealed_size": len(message.sealed),
            "receipt": bytes(message.receipt) if message.receipt is not None else None,
        }
        for message in messages
    ]


def audit_checkpoint() -> dict[str, Any]:
    """What the hourly task does (audit_checkpoint_task), now."""
    from mla.exchange.anchor import audit_checkpoint_make

    outcome = audit_checkpoint_make()
    return {
        "created": outcome.created,
        "position": outcome.position,
        "messages": [str(message.message_id) for message in outcome.messages],
        "partners": sorted({message.recipient.identifier for message in outcome.messages}),
    }


def checkpoints_received(*, sender: str) -> list[dict[str, Any]]:
    from mla.exchange.models import ReceivedAuditCheckpoint

    return [
        {"position": kept.position, "node_hash": kept.node_hash, "node": kept.node_name}
        for kept in ReceivedAuditCheckpoint.objects.filter(sender__identifier=sender)
    ]


def checkpoints_export(*, sender: str) -> bytes:
    """What ``audit_checkpoint export --from SENDER`` writes."""
    from mla.exchange.anchor import received_checkpoints_export

    return received_checkpoints_export(sender=sender)


def audit_verify_anchored(*, files: list[bytes]) -> dict[str, Any]:
    """What ``verify_audit --checkpoints FILE...`` finds."""
    from mla.requests.audit import AnchorFile
    from mla.requests.audit import audit_verify_anchored as verify

    audit = verify(
        files=[AnchorFile(name=f"copies-{index}.json", content=c) for index, c in enumerate(files)]
    )
    return {
        "breaks": [str(found) for found in audit.breaks],
        "anchors": [(anchor.origin, anchor.position) for anchor in audit.anchors],
    }


def outbox_states() -> dict[str, int]:
    """How many outbox messages are in each state."""
    from django.db.models import Count

    from mla.exchange.models import OutboxMessage

    return dict(OutboxMessage.objects.values_list("state").annotate(count=Count("pk")))


def inbox(*, reference: str | None = None, message_id: str | None = None) -> list[dict[str, Any]]:
    from mla.exchange.models import InboxMessage

    messages = InboxMessage.objects.select_related("sender", "recipient", "request").order_by("pk")
    if reference is not None:
        messages = messages.filter(manifest__reference=reference)
    if message_id is not None:
        messages = messages.filter(message_id=message_id)
    return [
        {
            "message_id": str(message.message_id),
            "kind": message.kind,
            "sender": message.sender.identifier,
            "recipient": message.recipient.identifier,
            "manifest_sha256": message.manifest_sha256,
            "manifest": message.manifest,
            "received_at": message.received_at,
            "receipt": bytes(message.receipt),
            "request": message.request.reference if message.request else None,
        }
        for message in messages
    ]


def inbox_count() -> int:
    from mla.exchange.models import InboxMessage

    return InboxMessage.objects.count()


def receipt_verify(*, message_id: str) -> dict[str, Any]:
    """Verify again the receipt stored for an outbox message, against the directory."""
    from mla.exchange.models import OutboxMessage
    from mla.exchange.wire.receipts import receipt_verify as verify

    message = OutboxMessage.objects.select_related("recipient").get(message_id=message_id)
    assert message.receipt is not None, "no receipt stored"
    receipt = verify(
        receipt=bytes(message.receipt),
        expected_message_id=str(message.message_id),
        expected_manifest_digest=message.manifest_sha256,
        recipient=message.recipient,
    )
    return {
        "receiver": receipt.receiver,
        "signer_fingerprint": receipt.signer_fingerprint,
        "received_at": receipt.received_at,
        "recipient_pinned": message.recipient.key_fingerprint.upper(),
    }


def outbox_requeue() -> int:
    """What the periodic task does (outbox_requeue_task), now."""
    from mla.exchange.outbox import outbox_requeue_stale

    return outbox_requeue_stale()


def outbox_retry(*, message_id: str, username: str) -> str:
    from mla.exchange.models import OutboxMessage
    from mla.exchange.outbox import outbox_retry as retry

    message = OutboxMessage.objects.get(message_id=message_id)
    return str(retry(message=message, actor=_user(username)).state)


def outbox_flood(*, sender: str, recipient: str, count: int, document: bytes) -> list[str]:
    """``count`` sent requests of ``sender`` to ``recipient``, each put in the outbox as a
    request message with ``document`` as its PDF, one transaction each (as request_send
    does): the message ids. For the throughput benchmark, which measures the exchange, not
    the PDF rendering."""
    from django.db import transaction
    from django.utils import timezone

    from mla.exchange.models import MessageKind
    from mla.exchange.outbox import outbox_enqueue, request_message_data
    from mla.exchange.wire.manifest import Document
    from mla.instruments.declarations import declaration_for
    from mla.requests.models import Request
    from tests.support.samples import complete_data

    issuer, executing = _authority(sender), _authority(recipient)
    data = complete_data(declaration_for("eio"))
    ids = []
    for _number in range(count):
        with transaction.atomic():
            request = Request.objects.create(
                reference=f"FLOOD-{uuid.uuid4().hex[:16]}",
                direction=Request.Direction.OUTGOING,
                declaration_code="eio",
                issuing_authority=issuer,
                executing_country=executing.country,
                executing_authority=executing,
                data=data,
                state=Request.State.SENT,
                sent_at=timezone.now(),
            )
            name = f"{request.reference}.pdf"
            message = outbox_enqueue(
                request=request,
                kind=MessageKind.REQUEST,
                data=request_message_data(
                    request=request, sent_by="benchmark", request_document=name
                ),
                documents=[Document(name=name, media_type="application/pdf", content=document)],
                sender=issuer,
                recipient=executing,
            )
        ids.append(str(message.message_id))
    return ids


def message_forge(*, sender: str, recipient: str, how: str) -> bytes:
    """A request message from ``sender`` to ``recipient`` that the recipient's node must
    refuse: ``tampered`` (a sealed message with one bit flipped), ``wrong_signer`` (signed by
    a key of this node the directory does not pin for the sender), ``unsigned``, or
    ``not_for_recipient`` (encrypted to the sender's key only)."""
    from django.utils import timezone

    from mla.exchange.wire.container import message_container_build
    from mla.exchange.wire.manifest import Document, manifest_build, manifest_canonical_bytes
    from mla.exchange.wire.seal import message_encrypt, message_seal
    from mla.instruments.declarations import declaration_for
    from mla.openpgp.homes import hosted_keyring
    from mla.openpgp.keys import hosted_key_generate, secret_key_fingerprints_by_email
    from tests.support.samples import complete_data

    issuer, executing = _authority(sender), _authority(recipient)
    documents = [Document("forged.pdf", "application/pdf", b"%PDF-1.7\nforged\n%%EOF\n")]
    manifest = manifest_build(
        kind="request",
        sender=issuer,
        recipient=executing,
        reference=f"DE-FORGED-{uuid.uuid4().hex[:8]}",
        data={
            "data": complete_data(declaration_for("eio")),
            "declaration_code": "eio",
            "request_document": "forged.pdf",
        },
        documents=documents,
    )
    if how == "tampered":
        sealed = bytearray(
            message_seal(manifest=manifest, documents=documents, sender=issuer, recipient=executing)
        )
        sealed[len(sealed) // 2] ^= 0x01
        return bytes(sealed)
    manifest_bytes = manifest_canonical_bytes(manifest)
    signature = None
    if how == "wrong_signer":
        gpg = hosted_keyring()
        email = "forger@keys.test.example"
        fingerprint = secret_key_fingerprints_by_email(gpg=gpg).get(email) or (
            hosted_key_generate(gpg=gpg, user_id_name="Forger", user_id_email=email)
        )
        signed = gpg.sign(
            manifest_bytes, detach=True, binary=True, extra_args=["--local-user", fingerprint]
        )
        assert signed.fingerprint == fingerprint, signed.stderr
        signature = bytes(signed.data)
    elif how == "not_for_recipient":
        gpg = hosted_keyring()
        signed = gpg.sign(
            manifest_bytes,
            detach=True,
            binary=True,
            extra_args=["--local-user", issuer.key_fingerprint],
        )
        signature = bytes(signed.data)
    elif how != "unsigned":
        raise ValueError(how)
    container = message_container_build(
        manifest_bytes=manifest_bytes,
        signature=signature,
        documents=documents,
        mtime=timezone.now(),
    )
    fingerprints = [issuer.key_fingerprint]
    if how != "not_for_recipient":
        fingerprints.insert(0, executing.key_fingerprint)
    return message_encrypt(container=container, fingerprints=fingerprints)


def seal_timing(*, sender: str, recipient: str, documents: list[list[Any]], runs: int) -> Any:
    """For the benchmark: message_seal of ``documents`` ([name, media type, content]) ``runs``
    times; the median seconds, and what the last run signed (the manifest) and encrypted (the
    archive), so that gpg can be timed on the same bytes."""
    import statistics

    from mla.exchange.wire.manifest import Document, manifest_build, manifest_canonical_bytes
    from mla.exchange.wire.seal import message_seal
    from mla.instruments.declarations import declaration_for
    from mla.openpgp.homes import hosted_keyring, node_key_passphrase
    from tests.support.samples import complete_data

    issuer, executing = _authority(sender), _authority(recipient)
    files = [Document(name, media_type, content) for name, media_type, content in documents]
    data = {"data": complete_data(declaration_for("eio")), "declaration_code": "eio"}
    timings = []
    manifest = None
    for _run in range(runs):
        manifest = manifest_build(
            kind="request",
            sender=issuer,
            recipient=executing,
            reference="DE-BENCH-SEAL",
            data=data,
            documents=files,
        )
        started = time.perf_counter()
        sealed = message_seal(
            manifest=manifest, documents=files, sender=issuer, recipient=executing
        )
        timings.append(time.perf_counter() - started)
    assert manifest is not None
    # The exact archive that was encrypted: the sender's key is one of the recipients.
    container = hosted_keyring().decrypt(sealed, passphrase=node_key_passphrase())
    assert container.ok, container.status
    return {
        "median": statistics.median(timings),
        "manifest": manifest_canonical_bytes(manifest),
        "container": bytes(container.data),
        "sealed_size": len(sealed),
        "fingerprints": [executing.key_fingerprint, issuer.key_fingerprint],
    }


HELPERS: dict[str, Callable[..., Any]] = {
    name: value
    for name, value in list(globals().items())
    if callable(value)
    and not name.startswith("_")
    and getattr(value, "__module__", "") == __name__
    and name not in {"encode", "decode_hook", "main"}
}


def _run(command: dict[str, Any]) -> Any:
    if "call" in command:
        return HELPERS[command["call"]](**command.get("kwargs", {}))
    namespace: dict[str, Any] = {**HELPERS, **command.get("vars", {})}
    exec(command["exec"], namespace)  # noqa: S102  # the harness's own snippets
    return namespace.get("result")


def main() -> None:
    # Answers go to a private copy of stdout; anything else written to stdout (a library's
    # print, a subprocess inheriting it) lands in the log, never in the middle of an answer.
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    import django

    django.setup()
    from django.db import close_old_connections

    answers.write(json.dumps({"ok": True, "result": "ready"}) + "\n")
    answers.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        close_old_connections()
        try:
            command = json.loads(line, object_hook=decode_hook)
            answer = {"ok": True, "result": encode(_run(command))}
        except BaseException as error:  # every failure goes back to the test, which raises it
            answer = {
                "ok": False,
                "error": f"{type(error).__name__}: {error}",
                "traceback": traceback.format_exc(),
            }
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
