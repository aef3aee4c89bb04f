import pytest

from mla.core.errors import ApplicationError
from mla.requests.drafting.services import (
    RequestChanged,
    SectionFieldsRefused,
    attachment_add,
    request_create,
    request_duplicate,
    request_link,
    request_save_section,
)
from mla.requests.models import Attachment, Request, RequestLink
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_new_eio_is_numbered_and_prefilled_from_the_directory(eio_draft, authorities):
    # In the issuing authority's own sequence, under its code (mla.requests.references).
    assert eio_draft.reference == f"FR-PARIS-EIO-{eio_draft.created_at.year}-000001"
    assert eio_draft.state == Request.State.DRAFT
    assert eio_draft.data["A"] == {"issuing_state": "FR", "executing_state": "DE"}
    assert eio_draft.data["K"]["authority_name"] == "Parquet de Paris"
    assert eio_draft.data["K"]["phone"] == "+33144325151"
    # Germany accepts German and English for an EIO; labels exist in neither French…
    assert eio_draft.executing_language in ("de", "en")


def test_an_eio_to_a_country_not_bound_by_the_directive_is_refused(prosecutor, countries):
    with pytest.raises(ApplicationError, match="not bound by the EIO Directive"):
        request_create(actor=prosecutor, declaration_code="eio", executing_country=countries["US"])
    assert not Request.objects.exists()


def test_an_authority_that_does_not_receive_the_instrument_is_refused(
    prosecutor, countries, authorities
):
    with pytest.raises(ApplicationError, match="does not receive this kind of request"):
        request_create(
            actor=prosecutor,
            declaration_code="preservation",
            executing_country=countries["US"],
            executing_authority=authorities["paris"],
        )


def test_an_authority_kind_that_cannot_issue_is_refused(authorities, countries):
    clerk = UserFactory(
        authority=authorities["us_247"].__class__.objects.create(
            identifier="fr-ejn",
            name="EJN contact point",
            country=countries["FR"],
            kind="ejn_contact_point",
            time_zone="Europe/Paris",
        ),
        roles=["prosecutor"],
    )

    with pytest.raises(ApplicationError, match="cannot issue this kind of request"):
        request_create(actor=clerk, declaration_code="eio", executing_country=countries["DE"])


def test_a_section_saves_partial_and_invalid_values_as_typed(eio_draft, prosecutor):
    saved = request_save_section(
        request=eio_draft,
        actor=prosecutor,
        section_code="K",
        values={"phone": "not a phone", "authority_name": ""},
        expected_version=eio_draft.version,
    )

    saved.refresh_from_db()
    assert saved.data["K"] == {"phone": "not a phone", "authority_name": ""}
    assert saved.version == eio_draft.version + 1


def test_fields_that_cannot_be_stored_are_left_out_and_named_with_their_limit(
    eio_draft, prosecutor
):
    with pytest.raises(SectionFieldsRefused) as refused:
        request_save_section(
            request=eio_draft,
            actor=prosecutor,
            section_code="K",
            values={
                "authority_name": "Parquet de Paris",
                "file_number": "F" * 101,
                "post_held": "Procureur\nadjoint",
                "phone": "+33 1 44 32 51 51\x00",
            },
            expected_version=eio_draft.version,
        )

    message = refused.value.message
    assert "101 characters, 100 at most" in message
    assert "one-line field" in message
    assert "U+0000" in message
    assert sorted(problem.path for problem in refused.value.extra["problems"]) == [
        "K.file_number",
        "K.phone",
        "K.post_held",
    ]
    saved = refused.value.extra["request"]
    saved.refresh_from_db()
    assert saved.version == eio_draft.version + 1
    assert saved.data["K"] == {
        "authority_name": "Parquet de Paris",
        "file_number": "",
        "post_held": "",
        "phone": "",
    }
    assert saved.audit_entries.filter(event="section_saved").exists()


def test_a_save_from_a_stale_page_is_refused_and_changes_nothing(eio_draft, prosecutor):
    request_save_section(
        request=eio_draft,
        actor=prosecutor,
        section_code="G",
        values={"facts": "first tab"},
        expected_version=eio_draft.version,
    )

    with pytest.raises(RequestChanged, match="saved elsewhere"):
        request_save_section(
            request=eio_draft,
            actor=prosecutor,
            section_code="G",
            values={"facts": "second tab"},
            expected_version=eio_draft.version,
        )
    eio_draft.refresh_from_db()
    assert eio_draft.data["G"] == {"facts": "first tab"}


def test_an_unknown_section_is_refused(eio_draft, prosecutor):
    with pytest.raises(ApplicationError, match="no section Z"):
        request_save_section(
            request=eio_draft,
            actor=prosecutor,
            section_code="Z",
            values={},
            expected_version=eio_draft.version,
        )


