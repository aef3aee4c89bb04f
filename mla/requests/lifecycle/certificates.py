"""The e-Evidence certificates between the issuing authority and the addressee (Regulation
(EU) 2023/1543): an EPOC's data produced or its Annex III, the issuing authority's answer,
and an EPOC-PR's Annex VI extension. The enforcing authority's side is
mla.requests.lifecycle.enforcing's.

The addressee's steps are taken on its received copy by its provider staff (or the
executing staff of its authority: lifecycle_rules.may_act_for_executor); the issuing
authority's on its own copy. Each is one transaction with its audit entry and deadlines,
and the same step recorded on the other copy when it is served here
(mla.requests.lifecycle.counterpart). The preservation on receipt (Art. 10(1), 11) is the
executing side's ``request_preserve``; Annex V is the issuing side's ``request_follow_up``.
"""

import datetime
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mla.accounts.models import User
from mla.core.errors import ApplicationError
from mla.instruments import eevidence
from mla.openpgp.crypto import detached_sign
from mla.requests.deadlines.store import extension_check
from mla.requests.drafting.attachments import document_type_check
from mla.requests.drafting.services import attachment_size_check
from mla.requests.events import Event
from mla.requests.lifecycle import counterpart
from mla.requests.lifecycle.enforcing import enforcing_decision
from mla.requests.lifecycle.runner import (
    check_expected_state,
    permission_check,
    record_act,
    run_transition,
)
from mla.requests.models import Attachment, AuditEntry, Request, canonical_json

State = Request.State

# Art. 10(2): the enforcing authority's window, counted from the receipt of the certificate
# (the notification goes out at the same time, Art. 8(1)).
ENFORCING_WINDOW = datetime.timedelta(days=10)
_MEDIA_TYPE_UNKNOWN = "application/octet-stream"


def _require_certificate(request: Request, code: frozenset[str] | str) -> None:
    codes = {code} if isinstance(code, str) else code
    if request.declaration_code not in codes:
        raise ApplicationError(_("This step is for a European Production or Preservation Order."))


# The enforcing authority ---------------------------------------------------------------


def production_allowed(*, request: Request) -> tuple[bool, str]:
    """Whether the addressee may transmit the data of this EPOC now, and if not why.

    Where the enforcing authority is notified and it is not an emergency, the addressee
    waits for the end of its 10 days from the receipt of the certificate, or for its word
    that it raises no ground (Art. 10(2)); a ground raised stops the production (Art. 12)."""
    data = request.data or {}
    if not eevidence.notification_required(data) or eevidence.is_emergency(data):
        return True, ""
    decision = enforcing_decision(request=request)
    if decision is not None and decision.refused:
        return False, _("The enforcing authority raised a ground for refusal (Art. 12).")
    if decision is not None:
        # No ground, or a ground against some categories only: the rest may go now.
        return True, ""
    received = request.received_at or request.sent_at
    if received is not None and timezone.now() >= received + ENFORCING_WINDOW:
        return True, ""
    return False, _(
        "The enforcing authority is notified: the data may be transmitted at the end of its "
        "10 days, or once it says it raises no ground (Art. 10(2))."
    )


# The addressee's steps -----------------------------------------------------------------


@dataclass(frozen=True)
class ProducedFile:
    name: str
    content: bytes


def produced_media_type(produced: ProducedFile) -> str:
    try:
        return document_type_check(name=produced.name, content=produced.content).media_type
    except ApplicationError:
        # Produced data come in the provider's formats (CSV, JSON, mail boxes…): kept as
        # bytes, identified by their digest.
        return _MEDIA_TYPE_UNKNOWN


def _describe(files: Sequence[ProducedFile]) -> list[dict[str, Any]]:
    described = []
    for produced in files:
        attachment_size_check(name=produced.name, size=len(produced.content))
        described.append(
            {
                "name": produced.name[:255],
                "sha256": hashlib.sha256(produced.content).hexdigest(),
                "size": len(produced.content),
            }
        )
    return described


def _store_produced(*, request: Request, actor: User | None, files: Sequence[ProducedFile]) -> None:
    for produced in files:
        digest = hashlib.sha256(produced.content).hexdigest()
        attachment = Attachment(
            request=request,
            name=produced.name[:255],
            media_type=produced_media_type(produced),
            size=len(produced.content),
            sha256=digest,
            uploaded_by=actor,
        )
        attachment.file.save(digest, ContentFile(produced.content), save=False)
        attachment.save()


