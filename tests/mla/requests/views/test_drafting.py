"""The pages of a request as it is drafted and kept: lists, a new draft, the request's page
with its deadlines, its sections and completeness check, duplicate, link and attachments."""

import datetime
import zoneinfo

import pytest
from django.urls import reverse

from mla.instruments.declarations import declaration_for
from mla.requests.drafting.services import request_save_section
from mla.requests.lifecycle.executing import request_acknowledge
from mla.requests.models import Request
from tests.support.factories import AuthorityFactory, UserFactory
from tests.support.forms import section_post
from tests.support.samples import complete_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_of(client, prosecutor):
    client.force_login(prosecutor)
    return client


def test_new_request_offers_what_applies_with_reasons_for_the_rest(client_of, authorities):
    response = client_of.get(reverse("requests:new"), {"country": "US"})

    page = response.content.decode()
    options = {o.declaration.code: o for o in response.context["options"]}
    assert options["eio"].applies is False
    assert "not bound by the EIO Directive" in options["eio"].reason
    assert options["preservation"].applies is True
    assert [a.identifier for a in options["preservation"].authorities] == ["us-247"]
    assert "US 24/7 point" in page


def test_new_request_shows_the_languages_the_country_accepts(client_of, authorities):
    response = client_of.get(reverse("requests:new"), {"country": "DE"})

    options = {o.declaration.code: o for o in response.context["options"]}
    assert options["eio"].languages == ["de", "en"]


def test_creating_a_draft_opens_its_first_section(client_of, authorities):
    response = client_of.post(
        reverse("requests:new"),
        {"country": "DE", "declaration": "eio", "authority": authorities["berlin"].pk},
    )

    created = Request.objects.get()
    assert response["Location"] == reverse("requests:section", args=[*created.url_args, "A"])
    assert created.executing_authority == authorities["berlin"]


def test_an_impossible_request_is_refused_with_the_reason(client_of, authorities):
    response = client_of.post(
        reverse("requests:new"), {"country": "US", "declaration": "eio"}, follow=True
    )

    assert "not bound by the EIO Directive" in response.content.decode()
    assert not Request.objects.exists()


def test_the_lists_show_received_requests_to_the_receiving_authority(
    client, sent_eio, berlin_staff
):
    issuing, _executing = sent_eio
    client.force_login(berlin_staff)

    response = client.get(reverse("requests:list"))

    assert [item.reference for item, _title in response.context["incoming_rows"]] == [
        issuing.reference
    ]
    assert response.context["rows"] == []
    assert "Requests received by your authority" in response.content.decode()


def test_the_issuer_sees_the_deadlines_in_both_zones_and_the_annex_b(
    client, sent_eio, berlin_staff, prosecutor, authorities
):
    authorities["paris"].time_zone = "Europe/Paris"
    authorities["paris"].save()
    authorities["berlin"].time_zone = "Europe/Berlin"
    authorities["berlin"].save()
    issuing, executing = sent_eio
    request_acknowledge(request=executing, actor=berlin_staff)
    client.force_login(prosecutor)

    page = client.get(issuing.get_absolute_url()).content.decode()

    assert "Acknowledged" in page
    assert "Europe/Paris" in page
    assert "Europe/Berlin" in page
    # The due times are written in each zone's wall-clock time, not in UTC.
    due = issuing.deadlines.get(code="recognition").due_at
    local = due.astimezone(zoneinfo.ZoneInfo("Europe/Paris"))
    paris = local.strftime("%Y-%m-%d %H:%M")
    utc = due.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M")
    # With the zone's short name at that instant (CET or CEST).
    assert f"{paris} {local.tzname()}</time> <small>Europe/Paris" in page
    assert paris != utc
    assert "Art. 12(3)" in page  # the recognition deadline names its article
    assert 'data-deadline-state="met"' in page
    assert "Download the acknowledgement (Annex B)" in page
    # The issuer has nothing to do on an acknowledged request but withdraw it.
    assert 'data-step="withdraw"' in page
    assert 'data-step="acknowledge"' not in page


