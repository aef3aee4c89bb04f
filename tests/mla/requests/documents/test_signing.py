"""The issuing authority's OpenPGP signature of a request's PDF: named in the K block,
downloadable beside the PDF, and in the evidence bundle."""

import hashlib
import io
import zipfile

import gnupg
import pytest
from django.urls import reverse

from mla.exchange.evidence import evidence_bundle
from mla.openpgp.crypto import detached_verify
from mla.requests.documents.signing import signed_document
from mla.requests.events import Event
from mla.requests.models import AuditEntry, Request
from tests.support.pdf_text import flat, pdf_pages

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued_eio(eio_draft, exchange_homes, exchange_keys, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    authority = eio_draft.issuing_authority
    authority.key_fingerprint = exchange_keys.sender
    authority.save()
    Request.objects.filter(pk=eio_draft.pk).update(state=Request.State.READY)
    eio_draft.refresh_from_db()
    return eio_draft


def _path(request: Request, name: str) -> str:
    return reverse(f"requests:{name}", args=[*request.url_args])


def _grouped(fingerprint: str) -> str:
    return " ".join(fingerprint[i : i + 4] for i in range(0, len(fingerprint), 4))


def test_the_pdf_names_its_signature_in_the_k_block_and_the_signature_verifies(
    issued_eio, exchange_keys, tmp_path
):
    signed = signed_document(request=issued_eio)

    assert signed is not None
    text = flat(" ".join(pdf_pages(signed.pdf, tmp_path)))
    certifying = text.index("certifying the content of the EIO")
    assert text.index(_grouped(exchange_keys.sender), certifying) > certifying
    assert f"{issued_eio.reference}.pdf.asc" in text
    assert "Not an eIDAS qualified electronic signature" in text
    assert signed.signature.startswith(b"-----BEGIN PGP SIGNATURE-----")
    verification = detached_verify(
        gnupg.GPG(gnupghome=exchange_keys.secret_home), data=signed.pdf, signature=signed.signature
    )
    valid = [args for keyword, args in verification.statuses if keyword == "VALIDSIG"]
    assert valid
    assert valid[0][0] == exchange_keys.sender
    # Made once: the same bytes are offered every time.
    assert signed_document(request=issued_eio) == signed


def test_a_draft_is_not_signed(eio_draft, exchange_homes):
    assert signed_document(request=eio_draft) is None


def test_the_signed_pdf_and_its_signature_are_downloaded_and_in_the_evidence(
    issued_eio, client, prosecutor, tasks_in_process, document_storage
):
    client.force_login(prosecutor)

    pdf = client.get(_path(issued_eio, "pdf"))
    signature = client.get(_path(issued_eio, "pdf_signature"))
    detail = client.get(_path(issued_eio, "detail"))
    with zipfile.ZipFile(io.BytesIO(evidence_bundle(request=issued_eio))) as bundle:
        names = set(bundle.namelist())
        bundled_pdf = bundle.read(f"document/{issued_eio.reference}.pdf")

    assert signature.status_code == 200
    assert signature["Content-Type"] == "application/pgp-signature"
    assert pdf.content == bundled_pdf
    assert f"document/{issued_eio.reference}.pdf.asc" in names
    assert "OpenPGP signature" in detail.content.decode()


def test_a_half_written_pair_is_replaced_by_a_matching_one(issued_eio, exchange_keys, settings):
    # A crash left a signature without its PDF.
    stale = settings.MEDIA_ROOT / "requests" / "signed"
    stale.mkdir(parents=True)
    (stale / f"{issued_eio.pk}-{issued_eio.data_digest}.pdf.asc").write_bytes(b"stale")

    signed = signed_document(request=issued_eio)

    assert signed is not None
    assert signed_document(request=issued_eio) == signed
    assert signed.signature != b"stale"


def test_a_copy_whose_issuer_signs_on_another_node_is_not_rendered_to_be_signed(
    issued_eio, exchange_keys, monkeypatch
):
    authority = issued_eio.issuing_authority
    authority.key_fingerprint = exchange_keys.partner  # pinned here, held on its own node
    authority.save()
    rendered: list[object] = []
    monkeypatch.setattr(
        "mla.requests.documents.signing.request_pdf", lambda **kwargs: rendered.append(kwargs)
    )

    assert signed_document(request=issued_eio) is None
    assert rendered == []  # no render spent on a signature this node cannot make


def test_signing_the_pdf_is_one_audit_entry_naming_the_key_and_the_bytes(issued_eio, exchange_keys):
    signed = signed_document(request=issued_eio)
    signed_document(request=issued_eio)  # served again: not signed again, not recorded again

    assert signed is not None
    entries = AuditEntry.objects.filter(request=issued_eio, event=Event.DOCUMENT_SIGNED)
    assert entries.count() == 1
    entry = entries.get()
    assert entry.actor is None
    assert entry.payload["fingerprint"] == exchange_keys.sender
    assert entry.payload["pdf_sha256"] == hashlib.sha256(signed.pdf).hexdigest()
    assert entry.payload["data_digest"] == issued_eio.data_digest
    assert entry.payload["signature_file"] == f"{issued_eio.reference}.pdf.asc"
