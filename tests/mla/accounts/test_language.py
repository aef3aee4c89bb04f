import pytest
from django.conf import settings
from django.urls import reverse

from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_login_page_switches_to_french_without_login(client):
    response = client.post(
        reverse("accounts:language"),
        {"language": "fr", "next": reverse("accounts:login")},
    )

    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
    page = client.get(reverse("accounts:login")).content.decode()
    assert "Se connecter" in page
    assert 'lang="fr"' in page


def test_switching_language_is_remembered_for_the_user(client):
    user = UserFactory(preferred_language="en")
    client.force_login(user)

    client.post(reverse("accounts:language"), {"language": "fr", "next": "/"})

    user.refresh_from_db()
    assert user.preferred_language == "fr"


def test_an_unsupported_language_changes_nothing(client):
    user = UserFactory(preferred_language="en")
    client.force_login(user)

    client.post(reverse("accounts:language"), {"language": "xx", "next": "/"})

    user.refresh_from_db()
    assert user.preferred_language == "en"


def test_switching_to_german_is_remembered_for_the_user(client):
    user = UserFactory(preferred_language="en")
    client.force_login(user)

    client.post(reverse("accounts:language"), {"language": "de", "next": "/"})

    user.refresh_from_db()
    assert user.preferred_language == "de"
    assert "Abmelden" in client.get("/").content.decode()