def _share_produced(*, source: Request, issuing: Request, files: list[dict[str, Any]]) -> None:
    """The issuing copy here gets the produced files, sharing the stored content."""
    digests = {item["sha256"] for item in files}
    for attachment in source.attachments.filter(sha256__in=digests):
        if issuing.attachments.filter(sha256=attachment.sha256).exists():
            continue
        Attachment.objects.create(
            request=issuing,
            file=attachment.file.name,
            name=attachment.name,
            media_type=attachment.media_type,
            size=attachment.size,
            sha256=attachment.sha256,
            uploaded_by=attachment.uploaded_by,
        )


PRODUCTION_EVENTS = frozenset({Event.EXECUTED, Event.PARTIALLY_EXECUTED})
# The steps whose messages carry produced data: the production itself and, before it, each
# part of a data set too large for one message (mla.exchange.channel).
DATA_CARRYING_EVENTS = PRODUCTION_EVENTS | {Event.DATA_PART_RECEIVED}


def produced_file_named(*, event: str, payload: object, name: str, content: bytes) -> bool:
    """Whether a production step names this file by its name, SHA-256 and size: data the
    addressee produced in its own formats (kept as bytes, as certificate_produce keeps
    them), which the issuing side's node takes with the step whatever their type."""
    if event not in DATA_CARRYING_EVENTS or not isinstance(payload, Mapping):
        return False
    files = payload.get("files")
    if not isinstance(files, list):
        return False
    digest = hashlib.sha256(content).hexdigest()
    return any(
        isinstance(item, dict)
        and item.get("name") == name
        and item.get("sha256") == digest
        and item.get("size") == len(content)
        for item in files
    )


def produced_files_receive(
    *, request: Request, event: str, payload: object, files: Sequence[ProducedFile]
) -> None:
    """The issuing copy of an EPOC keeps the data produced on the addressee's node, received
    with the production step, as it keeps those produced on this node: each file the step
    names, stored once under its digest."""
    if request.declaration_code != eevidence.EPOC:
        return
    stored = set(request.attachments.values_list("sha256", flat=True))
    new = []
    for produced in files:
        digest = hashlib.sha256(produced.content).hexdigest()
        if digest in stored or not produced_file_named(
            event=event, payload=payload, name=produced.name, content=produced.content
        ):
            continue
        stored.add(digest)
        new.append(produced)
    _store_produced(request=request, actor=None, files=new)
    if event in PRODUCTION_EVENTS:
        _production_whole_check(request=request, payload=payload, stored=stored)


def _production_whole_check(*, request: Request, payload: object, stored: set[str]) -> None:
    """The production step comes with the last part of its data: every file it names must be
    here by then (the earlier parts arrived first, in the order they were sent), or the data
    are not shown as received."""
    files = payload.get("files") if isinstance(payload, Mapping) else None
    named = files if isinstance(files, list) else []
    missing = [
        str(item.get("name", ""))
        for item in named
        if isinstance(item, Mapping) and item.get("sha256") not in stored
    ]
    if missing:
        raise ApplicationError(
            _("The data produced for %(reference)s are incomplete: %(names)s did not arrive.")
            % {"reference": request.reference, "names": ", ".join(missing)}
        )


@transaction.atomic
def certificate_produce(
    *,
    request: Request,
    actor: User,
    files: Sequence[ProducedFile],
    partially: bool = False,
    note: str = "",
    expected_state: str | None = None,
) -> Request:
    """The addressee transmits the data of an EPOC (Art. 10): each file stored with its
    SHA-256, named in the step's audit entry; a partial production says what is missing."""
    _require_certificate(request, eevidence.EPOC)
    check_expected_state(request=request, expected_state=expected_state)
    if partially and not note.strip():
        raise ApplicationError(_("Say which data could not be produced, and why."))
    action = "execute_partially" if partially else "execute"
    event = Event.PARTIALLY_EXECUTED if partially else Event.EXECUTED
    permission_check(request=request, actor=actor, action=action)
    if not files:
        raise ApplicationError(_("Attach the data produced."))
    allowed, reason = production_allowed(request=request)
    if not allowed:
        raise ApplicationError(reason)
    described = _describe(files)
    payload = {"files": described}
    # The permission is checked before any file is stored; a refusal stores nothing.
    entry = run_transition(
        request=request,
        actor=actor,
        action=action,
        event=event,
        note=note.strip(),
        payload=payload,
    )
    _store_produced(request=request, actor=actor, files=files)
    issuing = request.counterpart
    if issuing is not None:
        _share_produced(source=request, issuing=issuing, files=described)
    counterpart.executor_step(
        request=request, actor=actor, event=event, note=note.strip(), payload=payload, at=entry.at
    )
    return request