def test_a_section_saves_partial_data_and_shows_what_is_wrong(client_of, eio_draft):
    url = reverse("requests:section", args=[*eio_draft.url_args, "K"])

    response = client_of.post(
        url,
        {"version": eio_draft.version, "phone": "01 23", "email": "", "action": "save"},
        follow=True,
    )

    eio_draft.refresh_from_db()
    assert eio_draft.data["K"]["phone"] == "01 23"
    page = response.content.decode()
    assert "Saved." in page
    assert "international form" in page


def test_rows_are_added_and_removed_without_losing_typing(client_of, eio_draft):
    url = reverse("requests:section", args=[*eio_draft.url_args, "E"])
    typed = {
        "version": eio_draft.version,
        "persons-rows": "2",
        "persons-0-kind": "natural",
        "persons-0-surname": "Popescu",
        "persons-1-kind": "legal",
        "persons-1-legal_name": "Shell Ltd",
    }

    client_of.post(url, {**typed, "add_row": "persons"})
    eio_draft.refresh_from_db()
    assert [row.get("surname") for row in eio_draft.data["E"]["persons"]] == ["Popescu", "", ""]

    client_of.post(
        url,
        {**typed, "version": eio_draft.version, "persons-rows": "2", "remove_row": "persons-0"},
    )
    eio_draft.refresh_from_db()
    assert [row["legal_name"] for row in eio_draft.data["E"]["persons"]] == ["Shell Ltd"]


def test_a_second_tab_does_not_overwrite_and_keeps_the_typing(client_of, eio_draft, prosecutor):
    url = reverse("requests:section", args=[*eio_draft.url_args, "G"])
    stale_version = eio_draft.version
    request_save_section(
        request=eio_draft,
        actor=prosecutor,
        section_code="G",
        values={"facts": "saved in tab one"},
        expected_version=stale_version,
    )

    response = client_of.post(url, {"version": stale_version, "facts": "typed in tab two"})

    assert response.status_code == 200
    assert "saved elsewhere" in response.content.decode()
    assert "typed in tab two" in response.content.decode()
    eio_draft.refresh_from_db()
    assert eio_draft.data["G"]["facts"] == "saved in tab one"

    client_of.post(url, {"version": stale_version, "facts": "typed in tab two", "overwrite": "1"})
    eio_draft.refresh_from_db()
    assert eio_draft.data["G"]["facts"] == "typed in tab two"


def test_the_completeness_check_lists_problems_by_section_with_links(client_of, eio_draft):
    response = client_of.get(reverse("requests:check", args=[*eio_draft.url_args]))

    page = response.content.decode()
    assert response.context["count"] > 10
    codes = [section["code"] for section in response.context["sections"]]
    assert codes == sorted(codes)
    assert "L" not in codes  # a prosecutor issues: no validating authority needed
    href = reverse("requests:section", args=[*eio_draft.url_args, "G"]) + "#field-G-facts"
    assert href in page


def test_user_text_is_escaped_in_the_editor(client_of, eio_draft, prosecutor):
    request_save_section(
        request=eio_draft,
        actor=prosecutor,
        section_code="G",
        values={"facts": "<script>alert(1)</script>"},
        expected_version=eio_draft.version,
    )

    page = client_of.get(reverse("requests:section", args=[*eio_draft.url_args, "G"]))

    assert "<script>alert(1)</script>" not in page.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.content.decode()


@pytest.mark.parametrize("name", ["detail", "check"])
def test_another_authoritys_request_is_404(client, eio_draft, name):
    outsider = UserFactory(authority=AuthorityFactory(identifier="ro-other"))
    client.force_login(outsider)

    response = client.get(reverse(f"requests:{name}", args=[*eio_draft.url_args]))

    assert response.status_code == 404


def test_another_authoritys_request_cannot_be_edited(client, eio_draft):
    client.force_login(UserFactory(authority=AuthorityFactory(identifier="ro-other")))

    response = client.post(
        reverse("requests:section", args=[*eio_draft.url_args, "G"]),
        {"version": eio_draft.version, "facts": "intrusion"},
    )

    assert response.status_code == 404
    eio_draft.refresh_from_db()
    assert "G" not in eio_draft.data


