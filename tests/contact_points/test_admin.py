import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contact_points.models import Authority, DirectoryChange
from contact_points.services import directory_change_approve
from mla.accounts.roles import Role
from tests.support.factories import AuthorityFactory, CountryFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def directory_admin(client):
    user = UserFactory(roles=[Role.DIRECTORY_ADMINISTRATOR])
    client.force_login(user)
    return user


def _change_form_data(authority, **overrides):
    data = {
        "identifier": authority.identifier,
        "name": authority.name,
        "name_local": "",
        "country": authority.country_id,
        "kind": authority.kind,
        "parent": "",
        "postal_address": "",
        "phone": "",
        "email": "",
        "time_zone": authority.time_zone,
        "office_hours": "",
        "languages": [],
        "instruments": [],
        "inbox_url": "",
        "public_key": "",
        "active": "on",
        "source": "",
        "contacts-TOTAL_FORMS": "0",
        "contacts-INITIAL_FORMS": "0",
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    "role",
    [Role.PROSECUTOR, Role.CONTACT_POINT_STAFF, Role.AUDITOR, Role.CENTRAL_AUTHORITY_STAFF],
)
def test_only_directory_administrators_edit(client, role):
    authority = AuthorityFactory()
    user = UserFactory(roles=[role])
    user.is_staff = True  # even with admin access, the role's permissions decide
    user.save()
    client.force_login(user)
    url = reverse("admin:contact_points_authority_change", args=[authority.pk])

    response = client.post(url, _change_form_data(authority, name="Hijacked"))

    assert response.status_code in (302, 403)
    authority.refresh_from_db()
    assert authority.name != "Hijacked"


