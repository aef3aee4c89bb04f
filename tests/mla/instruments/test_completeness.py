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


def test_a_field_the_form_does_not_have_is_refused_and_left_out():
    section = next(s for s in EIO.sections if s.code == "E")
    values = {
        "place_of_execution": "Berlin",
        "motive": "x",
        "persons": [{"kind": "natural", "shoe_size": "44"}],
    }

    refused = section_refusals(section=section, values=values)

    assert [(p.path, p.field, p.code, p.row) for p in refused] == [
        ("E.motive", "motive", "unknown_field", None),
        ("E.persons.0.shoe_size", "persons.0.shoe_size", "unknown_field", 0),
    ]
    assert values_without_refused(section=section, values=values, refused=refused) == {
        "place_of_execution": "Berlin",
        "persons": [{"kind": "natural"}],
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("urgent", "yes"),  # a tick box is true or false
        ("urgency_grounds", "evidence_at_risk"),  # a tick-box list is a list
        ("urgency_grounds", ["evidence_at_risk"] * 50),  # of at most its choices
        ("urgency_reasons", ["a", "b"]),  # a text is a text
        ("requested_date", {"value": "2026-01-01"}),
    ],
)
def test_a_value_not_of_its_fields_form_is_refused(name, value):
    section = next(s for s in EIO.sections if s.code == "B")

    [problem] = section_refusals(section=section, values={name: value})

    assert (problem.field, problem.code) == (name, "wrong_type")
    assert problem.message.startswith("This value has the wrong form")


def test_the_forms_the_section_editor_posts_are_all_stored():
    for section in EIO.sections:
        values = complete_data(EIO)[section.code]
        assert section_refusals(section=section, values=values) == [], section.code


def test_rows_over_the_groups_limit_and_translations_not_of_free_text_are_refused():
    section = next(s for s in EIO.sections if s.code == "E")
    group = next(item for item in section.items if item.name == "persons")
    values = {
        "persons": [{"kind": "natural"}] * (group.max_rows + 1),
        "translations": {"de": {"persons": "x", "place_of_execution": "Berlin"}, "xx": {}},
    }

    refused = section_refusals(section=section, values=values)

    assert [(p.path, p.code) for p in refused] == [
        ("E.persons", "too_many_rows"),
        ("E.persons.translation", "unknown_field"),
        ("E.translations.xx", "unknown_language"),
    ]


def test_each_problem_of_the_check_has_a_code():
    data = complete_data(EIO)
    data["B"]["requested_date"] = "soon"
    del data["G"]["facts"]
    data["H"]["hearings"] = []

    problems = request_completeness(declaration=EIO, data=data)

    codes = {problem.path: problem.code for problem in problems}
    assert codes["B.requested_date"] == "invalid"
    assert codes["G.facts"] == "missing"
    assert codes["H.hearings"] == "too_few_rows"
