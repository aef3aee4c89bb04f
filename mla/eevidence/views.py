"""The request page's form for a transmission made by other means (Art. 19(6)): its own
URL under the request, apart from the steps."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mla.accounts.models import User
from mla.core.edge import errors_as_messages
from mla.eevidence.forms import OtherMeansTransmissionForm
from mla.eevidence.services import transmission_by_other_means_record
from mla.requests.selectors import request_for_user


@require_POST
def other_means_record(request: HttpRequest, issuer: str, reference: str) -> HttpResponse:
    user = request.user
    if not isinstance(user, User):
        raise Http404
    item = request_for_user(user=user, issuer=issuer, reference=reference)
    if item is None:
        raise Http404
    form = OtherMeansTransmissionForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            for error in errors:
                messages.error(request, f"{label}: {error}" if label else str(error))
    else:
        data = form.cleaned_data
        with errors_as_messages(request):
            transmission_by_other_means_record(
                request=item,
                actor=user,
                transmitted_at=data["transmitted_at"],
                place=data["place"],
                recipient=data["recipient"],
                size_bytes=data["size_bytes"],
                item=data["item"],
                note=data["note"],
            )
            messages.success(request, _("Transmission by other means recorded."))
    return redirect("requests:detail", *item.url_args)
