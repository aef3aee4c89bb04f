"""An authority's reference code travels in the directory, so that every node checks a
partner's references against the same code."""

import json

import pytest

from contact_points.directory_io import (
    DirectoryImportError,
    directory_export_csv,
    directory_export_json,
)
from contact_points.models import Authority
from tests.contact_points.test_directory_io import _import_json, _minimal_document
from tests.support.factories import AuthorityFactory

pytestmark = pytest.mark.django_db


def test_the_export_carries_each_authoritys_reference_code():
    AuthorityFactory(identifier="ro-diicot", reference_code="DIICOT1")

    exported = json.loads(directory_export_json())
    csv_text = directory_export_csv()

    assert exported["authorities"][0]["reference_code"] == "DIICOT1"
    assert csv_text.splitlines()[0].startswith("identifier,reference_code,")
    assert ",DIICOT1," in csv_text.splitlines()[1]


def test_an_imported_code_is_kept_and_an_entry_without_one_gets_one_derived():
    _import_json(_minimal_document(reference_code="rop247"))
    assert Authority.objects.get().reference_code == "ROP247"

    document = _minimal_document(identifier="ro-bucharest-court")
    report = _import_json(document)

    assert report.created == 1
    assert Authority.objects.get(identifier="ro-bucharest-court").reference_code == ("BUCHARESTCOU")
    # Imported again without a code, the entry keeps the one it holds: nothing changes.
    assert _import_json(document).unchanged == 1


def test_a_code_another_entry_holds_is_refused():
    AuthorityFactory(identifier="ro-other", reference_code="TAKEN")

    with pytest.raises(DirectoryImportError, match="“TAKEN” is already the code of ro-other"):
        _import_json(_minimal_document(reference_code="TAKEN"))


def test_a_code_not_of_the_pattern_is_refused():
    with pytest.raises(DirectoryImportError, match="2 to 12 capital letters or digits"):
        _import_json(_minimal_document(reference_code="A-B"))
