import pytest
from django.contrib.auth.models import Group, Permission

from mla.accounts.signals import roles_sync

pytestmark = pytest.mark.django_db


def test_the_roles_get_their_permissions_even_before_the_permissions_exist():
    # After a fresh migrate or a flush this receiver may run before Django creates the
    # permissions (its app is listed first): it creates them itself.
    Permission.objects.filter(codename="issue_request").delete()

    roles_sync()

    prosecutors = Group.objects.get(name="prosecutor")
    assert prosecutors.permissions.filter(codename="issue_request").exists()
    assert (
        Group.objects.get(name="investigator").permissions.filter(codename="issue_request").exists()
    )
