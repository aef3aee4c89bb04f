"""What the views about a request share at the edge: the signed-in user, the request they
see or a 404 (exactly as for a reference that does not exist), and the record of a
confidential download."""

from django.http import Http404, HttpRequest

from mla.accounts.models import User
from mla.requests.drafting import services
from mla.requests.models import Request
from mla.requests.selectors import request_for_user


def signed_in_user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def request_or_404(request: HttpRequest, issuer: str, reference: str) -> Request:
    found = request_for_user(user=signed_in_user(request), issuer=issuer, reference=reference)
    if found is None:
        raise Http404
    return found


def confidential_download_record(request: HttpRequest, item: Request, what: str) -> None:
    """A download of a confidential request is an act of record (who took a copy, when)."""
    services.confidential_download_record(
        request=item, actor=signed_in_user(request), document=what
    )
