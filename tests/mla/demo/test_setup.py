import pytest
from django.core.management import call_command

from contact_points.models import Authority, ContactPerson, Country, DirectoryChange
from mla.accounts.models import User
from mla.demo.setup import DEMO_PASSWORD, DEMO_USERS
from mla.requests.models import Request

pytestmark = pytest.mark.django_db


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
    # The node's own keys are not a partner's change: nothing awaits a second approval.
    assert not DirectoryChange.objects.exists()
    assert "Demo users created: 0" in second_output
    assert "Demo draft requests created: 1" in first_output
    assert "Demo draft requests created: 0" in second_output
    assert Request.objects.get().created_by.username == "prosecutor.fr"
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
