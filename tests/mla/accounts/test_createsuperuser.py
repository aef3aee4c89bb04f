"""`createsuperuser` on a node that is not the demo: the authority is named by its directory
identifier (it crashed with any answer before)."""

import pytest
from django.core.management import CommandError, call_command

from mla.accounts.models import User
from tests.support.factories import AuthorityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def authority():
    return AuthorityFactory(identifier="fr-paris-prosecutor", name="Parquet de Paris")


def test_a_superuser_is_created_without_input_for_an_authority_named_by_identifier(
    authority, monkeypatch
):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long and unusual passphrase 7")

    call_command(
        "createsuperuser",
        interactive=False,
        username="root",
        email="root@node.example",
        authority="fr-paris-prosecutor",
        verbosity=0,
    )

    root = User.objects.get(username="root")
    assert root.is_superuser
    assert root.is_staff
    assert root.authority == authority
    assert root.check_password("a long and unusual passphrase 7")
    # In its authority's groups, like any user of it.
    assert root.groups.filter(name="authority:fr-paris-prosecutor").exists()


def test_the_authority_may_come_from_the_environment_or_as_a_primary_key(authority, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long and unusual passphrase 7")
    monkeypatch.setenv("DJANGO_SUPERUSER_AUTHORITY", "fr-paris-prosecutor")
    call_command(
        "createsuperuser", interactive=False, username="one", email="1@x.example", verbosity=0
    )
    monkeypatch.delenv("DJANGO_SUPERUSER_AUTHORITY")
    call_command(
        "createsuperuser",
        interactive=False,
        username="two",
        email="2@x.example",
        authority=str(authority.pk),
        verbosity=0,
    )

    assert {user.authority for user in User.objects.filter(username__in=["one", "two"])} == {
        authority
    }


def test_an_unknown_authority_is_refused_with_a_reason_and_no_user(authority, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long and unusual passphrase 7")

    with pytest.raises(CommandError, match="No authority “fr-nowhere” in the directory"):
        call_command(
            "createsuperuser",
            interactive=False,
            username="root",
            email="root@node.example",
            authority="fr-nowhere",
            verbosity=0,
        )

    assert not User.objects.filter(username="root").exists()


def test_interactively_the_authority_is_asked_by_identifier_until_one_exists(
    authority, monkeypatch, capsys
):
    import getpass

    answers = iter(["root", "root@node.example", "fr-nowhere", "fr-paris-prosecutor"])
    prompts: list[str] = []

    def answer(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr("builtins.input", answer)
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": "a long and unusual passphrase 7")
    monkeypatch.setattr(
        "django.contrib.auth.management.commands.createsuperuser.getpass.getpass",
        lambda prompt="": "a long and unusual passphrase 7",
    )

    call_command("createsuperuser", interactive=True, stdin=_Terminal(), verbosity=0)

    assert User.objects.get(username="root").authority == authority
    assert "Authority (its identifier in the directory): " in prompts
    assert "No authority “fr-nowhere” in the directory" in capsys.readouterr().err


class _Terminal:
    """A standard input that says it is a terminal, as createsuperuser requires."""

    def isatty(self) -> bool:
        return True