def _impossibility_payload(
    *,
    reasons: Sequence[str],
    explanation: str,
    conflicting: Mapping[str, str],
    additional_information: str,
    data_preserved: bool,
) -> dict[str, Any]:
    chosen = [code for code in eevidence.ANNEX_III_REASONS if code in set(reasons)]
    if not chosen or len(chosen) != len(set(reasons)):
        raise ApplicationError(_("Tick at least one reason of Annex III."))
    if not explanation.strip():
        raise ApplicationError(_("Explain why the order cannot be executed."))
    payload: dict[str, Any] = {
        "reasons": chosen,
        "explanation": explanation.strip(),
        "additional_information": additional_information.strip(),
        "data_preserved": bool(data_preserved),
    }
    if "conflicting_obligations" in chosen:
        missing = [
            name
            for name in eevidence.CONFLICTING_OBLIGATION_FIELDS
            if not str(conflicting.get(name, "")).strip()
        ]
        if missing:
            raise ApplicationError(
                _("Describe the conflicting obligation in full (Art. 17): %(fields)s.")
                % {"fields": ", ".join(missing)}
            )
        payload["conflicting_obligations"] = {
            name: str(conflicting[name]).strip() for name in eevidence.CONFLICTING_OBLIGATION_FIELDS
        }
    return payload


@transaction.atomic
def certificate_report_impossibility(
    *,
    request: Request,
    actor: User,
    reasons: Sequence[str],
    explanation: str,
    conflicting: Mapping[str, str] | None = None,
    additional_information: str = "",
    data_preserved: bool = False,
    expected_state: str | None = None,
) -> Request:
    """Annex III: the addressee cannot execute the certificate as it stands (Art. 10(5)-(8),
    11(4)-(5), 16-17). The issuing authority answers within 5 days."""
    _require_certificate(request, eevidence.CERTIFICATES)
    payload = _impossibility_payload(
        reasons=reasons,
        explanation=explanation,
        conflicting=conflicting or {},
        additional_information=additional_information,
        data_preserved=data_preserved,
    )
    previous = request.state

    def keep_where_it_was() -> None:
        request.resume_state = previous

    entry = run_transition(
        request=request,
        actor=actor,
        action="report_impossibility",
        event=Event.IMPOSSIBILITY_REPORTED,
        expected_state=expected_state,
        note=payload["explanation"],
        payload=payload,
        before_save=keep_where_it_was,
    )
    counterpart.executor_step(
        request=request,
        actor=actor,
        event=Event.IMPOSSIBILITY_REPORTED,
        note=payload["explanation"],
        payload=payload,
        at=entry.at,
    )
    return request


# The issuing authority's steps ---------------------------------------------------------


@transaction.atomic
def certificate_answer_impossibility(
    *,
    request: Request,
    actor: User,
    answer: str,
    note: str,
    data: Mapping[str, Any] | None = None,
    expected_state: str | None = None,
) -> Request:
    """The issuing authority's answer to an Annex III (Art. 10(5)-(6)): the certificate
    corrected or completed (with the new version of its data where they changed) goes back
    to where it was on both copies; withdrawn, it is withdrawn on both."""
    from mla.requests.lifecycle.issuing import request_withdraw

    _require_certificate(request, eevidence.CERTIFICATES)
    check_expected_state(request=request, expected_state=expected_state)
    if answer not in eevidence.ANNEX_III_ANSWERS:
        raise ApplicationError(_("Choose how the certificate is answered."))
    if not note.strip():
        raise ApplicationError(_("Say what was corrected, completed, or why it is withdrawn."))
    if answer == "withdrawn":
        if request.state != State.IMPOSSIBLE:
            raise ApplicationError(
                _("This request is “%(state)s”: you cannot %(verb)s it now.")
                % {"state": request.get_state_display(), "verb": _("answer")}
            )
        record_act(
            request=request,
            actor=actor,
            event=Event.IMPOSSIBILITY_ANSWERED,
            note=note.strip(),
            payload={"answer": answer},
        )
        return request_withdraw(request=request, actor=actor, note=note.strip())
    permission_check(request=request, actor=actor, action="answer_impossibility")
    payload: dict[str, Any] = {"answer": answer}
    changed = data is not None and dict(data) != request.data
    if changed:
        assert data is not None
        request.data = dict(data)
    payload["data_sha256"] = hashlib.sha256(canonical_json(request.data)).hexdigest()
    entry = run_transition(
        request=request,
        actor=actor,
        action="answer_impossibility",
        event=Event.IMPOSSIBILITY_ANSWERED,
        note=note.strip(),
        payload=payload,
    )
    told = dict(payload)
    if changed:
        # The addressee's copy takes the new version with the answer, here or on its node,
        # without what is for the enforcing authority only.
        told[counterpart.NEW_VERSION] = eevidence.data_for_addressee(
            declaration_code=request.declaration_code, data=request.data
        )
    counterpart.issuer_step(
        request=request,
        actor=actor,
        event=Event.IMPOSSIBILITY_ANSWERED,
        note=note.strip(),
        payload=told,
        at=entry.at,
    )
    return request


