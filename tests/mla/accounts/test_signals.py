import pytest
from django.contrib.auth.models import Group, Permission

from mla.accounts.roles import Role
from mla.accounts.signals import roles_sync
from tests.support.factories import UserFactory

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


@pytest.mark.parametrize(
    ("role", "node_administrator", "account_administrator"),
    [
        (Role.NODE_ADMINISTRATOR, True, True),
        (Role.ACCOUNT_ADMINISTRATOR, False, True),
        (Role.DIRECTORY_ADMINISTRATOR, False, False),
    ],
)
def test_the_administration_roles_say_what_their_holder_runs(
    role: Role, node_administrator: bool, account_administrator: bool
) -> None:
    user = UserFactory(roles=[role])
    assert user.is_node_administrator is node_administrator
    assert user.is_account_administrator is account_administrator
    user.is_active = False
    assert not user.is_node_administrator
    assert not user.is_account_administrator
