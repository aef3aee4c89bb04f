"""The e-Evidence Annexes III, V and VI: drawn from the certificate and the last entry of
their step, rendered in both sides' languages as PDF/A-3b with their facts embedded, their
unchecked wording marked, and sent with their step to the other side's node.

The first tests build the facts by hand (no database); the others take the steps on an
EPOC or EPOC-PR between the Paris prosecutor and a provider's addressee on this node.
"""

import datetime
import hashlib
import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import time_machine
from django.utils.html import escape

from mla.instruments import eevidence
from mla.instruments.labels import (
    ANNEX_III_LABEL_KEYS,
    ANNEX_V_LABEL_KEYS,
    ANNEX_VI_LABEL_KEYS,
    UNVERIFIED_MARK,
    catalogue,
    label,
    label_verified,
)
from mla.requests.documents.eevidence_annexes import (
    ANNEX_III,
    ANNEX_III_FORM,
    ANNEX_V,
    ANNEX_V_FORM,
    ANNEX_VI,
    ANNEX_VI_FORM,
    AnnexIIIFacts,
    AnnexVFacts,
    AnnexVIFacts,
    CertificateFacts,
    SenderFacts,
    annex_content,
    annex_document,
    annex_document_name,
    annex_iii_facts,
    annex_v_facts,
    annex_vi_facts,
    annexes_issued,
)
from mla.requests.documents.fixed_forms import facts_json
from mla.requests.lifecycle import channels
from mla.requests.lifecycle.certificates import (
    certificate_answer_impossibility,
    certificate_extend_preservation,
    certificate_report_impossibility,
)
from mla.requests.lifecycle.executing import request_acknowledge, request_preserve
from mla.requests.lifecycle.issuing import request_follow_up
from mla.requests.models import Request
from tests.support.certificates import EPOC_SUBSCRIBER_DATA
from tests.support.channels import RecordingChannel
from tests.support.pdf_text import flat
from tests.support.pdfa import pdfa3b_problems

UTC = datetime.UTC
DAGGER = UNVERIFIED_MARK

CERTIFICATE = CertificateFacts(
    kind=eevidence.EPOC,
    reference="FR-EPOC-2026-000042",
    issuing_state="France / Frankreich (FR)",
    issuing_authority="Parquet de Paris",
    issuing_file_number="PAR-26-0042",
    validating_file_number="",
    date_of_issue=datetime.date(2026, 9, 1),
    # 01:30 UTC on the night summer time ends in Berlin (01:00 UTC): 02:30 CET.
    received_at=datetime.datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    service_provider="Example Mail",
    addressee="Example Mail GmbH (designated establishment)",
    addressee_address="Friedrichstraße 1\n10117 Berlin",
)
PROVIDER = SenderFacts(
    authority="Example Mail GmbH (designated establishment)",
    address="Friedrichstraße 1\n10117 Berlin",
    phone="+49 30 1234 0",
    email="lawful-requests@mail.example",
    zone="Europe/Berlin",
    signed_by="Pia Schulz",
    signed_at=datetime.datetime(2026, 10, 26, 9, 0, tzinfo=UTC),
)
CONFLICT = {
    name: f"{name} of the third country" for name in eevidence.CONFLICTING_OBLIGATION_FIELDS
}
ANNEX_III_FACTS = AnnexIIIFacts(
    certificate=CERTIFICATE,
    sender=PROVIDER,
    reasons=("data_not_stored", "conflicting_obligations"),
    explanation="The account was closed in 2024; its content is held in the United States.",
    conflicting_obligations=CONFLICT,
    additional_information="Which time zone the requested period is in.",
    data_preserved=True,
    issuing_language="fr",
    executing_language="de",
)
PRESERVATION = replace(CERTIFICATE, kind=eevidence.EPOC_PR, reference="FR-EPOC-PR-2026-000007")
PROSECUTOR = SenderFacts(
    authority="Parquet de Paris",
    address="1 parvis du Tribunal\nParis",
    phone="+33144325151",
    email="parquet@justice-fr.example",
    zone="Europe/Paris",
    signed_by="Camille Martin",
    # The second 02:30 of the night summer time ends in Paris (01:00 UTC).
    signed_at=datetime.datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
)
ANNEX_V_FACTS = AnnexVFacts(
    certificate=PRESERVATION,
    sender=PROSECUTOR,
    follow_up_kind=eevidence.EPOC,
    follow_up_reference="FR-EPOC-2026-000050",
    follow_up_date_of_issue=datetime.date(2026, 10, 24),
    follow_up_addressed_to="Example Mail GmbH (designated establishment)",
    issuing_language="fr",
    executing_language="de",
)
ANNEX_VI_FACTS = AnnexVIFacts(
    certificate=PRESERVATION,
    sender=PROSECUTOR,
    days=30,
    reason="The production order is being validated by the investigating judge.",
    issuing_language="fr",
    executing_language="de",
)
FORMS = {ANNEX_III: ANNEX_III_FORM, ANNEX_V: ANNEX_V_FORM, ANNEX_VI: ANNEX_VI_FORM}
FACTS = {ANNEX_III: ANNEX_III_FACTS, ANNEX_V: ANNEX_V_FACTS, ANNEX_VI: ANNEX_VI_FACTS}
KEYS = {ANNEX_III: ANNEX_III_LABEL_KEYS, ANNEX_V: ANNEX_V_LABEL_KEYS, ANNEX_VI: ANNEX_VI_LABEL_KEYS}


