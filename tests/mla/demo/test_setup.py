from pathlib import Path

import pytest
from django.core.management import call_command

from contact_points.models import Authority, ContactPerson, Country, DirectoryChange
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
