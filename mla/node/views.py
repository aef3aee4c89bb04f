from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from mla.accounts.models import User
from mla.node.selectors import OperationsNotAllowed, operations_overview


@never_cache
@require_GET
def operations(request: HttpRequest) -> HttpResponse:
    """The node's running, for its administrators; other users get a page not found, as for
    the other pages that are not theirs."""
    assert isinstance(request.user, User)  # signed in: the login middleware saw to it
    try:
        overview = operations_overview(user=request.user)
    except OperationsNotAllowed as error:
        raise Http404(error.message) from error
    return render(request, "node/operations.html", {"overview": overview})
