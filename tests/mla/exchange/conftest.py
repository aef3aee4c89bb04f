import pytest

from contact_points.models import Authority
from mla.accounts.models import User
from mla.accounts.roles import Role
from mla.exchange import tasks
from tests.support.factories import UserFactory
from tests.support.introductions import our_node, partner_introduction


@pytest.fixture(autouse=True)
def _exchange_homes(exchange_homes: None) -> None:
    """Every exchange test runs with the session's keys in this node's GnuPG homes
    (tests/support/fixtures/exchange.py)."""


@pytest.fixture(autouse=True)
def _media(settings, tmp_path) -> None:
    """Files stored or received by a test go to its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def queued(monkeypatch) -> list[str]:
    """Message ids handed to Celery (nothing reaches a broker)."""
    ids: list[str] = []
    monkeypatch.setattr(tasks.outbox_deliver_task, "delay", ids.append)
    return ids


@pytest.fixture
def introduction_file(settings, exchange_keys) -> bytes:
    """The partner node's introduction (tests/support/introductions.py), made before this
    node's own entries exist."""
    return partner_introduction(settings, exchange_keys)


@pytest.fixture
def introduced_node(settings, exchange_keys, introduction_file) -> Authority:
    """This node, hosting aa-sender, with the partner's introduction file in hand."""
    return our_node(settings, exchange_keys)


@pytest.fixture
def directory_administrator(introduced_node) -> User:
    return UserFactory(
        username="alice", authority=introduced_node, roles=[Role.DIRECTORY_ADMINISTRATOR]
    )


@pytest.fixture
def node_administrator(introduced_node) -> User:
    return UserFactory(username="bob", authority=introduced_node, roles=[Role.NODE_ADMINISTRATOR])
