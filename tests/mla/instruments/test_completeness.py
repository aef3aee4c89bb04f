import copy

import pytest

from mla.instruments.completeness import (
    request_completeness,
    section_refusals,
    values_without_refused,
)
from mla.instruments.declarations import DECLARATIONS, declaration_for
from tests.support.samples import complete_data

EIO = declaration_for("eio")


@pytest.mark.parametrize("code", sorted(DECLARATIONS))
def test_complete_data_has_no_problem(code):
    declaration = DECLARATIONS[code]

    assert request_completeness(declaration=declaration, data=complete_data(declaration)) == []


@pytest.mark.parametrize("code", sorted(DECLARATIONS))
def test_an_empty_request_lists_every_required_field(code):
    declaration = DECLARATIONS[code]

    problems = request_completeness(declaration=declaration, data={})

    assert problems
    assert all(problem.message for problem in problems)
    required = {
        f"{section.code}.{item.name}"
        for section in declaration.sections
        if section.applies_when is None
        for item in section.items
        if getattr(item, "required", False)
    }
    assert required <= {problem.path for problem in problems}


def test_eio_section_l_is_required_only_for_a_non_judicial_issuer():
    data = complete_data(EIO)
    data["K"]["issuer_type"] = "prosecutor"
    data.pop("L")
    assert request_completeness(declaration=EIO, data=data) == []

    data["K"]["issuer_type"] = "other_authority"
    problems = request_completeness(declaration=EIO, data=data)

    assert {problem.section for problem in problems} == {"L"}
    assert "L.validator_name" in {problem.path for problem in problems}


def test_problems_point_at_rows_of_repeatable_groups():
    data = complete_data(EIO)
    data["E"]["persons"][1]["kind"] = ""

    problems = request_completeness(declaration=EIO, data=data)

    assert [(p.path, p.row, p.message) for p in problems] == [("E.persons.1.kind", 1, "Missing.")]
    assert problems[0].anchor == "field-E-persons-1-kind"


def test_invalid_values_are_reported_with_the_reason():
    data = complete_data(EIO)
    data["K"]["phone"] = "01 23 45 67 89"
    data["K"]["email"] = "nobody"

    messages = {p.path: p.message for p in request_completeness(declaration=EIO, data=data)}

    assert "international form" in messages["K.phone"]
    assert "valid e-mail" in messages["K.email"]


@pytest.mark.parametrize("code", ["preservation", "preservation_disclosure"])
def test_a_preservation_extension_needs_the_previous_reference(code):
    declaration = declaration_for(code)
    data = complete_data(declaration)
    status_section = next(
        s.code for s in declaration.sections if any(i.name == "status" for i in s.items)
    )
    data[status_section]["status"] = "extension"
    data[status_section]["previous_reference"] = ""

    problems = request_completeness(declaration=declaration, data=data)

    assert [p.path for p in problems] == [f"{status_section}.previous_reference"]


def test_the_data_is_never_changed_by_the_check():
    data = complete_data(EIO)
    data["K"]["phone"] = "bad"
    before = copy.deepcopy(data)

    request_completeness(declaration=EIO, data=data)

    assert data == before


def test_yes_no_questions_are_tick_boxes():
    fields = {f"{s.code}.{i.name}": i for s in EIO.sections for i in s.items}

    assert fields["B.urgent"].type == "boolean"
    assert fields["D.supplements_earlier"].type == "boolean"


def test_refused_fields_of_a_section_are_found_in_rows_and_emptied_alone():
    section = next(s for s in declaration_for("eio").sections if s.code == "E")
    values = {
        "persons": [
            {"kind": "natural", "surname": "Popescu", "first_names": "Ion"},
            {"kind": "natural", "surname": "S" * 201, "first_names": "Ana\x00"},
        ]
    }

    refused = section_refusals(section=section, values=values)

    assert [(problem.path, problem.row) for problem in refused] == [
        ("E.persons.1.surname", 1),
        ("E.persons.1.first_names", 1),
    ]
    kept = values_without_refused(section=section, values=values, refused=refused)
    assert kept["persons"] == [
        {"kind": "natural", "surname": "Popescu", "first_names": "Ion"},
        {"kind": "natural", "surname": "", "first_names": ""},
    ]