def _text(pdf: bytes, folder: Path) -> str:
    """The text in the order it is drawn (a label's lines, then its value), on one line."""
    path = folder / "annex.pdf"
    path.write_bytes(pdf)
    command = ["pdftotext", "-raw", str(path), "-"]
    return flat(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def _both(annex: str, key: str) -> list[str]:
    return [f"{label(f'{annex}.{key}', language)} {DAGGER}" for language in ("fr", "de")]


@pytest.fixture(scope="module")
def rendered() -> dict[str, bytes]:
    """Each annex rendered once for the tests that read its PDF."""
    return {annex: FORMS[annex].pdf(facts=FACTS[annex]) for annex in FORMS}


def test_annex_iii_shows_its_reasons_and_the_conflicting_law_in_both_languages(rendered, tmp_path):
    text = _text(rendered[ANNEX_III], tmp_path)

    for key in ("title", "A.title", "B.title", "C.title", "D.title", "E.title", "H.title"):
        assert all(words in text for words in _both(ANNEX_III, key)), key
    # Every reason is offered; the two given are ticked, the others not.
    for code in eevidence.ANNEX_III_REASONS:
        assert all(words in text for words in _both(ANNEX_III, f"D.reason.{code}")), code
    assert f"☒ {label('annex_iii.D.reason.data_not_stored', 'fr')} {DAGGER}" in text
    assert f"☒ {label('annex_iii.D.reason.conflicting_obligations', 'fr')} {DAGGER}" in text
    assert f"☐ {label('annex_iii.D.reason.incomplete', 'fr')} {DAGGER}" in text
    assert "The account was closed in 2024" in text
    for name in eevidence.CONFLICTING_OBLIGATION_FIELDS:
        assert all(words in text for words in _both(ANNEX_III, f"E.{name}")), name
        assert CONFLICT[name] in text
    assert "Which time zone the requested period is in." in text
    assert f"{label('annex_iii.G.data_preserved', 'de')} {DAGGER} ☒" in text
    assert "Pia Schulz" in text
    # The addressee's dates, in its zone: the receipt fell in the repeated hour.
    assert "2026-10-25 02:30 Europe/Berlin (UTC+01:00)" in text
    assert "2026-10-26 10:00 Europe/Berlin (UTC+01:00)" in text
    assert label("document.unverified", "fr") in text


def test_annex_iii_without_a_conflicting_law_says_so_and_shows_none_of_its_fields():
    facts = replace(ANNEX_III_FACTS, reasons=("incomplete",), conflicting_obligations={})

    html = ANNEX_III_FORM.html(facts=facts)

    assert escape(label("annex_iii.E.not_applicable", "fr")) in html
    assert escape(label("annex_iii.E.law_text", "fr")) not in html


def test_annex_v_names_the_preservation_and_the_request_for_production(rendered, tmp_path):
    text = _text(rendered[ANNEX_V], tmp_path)

    for key in ("title", "intro", "A.title", "B.title", "C.title", "C.kind", "D.title"):
        assert all(words in text for words in _both(ANNEX_V, key)), key
    assert f"☒ {label('annex_v.C.kind.epoc', 'fr')} {DAGGER}" in text
    assert f"☐ {label('annex_v.C.kind.eio', 'fr')} {DAGGER}" in text
    for value in ("FR-EPOC-PR-2026-000007", "FR-EPOC-2026-000050", "2026-10-24", "PAR-26-0042"):
        assert value in text
    assert "Camille Martin" in text
    # The issuing authority's date, in its zone, told apart from the first 02:30 by the offset.
    assert "2026-10-25 02:30 Europe/Paris (UTC+01:00)" in text


def test_annex_vi_extends_the_preservation_by_thirty_days(rendered, tmp_path):
    text = _text(rendered[ANNEX_VI], tmp_path)

    for key in ("title", "intro", "A.title", "C.title", "C.days", "C.reason", "D.title"):
        assert all(words in text for words in _both(ANNEX_VI, key)), key
    assert f"{label('annex_vi.C.days', 'de')} {DAGGER} 30" in text
    assert "validated by the investigating judge" in text
    assert "2026-10-25 02:30 Europe/Paris (UTC+01:00)" in text


@pytest.mark.parametrize("annex", [ANNEX_III, ANNEX_V, ANNEX_VI])
def test_each_annex_is_pdf_a_3b_and_its_digest_is_of_the_embedded_facts(rendered, tmp_path, annex):
    pdf = rendered[annex]
    path = tmp_path / "annex.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdfdetach", "-saveall", "-o", str(tmp_path), str(path)], check=True)
    embedded = (tmp_path / FORMS[annex].json_name).read_bytes()

    assert pdfa3b_problems(pdf) == []
    assert embedded == facts_json(FACTS[annex])
    assert f"SHA-256 {hashlib.sha256(embedded).hexdigest()}" in _text(pdf, tmp_path)
    assert json.loads(embedded)["sender"]["signed_at"].endswith("+00:00")


