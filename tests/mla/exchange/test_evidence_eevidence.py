"""The evidence bundle of an EPOC or EPOC-PR: the certificate, the enforcing authority's
decision with the linked notification's documents, every produced data file, and the
Annexes III, V and VI, each with its SHA-256."""

import datetime
import hashlib
import io
import json
import subprocess
import zipfile

import pytest
from django.core.files.base import ContentFile

from mla.exchange.evidence import evidence_bundle
from mla.requests.audit import audit_record
from mla.requests.events import Event
from mla.requests.lifecycle import channels
from mla.requests.models import Attachment, Request, RequestLink
from tests.support.channels import RecordingChannel
from tests.support.factories import AuthorityFactory

pytestmark = pytest.mark.django_db

AT = datetime.datetime(2026, 9, 1, 10, 0, tzinfo=datetime.UTC)


def _request(reference, *, by, to, code, state):
    return Request.objects.create(
        reference=reference,
        direction=Request.Direction.OUTGOING,
        declaration_code=code,
        issuing_authority=by,
        issuing_country_code=by.country.code,
        executing_authority=to,
        executing_country=to.country,
        state=state,
        sent_at=AT,
        data={"F": {"data_categories": ["content"]}, "C": {"deadline": "ten_days"}},
    )


def _attach(request, name, content):
    digest = hashlib.sha256(content).hexdigest()
    attachment = Attachment(
        request=request,
        name=name,
        media_type="application/octet-stream",
        size=len(content),
        sha256=digest,
    )
    attachment.file.save(digest, ContentFile(content), save=False)
    attachment.save()
    return attachment


@pytest.fixture
def epoc(document_storage, authorities, countries):
    provider = AuthorityFactory(
        identifier="de-mail", name="Mail GmbH", country=countries["DE"], kind="service_provider"
    )
    epoc = _request(
        "EPOC-2026-3", by=authorities["paris"], to=provider, code="epoc", state="executed"
    )
    notification = _request(
        "EPOC-2026-3-N",
        by=authorities["paris"],
        to=authorities["berlin"],
        code="epoc_notification",
        state="sent",
    )
    RequestLink.objects.create(from_request=notification, to_request=epoc)
    _attach(notification, "decision.pdf", b"%PDF-1.4 the enforcing authority's decision")
    audit_record(request=epoc, actor=None, event=Event.SENT, at=AT)
    audit_record(
        request=notification,
        actor=None,
        event=Event.GROUNDS_RAISED,
        at=AT + datetime.timedelta(days=2),
        payload={"ground": "fundamental_rights", "scope": "partial", "categories": ["content"]},
        on_behalf_of=("Richter", "Amtsgericht Berlin"),
    )
    first = _attach(epoc, "mailbox-part-1.mbox", b"From: a@example.org\n\nfirst part")
    second = _attach(epoc, "mailbox-part-2.mbox", b"From: b@example.org\n\nsecond part")
    _attach(epoc, "cover-letter.pdf", b"%PDF-1.4 not produced data")
    audit_record(
        request=epoc,
        actor=None,
        event=Event.PARTIALLY_EXECUTED,
        at=AT + datetime.timedelta(days=3),
        payload={"attachments": [first.sha256]},
    )
    audit_record(
        request=epoc,
        actor=None,
        event=Event.EXECUTED,
        at=AT + datetime.timedelta(days=4),
        payload={"attachments": [{"sha256": second.sha256, "name": second.name}]},
    )
    return epoc


def _open(bundle):
    archive = zipfile.ZipFile(io.BytesIO(bundle))
    return archive, json.loads(archive.read("index.json"))


def test_the_bundle_holds_the_certificate_the_decision_and_the_produced_data(epoc):
    archive, index = _open(evidence_bundle(request=epoc))

    names = set(archive.namelist())
    listed = index["e_evidence"]
    certificate = json.loads(archive.read("document/EPOC-2026-3.json"))
    assert (certificate["reference"], certificate["type"]) == ("EPOC-2026-3", "epoc")
    assert [item["file"] for item in listed["produced_data"]] == [
        "produced/002-mailbox-part-1.mbox",
        "produced/003-mailbox-part-2.mbox",
    ]
    for item in listed["produced_data"]:
        content = archive.read(item["file"])
        assert item["sha256"] == hashlib.sha256(content).hexdigest() == item["recorded_sha256"]
    assert archive.read("produced/003-mailbox-part-2.mbox").endswith(b"second part")
    assert not any("cover-letter" in name for name in names)
    (decision,) = listed["enforcing_decisions"]
    assert (decision["request"], decision["event"]) == ("EPOC-2026-3-N", "grounds_raised")
    assert decision["payload"] == {
        "ground": "fundamental_rights",
        "scope": "partial",
        "categories": ["content"],
    }
    assert decision["authority"] == "Amtsgericht Berlin"
    enforcing = {item["file"] for item in listed["enforcing_documents"]}
    assert "enforcing/EPOC-2026-3-N/EPOC-2026-3-N.json" in enforcing
    assert any(name.endswith("-decision.pdf") for name in enforcing)
    assert enforcing <= names
    assert index["problems"] == []
    verify = archive.read("VERIFY.txt").decode()
    assert "E-EVIDENCE" in verify
    assert listed["produced_data"][0]["sha256"] in verify
    assert "grounds_raised (ground: fundamental_rights, scope: partial" in verify


