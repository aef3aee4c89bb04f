from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from mla.accounts.models import User
from mla.core.errors import ApplicationError
from mla.notifications.forms import EmailPreferencesForm
from mla.notifications.selectors import (
    email_kinds_for_user,
    notification_for_user,
    notifications_for_user,
)
from mla.notifications.services import (
    email_preferences_set,
    notification_mark_all_read,
    notification_mark_read,
)

PAGE_SIZE = 25


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def inbox(request: HttpRequest) -> HttpResponse:
    page = Paginator(notifications_for_user(user=_user(request)), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "notifications/inbox.html", {"page": page})


@require_POST
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    user = _user(request)
    notification = notification_for_user(user=user, notification_id=notification_id)
    if notification is None:
        raise Http404
    notification_mark_read(notification=notification, actor=user)
    # The stored link is checked again: only a page of this site is followed.
    if notification.safe_url:
        return HttpResponseRedirect(notification.safe_url)
    return redirect("notifications:inbox")


@require_POST
def notifications_mark_all_read(request: HttpRequest) -> HttpResponse:
    marked = notification_mark_all_read(actor=_user(request))
    messages.success(
        request,
        ngettext(
            "%(count)d notification marked as read.",
            "%(count)d notifications marked as read.",
            marked,
        )
        % {"count": marked},
    )
    return redirect("notifications:inbox")


def email_preferences(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if request.method == "POST":
        form = EmailPreferencesForm(request.POST)
        if form.is_valid():
            try:
                email_preferences_set(user=user, kinds=form.cleaned_data["kinds"])
            except ApplicationError as error:
                form.add_error("kinds", error.message)
            else:
                messages.success(request, _("Your e-mail preferences are saved."))
                return redirect("notifications:preferences")
    else:
        form = EmailPreferencesForm(initial={"kinds": sorted(email_kinds_for_user(user=user))})
    return render(
        request, "notifications/preferences.html", {"form": form, "has_email": bool(user.email)}
    )
