"""An EIO to Germany, which accepts German only, is drafted and printed in German: its
labels from the German catalogue beside the issuing side's, the official wording unmarked
and the working translations marked as not checked."""

import pytest
from django.utils.html import escape

from mla.instruments.declarations import declaration_for
from mla.instruments.labels import UNVERIFIED_MARK, label
from mla.requests.documents.rendering import request_html
from tests.support.samples import complete_data

pytestmark = pytest.mark.django_db


def test_an_eio_to_germany_goes_out_in_german(eio_draft):
    assert eio_draft.executing_language == "de"


def test_the_document_prints_annex_a_section_a_in_german(eio_draft):
    eio_draft.issuing_language = "en"
    eio_draft.data = complete_data(declaration_for("eio"))
    eio_draft.save()

    html = request_html(request=eio_draft)

    assert "ABSCHNITT A — Anordnungsstaat/Vollstreckungsstaat" in html
    assert escape(label("eio.A.title", "en")) in html
    assert "Europäische Ermittlungsanordnung (EEA)" in html
    assert 'lang="de"' in html
    # Checked against the official text: no dagger. Section C's list of measures was not.
    assert f"ABSCHNITT A — Anordnungsstaat/Vollstreckungsstaat {UNVERIFIED_MARK}" not in html
    assert f"{label('eio.C.measures.interception', 'de')} {UNVERIFIED_MARK}" in html
    assert escape(label("document.unverified", "de")) in html