def test_the_embedded_facts_name_instants_whatever_the_offset_they_came_with():
    paris = datetime.timezone(datetime.timedelta(hours=2))
    moved = replace(PROSECUTOR, signed_at=PROSECUTOR.signed_at.astimezone(paris))

    assert facts_json(replace(ANNEX_VI_FACTS, sender=moved)) == facts_json(ANNEX_VI_FACTS)
    assert json.loads(facts_json(ANNEX_III_FACTS))["conflicting_obligations"] == CONFLICT


def test_free_text_is_escaped():
    facts = replace(ANNEX_III_FACTS, explanation='<script>alert(1)</script><img src="x">')

    html = ANNEX_III_FORM.html(facts=facts)

    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_one_language_on_both_sides_shows_each_label_once():
    html = ANNEX_VI_FORM.html(
        facts=replace(ANNEX_VI_FACTS, issuing_language="en", executing_language="en")
    )

    assert escape(label("annex_vi.C.title", "en")) in html
    assert 'class="secondary"' not in html


def test_the_margin_shows_when_it_was_generated_in_the_senders_zone():
    with time_machine.travel(datetime.datetime(2026, 7, 1, 12, 0, tzinfo=UTC), tick=False):
        html = ANNEX_III_FORM.html(facts=ANNEX_III_FACTS)

    assert "2026-07-01 14:00 Europe/Berlin (UTC+02:00)" in html