@transaction.atomic
def certificate_extend_preservation(
    *, request: Request, actor: User, reason: str, expected_state: str | None = None
) -> Request:
    """Annex VI: the issuing authority extends the preservation by 30 days, once, before the
    60 days end (Art. 11(1)); the addressee's copy follows."""
    from mla.instruments.declarations.eevidence_deadlines import PRESERVATION_EXTENSION_DAYS

    _require_certificate(request, eevidence.EPOC_PR)
    check_expected_state(request=request, expected_state=expected_state)
    if not reason.strip():
        raise ApplicationError(_("Give the reason for the extension."))
    payload = {"days": PRESERVATION_EXTENSION_DAYS, "reason": reason.strip(), "annex": "VI"}
    if request.state == State.PRESERVED:
        extension_check(request=request, event=Event.PRESERVATION_EXTENDED, payload=payload)
    entry = run_transition(
        request=request,
        actor=actor,
        action="order_extension",
        event=Event.PRESERVATION_EXTENDED,
        note=reason.strip(),
        payload=payload,
    )
    counterpart.issuer_step(
        request=request,
        actor=actor,
        event=Event.PRESERVATION_EXTENDED,
        note=reason.strip(),
        payload=payload,
        at=entry.at,
    )
    return request


def produced_files(*, request: Request) -> list[dict[str, Any]]:
    """The files the addressee produced, as its step named them (name, sha256, size)."""
    entry = (
        request.audit_entries.filter(event__in=[Event.EXECUTED, Event.PARTIALLY_EXECUTED])
        .order_by("-at", "-pk")
        .first()
    )
    files = (entry.payload or {}).get("files") if entry is not None else None
    return list(files) if isinstance(files, list) else []


def receipt_confirmed(*, request: Request) -> bool:
    return request.audit_entries.filter(event=Event.DATA_RECEIPT_SIGNED).exists()


@transaction.atomic
def certificate_confirm_receipt(*, request: Request, actor: User, note: str = "") -> AuditEntry:
    """The issuing authority confirms it received the produced data: a receipt naming each
    file's SHA-256, signed with the authority's OpenPGP key when the node holds it, kept on
    the addressee's copy too."""
    from mla.requests.lifecycle.rules import may_act_for_issuer

    _require_certificate(request, eevidence.EPOC)
    if not may_act_for_issuer(request=request, user=actor):
        raise ApplicationError(_("You may not %(verb)s this request.") % {"verb": _("confirm")})
    # Two confirmations at once would both find none recorded: the row lock orders them.
    request = Request.objects.select_for_update().get(pk=request.pk)
    if request.state not in (State.EXECUTED, State.PARTIALLY_EXECUTED):
        raise ApplicationError(_("No data were produced for this order yet."))
    if receipt_confirmed(request=request):
        raise ApplicationError(_("The receipt of these data was already confirmed."))
    files = produced_files(request=request)
    if not files:
        raise ApplicationError(_("No data were produced for this order yet."))
    receipt = {
        "reference": request.reference,
        "issuing_authority": request.issuing_authority.identifier,
        "files": [{"name": item["name"], "sha256": item["sha256"]} for item in files],
        "received_at": timezone.now().astimezone(datetime.UTC).isoformat(),
    }
    payload: dict[str, Any] = {**receipt, "fingerprint": "", "signature": ""}
    fingerprint = request.issuing_authority.key_fingerprint.upper()
    if fingerprint:
        signed = detached_sign(data=canonical_json(receipt), fingerprint=fingerprint, armor=True)
        if signed.data and signed.signer == fingerprint:
            payload["fingerprint"] = fingerprint
            payload["signature"] = signed.data.decode()
    entry = record_act(
        request=request,
        actor=actor,
        event=Event.DATA_RECEIPT_SIGNED,
        note=note.strip(),
        payload=payload,
    )
    # The addressee keeps the receipt: its evidence that the data it produced arrived whole,
    # should its compliance with the order be questioned.
    counterpart.issuer_step(
        request=request,
        actor=actor,
        event=Event.DATA_RECEIPT_SIGNED,
        note=note.strip(),
        payload=payload,
        at=entry.at,
    )
    return entry
