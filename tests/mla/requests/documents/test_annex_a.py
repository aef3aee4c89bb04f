"""The printed EIO reads like Directive 2014/41/EU, Annex A."""

import pytest

from mla.instruments.declarations import declaration_for
from mla.instruments.declarations.eio import MEASURES
from mla.instruments.labels import UNVERIFIED_MARK
from mla.requests.documents.rendering import request_html, request_pdf
from tests.support.annex_a import (
    ANNEX_A_CERTIFICATION,
    ANNEX_A_H_BLOCKS,
    ANNEX_A_SECTION_HEADINGS,
    ANNEX_A_SUB_HEADINGS,
)
from tests.support.pdf_text import flat, pdf_pages
from tests.support.samples import complete_data

pytestmark = pytest.mark.django_db


def _readable(text: str) -> str:
    # The mark of a wording not yet checked against the Annex is not part of the wording.
    return flat(text.replace(UNVERIFIED_MARK, " "))


@pytest.fixture
def eio_every_measure(eio_draft):
    """An EIO asking for every measure of section C, issued by an authority needing L."""
    data = complete_data(declaration_for("eio"))
    data["C"]["measures"] = list(MEASURES)
    data["K"]["issuer_type"] = "other_authority"
    data["K"]["representative_name"] = "Ana Pop"
    data["K"]["post_held"] = "Chief inspector"
    eio_draft.data = data
    eio_draft.save()
    return eio_draft


def test_the_pdf_carries_annex_a_headings_h1_to_h7_and_the_certification(
    eio_every_measure, tmp_path
):
    text = _readable(" ".join(pdf_pages(request_pdf(request=eio_every_measure), tmp_path)))

    missing = [
        heading
        for heading in (
            *ANNEX_A_SECTION_HEADINGS,
            *ANNEX_A_H_BLOCKS,
            *ANNEX_A_SUB_HEADINGS,
            ANNEX_A_CERTIFICATION,
        )
        if flat(heading) not in text
    ]
    assert missing == []
    # In the Annex's order: the certification first, then H1 to H7 in turn.
    positions = [text.index(flat(heading)) for heading in ANNEX_A_H_BLOCKS]
    assert text.index(flat(ANNEX_A_CERTIFICATION)) < text.index("SECTION A") < positions[0]
    assert positions == sorted(positions)


def test_a_block_of_section_h_is_printed_only_when_its_measure_is_ticked(eio_draft):
    data = complete_data(declaration_for("eio"))
    data["C"]["measures"] = ["interception"]
    eio_draft.data = data
    eio_draft.save()

    html = request_html(request=eio_draft)

    assert "H7 Interception of telecommunications" in html
    assert [block for block in ANNEX_A_H_BLOCKS[:6] if block in html] == []


def test_a_draft_stored_before_the_renumbering_reads_the_same(eio_draft):
    # Drafts have always stored section H's fields by name under "H": no key changed.
    data = complete_data(declaration_for("eio"))
    data["C"]["measures"] = ["covert_investigation", "bank_operations"]
    data["H"]["covert_relevance"] = "Stored covert relevance"
    data["H"]["bank_operations_period"] = "Stored period"
    eio_draft.data = data
    eio_draft.save()

    html = request_html(request=eio_draft)

    assert html.index("H5 Information on banking") < html.index("Stored period")
    assert html.index("H6 Investigative measures") < html.index("Stored covert relevance")


def test_a_legal_persons_row_prints_only_the_legal_persons_fields(eio_draft):
    data = complete_data(declaration_for("eio"), rows=1)
    data["E"]["persons"][0].update(kind="legal", surname="Natural surname", legal_name="ACME")
    eio_draft.data = data
    eio_draft.save()

    html = request_html(request=eio_draft)

    assert "ACME" in html
    assert "Natural surname" not in html
    assert "Date of birth" not in html


def test_the_k_and_l_blocks_carry_the_signature_and_certification_lines(eio_every_measure):
    html = request_html(request=eio_every_measure)

    signature_k = html.index("certifying the content of the EIO as accurate and correct")
    assert html.index("Ana Pop", signature_k) < html.index("Official stamp", signature_k)
    assert "Signature and details of the validating authority" in html


def test_a_wording_not_checked_against_the_annex_is_marked_and_explained(eio_every_measure):
    eio_every_measure.issuing_language, eio_every_measure.executing_language = "en", "fr"
    eio_every_measure.save()

    html = request_html(request=eio_every_measure)

    assert f"H7 Interception of telecommunications {UNVERIFIED_MARK}" in html
    assert f"H7 Interception de télécommunications {UNVERIFIED_MARK}" in html
    assert "not yet checked against the official text" in html
    # A checked wording carries no mark.
    assert f"SECTION A — Issuing State/executing State {UNVERIFIED_MARK}" not in html