@pytest.mark.parametrize(
    "changes",
    [
        {"received_at": datetime.datetime(2026, 10, 25, 1, 30)},  # naive
        {"kind": "eio"},
    ],
)
def test_inconsistent_certificate_facts_are_refused(changes):
    with pytest.raises(ValueError):  # noqa: PT011  # each case has its own message
        replace(CERTIFICATE, **changes)


@pytest.mark.parametrize(
    "changes",
    [{"zone": "Mars/Olympus_Mons"}, {"signed_at": datetime.datetime(2026, 10, 26, 9, 0)}],
)
def test_inconsistent_sender_facts_are_refused(changes):
    with pytest.raises(ValueError):  # noqa: PT011
        replace(PROVIDER, **changes)


def test_an_annex_iii_without_a_known_reason_is_refused():
    with pytest.raises(ValueError, match="reasons"):
        replace(ANNEX_III_FACTS, reasons=("bored",))
    with pytest.raises(ValueError, match="reasons"):
        replace(ANNEX_III_FACTS, reasons=())


# Labels ---------------------------------------------------------------------------------


@pytest.mark.parametrize("annex", [ANNEX_III, ANNEX_V, ANNEX_VI])
@pytest.mark.parametrize("language", ["en", "fr", "de", "es"])
def test_every_annex_key_is_in_the_catalogue_and_marked_unverified(annex, language):
    texts = catalogue(language)

    assert [key for key in KEYS[annex] if not texts.get(key, "").strip()] == []
    assert sorted(key for key in texts if key.startswith(f"{annex}.")) == sorted(KEYS[annex])
    assert [key for key in KEYS[annex] if label_verified(key, language)] == []


@pytest.mark.parametrize("annex", [ANNEX_III, ANNEX_V, ANNEX_VI])
def test_the_document_uses_no_key_missing_from_the_catalogues(annex):
    # label() falls back to the key itself: a key the code names but no catalogue has
    # would appear as "annex_iii.…".
    html = FORMS[annex].html(facts=FACTS[annex])

    assert f"{annex}." not in html
    assert "document." not in html


# From the certificate and its timeline ------------------------------------------------------

State = Request.State


def _reload(*copies: Request) -> list[Request]:
    return [Request.objects.get(pk=item.pk) for item in copies]


def _in_languages(*copies: Request) -> None:
    Request.objects.filter(pk__in=[c.pk for c in copies]).update(
        issuing_language="fr", executing_language="de"
    )


def _preserved(send, provider_staff, code=eevidence.EPOC, data=None):
    issuing, provided = send(code, data)
    _in_languages(issuing, provided)
    request_acknowledge(request=Request.objects.get(pk=provided.pk), actor=provider_staff)
    request_preserve(request=Request.objects.get(pk=provided.pk), actor=provider_staff)
    return _reload(issuing, provided)


def _report(provided, provider_staff, **changes):
    arguments = {
        "reasons": ["insufficient_information"],
        "explanation": "The account identifier matches no account.",
        "additional_information": "The full e-mail address.",
        "data_preserved": True,
        **changes,
    }
    certificate_report_impossibility(
        request=Request.objects.get(pk=provided.pk), actor=provider_staff, **arguments
    )