def test_duplicate_copies_the_content_under_a_new_reference(eio_draft, prosecutor):
    request_save_section(
        request=eio_draft,
        actor=prosecutor,
        section_code="G",
        values={"facts": "Recruitment through online advertisements."},
        expected_version=eio_draft.version,
    )
    eio_draft.refresh_from_db()

    copy = request_duplicate(request=eio_draft, actor=prosecutor)

    assert copy.reference != eio_draft.reference
    assert copy.data == eio_draft.data
    assert copy.executing_authority == eio_draft.executing_authority


def test_links_refuse_itself_and_twice(eio_draft, prosecutor):
    other = request_duplicate(request=eio_draft, actor=prosecutor)

    request_link(request=other, target=eio_draft, actor=prosecutor, note="follows")

    assert RequestLink.objects.get().note == "follows"
    with pytest.raises(ApplicationError, match="already linked"):
        request_link(request=other, target=eio_draft, actor=prosecutor)
    with pytest.raises(ApplicationError, match="cannot be linked to itself"):
        request_link(request=other, target=other, actor=prosecutor)


def test_an_attachment_records_its_type_size_and_digest(eio_draft, prosecutor, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    content = b"%PDF-1.7\n1 0 obj\n"

    attachment = attachment_add(
        request=eio_draft, actor=prosecutor, name="court order.pdf", content=content
    )

    import hashlib

    assert attachment.media_type == "application/pdf"
    assert attachment.size == len(content)
    assert attachment.sha256 == hashlib.sha256(content).hexdigest()
    assert attachment.file.read() == content


def test_oversized_and_disguised_attachments_are_refused(eio_draft, prosecutor, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.REQUEST_ATTACHMENT_MAX_BYTES = 10

    with pytest.raises(ApplicationError, match="larger than"):
        attachment_add(request=eio_draft, actor=prosecutor, name="a.pdf", content=b"%PDF-" * 10)
    settings.REQUEST_ATTACHMENT_MAX_BYTES = 1000
    with pytest.raises(ApplicationError, match="not a PDF"):
        attachment_add(request=eio_draft, actor=prosecutor, name="a.pdf", content=b"MZ binary")
    assert not Attachment.objects.exists()


def test_every_section_save_is_in_the_audit_trail_with_the_fields_not_their_values(
    eio_draft, prosecutor
):
    from mla.requests.models import AuditEntry

    first = request_save_section(
        request=eio_draft,
        actor=prosecutor,
        section_code="G",
        values={"facts": "Secret facts of the case."},
        expected_version=eio_draft.version,
    )
    request_save_section(
        request=first,
        actor=prosecutor,
        section_code="G",
        values={"facts": "Secret facts of the case.", "legal_classification": "Trafficking."},
        expected_version=first.version,
    )

    saves = list(AuditEntry.objects.filter(request=eio_draft, event="section_saved"))
    assert [entry.payload["fields"] for entry in saves] == [["facts"], ["legal_classification"]]
    assert all(entry.payload["section"] == "G" for entry in saves)
    assert [entry.actor_name for entry in saves] == [str(prosecutor)] * 2
    assert "Secret facts" not in str([entry.payload for entry in saves])


def test_a_user_without_an_issuing_role_drafts_nothing(authorities, countries):
    for role in ["contact_point_staff", "auditor", "directory_administrator", "supervisor"]:
        user = UserFactory(authority=authorities["paris"], roles=[role])
        with pytest.raises(ApplicationError, match="Only a prosecutor"):
            request_create(actor=user, declaration_code="eio", executing_country=countries["DE"])
    assert not Request.objects.exists()


def test_a_role_marked_as_issuing_by_an_administrator_drafts(authorities, countries):
    from django.contrib.auth.models import Group, Permission

    supervisors = Group.objects.get(name="supervisor")
    supervisors.permissions.add(Permission.objects.get(codename="issue_request"))
    user = UserFactory(authority=authorities["paris"], roles=["supervisor"])

    created = request_create(actor=user, declaration_code="eio", executing_country=countries["DE"])

    assert created.created_by == user


def test_a_superuser_is_not_a_prosecutor(authorities, countries):
    root = UserFactory(authority=authorities["paris"], is_superuser=True, is_staff=True)

    with pytest.raises(ApplicationError, match="Only a prosecutor"):
        request_create(actor=root, declaration_code="eio", executing_country=countries["DE"])


def test_a_received_copy_is_never_duplicated(sent_eio, prosecutor, berlin_staff):
    _issuing, received = sent_eio
    before = Request.objects.count()

    for actor in (prosecutor, berlin_staff):
        with pytest.raises(ApplicationError, match="received request cannot be copied"):
            request_duplicate(request=received, actor=actor)

    assert Request.objects.count() == before
