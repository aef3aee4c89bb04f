"""The partners pages: hand out this node's signed introduction, take a partner's in, compare
it with the directory side by side and propose the fingerprints confirmed over the phone.
Thin: each view checks who asks, then calls mla.exchange.introduction; the four-eyes
approval stays on the directory's approval page."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from contact_points.models import DirectoryChange
from contact_points.services import directory_change_approve, directory_change_reject
from mla.accounts.models import User
from mla.core.edge import errors_as_messages
from mla.core.errors import ApplicationError
from mla.core.reauthentication import recent_authentication_required
from mla.exchange.introduction import (
    MAX_INTRODUCTION_BYTES,
    IntroductionError,
    hosted_authorities,
    introduction_compare,
    introduction_export,
    introduction_file_name,
    introduction_propose,
    introduction_read,
    introduction_take_in,
    may_introduce,
)
from mla.exchange.models import IntroductionConfirmation, PartnerIntroduction
from mla.requests.views.common import signed_in_user


def _introducer(request: HttpRequest) -> User:
    user = signed_in_user(request)
    if not may_introduce(user):
        raise PermissionDenied
    return user


def partners(request: HttpRequest) -> HttpResponse:
    """Download our introduction; upload a partner's; the introductions taken in so far."""
    _introducer(request)
    taken_in = PartnerIntroduction.objects.select_related("taken_in_by").prefetch_related(
        "confirmations__authority", "confirmations__change", "confirmations__confirmed_by"
    )[:20]
    return render(
        request,
        "exchange/partners.html",
        {
            "introductions": taken_in,
            "max_bytes": MAX_INTRODUCTION_BYTES,
            # What this administrator reads aloud to the partner over the phone.
            "hosted": hosted_authorities(),
        },
    )


def introduction_download(request: HttpRequest) -> HttpResponse:
    """Our signed introduction, as a file to send to the partner."""
    _introducer(request)
    try:
        content = introduction_export()
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("exchange:partners")
    response = HttpResponse(content, content_type="application/json")
    response["Content-Disposition"] = content_disposition_header(True, introduction_file_name())
    return response


@require_POST
def introduction_upload(request: HttpRequest) -> HttpResponse:
    """Verify a partner's introduction and keep it for review; nothing is pinned yet."""
    user = _introducer(request)
    upload: UploadedFile | None = request.FILES.get("file")
    try:
        if upload is None:
            raise IntroductionError(_("Choose the partner's introduction file."))
        if (upload.size or 0) > MAX_INTRODUCTION_BYTES:
            raise IntroductionError(_("The file is too large to be an introduction."))
        taken_in = introduction_take_in(content=upload.read(MAX_INTRODUCTION_BYTES + 1), actor=user)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("exchange:partners")
    return redirect("exchange:partner_review", introduction_id=taken_in.pk)


def _review_page(request: HttpRequest, introduction_id: int) -> str:
    return reverse("exchange:partner_review", args=[introduction_id])


# Proposing puts a partner's key on the way to being pinned: a recent sign-in, as approving.
@recent_authentication_required(return_to=_review_page)
def introduction_review(request: HttpRequest, introduction_id: int) -> HttpResponse:
    """The file beside our directory; tick the fingerprints read aloud, and propose them."""
    user = _introducer(request)
    taken_in = get_object_or_404(PartnerIntroduction, pk=introduction_id)
    if request.method == "POST":
        with errors_as_messages(request):
            confirmations = introduction_propose(
                introduction=taken_in,
                confirmed=request.POST.getlist("confirmed"),
                spoke_with=request.POST.get("spoke_with", ""),
                actor=user,
            )
            proposed = [c.authority.name for c in confirmations if c.change is not None]
            messages.success(
                request,
                _(
                    "Proposed: %(authorities)s. Another administrator must approve each change "
                    "before the key is pinned."
                )
                % {"authorities": ", ".join(proposed) or "—"},
            )
        return redirect("exchange:partner_review", introduction_id=taken_in.pk)
    context: dict[str, object] = {"taken_in": taken_in}
    try:
        introduction = introduction_read(content=bytes(taken_in.content))
    except ApplicationError as error:
        # Valid when taken in, refused now: a key expired, or an entry became ours.
        context["refused"] = error.message
    else:
        context["introduction"] = introduction
        context["rows"] = introduction_compare(introduction=introduction)
    context["confirmations"] = taken_in.confirmations.select_related(
        "authority", "change", "confirmed_by"
    )
    return render(request, "exchange/partner_review.html", context)


def _introduced_change(request: HttpRequest, change_id: int) -> DirectoryChange:
    return get_object_or_404(
        DirectoryChange.objects.select_related("authority"),
        pk=change_id,
        origin=DirectoryChange.Origin.INTRODUCTION,
    )


def _confirmation_page(request: HttpRequest, change_id: int) -> str:
    confirmation = IntroductionConfirmation.objects.filter(change_id=change_id).first()
    if confirmation is None:
        return reverse("exchange:partners")
    return reverse("exchange:partner_review", args=[confirmation.introduction_id])


# The second pair of eyes, for a node administrator who does not use the administration:
# the same service and the same rule as the directory's approval page.
@require_POST
@recent_authentication_required(return_to=_confirmation_page)
def introduced_change_decide(request: HttpRequest, change_id: int) -> HttpResponse:
    user = _introducer(request)
    change = _introduced_change(request, change_id)
    with errors_as_messages(request):
        if request.POST.get("decision") == "approve":
            directory_change_approve(change=change, actor=user)
            messages.success(
                request,
                _("The new key or inbox URL of %(authority)s is now in force.")
                % {"authority": change.authority.name},
            )
        else:
            directory_change_reject(change=change, actor=user)
            messages.success(
                request,
                _(
                    "The change to %(authority)s was rejected; its key and inbox URL stay as "
                    "they are."
                )
                % {"authority": change.authority.name},
            )
    return redirect(_confirmation_page(request, change_id))
