"""The incoming queue, the shift view, and the steps taken from them (claim, release, bulk
acknowledge, handover note). Thin: each reads its form and calls a service or selector."""

import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mla.accounts.decorators import session_idle_untouched
from mla.accounts.models import User
from mla.core.edge import errors_as_messages
from mla.instruments.declarations import DECLARATIONS, declaration_for
from mla.instruments.labels import label
from mla.requests.deadlines.engine import format_remaining, in_zone
from mla.requests.desk.queue import (
    QueueFilters,
    may_read_queue,
    queue_changes,
    queue_page,
    received_request_for_user,
    request_claim,
    request_handover_note_set,
    request_release,
    requests_acknowledge_bulk,
    shift_view,
    urgency_reasons,
)
from mla.requests.lifecycle.rules import QUEUE_WORKER_ROLES
from mla.requests.models import Request, Urgency


def _reader(request: HttpRequest) -> User:
    """Staff of the authority, its supervisors and auditors; for anyone else it does not
    exist."""
    user = request.user
    assert isinstance(user, User)
    if not may_read_queue(user=user):
        raise Http404
    return user


def _urgency_labels() -> dict[int, str]:
    """Urgency names translated once per page: get_FOO_display translates every choice on
    each call, which over a page of rows costs more than its queries."""
    return {value: str(text) for value, text in Urgency.choices}


def _row(
    item: Request,
    user: User,
    now: datetime.datetime,
    urgency_labels: dict[int, str] | None = None,
    reasons: dict[int, tuple[int, str]] | None = None,
) -> dict[str, Any]:
    language = get_language()
    urgencies = urgency_labels or _urgency_labels()
    level, reason = (reasons or {}).get(item.pk, (Urgency.NORMAL, ""))
    nearest = next(
        (
            d
            for d in sorted(item.deadlines.all(), key=lambda d: d.due_at)
            if d.due_at == item.next_due_at
        ),
        None,
    )
    requester = item.issuing_authority
    there = in_zone(item.next_due_at, requester.time_zone or "UTC") if item.next_due_at else None
    return {
        "item": item,
        # In the request's own words: an EPOC's data are produced, not "executed".
        "state": item.get_state_display(),
        # Only where the instrument or the issuer says so, with the reason why.
        "urgency": urgencies[level] if reason else "",
        "urgency_reason": reason,
        "urgency_level": level,
        "title": label(declaration_for(item.declaration_code).title, language),
        "deadline": label(nearest.label, language) if nearest else "",
        "remaining": format_remaining(due_at=item.next_due_at, now=now) if item.next_due_at else "",
        "overdue": bool(item.next_due_at and item.next_due_at < now),
        "due_here": in_zone(item.next_due_at, user.zone) if item.next_due_at else None,
        "due_there": there,
        "zone_there": requester.time_zone or "UTC",
        "office_hours": requester.office_hours,
    }


def _instruments(language: str) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for declaration in DECLARATIONS.values():
        # A variant travels as its own instrument only when it is never drafted (the EPOC's
        # copy for the enforcing authority): the others share their original's.
        if declaration.variant_of is None or not declaration.drafted:
            seen.setdefault(declaration.directory_instrument, label(declaration.title, language))
    return sorted(seen.items())


# The page's own refresh after a poll (?partial=1) is timer-driven too: it must not keep the
# session alive.
@session_idle_untouched(when=lambda request: bool(request.GET.get("partial")))
def queue(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    filters = QueueFilters.from_query(request.GET)
    page = queue_page(user=user, filters=filters, cursor=request.GET.get("after"))
    urgency_labels = _urgency_labels()
    reasons = urgency_reasons(rows=page.rows)
    query = request.GET.copy()
    query.pop("after", None)
    query.pop("partial", None)
    context = {
        "page": page,
        "rows": [_row(item, user, page.now, urgency_labels, reasons) for item in page.rows],
        "filters": filters,
        "query": query.urlencode(),
        "states": [(v, lbl) for v, lbl in Request.State.choices if v not in ("draft",)],
        "instruments": _instruments(get_language()),
        "may_act": any(user.has_role(role) for role in QUEUE_WORKER_ROLES),
        "latest": queue_changes(user=user, since=None).latest,
        "QUEUE_POLL_SECONDS": settings.QUEUE_POLL_SECONDS,
    }
    template = "requests/_queue_rows.html" if request.GET.get("partial") else "requests/queue.html"
    return render(request, template, context)


@session_idle_untouched
def queue_changes_view(request: HttpRequest) -> JsonResponse:
    user = _reader(request)
    since_text = request.GET.get("since", "")
    try:
        since = datetime.datetime.fromisoformat(since_text) if since_text else None
    except ValueError:
        since = None
    if since is not None and since.tzinfo is None:
        since = None
    now = timezone.now()
    changes = queue_changes(user=user, since=since)
    return JsonResponse(
        {"latest": changes.latest, "urgent": changes.urgent, "now": now.isoformat()}
    )


def shift(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    view = shift_view(user=user)
    now = timezone.now()
    urgency_labels = _urgency_labels()
    return render(
        request,
        "requests/shift.html",
        {
            "view": view,
            "groups": [
                (
                    _("Overdue"),
                    view.overdue_count,
                    [_row(i, user, now, urgency_labels) for i in view.overdue],
                ),
                (
                    _("Due within 24 hours"),
                    view.due_soon_count,
                    [_row(i, user, now, urgency_labels) for i in view.due_soon],
                ),
                (
                    _("Not taken by anyone"),
                    view.unassigned_count,
                    [_row(i, user, now, urgency_labels) for i in view.unassigned],
                ),
                (
                    _("Taken, with who holds them"),
                    view.taken_count,
                    [_row(i, user, now, urgency_labels) for i in view.taken],
                ),
            ],
        },
    )


def _back(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("requests:queue")


def _item(request: HttpRequest, issuer: str, reference: str) -> tuple[User, Request]:
    user = request.user
    assert isinstance(user, User)
    item = received_request_for_user(user=user, issuer=issuer, reference=reference)
    if item is None:
        raise Http404
    return user, item


@require_POST
def claim(request: HttpRequest, issuer: str, reference: str) -> HttpResponse:
    user, item = _item(request, issuer, reference)
    with errors_as_messages(request):
        request_claim(request=item, actor=user)
        messages.success(request, _("You hold %(reference)s.") % {"reference": reference})
    return _back(request)


@require_POST
def release(request: HttpRequest, issuer: str, reference: str) -> HttpResponse:
    user, item = _item(request, issuer, reference)
    with errors_as_messages(request):
        request_release(request=item, actor=user)
        messages.success(
            request, _("%(reference)s is back in the queue.") % {"reference": reference}
        )
    return _back(request)


@require_POST
def handover(request: HttpRequest, issuer: str, reference: str) -> HttpResponse:
    user, item = _item(request, issuer, reference)
    with errors_as_messages(request):
        request_handover_note_set(request=item, actor=user, note=request.POST.get("note", ""))
        messages.success(request, _("Handover note saved."))
    return _back(request)


@require_POST
def acknowledge_bulk(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    copies = [key for key in request.POST.getlist("copy") if key]
    if not copies:
        messages.error(request, _("Tick the requests to acknowledge."))
        return _back(request)
    outcomes = requests_acknowledge_bulk(copies=copies, actor=user)
    done = [o.reference for o in outcomes if not o.error]
    if done:
        messages.success(
            request, _("Acknowledged: %(references)s.") % {"references": ", ".join(done)}
        )
    for outcome in outcomes:
        if outcome.error:
            messages.error(request, f"{outcome.reference}: {outcome.error}")
    return _back(request)
