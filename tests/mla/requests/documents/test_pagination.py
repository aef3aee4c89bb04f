"""No printed row is split across pages: a label stays with its value, a title with what
it heads (read from WeasyPrint's layout of each instrument's document)."""

import pytest

from mla.instruments.declarations import DECLARATIONS, declaration_for
from mla.requests.documents.rendering import html_to_document, request_html
from tests.support.pdf_layout import split_rows
from tests.support.samples import complete_data

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("code", sorted(DECLARATIONS))
def test_no_page_ends_with_a_label_whose_value_is_on_the_next(code, eio_draft):
    # Every field filled, free text long: many page breaks fall inside sections.
    eio_draft.declaration_code = code
    eio_draft.data = complete_data(declaration_for(code), long_text=True)
    eio_draft.save()

    document = html_to_document(html=request_html(request=eio_draft))

    assert len(document.pages) > 2
    assert split_rows(document) == []


def test_each_section_is_one_bookmark_in_the_issuing_language(eio_draft):
    eio_draft.issuing_language, eio_draft.executing_language = "en", "fr"
    eio_draft.data = complete_data(declaration_for("eio"))
    eio_draft.save()

    document = html_to_document(html=request_html(request=eio_draft))
    titles = [bookmark[0] for bookmark in document.make_bookmark_tree()]

    assert titles[0] == "SECTION A — Issuing State/executing State"
    assert len(titles) == len(set(titles)) >= 11
    # The French titles are in the document beside the English, not glued into bookmarks.
    assert [title for title in titles if "État" in title or "Urgence" in title] == []
