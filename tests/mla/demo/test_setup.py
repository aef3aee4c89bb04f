from pathlib import Path

import pytest
from django.core.management import call_command

from contact_points.models import (
    AcceptedLanguages,
    Authority,
    ContactPerson,
    Country,
    DirectoryChange,
)
from mla.accounts.models import User
from mla.demo.setup import DEMO_PASSWORD, DEMO_USERS
from mla.requests.models import Request

pytestmark = pytest.mark.django_db


def _agents_in(home: Path) -> list[str]:
    """The command lines of running gpg-agents whose home is under ``home``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        line = b" ".join(words).decode(errors="replace")
        if "gpg-agent" in line and str(home) in line:
            found.append(line)
    return found


def test_demo_setup_is_complete_and_a_second_run_adds_nothing(settings, tmp_path, capsys):
    settings.NODE_SECRET_GNUPG_HOME = tmp_path / "secret"

    call_command("demo_setup")
    first_output = capsys.readouterr().out
    counts = (
        Country.objects.count(),
        Authority.objects.count(),
        ContactPerson.objects.count(),
        User.objects.count(),
    )
    fingerprints = dict(Authority.objects.values_list("identifier", "key_fingerprint"))
    # An administrator edits an entry between two runs.
    edited = Authority.objects.get(identifier="de-berlin-prosecutor")
    edited.phone = "+49301234567"
    edited.office_hours = "Mon-Thu 09:00-15:00"
    edited.save()
    private_keys = tmp_path / "secret" / "private-keys-v1.d"
    secret_keys = sorted(path.name for path in private_keys.iterdir())
    call_command("demo_setup")
    second_output = capsys.readouterr().out

    assert counts[0] >= 10
    assert counts[1] >= 10 * 3
    assert counts[3] == len(DEMO_USERS)
    assert all(len(fingerprint) == 40 for fingerprint in fingerprints.values())
    assert len(set(fingerprints.values())) == len(fingerprints)
    assert (
        Country.objects.count(),
        Authority.objects.count(),
        ContactPerson.objects.count(),
        User.objects.count(),
    ) == counts
    assert dict(Authority.objects.values_list("identifier", "key_fingerprint")) == fingerprints
    # The second run leaves the edit, and generates no key.
    edited.refresh_from_db()
    assert (edited.phone, edited.office_hours) == ("+49301234567", "Mon-Thu 09:00-15:00")
    assert "Demo key pairs generated: 0" in second_output
    assert "0 updated" in second_output
    assert (
        sorted(p.name for p in (tmp_path / "secret" / "private-keys-v1.d").iterdir()) == secret_keys
    )
    # And no gpg-agent is left running in the demo's GnuPG homes.
    assert not _agents_in(tmp_path)
    # The node's own keys are not a partner's change: nothing awaits a second approval.
    assert not DirectoryChange.objects.exists()
    assert "Demo users created: 0" in second_output
    assert "Demo draft requests created: 1" in first_output
    assert "Demo draft requests created: 0" in second_output
    assert "Demo history: 0 fictional cases written" in second_output
    assert Request.objects.filter(created_by__username="prosecutor.fr").exists()
    assert DEMO_PASSWORD in first_output
    for demo in DEMO_USERS:
        user = User.objects.get(username=demo.username)
        assert user.check_password(DEMO_PASSWORD)
        assert user.authority.identifier == demo.authority
        assert user.role_names() == {str(role) for role in demo.roles}
    # Every demo country has a central authority, a 24/7 point and judicial authorities.
    for country in Country.objects.all():
        kinds = set(country.authorities.values_list("kind", flat=True))
        assert {"central_authority", "point_24_7"} <= kinds, country.code
        assert (
            country.authorities.filter(
                kind__in=["prosecutor", "court", "investigating_judge"]
            ).count()
            >= 2
        )
    assert Authority.objects.exclude(source__icontains="fictional").count() == 0
    _assert_the_e_evidence_parties_are_there()


def _assert_the_e_evidence_parties_are_there():
    """Service providers in at least three Member States, each with its provider's fields;
    in each of those States an enforcing authority and a central authority under the
    Directive, and the languages its orders are accepted in; the demo's users on each side."""
    providers = Authority.objects.filter(kind="service_provider").select_related("country")
    states = {provider.country.code for provider in providers}
    assert providers.count() >= 5
    assert len(states) >= 3
    for provider in providers:
        provider.full_clean()  # complete: name, services, capacity, 24/7 contact
        assert provider.country.eevidence_bound
        assert provider.instrument_codes == ["epoc", "epoc_pr"]
        assert provider.languages.exists()
        assert provider.inbox_url.startswith("https://")
    assert {provider.provider_designation for provider in providers} == {
        "designated_establishment",
        "legal_representative",
    }
    for code in states:
        country = Country.objects.get(code=code)
        authorities = country.authorities.all()
        assert any(a.is_enforcing_authority for a in authorities), code
        assert authorities.filter(eevidence_central_authority=True).exists(), code
        policies = set(country.accepted_languages.values_list("instrument", flat=True))
        assert {"epoc", "epoc_pr", "epoc_notification"} <= policies, code
    assert not Country.objects.get(code="DK").eevidence_bound
    roles = {
        "provider.nl": ("service_provider", "provider_staff"),
        "provider.de": ("service_provider", "provider_staff"),
        "enforcing.nl": ("central_authority", "central_authority_staff"),
        "judge.fr": ("investigating_judge", "validating_authority"),
        "judge.de": ("court", "validating_authority"),
    }
    for username, (kind, role) in roles.items():
        user = User.objects.get(username=username)
        assert (user.authority.kind, role in user.role_names()) == (kind, True), username
    assert User.objects.get(username="enforcing.nl").authority.is_enforcing_authority


def test_a_demo_set_up_before_the_e_evidence_instruments_gets_their_languages(settings, tmp_path):
    settings.NODE_SECRET_GNUPG_HOME = tmp_path / "secret"
    call_command("demo_setup")
    AcceptedLanguages.objects.filter(instrument__in=["epoc", "epoc_pr"]).delete()
    kept = AcceptedLanguages.objects.get(country__code="NL", instrument="eio")
    kept.languages.set(["nl"])  # edited by an administrator since

    call_command("demo_setup")

    assert AcceptedLanguages.objects.filter(country__code="NL", instrument="epoc").exists()
    assert list(kept.languages.values_list("code", flat=True)) == ["nl"]
