import importlib

import pytest
from django.urls import clear_url_caches

import mla.urls
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def debug_urls(settings, tmp_path):
    """The URLs as the embedded default (DEBUG on) builds them, uploads kept in tmp_path."""
    settings.DEBUG = True
    settings.MEDIA_ROOT = tmp_path
    importlib.reload(mla.urls)
    clear_url_caches()
    yield tmp_path
    settings.DEBUG = False
    importlib.reload(mla.urls)
    clear_url_caches()


def test_uploaded_files_have_no_url_even_under_debug(client, debug_urls):
    stored = debug_urls / "attachments" / "ab" / "abcdef.pdf"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"%PDF-1.7 another authority's evidence")
    client.force_login(UserFactory())

    response = client.get("/media/attachments/ab/abcdef.pdf")

    assert response.status_code == 404
    assert b"evidence" not in response.content


# Who reaches the pages that run a node: one row a role, as the services decide (account
# administration, partners, operations). Anonymous users are sent to sign in.
# Page: (the roles it serves, what the others get: 404 where the page's very existence is
# the administrators' business, 403 where, like the other directory pages, it is known).
ADMINISTRATION_PAGES = {
    "/accounts/users/": ({"account_administrator", "node_administrator"}, 404),
    "/accounts/users/invite/": ({"account_administrator", "node_administrator"}, 404),
    "/exchange/partners/": ({"directory_administrator", "node_administrator"}, 403),
    "/node/operations/": ({"node_administrator"}, 404),
}
ROLES = [
    "prosecutor",
    "investigator",
    "validating_authority",
    "contact_point_staff",
    "central_authority_staff",
    "directory_administrator",
    "auditor",
    "supervisor",
    "account_administrator",
    "node_administrator",
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", sorted(ADMINISTRATION_PAGES))
def test_the_pages_that_run_a_node_answer_only_the_roles_that_run_it(client, role, path):
    client.force_login(UserFactory(roles=[role]))

    response = client.get(path)

    allowed, refused = ADMINISTRATION_PAGES[path]
    expected = 200 if role in allowed else refused
    assert response.status_code == expected, (role, path, response.status_code)


@pytest.mark.parametrize("path", sorted(ADMINISTRATION_PAGES))
def test_the_pages_that_run_a_node_send_a_stranger_to_sign_in(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
