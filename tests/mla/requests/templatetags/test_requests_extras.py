import pytest
from django.utils import translation

from mla.instruments.declarations import DECLARATIONS
from mla.requests.templatetags.requests_extras import LEGAL_SOURCES, legal_source

SOURCES = sorted(
    {rule.source for declaration in DECLARATIONS.values() for rule in declaration.deadlines}
)


@pytest.mark.parametrize("source", SOURCES)
def test_every_deadlines_legal_source_is_translated(source):
    assert source in LEGAL_SOURCES
    for language in ("fr", "de"):
        with translation.override(language):
            assert legal_source(source) != source, (language, source)


def test_an_e_evidence_source_reads_in_the_languages_own_citation_style():
    with translation.override("fr"):
        assert legal_source("Regulation (EU) 2023/1543, Art. 10(4)") == (
            "Règlement (UE) 2023/1543, art. 10, paragraphe 4"
        )
    with translation.override("de"):
        assert legal_source("Regulation (EU) 2023/1543, Art. 10(4)") == (
            "Verordnung (EU) 2023/1543, Art. 10 Abs. 4"
        )