@pytest.mark.django_db
def test_annex_iii_is_drawn_from_the_last_report_and_reads_alike_on_both_copies(
    send_certificate, provider_staff, prosecutor, provider
):
    issuing, provided = _preserved(send_certificate, provider_staff, data=EPOC_SUBSCRIBER_DATA)
    assert annex_iii_facts(request=provided) is None
    assert annexes_issued(request=provided) == []

    _report(provided, provider_staff)
    certificate_answer_impossibility(
        request=Request.objects.get(pk=issuing.pk),
        actor=prosecutor,
        answer="completed",
        note="The full address is in section E.",
    )
    conflicting = {name: f"{name} text" for name in eevidence.CONFLICTING_OBLIGATION_FIELDS}
    _report(
        provided,
        provider_staff,
        reasons=["conflicting_obligations", "data_not_stored"],
        explanation="Held in the United States.",
        conflicting=conflicting,
        additional_information="",
        data_preserved=False,
    )
    issuing, provided = _reload(issuing, provided)

    facts = annex_iii_facts(request=provided)
    assert facts is not None
    assert facts.reasons == ("data_not_stored", "conflicting_obligations")  # the Annex's order
    assert facts.explanation == "Held in the United States."
    assert facts.conflicting_obligations == conflicting
    assert (facts.additional_information, facts.data_preserved) == ("", False)
    assert facts.certificate.reference == provided.reference
    assert facts.certificate.kind == eevidence.EPOC
    assert facts.certificate.issuing_state == "France / Frankreich (FR)"
    assert facts.certificate.received_at == provided.received_at
    assert (facts.sender.authority, facts.sender.zone) == (provider.name, "Europe/Berlin")
    assert facts.sender.signed_by == "Pia Schulz"
    last = provided.audit_entries.filter(event="impossibility_reported").order_by("sequence")
    assert facts.sender.signed_at == last.last().at
    assert (facts.issuing_language, facts.executing_language) == ("fr", "de")
    # The issuing copy, which followed the report here, draws the same annex.
    assert facts_json(annex_iii_facts(request=issuing)) == facts_json(facts)
    assert annexes_issued(request=issuing) == [ANNEX_III]


