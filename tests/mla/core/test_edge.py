"""A refusal of the system, raised in a page's action, becomes a message on the next page."""

import pytest
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory

from mla.core.edge import errors_as_messages
from mla.core.errors import ApplicationError


def _request():
    request = RequestFactory().post("/")
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def _refuse() -> None:
    raise ApplicationError("You may not do this.")


def test_a_refusal_is_shown_and_the_rest_of_the_block_skipped():
    request = _request()
    done = []

    with errors_as_messages(request):
        _refuse()
        done.append("after")

    assert done == []
    assert [(m.level_tag, m.message) for m in get_messages(request)] == [
        ("error", "You may not do this.")
    ]


def test_a_block_that_succeeds_adds_no_error():
    request = _request()

    with errors_as_messages(request):
        result = 42

    assert result == 42
    assert list(get_messages(request)) == []


def test_any_other_error_goes_through():
    request = _request()

    with pytest.raises(ValueError, match="a bug"), errors_as_messages(request):
        raise ValueError("a bug, not a refusal")

    assert list(get_messages(request)) == []