def test_non_staff_users_are_sent_to_the_admin_login(client):
    client.force_login(UserFactory(roles=[Role.PROSECUTOR]))

    response = client.get(reverse("admin:contact_points_authority_changelist"))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_a_directory_administrator_edits_and_history_records_who(client, directory_admin):
    authority = AuthorityFactory()
    url = reverse("admin:contact_points_authority_change", args=[authority.pk])

    response = client.post(
        url,
        _change_form_data(
            authority,
            name="Renamed office",
            office_hours="Mon-Fri 09:00-17:00",
            phone="+40 21 123 4567",
            instruments=["mla", "eio"],
        ),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    authority.refresh_from_db()
    assert authority.name == "Renamed office"
    assert authority.phone == "+40211234567"
    assert authority.instrument_codes == ["eio", "mla"]
    latest = authority.history.first()
    assert latest.history_user == directory_admin
    assert latest.name == "Renamed office"


def test_the_admin_computes_the_fingerprint_from_a_pasted_key(
    client, directory_admin, openpgp_keys
):
    authority = AuthorityFactory()
    url = reverse("admin:contact_points_authority_change", args=[authority.pk])

    client.post(url, _change_form_data(authority, public_key=openpgp_keys.valid))
    # A change of key takes effect once a second administrator approves it.
    change = DirectoryChange.objects.get(authority=authority)
    assert change.new_fingerprint == openpgp_keys.valid_fingerprint
    directory_change_approve(change=change, actor=UserFactory(roles=[Role.DIRECTORY_ADMINISTRATOR]))

    authority.refresh_from_db()
    assert authority.key_fingerprint == openpgp_keys.valid_fingerprint
    assert authority.key_algorithm == "EdDSA ed25519"


@pytest.mark.parametrize(
    ("key_name", "message"),
    [("secret", "This is a secret key"), ("expired", "has expired"), ("revoked", "revoked")],
)
def test_the_admin_refuses_bad_keys_with_a_clear_message(
    client, directory_admin, openpgp_keys, key_name, message
):
    authority = AuthorityFactory()
    url = reverse("admin:contact_points_authority_change", args=[authority.pk])

    response = client.post(
        url, _change_form_data(authority, public_key=getattr(openpgp_keys, key_name))
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["public_key"]
    assert message in errors[0]
    authority.refresh_from_db()
    assert authority.key_fingerprint == ""


def test_the_admin_refuses_bad_office_hours_and_time_zones(client, directory_admin):
    authority = AuthorityFactory()
    url = reverse("admin:contact_points_authority_change", args=[authority.pk])

    response = client.post(
        url, _change_form_data(authority, office_hours="Fri-Mon 9-5", time_zone="Europe/Atlantis")
    )

    form = response.context["adminform"].form
    assert "office_hours" in form.errors
    assert "time_zone" in form.errors


def test_the_stale_filter(client, directory_admin):
    AuthorityFactory(name="Never verified")
    AuthorityFactory(name="Verified today", last_verified_at="2999-01-01")

    response = client.get(reverse("admin:contact_points_authority_changelist"), {"stale": "yes"})

    names = {a.name for a in response.context["cl"].result_list}
    assert "Never verified" in names
    assert "Verified today" not in names


def test_mark_verified_action_records_date_and_person(client, directory_admin):
    authority = AuthorityFactory()

    client.post(
        reverse("admin:contact_points_authority_changelist"),
        {"action": "mark_verified", "_selected_action": [authority.pk]},
    )

    authority.refresh_from_db()
    assert authority.last_verified_at is not None
    assert directory_admin.last_name in authority.last_verified_by


def test_import_through_the_admin_reports_problems_and_writes_nothing(client, directory_admin):
    CountryFactory(code="RO")
    upload = SimpleUploadedFile(
        "directory.csv", b"identifier,country,name,kind\nro-x,RO,X,wizard\n", "text/csv"
    )

    response = client.post(reverse("admin:contact_points_authority_import"), {"file": upload})

    assert response.status_code == 200
    assert "line 2:" in response.content.decode()
    assert not Authority.objects.filter(identifier="ro-x").exists()


def test_export_then_import_through_the_admin(client, directory_admin):
    AuthorityFactory(identifier="ro-a")
    exported = client.get(reverse("admin:contact_points_authority_export", args=["json"]))
    document = json.loads(exported.content)
    document["authorities"][0]["name"] = "Changed by file"
    upload = SimpleUploadedFile("directory.json", json.dumps(document).encode())

    response = client.post(reverse("admin:contact_points_authority_import"), {"file": upload})

    assert response.status_code == 302
    assert Authority.objects.get(identifier="ro-a").name == "Changed by file"


def test_prosecutors_cannot_import(client):
    user = UserFactory(roles=[Role.PROSECUTOR])
    user.is_staff = True
    user.save()
    client.force_login(user)
    upload = SimpleUploadedFile("d.csv", b"identifier,country,name,kind\n")

    response = client.post(reverse("admin:contact_points_authority_import"), {"file": upload})

    assert response.status_code == 403


def test_the_admin_refuses_a_control_character_in_a_name_and_a_line_break_in_a_one_line_field(
    client, directory_admin
):
    authority = AuthorityFactory(name="Parquet de Paris")
    url = reverse("admin:contact_points_authority_change", args=[authority.pk])

    response = client.post(
        url,
        _change_form_data(
            authority,
            # An escape sequence that clears a terminal showing the log or an export.
            name="Parquet\x1b[2J de Paris",
            source="EJN Atlas\r\n2026",
            postal_address="1 rue de la Cité\r\n75004 Paris",
        ),
    )

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "U+001B" in form.errors["name"][0]
    assert "one-line" in form.errors["source"][0]
    assert "postal_address" not in form.errors
    authority.refresh_from_db()
    assert authority.name == "Parquet de Paris"


def test_saving_an_authority_changes_only_what_was_edited_whatever_the_line_ends(
    client, directory_admin, openpgp_keys
):
    from django.contrib.admin.models import LogEntry

    from contact_points.services import authority_apply_key_info
    from mla.openpgp.keys import public_key_inspect

    authority = AuthorityFactory(
        postal_address="1 Demo Street\n10559 Berlin\nGermany", phone="+49300000001"
    )
    authority_apply_key_info(
        authority=authority, key=public_key_inspect(armored=openpgp_keys.valid)
    )
    authority.save()
    stored_key = authority.public_key
    url = reverse("admin:contact_points_authority_change", args=[authority.pk])

    # What a browser sends back: the text areas' lines ended by CRLF, the phone edited.
    response = client.post(
        url,
        _change_form_data(
            authority,
            postal_address="1 Demo Street\r\n10559 Berlin\r\nGermany",
            public_key=stored_key.replace("\n", "\r\n"),
            office_hours=authority.office_hours,
            reference_code=authority.reference_code,
            phone="+49300000002",
        ),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    authority.refresh_from_db()
    assert authority.postal_address == "1 Demo Street\n10559 Berlin\nGermany"
    assert authority.public_key == stored_key
    assert authority.phone == "+49300000002"
    # Nothing else is recorded as changed: no key change to approve, and the history and
    # the admin's log name the phone only.
    assert not DirectoryChange.objects.filter(authority=authority).exists()
    latest = authority.history.first()
    assert latest.diff_against(latest.prev_record).changed_fields == ["phone"]
    logged = json.loads(LogEntry.objects.latest("action_time").change_message)
    assert logged == [{"changed": {"fields": ["Phone"]}}]


def test_the_language_lists_read_as_django_writes_them(client, directory_admin):
    from django.contrib.admin.widgets import FilteredSelectMultiple

    from contact_points.models import Language
    from contact_points.widgets import QuickFilteredSelectMultiple

    choices = [(language.code, language.name) for language in Language.objects.order_by("name")]
    ours, django = (
        widget("languages", False, attrs={"id": "id_languages"}, choices=choices)
        for widget in (QuickFilteredSelectMultiple, FilteredSelectMultiple)
    )
    chosen = ["de", "fr"]

    assert len(choices) > 100
    html = ours.render("languages", chosen, attrs={"id": "id_languages"})
    assert html == django.render("languages", chosen, attrs={"id": "id_languages"})
    assert '<option value="de" selected>' in html
    awkward = [("a&b", 'Say "<hi>"'), ("c", "plain")]
    assert QuickFilteredSelectMultiple("x", False, choices=awkward).render(
        "x", ["a&b"]
    ) == FilteredSelectMultiple("x", False, choices=awkward).render("x", ["a&b"])


def test_an_authoritys_change_form_keeps_its_languages_and_contacts_editable(
    client, directory_admin
):
    from tests.support.factories import ContactPersonFactory

    authority = AuthorityFactory(languages=["de", "en"])
    ContactPersonFactory(authority=authority)

    page = client.get(
        reverse("admin:contact_points_authority_change", args=[authority.pk])
    ).content.decode()

    assert '<select name="languages" ' in page
    assert '<option value="de" selected>' in page
    assert '<option value="fr">' in page
    assert 'name="contacts-0-languages"' in page
    assert 'class="selectfilter"' in page


def test_an_authoritys_change_form_costs_the_same_queries_for_1_or_5_contact_persons(
    client, directory_admin
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.support.factories import ContactPersonFactory

    authority = AuthorityFactory(languages=["de"])
    url = reverse("admin:contact_points_authority_change", args=[authority.pk])
    ContactPersonFactory(authority=authority).languages.set(["en"])

    def counted():
        client.get(url)  # what a first request caches is not counted
        with CaptureQueriesContext(connection) as captured:
            page = client.get(url).content.decode()
        return len(captured.captured_queries), page

    few, _page = counted()
    for _ in range(4):
        ContactPersonFactory(authority=authority).languages.set(["fr"])

    many, page = counted()

    assert many == few
    assert page.count('name="contacts-') > 5 * 5
    assert page.count('<option value="fr" selected>') == 4
    assert page.count('<option value="en" selected>') == 1


# --- Service providers and the e-Evidence flag -----------------------------------------------


def test_the_country_list_shows_and_filters_the_e_evidence_flag(client, directory_admin):
    CountryFactory(code="NL", name="Netherlands", eevidence_bound=True)
    CountryFactory(code="DK", name="Denmark", eevidence_bound=False)

    response = client.get(
        reverse("admin:contact_points_country_changelist"), {"eevidence_bound__exact": "1"}
    )

    assert [country.code for country in response.context["cl"].result_list] == ["NL"]


def _provider_form_data(authority, **overrides):
    provider = {
        "kind": "service_provider",
        "instruments": ["epoc", "epoc_pr"],
        "provider_name": "Example Mail Ltd",
        "provider_services": ["electronic_communications", "information_society"],
        "provider_designation": "legal_representative",
        "emergency_phone": "+353 1 555 0100",
        "emergency_email": "emergency@example-mail.example",
    }
    return _change_form_data(authority, **{**provider, **overrides})


def test_a_directory_administrator_records_a_service_provider(client, directory_admin):
    ireland = CountryFactory(code="IE", name="Ireland", eevidence_bound=True)
    authority = AuthorityFactory(country=ireland, kind="service_provider")
    url = reverse("admin:contact_points_authority_change", args=[authority.pk])

    response = client.get(url)
    assert "Service provider (e-Evidence addressee)" in response.content.decode()
    response = client.post(url, _provider_form_data(authority))

    assert response.status_code == 302, response.context["adminform"].form.errors
    authority.refresh_from_db()
    assert authority.provider_name == "Example Mail Ltd"
    assert authority.provider_services == ["electronic_communications", "information_society"]
    assert authority.provider_designation == "legal_representative"
    assert authority.emergency_phone == "+35315550100"
    assert authority.instrument_codes == ["epoc", "epoc_pr"]


def test_the_admin_refuses_a_provider_without_its_fields_or_outside_the_regulation(
    client, directory_admin
):
    denmark = CountryFactory(code="DK", name="Denmark", eevidence_bound=False)
    authority = AuthorityFactory(country=denmark, kind="service_provider")
    url = reverse("admin:contact_points_authority_change", args=[authority.pk])

    response = client.post(
        url, _provider_form_data(authority, provider_name="", emergency_email="")
    )

    errors = response.context["adminform"].form.errors
    assert "provider_name" in errors
    assert "emergency_email" in errors
    assert "does not take part in the e-Evidence Regulation" in str(errors["instruments"])
    authority.refresh_from_db()
    assert authority.provider_name == ""
    assert authority.instrument_codes == []


def test_the_admin_refuses_provider_fields_and_orders_on_a_prosecutor(client, directory_admin):
    authority = AuthorityFactory()
    url = reverse("admin:contact_points_authority_change", args=[authority.pk])

    response = client.post(
        url,
        _change_form_data(authority, instruments=["eio", "epoc"], provider_name="Example Mail"),
    )

    errors = response.context["adminform"].form.errors
    assert "provider_name" in errors
    assert "only an entry of kind" in str(errors["instruments"])
