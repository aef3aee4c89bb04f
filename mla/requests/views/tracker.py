"""The prosecutor's tracker page and its chase action (thin: the work is in tracker.py)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from mla.core.edge import errors_as_messages
from mla.requests.desk.tracker import request_chase, tracker_rows
from mla.requests.views.common import request_or_404, signed_in_user

TRACKER_PAGE_SIZE = 50


@require_GET
def tracker(request: HttpRequest) -> HttpResponse:
    page = tracker_rows(
        user=signed_in_user(request), cursor=request.GET.get("after"), size=TRACKER_PAGE_SIZE
    )
    return render(request, "requests/tracker.html", {"page": page})


@require_POST
def chase(request: HttpRequest, issuer: str, reference: str) -> HttpResponse:
    item = request_or_404(request, issuer, reference)
    with errors_as_messages(request):
        request_chase(
            request=item, actor=signed_in_user(request), note=request.POST.get("note", "")
        )
        messages.success(
            request,
            _("%(reference)s: the executing side was asked where it stands.")
            % {"reference": item.reference},
        )
    return redirect("requests:tracker")
