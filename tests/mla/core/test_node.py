import pytest

from mla.core.errors import ApplicationError
from mla.core.models import NodeIdentity
from mla.core.node import node_identity, node_identity_set

pytestmark = pytest.mark.django_db


def test_a_node_has_no_identity_until_it_is_named() -> None:
    assert node_identity() is None


def test_naming_the_node_again_keeps_one_row_without_the_trailing_slash() -> None:
    node_identity_set(name="Ministry node", base_url="https://mla.example.org/")
    node_identity_set(name="Ministry of Justice node", base_url="https://mla.example.org/")

    identity = node_identity()
    assert identity is not None
    assert (identity.name, identity.base_url) == (
        "Ministry of Justice node",
        "https://mla.example.org",
    )
    assert NodeIdentity.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "base_url"), [("", "https://mla.example.org"), ("Node", "mla.example.org")]
)
def test_a_node_without_a_name_or_a_web_address_is_refused(name: str, base_url: str) -> None:
    with pytest.raises(ApplicationError):
        node_identity_set(name=name, base_url=base_url)
    assert node_identity() is None


def test_an_append_only_record_is_neither_changed_nor_deleted() -> None:
    from mla.accounts.models import SecurityEvent, SecurityEventKind

    event = SecurityEvent.objects.create(
        username="alice", kind=SecurityEventKind.SIGNED_IN_WITH_SECOND_FACTOR
    )
    event.username = "mallory"
    with pytest.raises(ValueError, match="Account security events are append-only"):
        event.save()
    with pytest.raises(ValueError, match="Account security events are append-only"):
        event.delete()
    assert SecurityEvent.objects.get().username == "alice"
