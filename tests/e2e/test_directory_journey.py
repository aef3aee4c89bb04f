import re

import pytest
from playwright.sync_api import Page, expect

from contact_points.services import authority_set_public_key
from tests.support.factories import TEST_PASSWORD, AuthorityFactory, CountryFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def directory(openpgp_keys):
    romania = CountryFactory(code="RO", name="Romania")
    france = CountryFactory(code="FR", name="France")
    point = AuthorityFactory(
        identifier="ro-247-point",
        name="Romanian cybercrime 24/7 point",
        country=romania,
        kind="point_24_7",
        available_24_7=True,
        time_zone="Europe/Bucharest",
        office_hours="",
        languages=["en", "ro"],
        instruments=["preservation"],
    )
    authority_set_public_key(authority=point, armored=openpgp_keys.valid)
    AuthorityFactory(
        identifier="ro-bucharest-prosecutor",
        name="Bucharest prosecutor",
        country=romania,
        kind="prosecutor",
        instruments=["eio", "mla"],
    )
    prosecutor_office = AuthorityFactory(
        identifier="fr-paris",
        name="Parquet de Paris",
        country=france,
        kind="prosecutor",
        time_zone="Europe/Paris",
    )
    return {"point": point, "home": prosecutor_office}


def test_a_prosecutor_logs_in_and_finds_the_247_point_of_romania(
    live_server, page: Page, directory, openpgp_keys
):
    user = UserFactory(username="camille", authority=directory["home"])

    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")

    page.get_by_role("link", name="Directory").first.click()
    page.get_by_label("Country").select_option("RO")
    page.get_by_label("Kind").select_option("point_24_7")
    page.get_by_role("button", name="Search").click()

    expect(page.get_by_role("status")).to_have_text("1 authority found")
    row = page.get_by_role("row").filter(has_text="Romanian cybercrime 24/7 point")
    expect(row).to_contain_text("Europe/Bucharest")
    expect(row).to_contain_text(re.compile(r"UTC\+0[23]:00"))

    row.get_by_role("link", name="Romanian cybercrime 24/7 point").click()
    fingerprint = openpgp_keys.valid_fingerprint
    grouped = " ".join(fingerprint[i : i + 4] for i in range(0, 40, 4))
    expect(page.locator("code.fingerprint")).to_have_text(grouped)
    expect(page.get_by_text("Open now (24/7)")).to_be_visible()


def test_a_wrong_password_shows_an_error_and_keeps_the_username(live_server, page: Page):
    user = UserFactory(username="someone")

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    expect(page.get_by_label("Username")).to_have_value("someone")


def test_a_name_with_a_direction_override_cannot_reorder_the_words_around_it(
    live_server, page: Page, directory
):
    # "\u202eexe.png" is an authority name typed to read backwards; in its link it must stay
    # an island: the badge after it keeps its place on the line.
    AuthorityFactory(
        identifier="ro-override",
        name="\u202egnp.exe Office",
        country=directory["point"].country,
        kind="prosecutor",
    )
    user = UserFactory(username="camille", authority=directory["home"])
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{live_server.url}/directory/?country=RO")
    link = page.get_by_role("link", name=re.compile("gnp.exe"))

    expect(link).to_have_css("unicode-bidi", "isolate")
    for inline in ("strong", "span", "code", "time", "label"):
        style = page.evaluate(
            "tag => { const e = document.createElement(tag); document.body.append(e);"
            " const s = getComputedStyle(e).unicodeBidi; e.remove(); return s; }",
            inline,
        )
        assert style == "isolate", inline
