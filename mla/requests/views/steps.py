"""A step taken from a request's page: the registry's step reads its form and calls its
service (mla.requests.lifecycle.steps)."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mla.core.edge import errors_as_messages
from mla.core.reauthentication import recent_authentication_required
from mla.requests.lifecycle.steps import RECENT_SIGN_IN_STEPS, STEPS
from mla.requests.views.common import request_or_404, signed_in_user


def _detail_url(request: HttpRequest, issuer: str, reference: str, **kwargs: object) -> str:
    return reverse("requests:detail", kwargs={"issuer": issuer, "reference": reference})


@require_POST
# Sending puts the request abroad under the user's name: it needs a recent sign-in.
@recent_authentication_required(
    when=lambda request, issuer, reference, action: action in RECENT_SIGN_IN_STEPS,
    return_to=_detail_url,
)
def request_transition_view(
    request: HttpRequest, issuer: str, reference: str, action: str
) -> HttpResponse:
    item = request_or_404(request, issuer, reference)
    step = STEPS.get(action)
    if step is None:
        raise Http404
    with errors_as_messages(request):
        step.take(
            request=item, actor=signed_in_user(request), data=request.POST, files=request.FILES
        )
        messages.success(
            request, _("The request is now “%(state)s”.") % {"state": item.get_state_display()}
        )
    return redirect(item)
