"""The error pages: 403 and 404 in the site's layout and the user's language; 500 without
the request's context or the database; the favicon every page links."""

import pytest
from django.conf import settings
from django.test import RequestFactory
from django.utils import translation

from mla.core.views import server_error
from tests.support.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.support.error_urls")]


@pytest.fixture
def french_client(client, authorities):
    client.force_login(
        UserFactory(authority=authorities["paris"], roles=["prosecutor"], preferred_language="fr")
    )
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"  # as signing in sets it
    return client


def test_a_missing_page_is_friendly_in_the_layout_and_never_technical(client, authorities):
    client.force_login(UserFactory(authority=authorities["paris"], roles=["prosecutor"]))

    response = client.get("/no-such-page/")

    page = response.content.decode()
    assert response.status_code == 404
    assert 'data-error="404"' in page
    assert "Page not found" in page
    assert 'class="site-header"' in page  # the site's layout, with its navigation
    assert 'href="/requests/"' in page
    assert "URLconf" not in page  # never Django's technical page


def test_the_missing_page_speaks_the_users_language(french_client):
    response = french_client.get("/no-such-page/")

    page = response.content.decode()
    assert response.status_code == 404
    assert '<html lang="fr">' in page
    assert "Page introuvable" in page


def test_a_refused_page_is_friendly_in_the_users_language(french_client):
    response = french_client.get("/test-errors/forbidden/")

    page = response.content.decode()
    assert response.status_code == 403
    assert 'data-error="403"' in page
    assert "Accès refusé" in page
    assert 'class="site-header"' in page


def test_a_broken_page_shows_the_friendly_500_without_the_failure(french_client):
    french_client.raise_request_exception = False

    response = french_client.get("/test-errors/broken/")

    page = response.content.decode()
    assert response.status_code == 500
    assert 'data-error="500"' in page
    assert '<html lang="fr">' in page
    assert "Une erreur s'est produite" in page
    assert "a failure the error page must not show" not in page


def test_the_500_page_needs_neither_the_database_nor_the_request(
    django_assert_num_queries, settings
):
    settings.NODE_NAME = "Test node"
    request = RequestFactory().get("/anything/")  # no user, no session

    with django_assert_num_queries(0), translation.override("en"):
        response = server_error(request)

    page = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in page
    assert "Test node" in page
    assert "/static/core/favicon.svg" in page


def test_the_500_page_still_answers_when_its_template_cannot_be_rendered(settings):
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [], "APP_DIRS": False, "OPTIONS": {}}]

    response = server_error(RequestFactory().get("/"))

    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def test_every_page_of_the_layout_links_the_favicon(client, authorities):
    client.force_login(UserFactory(authority=authorities["paris"], roles=["prosecutor"]))

    page = client.get("/").content.decode()

    assert '<link rel="icon" href="/static/core/favicon.svg" type="image/svg+xml">' in page
