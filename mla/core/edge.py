"""What every page that takes an action does at the edge: a refusal of the system is shown
to the person who asked, on the page they go back to."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.contrib import messages
from django.http import HttpRequest

from mla.core.errors import ApplicationError


@contextmanager
def errors_as_messages(request: HttpRequest) -> Iterator[None]:
    """Run the block; an ApplicationError it raises becomes an error message for the next
    page, and the rest of the block (its success message, its own answer) is skipped.

    The view answers after the block, for both outcomes::

        with errors_as_messages(request):
            request_claim(request=item, actor=user)
            messages.success(request, _("You hold it."))
        return redirect("requests:queue")
    """
    try:
        yield
    except ApplicationError as error:
        messages.error(request, error.message)
