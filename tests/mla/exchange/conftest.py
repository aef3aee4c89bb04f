import pytest


@pytest.fixture(autouse=True)
def _exchange_homes(exchange_homes: None) -> None:
    """Every exchange test runs with the session's keys in this node's GnuPG homes
    (tests/support/fixtures/exchange.py)."""