def test_duplicate_and_link_from_the_page(client_of, eio_draft):
    client_of.post(reverse("requests:duplicate", args=[*eio_draft.url_args]))
    copy = Request.objects.exclude(pk=eio_draft.pk).get()

    response = client_of.post(
        reverse("requests:link", args=[*copy.url_args]),
        {"target": eio_draft.reference, "note": "supplements"},
        follow=True,
    )

    assert f"Linked to {eio_draft.reference}" in response.content.decode()
    timeline = [entry.event for entry in response.context["item"].audit_entries.all()]
    assert timeline == ["created", "duplicated", "linked"]
    page = response.content.decode()
    title = page.split("<title>")[1].split("</title>")[0]
    assert "<" not in title
    assert "Linked to another request" in page.split("<main")[1]
    assert copy.links_out.get().to_request == eio_draft


def test_linking_to_an_unknown_reference_says_so(client_of, eio_draft):
    response = client_of.post(
        reverse("requests:link", args=[*eio_draft.url_args]), {"target": "XX-1"}, follow=True
    )

    assert "No request XX-1 among yours" in response.content.decode()


def test_attach_then_download(client_of, eio_draft, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("order.pdf", b"%PDF-1.7 test", "application/pdf")

    client_of.post(reverse("requests:attach", args=[*eio_draft.url_args]), {"file": upload})

    attachment = eio_draft.attachments.get()
    response = client_of.get(
        reverse("requests:attachment", args=[*eio_draft.url_args, attachment.pk])
    )
    assert b"".join(response.streaming_content) == b"%PDF-1.7 test"


# The page shows exactly the actions the user may take --------------------------------


@pytest.mark.parametrize(
    ("role", "shared", "edit", "duplicate", "share"),
    [
        ("prosecutor", None, True, True, True),
        ("investigator", None, True, True, True),
        ("contact_point_staff", None, False, False, False),
        ("auditor", None, False, False, False),
        ("directory_administrator", None, False, False, False),
        ("prosecutor", "read", False, False, False),
        ("prosecutor", "edit", True, False, False),
        ("auditor", "edit", False, False, False),
    ],
)
def test_the_draft_page_shows_exactly_what_the_user_may_do(
    client, eio_draft, prosecutor, authorities, countries, role, shared, edit, duplicate, share
):
    from mla.requests.access import request_share

    if shared is None:
        user = UserFactory(authority=authorities["paris"], roles=[role])
    else:
        user = UserFactory(
            authority=AuthorityFactory(country=countries["DE"], kind="prosecutor"), roles=[role]
        )
        request_share(request=eio_draft, actor=prosecutor, user=user, edit=shared == "edit")
    client.force_login(user)

    page = client.get(reverse("requests:detail", args=[*eio_draft.url_args])).content.decode()
    section = client.get(reverse("requests:section", args=[*eio_draft.url_args, "A"]))

    def shown(name: str) -> bool:
        return reverse(f"requests:{name}", args=[*eio_draft.url_args]) in page

    assert shown("attach") is edit
    assert shown("link") is edit
    assert shown("duplicate") is duplicate
    assert shown("share") is share
    assert ("Save draft" in section.content.decode()) is edit
    assert ("You may read this draft but not change it" in page) is not edit


def test_a_reader_who_posts_a_section_anyway_changes_nothing(client, eio_draft, authorities):
    auditor = UserFactory(authority=authorities["paris"], roles=["auditor"])
    client.force_login(auditor)

    response = client.post(
        reverse("requests:section", args=[*eio_draft.url_args, "G"]),
        {"version": eio_draft.version, "facts": "Blanked."},
        follow=True,
    )

    eio_draft.refresh_from_db()
    assert "G" not in eio_draft.data
    assert "You may read this draft but not change it" in response.content.decode()
    assert not eio_draft.audit_entries.filter(event="section_saved").exists()


def test_the_new_request_page_tells_a_non_issuer_why_it_has_no_form(client, authorities):
    staff = UserFactory(authority=authorities["paris"], roles=["contact_point_staff"])
    client.force_login(staff)

    page = client.get(reverse("requests:new"), {"country": "DE"}).content.decode()
    home = client.get(reverse("core:home")).content.decode()
    refused = client.post(
        reverse("requests:new"), {"country": "DE", "declaration": "eio"}, follow=True
    )

    assert "Only a prosecutor (or another role allowed to issue)" in page
    assert 'name="declaration"' not in page
    assert reverse("requests:new") not in home
    assert "Only a prosecutor" in refused.content.decode()
    assert not Request.objects.exists()


def test_duplicating_a_received_copy_from_its_url_is_refused(client, sent_eio, berlin_staff):
    _issuing, received = sent_eio
    before = Request.objects.count()
    client.force_login(berlin_staff)

    response = client.post(reverse("requests:duplicate", args=[*received.url_args]), follow=True)

    assert "received request cannot be copied" in response.content.decode()
    assert Request.objects.count() == before


def test_a_complete_eio_drafted_section_by_section_through_the_forms_is_complete(
    client_of, authorities
):
    """Every field type round-trips through its form: what the pages post is what the
    services store (the deploy guide's test drafts this way over HTTP)."""
    client_of.post(
        reverse("requests:new"),
        {"country": "DE", "declaration": "eio", "authority": authorities["berlin"].pk},
    )
    draft = Request.objects.get()
    wanted = complete_data(declaration_for("eio"))
    wanted["K"]["issuer_type"] = "prosecutor"
    del wanted["L"]

    for section in declaration_for("eio").sections:
        if section.code not in wanted:
            continue
        draft.refresh_from_db()
        posted: dict[str, list[str]] = {"version": [str(draft.version)]}
        for name, value in section_post(section, wanted[section.code]):
            posted.setdefault(name, []).append(value)
        response = client_of.post(
            reverse("requests:section", args=[*draft.url_args, section.code]), posted
        )
        assert response.status_code == 302, (section.code, response.content.decode()[:2000])

    draft.refresh_from_db()
    assert {code: draft.data[code] for code in wanted} == wanted
    check = client_of.get(reverse("requests:check", args=[*draft.url_args]))
    assert check.context["count"] == 0


def test_a_wording_not_checked_against_the_official_form_is_marked_in_the_form(
    client_of, eio_draft
):
    page = client_of.get(reverse("requests:section", args=[*eio_draft.url_args, "K"]))

    text = page.content.decode()
    assert "Fax No †" in text
    assert "Name of the issuing authority †" not in text


def test_section_h_is_edited_in_the_annexs_blocks(client_of, eio_draft):
    from mla.instruments.declarations.eio import MEASURES_WITH_H

    eio_draft.data["C"] = {"measures": list(MEASURES_WITH_H)}  # every block applies
    eio_draft.save()
    page = client_of.get(reverse("requests:section", args=[*eio_draft.url_args, "H"]))

    text = page.content.decode()
    headings = [text.index(f'<h2 class="block-heading">H{number} ') for number in range(1, 8)]
    assert headings == sorted(headings)
    assert headings[3] < text.index('name="bank_relevance"') < headings[4]


def test_a_value_over_its_limit_is_not_stored_and_the_typing_comes_back_with_the_limit(
    client_of, eio_draft
):
    url = reverse("requests:section", args=[*eio_draft.url_args, "E"])
    too_long = "P" * 201

    response = client_of.post(
        url,
        {
            "version": eio_draft.version,
            "persons-rows": "1",
            "persons-0-kind": "natural",
            "persons-0-surname": too_long,
            "persons-0-first_names": "Ion",
        },
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert too_long in page
    assert "201 characters, 200 at most" in page
    assert "not stored" in page
    assert 'maxlength="200"' in page
    eio_draft.refresh_from_db()
    [row] = eio_draft.data["E"]["persons"]
    assert (row["surname"], row["first_names"], row["kind"]) == ("", "Ion", "natural")


def test_a_nul_byte_is_refused_with_a_clear_error_instead_of_failing_in_the_database(
    client_of, eio_draft
):
    url = reverse("requests:section", args=[*eio_draft.url_args, "G"])

    response = client_of.post(
        url, {"version": eio_draft.version, "facts": "Seized\x00 on 2 May", "stage": "kept"}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "U+0000" in page
    eio_draft.refresh_from_db()
    assert (eio_draft.data["G"]["facts"], eio_draft.data["G"]["stage"]) == ("", "kept")


def test_a_line_break_is_refused_in_a_one_line_field_and_kept_in_free_text(client_of, eio_draft):
    url = reverse("requests:section", args=[*eio_draft.url_args, "K"])

    response = client_of.post(
        url, {"version": eio_draft.version, "authority_name": "Parquet\r\nde Paris"}
    )

    assert "one-line field" in response.content.decode()
    eio_draft.refresh_from_db()
    assert eio_draft.data["K"]["authority_name"] == ""

    facts = "First line.\r\nSecond line.\tTabbed."
    client_of.post(
        reverse("requests:section", args=[*eio_draft.url_args, "G"]),
        {"version": eio_draft.version, "facts": facts},
    )
    eio_draft.refresh_from_db()
    assert eio_draft.data["G"]["facts"] == facts


def test_section_h_shows_only_the_blocks_of_the_measures_ticked_in_section_c(
    client_of, eio_draft, prosecutor
):
    eio_draft.data["C"] = {"measures": ["bank_accounts"]}
    eio_draft.data["H"] = {"interception_subject": "Typed before the measure was unticked"}
    eio_draft.save()
    url = reverse("requests:section", args=[*eio_draft.url_args, "H"])

    text = client_of.get(url).content.decode()

    assert '<h2 class="block-heading">H4 ' in text
    assert 'name="bank_relevance"' in text
    for other in ("H1", "H2", "H3", "H5", "H6", "H7"):
        assert f'<h2 class="block-heading">{other} ' not in text
    for hidden in ("interception_subject", "remote_hearing_authority", "provisional_item"):
        assert f'name="{hidden}"' not in text
    assert 'name="hearings-rows"' not in text
    assert 'name="bank_operations_period"' not in text  # H5 only: bank operations

    # Saving the section keeps what the hidden blocks held.
    client_of.post(
        url,
        {"version": eio_draft.version, "bank_relevance": "Proceeds laundered", "action": "save"},
    )
    eio_draft.refresh_from_db()
    assert eio_draft.data["H"]["bank_relevance"] == "Proceeds laundered"
    assert eio_draft.data["H"]["interception_subject"] == "Typed before the measure was unticked"

    # The read view (the preview) prints the same blocks.
    preview = client_of.get(reverse("requests:preview", args=[*eio_draft.url_args]))
    printed = preview.content.decode()
    assert 'id="part-H4"' in printed
    assert 'id="part-H7"' not in printed
    assert "Typed before the measure was unticked" not in printed


def test_the_executing_side_reads_only_the_ticked_measures_blocks(client, sent_eio, berlin_staff):
    _issuing, executing = sent_eio
    executing.data["C"] = {"measures": ["interception"]}
    executing.save()
    client.force_login(berlin_staff)

    text = client.get(reverse("requests:section", args=[*executing.url_args, "H"])).content.decode()

    assert '<h2 class="block-heading">H7 ' in text
    assert 'name="interception_subject"' in text
    assert 'name="bank_relevance"' not in text
    assert '<h2 class="block-heading">H4 ' not in text


def test_a_row_just_added_shows_no_error_until_a_save(client_of, eio_draft, prosecutor):
    url = reverse("requests:section", args=[*eio_draft.url_args, "E"])
    request_save_section(
        request=eio_draft,
        actor=prosecutor,
        section_code="E",
        values={"persons": [{"kind": "natural", "surname": ""}]},
        expected_version=eio_draft.version,
    )
    eio_draft.refresh_from_db()
    posted = {
        "version": eio_draft.version,
        "persons-rows": "1",
        "persons-0-kind": "natural",
        "persons-0-surname": "",
    }

    added = client_of.post(url, {**posted, "add_row": "persons"}).content.decode()

    assert 'id="field-E-persons-1-kind"' in added  # the new row is there
    assert 'has-error" id="field-E-persons-1-' not in added
    assert 'has-error" id="field-E-persons-0-status-wrap"' in added  # the typed row's

    eio_draft.refresh_from_db()
    saved = client_of.post(
        url,
        {**posted, "version": eio_draft.version, "persons-rows": "2", "action": "save"},
        follow=True,
    ).content.decode()
    assert 'has-error" id="field-E-persons-1-' in saved


def test_adding_a_row_to_a_section_never_saved_shows_no_error(client_of, eio_draft):
    url = reverse("requests:section", args=[*eio_draft.url_args, "E"])

    page = client_of.post(
        url, {"version": eio_draft.version, "persons-rows": "0", "add_row": "persons"}
    ).content.decode()

    assert 'id="field-E-persons-0-kind"' in page
    assert "has-error" not in page
    assert 'role="alert"' not in page.split('id="section-form"')[1]
