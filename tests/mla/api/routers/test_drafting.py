"""A draft's sections, completeness check and supporting documents through the API: the
section's page's service and rules, the version that protects a save, the check page's
problems."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from mla.requests.access import request_share
from mla.requests.drafting.services import request_create
from mla.requests.models import Attachment, AuditEntry, Request
from tests.support.api import ApiClient, api_token_for
from tests.support.factories import UserFactory
from tests.support.messages import PDF

pytestmark = pytest.mark.django_db


def _path(request: Request, rest: str = "") -> str:
    issuer, reference = request.url_args
    return f"/requests/{issuer}/{reference}/{rest}"


def _etag(api: ApiClient, request: Request) -> str:
    return api.get(_path(request))["ETag"]


@pytest.fixture
def api(prosecutor):
    return ApiClient(api_token_for(prosecutor, "read", "draft"))


# Sections ---------------------------------------------------------------------------------


def test_a_section_is_read_with_its_values_problems_and_the_requests_etag(api, eio_draft):
    section = api.get(_path(eio_draft, "sections/K/"))

    assert section.status_code == 200
    body = section.json()
    assert (body["code"], body["applies"]) == ("K", True)
    assert body["title"].startswith("SECTION K")
    assert body["values"]["authority_name"] == "Parquet de Paris"
    assert section["ETag"] == _etag(api, eio_draft)
    missing = {problem["field"]: problem for problem in body["problems"]}
    assert missing["issuer_type"]["code"] == "missing"
    assert missing["issuer_type"]["message"] == "Missing."
    assert missing["issuer_type"]["section"] == "K"


def test_a_section_the_declaration_does_not_have_is_404(api, eio_draft):
    assert api.get(_path(eio_draft, "sections/Z/")).status_code == 404
    assert (
        api.send("PUT", _path(eio_draft, "sections/Z/"), {"values": {}}, if_match="*").status_code
        == 404
    )


def test_a_section_is_replaced_through_the_pages_service_with_the_requests_etag(
    api, eio_draft, prosecutor
):
    etag = _etag(api, eio_draft)

    saved = api.send(
        "PUT",
        _path(eio_draft, "sections/G/"),
        {"values": {"facts": "Fraud through fake invoices.", "offence_categories": ["fraud"]}},
        if_match=etag,
    )

    assert saved.status_code == 200, saved.content
    eio_draft.refresh_from_db()
    assert eio_draft.data["G"] == {
        "facts": "Fraud through fake invoices.",
        "offence_categories": ["fraud"],
    }
    assert saved["ETag"] != etag
    assert saved["ETag"] == _etag(api, eio_draft)
    entry = AuditEntry.objects.filter(request=eio_draft).last()
    assert (entry.event, entry.actor, entry.payload["fields"]) == (
        "section_saved",
        prosecutor,
        ["facts", "offence_categories"],
    )
    # The answer is the section as saved, checked as its page checks it.
    assert saved.json()["values"] == eio_draft.data["G"]
    assert "facts" not in {problem["field"] for problem in saved.json()["problems"]}


def test_a_save_needs_if_match_and_a_stale_one_is_refused_as_the_page_refuses_it(
    api, eio_draft, prosecutor, client
):
    path = _path(eio_draft, "sections/G/")
    read = _etag(api, eio_draft)
    # Meanwhile, a colleague saves the section on its page.
    client.force_login(prosecutor)
    client.post(
        reverse("requests:section", args=[*eio_draft.url_args, "G"]),
        {"facts": "Typed on the page.", "version": str(eio_draft.version)},
    )

    without = api.send("PUT", path, {"values": {"facts": "From the API."}})
    stale = api.send("PUT", path, {"values": {"facts": "From the API."}}, if_match=read)

    assert (without.status_code, without.json()["code"]) == (428, "precondition_required")
    assert (stale.status_code, stale.json()["code"]) == (412, "precondition_failed")
    eio_draft.refresh_from_db()
    assert eio_draft.data["G"]["facts"] == "Typed on the page."


def test_a_save_racing_another_is_refused_by_the_requests_version(
    api, eio_draft, prosecutor, monkeypatch
):
    """If-Match passed, but the request was saved before the section was stored: the
    service's version check (the page's) refuses it."""
    from mla.api.routers import drafting
    from mla.requests.drafting.services import request_save_section

    read = drafting.request_or_404

    def read_then_overtaken(http_request, issuer, reference):
        item = read(http_request, issuer, reference)
        request_save_section(
            request=Request.objects.get(pk=item.pk),
            actor=prosecutor,
            section_code="G",
            values={"facts": "Saved first."},
            expected_version=item.version,
        )
        return item

    etag = _etag(api, eio_draft)
    monkeypatch.setattr(drafting, "request_or_404", read_then_overtaken)

    raced = api.send(
        "PUT", _path(eio_draft, "sections/G/"), {"values": {"facts": "Second."}}, if_match=etag
    )

    assert (raced.status_code, raced.json()["code"]) == (409, "stale")
    assert raced.json()["detail"].startswith("This request was saved elsewhere")
    eio_draft.refresh_from_db()
    assert eio_draft.data["G"]["facts"] == "Saved first."


def test_fields_that_cannot_be_stored_refuse_the_section_each_named(api, eio_draft):
    before = Request.objects.get(pk=eio_draft.pk)
    values = {
        "facts": "Facts.\u0007",
        "stage": "x" * 20_001,
        "motive": "Greed.",
        "max_penalty_at_least_3_years": "yes",
        "offence_categories": "fraud",
        "translations": {"de": {"facts": "Tatsachen.", "colour": "blau"}, "klingon": {}},
    }

    refused = api.send(
        "PUT", _path(eio_draft, "sections/G/"), {"values": values}, if_match=_etag(api, eio_draft)
    )

    assert refused.status_code == 422
    problem = refused.json()
    assert problem["code"] == "fields_refused"
    assert problem["detail"].startswith("The section was not saved")
    assert [(error["section"], error["field"], error["code"]) for error in problem["errors"]] == [
        ("G", "motive", "unknown_field"),
        ("G", "facts", "control_character"),
        ("G", "stage", "too_long"),
        ("G", "offence_categories", "wrong_type"),
        ("G", "max_penalty_at_least_3_years", "wrong_type"),
        ("G", "colour.translation", "unknown_field"),
        ("G", "translations.klingon", "unknown_language"),
    ]
    assert "U+0007" in problem["errors"][1]["message"]
    after = Request.objects.get(pk=eio_draft.pk)
    assert (after.version, after.data) == (before.version, before.data)


def test_the_page_says_the_same_of_a_field_too_long_and_keeps_the_rest(
    client, prosecutor, eio_draft
):
    client.force_login(prosecutor)

    page = client.post(
        reverse("requests:section", args=[*eio_draft.url_args, "G"]),
        {"facts": "Kept.", "stage": "x" * 20_001, "version": str(eio_draft.version)},
        follow=True,
    )

    eio_draft.refresh_from_db()
    assert eio_draft.data["G"]["facts"] == "Kept."
    assert "This is too long: 20001 characters, 20000 at most" in page.content.decode()


def test_a_section_of_a_request_no_longer_a_draft_or_not_the_callers_to_edit_is_refused(
    api, sent_eio, prosecutor, authorities, countries
):
    paris, _berlin = sent_eio
    eio_draft = request_create(
        actor=prosecutor, declaration_code="eio", executing_country=countries["DE"]
    )
    reader = UserFactory(authority=authorities["paris_police"], roles=["police"])
    request_share(request=eio_draft, actor=prosecutor, user=reader)
    reading = ApiClient(api_token_for(reader))
    outsider = ApiClient(api_token_for(UserFactory(authority=authorities["berlin"])))
    body = {"values": {"facts": "x"}}

    sent = api.send("PUT", _path(paris, "sections/G/"), body, if_match=_etag(api, paris))
    shared = reading.send("PUT", _path(eio_draft, "sections/G/"), body, if_match="*")
    unseen = outsider.send("PUT", _path(eio_draft, "sections/G/"), body, if_match="*")
    read_only_token = ApiClient(api_token_for(prosecutor, "read")).send(
        "PUT", _path(eio_draft, "sections/G/"), body, if_match="*"
    )

    assert (sent.status_code, sent.json()["code"]) == (409, "not_allowed_in_state")
    assert sent.json()["detail"] == "Only a draft can be edited."
    assert (shared.status_code, shared.json()["code"]) == (403, "forbidden")
    assert shared.json()["detail"].startswith("You may read this draft but not change it")
    assert unseen.status_code == 404
    assert (read_only_token.status_code, read_only_token.json()["code"]) == (
        403,
        "insufficient_scope",
    )


def test_the_section_body_is_held_to_its_schema(api, eio_draft):
    path = _path(eio_draft, "sections/G/")
    etag = _etag(api, eio_draft)

    unknown = api.send("PUT", path, {"values": {}, "colour": "blue"}, if_match=etag)
    not_an_object = api.send("PUT", path, {"values": ["facts"]}, if_match=etag)
    nested = api.send(
        "PUT", path, raw=b'{"values": {"facts": ' + b"[" * 500 + b"]" * 500 + b"}}", if_match=etag
    )

    assert (unknown.status_code, unknown.json()["code"]) == (422, "invalid")
    assert (not_an_object.status_code, not_an_object.json()["code"]) == (422, "invalid")
    assert (nested.status_code, nested.json()["code"]) == (422, "fields_refused")


# The completeness check -------------------------------------------------------------------


def test_the_completeness_check_gives_the_problems_the_check_page_lists(
    api, eio_draft, prosecutor, client
):
    from mla.requests.drafting.language import request_problems

    checked = api.get(_path(eio_draft, "problems/"))
    client.force_login(prosecutor)
    page = client.get(reverse("requests:check", args=[*eio_draft.url_args])).content.decode()

    body = checked.json()
    assert body["complete"] is False
    expected = request_problems(request=eio_draft)
    assert [(p["section"], p["message"]) for p in body["problems"]] == [
        (problem.section, problem.message) for problem in expected
    ]
    assert len(body["problems"]) == len(expected) > 0
    first = body["problems"][0]
    assert set(first) == {"section", "field", "code", "message", "label"}
    assert f"{len(expected)} " in page
    assert {p["code"] for p in body["problems"]} <= {
        "missing",
        "too_few_rows",
        "invalid",
        "inconsistent",
        "translation_missing",
        "language_not_accepted",
    }


# Supporting documents ---------------------------------------------------------------------


def _upload(
    api: ApiClient, request: Request, *, name="annex.pdf", content=PDF, if_match=None, **extra
):
    headers = dict(api.headers)
    if if_match is not None:
        headers["If-Match"] = if_match
    return api.client.post(
        f"/api/v1{_path(request, 'attachments/')}",
        {"file": SimpleUploadedFile(name, content), **extra},
        headers=headers,
    )


def test_a_document_is_attached_listed_read_and_removed_as_on_the_page(api, eio_draft, prosecutor):
    added = _upload(api, eio_draft, if_match=_etag(api, eio_draft))

    assert added.status_code == 201, added.content
    attachment = Attachment.objects.get(request=eio_draft)
    body = added.json()
    assert (body["name"], body["media_type"], body["size"]) == (
        "annex.pdf",
        "application/pdf",
        len(PDF),
    )
    assert body["uploaded_by"] == prosecutor.username
    assert added["Location"] == f"/api/v1{_path(eio_draft, f'attachments/{attachment.pk}/content')}"
    assert [row["id"] for row in api.get(_path(eio_draft, "attachments/")).json()] == [
        attachment.pk
    ]
    assert (
        api.get(_path(eio_draft, f"attachments/{attachment.pk}/")).json()["sha256"]
        == attachment.sha256
    )
    content = api.get(_path(eio_draft, f"attachments/{attachment.pk}/content"))
    assert b"".join(content.streaming_content) == PDF
    assert content["Content-Type"] == "application/pdf"

    removed = api.send(
        "DELETE", _path(eio_draft, f"attachments/{attachment.pk}/"), if_match=_etag(api, eio_draft)
    )

    assert removed.status_code == 204
    assert not Attachment.objects.filter(request=eio_draft).exists()
    events = list(AuditEntry.objects.filter(request=eio_draft).values_list("event", flat=True))
    assert events[-2:] == ["attachment_added", "attachment_removed"]


def test_a_document_is_refused_for_what_it_is_with_the_pages_words(api, eio_draft, settings):
    etag = _etag(api, eio_draft)
    settings.REQUEST_ATTACHMENT_MAX_BYTES = 1024

    not_a_document = _upload(
        api, eio_draft, name="run.pdf", content=b"MZ\x90\x00" * 10, if_match=etag
    )
    too_large = _upload(api, eio_draft, content=PDF + b" " * 2048, if_match=etag)
    empty = _upload(api, eio_draft, content=b"", if_match=etag)
    without_if_match = _upload(api, eio_draft)
    a_second_part = _upload(api, eio_draft, if_match=etag, note="hello")

    assert (not_a_document.status_code, not_a_document.json()["code"]) == (
        415,
        "unsupported_media_type",
    )
    assert (
        not_a_document.json()["detail"] == "“run.pdf” is not a PDF, an image or an office document."
    )
    assert (too_large.status_code, too_large.json()["code"]) == (413, "too_large")
    assert too_large.json()["detail"] == "“annex.pdf” is larger than 0 MB."
    assert empty.status_code == 422
    assert without_if_match.status_code == 428
    assert a_second_part.status_code == 422
    assert not Attachment.objects.filter(request=eio_draft).exists()


def test_a_document_of_a_sent_request_is_neither_added_nor_removed(api, sent_eio):
    paris, _berlin = sent_eio
    etag = _etag(api, paris)

    added = _upload(api, paris, if_match=etag)

    assert (added.status_code, added.json()["code"]) == (409, "not_allowed_in_state")
    assert api.get(_path(paris, "attachments/999/")).status_code == 404
    assert api.send("DELETE", _path(paris, "attachments/999/"), if_match=etag).status_code == 404


def test_a_document_needs_the_draft_scope_and_is_404_to_who_does_not_see_the_request(
    prosecutor, eio_draft, authorities, api
):
    _upload(api, eio_draft, if_match=_etag(api, eio_draft))
    attachment = Attachment.objects.get(request=eio_draft)
    reader = ApiClient(api_token_for(prosecutor, "read"))
    outsider = ApiClient(api_token_for(UserFactory(authority=authorities["berlin"])))

    assert _upload(reader, eio_draft, if_match="*").json()["code"] == "insufficient_scope"
    assert (
        reader.send(
            "DELETE", _path(eio_draft, f"attachments/{attachment.pk}/"), if_match="*"
        ).status_code
        == 403
    )
    assert outsider.get(_path(eio_draft, "attachments/")).status_code == 404
    assert outsider.get(_path(eio_draft, f"attachments/{attachment.pk}/content")).status_code == 404


def test_the_download_of_a_confidential_requests_document_is_recorded(sender, recipient):
    from tests.support.sending import outgoing_request

    author = UserFactory(authority=sender, roles=["prosecutor"])
    confidential = outgoing_request(sender, recipient, author, confidential=True)
    attachment = confidential.attachments.get()
    api = ApiClient(api_token_for(author, "read"))

    content = api.get(_path(confidential, f"attachments/{attachment.pk}/content"))

    assert content.status_code == 200
    entry = AuditEntry.objects.filter(request=confidential).last()
    assert (entry.event, entry.actor, entry.payload) == (
        "downloaded",
        author,
        {"document": f"attachment:{attachment.sha256}"},
    )


def test_the_session_attaches_with_its_csrf_token_only(prosecutor, eio_draft):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(prosecutor)

    refused = browser.post(
        f"/api/v1{_path(eio_draft, 'attachments/')}",
        {"file": SimpleUploadedFile("annex.pdf", PDF)},
        headers={"If-Match": "*"},
    )

    assert (refused.status_code, refused.json()["code"]) == (403, "csrf_failed")


def test_an_upload_that_cannot_be_read_is_a_400_problem(api, eio_draft, settings):
    path = _path(eio_draft, "attachments/")
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 1

    no_boundary = api.send("POST", path, raw=b"x", content_type="multipart/form-data", if_match="*")
    too_many = api.client.post(
        f"/api/v1{path}",
        {"file": [SimpleUploadedFile("a.pdf", PDF), SimpleUploadedFile("b.pdf", PDF)]},
        headers={**api.headers, "If-Match": "*"},
    )
    as_json = api.send("POST", path, {"file": "annex.pdf"}, if_match="*")

    for refused in (no_boundary, too_many):
        assert refused.status_code == 400
        assert refused["Content-Type"] == "application/problem+json"
        assert refused.json()["code"] == "malformed"
    assert (as_json.status_code, as_json.json()["code"]) == (422, "invalid")
    assert not Attachment.objects.filter(request=eio_draft).exists()
