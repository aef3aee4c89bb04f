from collections.abc import Iterator

import pytest
from django.conf import settings
from django.utils import translation

# Fixtures shared by the tests of several folders; each module says what it holds.
pytest_plugins = [
    "tests.support.fixtures.enforcing",
    "tests.support.fixtures.exchange",
    "tests.support.fixtures.keys",
    "tests.support.fixtures.requests",
    "tests.support.fixtures.statistics",
]


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    # A request in French leaves French active in the thread; each test starts in English.
    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    # The rate limits count in the cache: a test never inherits another's requests.
    from django.core.cache import cache

    cache.clear()