def test_a_produced_file_no_longer_held_is_said(epoc):
    audit_record(
        request=epoc,
        actor=None,
        event=Event.DATA_PART_RECEIVED,
        payload={"attachments": ["f" * 64]},
    )

    _archive, index = _open(evidence_bundle(request=epoc))

    assert any("f" * 64 in problem for problem in index["problems"])


def test_an_eio_bundle_has_no_e_evidence_part(ready_eio):
    archive, index = _open(evidence_bundle(request=ready_eio))

    assert "e_evidence" not in index
    assert not any(name.startswith(("produced/", "enforcing/")) for name in archive.namelist())


@pytest.fixture
def epoc_pr(authorities, countries):
    """An EPOC-PR extended by Annex VI and followed by Annex V, on the issuing side's copy."""
    provider = AuthorityFactory(
        identifier="de-mail", name="Mail GmbH", country=countries["DE"], kind="service_provider"
    )
    preservation = _request(
        "EPOC-PR-2026-4", by=authorities["paris"], to=provider, code="epoc_pr", state="followed_up"
    )
    audit_record(request=preservation, actor=None, event=Event.SENT, at=AT)
    audit_record(
        request=preservation,
        actor=None,
        event=Event.PRESERVATION_EXTENDED,
        at=AT + datetime.timedelta(days=50),
        note="The production order is being validated.",
        payload={"days": 30, "reason": "The production order is being validated.", "annex": "VI"},
    )
    audit_record(
        request=preservation,
        actor=None,
        event=Event.FOLLOWED_UP,
        at=AT + datetime.timedelta(days=55),
        payload={"request": "EPOC-2026-9"},
    )
    return preservation


def test_the_bundle_holds_the_annexes_sent_about_the_certificate(epoc_pr, tmp_path):
    archive, index = _open(evidence_bundle(request=epoc_pr))

    listed = {item["annex"]: item for item in index["e_evidence"]["annexes"]}
    assert sorted(listed) == ["annex_v", "annex_vi"]
    assert listed["annex_vi"]["file"] == "annexes/annex-vi-EPOC-PR-2026-4.pdf"
    assert listed["annex_v"]["file"] == "annexes/annex-v-EPOC-PR-2026-4.pdf"
    for item in listed.values():
        content = archive.read(item["file"])
        assert content.startswith(b"%PDF-")
        assert item["sha256"] == hashlib.sha256(content).hexdigest()
        assert item["as_received"] is False  # this side sent them: drawn from its timeline
    sequences = dict(
        epoc_pr.audit_entries.filter(
            event__in=["preservation_extended", "followed_up"]
        ).values_list("event", "sequence")
    )
    assert listed["annex_vi"]["timeline_sequence"] == sequences["preservation_extended"]
    assert listed["annex_v"]["timeline_sequence"] == sequences["followed_up"]
    path = tmp_path / "annex.pdf"
    path.write_bytes(archive.read(listed["annex_vi"]["file"]))
    text = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "The production order is being validated." in text
    verify = archive.read("VERIFY.txt").decode()
    assert f"{listed['annex_v']['sha256']}  annexes/annex-v-EPOC-PR-2026-4.pdf" in verify
    assert index["problems"] == []


def test_the_bundle_holds_an_annex_as_the_other_side_sent_it(epoc_pr, monkeypatch):
    Request.objects.filter(pk=epoc_pr.pk).update(direction=Request.Direction.INCOMING)

    class Received(RecordingChannel):
        def document_received(self, *, request, name):
            return b"%PDF- the issuing node's Annex VI" if name.startswith("annex-vi-") else None

    monkeypatch.setattr(channels, "_remote", [Received()])

    archive, index = _open(evidence_bundle(request=Request.objects.get(pk=epoc_pr.pk)))

    listed = {item["annex"]: item for item in index["e_evidence"]["annexes"]}
    assert archive.read(listed["annex_vi"]["file"]) == b"%PDF- the issuing node's Annex VI"
    assert (listed["annex_vi"]["as_received"], listed["annex_v"]["as_received"]) == (True, False)