@pytest.mark.django_db
def test_annexes_v_and_vi_are_drawn_from_the_issuing_authoritys_steps(
    send_certificate, provider_staff, prosecutor, authorities
):
    start = datetime.datetime(2026, 9, 1, 8, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        issuing, provided = _preserved(send_certificate, provider_staff, code=eevidence.EPOC_PR)
    assert (annex_v_facts(request=issuing), annex_vi_facts(request=provided)) == (None, None)

    with time_machine.travel(start + datetime.timedelta(days=50), tick=False):
        certificate_extend_preservation(
            request=issuing, actor=prosecutor, reason="The production order is on its way."
        )
        production, _produced = send_certificate(eevidence.EPOC, EPOC_SUBSCRIBER_DATA)
        request_follow_up(
            request=Request.objects.get(pk=issuing.pk), actor=prosecutor, follow_up=production
        )
    issuing, provided = _reload(issuing, provided)

    extension = annex_vi_facts(request=issuing)
    assert extension is not None
    assert (extension.days, extension.reason) == (30, "The production order is on its way.")
    assert extension.sender.signed_at == start + datetime.timedelta(days=50)
    assert extension.sender.authority == authorities["paris"].name
    assert extension.sender.zone == authorities["paris"].time_zone
    assert extension.sender.signed_by == prosecutor.get_full_name()
    assert extension.certificate.kind == eevidence.EPOC_PR
    confirmation = annex_v_facts(request=issuing)
    assert confirmation is not None
    assert confirmation.follow_up_kind == eevidence.EPOC
    assert confirmation.follow_up_reference == production.reference
    assert confirmation.follow_up_date_of_issue == (start + datetime.timedelta(days=50)).date()
    assert confirmation.follow_up_addressed_to == production.executing_authority.name
    # The addressee's copy, which followed both steps here, draws the same annexes.
    assert facts_json(annex_vi_facts(request=provided)) == facts_json(extension)
    assert facts_json(annex_v_facts(request=provided)) == facts_json(confirmation)
    assert annexes_issued(request=provided) == [ANNEX_V, ANNEX_VI]
    assert annexes_issued(request=production) == []


@pytest.mark.django_db
def test_an_eio_has_no_e_evidence_annex(sent_eio):
    issuing, executing = sent_eio

    assert annexes_issued(request=issuing) == []
    assert annex_content(request=executing, annex=ANNEX_VI) is None


# With its step, to the other side's node ---------------------------------------------------


def _remote(monkeypatch, *, absent: Request, user) -> RecordingChannel:
    """The other side works on another node: its copy is not here, nor its people."""
    Request.objects.filter(pk=absent.pk).update(counterpart=None)
    user.is_active = False
    user.save()
    recording = RecordingChannel()
    monkeypatch.setattr(channels, "_remote", [recording])
    return recording


@pytest.mark.django_db
def test_annex_iii_goes_with_the_report_to_an_issuer_on_another_node(
    send_certificate, provider_staff, prosecutor, monkeypatch, tmp_path
):
    _issuing, provided = _preserved(send_certificate, provider_staff, data=EPOC_SUBSCRIBER_DATA)
    recording = _remote(monkeypatch, absent=provided, user=prosecutor)

    _report(provided, provider_staff)

    [(_reference, event, from_executing_side, documents)] = recording.told
    assert (event, from_executing_side) == ("impossibility_reported", True)
    [document] = documents
    assert document.name == f"annex-iii-{provided.reference}.pdf"
    assert document.name == annex_document_name(request=provided, annex=ANNEX_III)
    assert document.media_type == "application/pdf"
    text = _text(document.content, tmp_path)
    assert "The account identifier matches no account." in text
    assert all(words in text for words in _both(ANNEX_III, "title"))


@pytest.mark.django_db
def test_annexes_vi_and_v_go_with_their_steps_to_an_addressee_on_another_node(
    send_certificate, provider_staff, prosecutor, monkeypatch
):
    issuing, _provided = _preserved(send_certificate, provider_staff, code=eevidence.EPOC_PR)
    production, _produced = send_certificate(eevidence.EPOC, EPOC_SUBSCRIBER_DATA)
    recording = _remote(monkeypatch, absent=issuing, user=provider_staff)
    # Sent by the remote channel: the addressee's copy is on the other node.
    recording.delivered.append((issuing.reference, "Camille"))

    certificate_extend_preservation(
        request=Request.objects.get(pk=issuing.pk), actor=prosecutor, reason="Validation pending."
    )
    request_follow_up(
        request=Request.objects.get(pk=issuing.pk), actor=prosecutor, follow_up=production
    )

    told = {event: (side, documents) for _reference, event, side, documents in recording.told}
    assert [d.name for d in told["preservation_extended"][1]] == [
        f"annex-vi-{issuing.reference}.pdf"
    ]
    assert [d.name for d in told["followed_up"][1]] == [f"annex-v-{issuing.reference}.pdf"]
    assert not told["followed_up"][0]  # from the issuing side
    assert all(d.content.startswith(b"%PDF-") for _side, docs in told.values() for d in docs)


@pytest.mark.django_db
def test_the_copy_an_annex_went_to_serves_it_as_received(
    send_certificate, provider_staff, prosecutor, monkeypatch
):
    issuing, provided = _preserved(send_certificate, provider_staff, code=eevidence.EPOC_PR)
    certificate_extend_preservation(request=issuing, actor=prosecutor, reason="Pending.")
    _report(provided, provider_staff)
    issuing, provided = _reload(issuing, provided)
    asked: list[tuple[int, str]] = []

    class Received(RecordingChannel):
        def document_received(self, *, request, name):
            asked.append((request.pk, name))
            return b"%PDF- as the other side sent it"

    monkeypatch.setattr(channels, "_remote", [Received()])

    received = annex_document(request=provided, annex=ANNEX_VI)
    drawn = annex_document(request=issuing, annex=ANNEX_VI)

    assert received is not None
    assert (received.content, received.received) == (b"%PDF- as the other side sent it", True)
    assert drawn is not None
    assert (drawn.received, drawn.content.startswith(b"%PDF-1.")) == (False, True)
    # Annex III is the addressee's: the issuing copy serves what it received.
    assert annex_content(request=issuing, annex=ANNEX_III) == b"%PDF- as the other side sent it"
    assert asked == [
        (provided.pk, f"annex-vi-{issuing.reference}.pdf"),
        (issuing.pk, f"annex-iii-{issuing.reference}.pdf"),
    ]
