import datetime
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import pycountry
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from contact_points.models import Authority, Country
from mla.accounts.models import User
from mla.core.errors import ApplicationError
from mla.core.pagination import keyset_page
from mla.exchange.selectors import request_messages
from mla.exchange.transfer import may_import
from mla.instruments.completeness import (
    Problem,
    request_completeness,
    section_applies,
    section_problems,
)
from mla.instruments.declarations import declaration_for
from mla.instruments.labels import label, section_heading
from mla.requests.access import may_share, request_revoke, request_share, request_shares
from mla.requests.documents.annex_b import annex_b_content
from mla.requests.documents.rendering import document_context, request_pdf, structured_export
from mla.requests.drafting.editor import section_controls, section_values_from_post
from mla.requests.drafting.services import (
    RequestChanged,
    attachment_add,
    attachment_remove,
    attachment_size_check,
    request_create,
    request_duplicate,
    request_link,
    request_save_section,
)
from mla.requests.lifecycle.executing import (
    forward_choices,
    refusal_grounds,
    request_acknowledge,
    request_ask_information,
    request_assign,
    request_end_preservation,
    request_execute,
    request_extend_preservation,
    request_extend_recognition,
    request_forward,
    request_postpone,
    request_preserve,
    request_recognise,
    request_record_follow_up,
    request_record_information,
    request_record_provisional_decision,
    request_refuse,
    request_resume,
    request_start_execution,
)
from mla.requests.lifecycle.issuing import (
    request_answer_information,
    request_follow_up,
    request_return_for_changes,
    request_send,
    request_submit,
    request_validate,
    request_withdraw,
    validating_authority_choices,
)
from mla.requests.models import Request
from mla.requests.selectors import (
    drafting_options,
    executing_colleagues,
    incoming_requests,
    other_visible_requests,
    outgoing_requests,
    request_actions,
    request_deadlines,
    request_for_user,
)
from mla.requests.views.common import confidential_download_record, request_or_404, signed_in_user

LIST_PAGE_SIZE = 50


def request_list(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    language = user.preferred_language

    def titled(items: Any) -> list[tuple[Request, str]]:
        return [
            (item, label(declaration_for(item.declaration_code).title, language)) for item in items
        ]

    outgoing = keyset_page(
        outgoing_requests(user=user), cursor=request.GET.get("after"), size=LIST_PAGE_SIZE
    )
    incoming = keyset_page(
        incoming_requests(user=user), cursor=request.GET.get("in_after"), size=LIST_PAGE_SIZE
    )
    return render(
        request,
        "requests/list.html",
        {
            "outgoing": outgoing,
            "rows": titled(outgoing.rows),
            "incoming": incoming,
            "incoming_rows": titled(incoming.rows),
            "others": titled(other_visible_requests(user=user, limit=LIST_PAGE_SIZE)),
        },
    )


def request_new(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    language = user.preferred_language
    country_code = request.GET.get("country") or request.POST.get("country") or ""
    country = Country.objects.filter(code=country_code.upper()).first() if country_code else None
    if request.method == "POST":
        code = request.POST.get("declaration", "")
        authority_id = request.POST.get("authority") or None
        try:
            if country is None:
                raise ApplicationError(_("Choose the executing country."))
            authority = (
                Authority.objects.filter(pk=authority_id, country=country).first()
                if authority_id
                else None
            )
            if authority_id and authority is None:
                raise ApplicationError(_("Choose an authority of the executing country."))
            created = request_create(
                actor=user,
                declaration_code=code,
                executing_country=country,
                executing_authority=authority,
            )
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request, _("Draft %(reference)s created.") % {"reference": created.reference}
            )
            first = declaration_for(created.declaration_code).sections[0].code
            return redirect("requests:section", reference=created.reference, section=first)
    options = (
        drafting_options(user=user, executing_country=country, language=language)
        if country is not None
        else []
    )
    return render(
        request,
        "requests/new.html",
        {
            "countries": Country.objects.order_by("name"),
            "country": country,
            "options": options,
        },
    )


def _progress(item: Request, problems: list[Problem]) -> list[dict[str, Any]]:
    """Per section: whether it applies and how many of ``problems`` (the full check) it has."""
    declaration = declaration_for(item.declaration_code)
    language = item.issuing_language
    return [
        {
            "code": section.code,
            "title": section_heading(section.code, label(section.title, language)),
            "applies": section_applies(section, item.data),
            "problems": sum(1 for problem in problems if problem.section == section.code),
        }
        for section in declaration.sections
    ]


def request_detail(request: HttpRequest, reference: str) -> HttpResponse:
    item = request_or_404(request, reference)
    declaration = declaration_for(item.declaration_code)
    user = signed_in_user(request)
    language = user.preferred_language
    actions = request_actions(request=item, user=user)
    problems = (
        request_completeness(declaration=declaration, data=item.data)
        if item.state == Request.State.DRAFT
        else []
    )
    executing_side = item.direction == Request.Direction.INCOMING
    return render(
        request,
        "requests/detail.html",
        {
            "item": item,
            "title": label(declaration.title, item.issuing_language),
            "progress": _progress(item, problems),
            "problems": problems,
            "actions": actions,
            "any_action": any(actions.values()),
            "needs_validation": item.needs_validation,
            "validators": validating_authority_choices(request=item)
            if actions["submit"] and item.needs_validation
            else [],
            "editable": item.state == Request.State.DRAFT,
            "may_share": may_share(request=item, actor=user),
            "shares": request_shares(request=item),
            "deadlines": request_deadlines(request=item, user=user, language=language),
            "executing_side": executing_side,
            "refusal_grounds": refusal_grounds(request=item) if actions.get("refuse") else [],
            "forward_choices": forward_choices(request=item) if actions.get("forward") else [],
            "colleagues": executing_colleagues(request=item) if actions.get("assign") else [],
            "annex_b": item.instrument == "eio"
            and any(entry.event == "acknowledged" for entry in item.audit_entries.all()),
            "exchange": {
                "messages": request_messages(request=item),
                "may_import": may_import(user=user),
            },
        },
    )


def request_section(request: HttpRequest, reference: str, section: str) -> HttpResponse:
    item = request_or_404(request, reference)
    declaration = declaration_for(item.declaration_code)
    sections = list(declaration.sections)
    current = next((s for s in sections if s.code == section), None)
    if current is None:
        raise Http404
    values = item.data.get(current.code) or {}
    conflict = False
    if request.method == "POST":
        values = section_values_from_post(current, request.POST)
        try:
            expected = int(request.POST.get("version", "0"))
        except ValueError:
            expected = 0
        if request.POST.get("overwrite") == "1":
            expected = item.version
        try:
            item = request_save_section(
                request=item,
                actor=signed_in_user(request),
                section_code=current.code,
                values=values,
                expected_version=expected,
            )
        except RequestChanged as error:
            conflict = True
            messages.warning(request, error.message)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            action = request.POST.get("action", "save")
            if action == "next":
                index = sections.index(current)
                following = [s for s in sections[index + 1 :] if section_applies(s, item.data)]
                if following:
                    return redirect(
                        "requests:section", reference=item.reference, section=following[0].code
                    )
                return redirect("requests:detail", reference=item.reference)
            if not request.POST.get("add_row") and not request.POST.get("remove_row"):
                messages.success(request, _("Saved."))
                return redirect("requests:section", reference=item.reference, section=current.code)
    data = {**item.data, current.code: values}
    problems = section_problems(declaration=declaration, section=current, data=data)
    # Before anything is typed, a missing field is not yet an error worth shouting about.
    shown_problems = problems if (request.method == "POST" or current.code in item.data) else []
    return render(
        request,
        "requests/section.html",
        {
            "item": item,
            "section": current,
            "section_title": section_heading(
                current.code, label(current.title, item.issuing_language)
            ),
            "section_help": label(current.help, item.issuing_language) if current.help else "",
            "applies": section_applies(current, data),
            "controls": section_controls(
                section=current,
                data=item.data,
                values=values,
                problems=shown_problems,
                language=item.issuing_language,
            ),
            "problem_count": len(problems),
            "progress": _progress(
                item, request_completeness(declaration=declaration, data=item.data)
            ),
            "conflict": conflict,
            "time_zones": _time_zones(),
            "iso_countries": _iso_countries(),
        },
    )


@lru_cache(maxsize=8)
def _iso_countries_in(language: str) -> list[tuple[str, str]]:
    from contact_points.models import iso_name_translated

    return sorted(
        (
            (country.alpha_2, iso_name_translated("iso3166-1", country.name))
            for country in pycountry.countries
        ),
        key=lambda pair: pair[1],
    )


def _iso_countries() -> list[tuple[str, str]]:
    return _iso_countries_in(get_language() or "en")


@lru_cache(maxsize=1)
def _time_zones() -> list[str]:
    import zoneinfo

    return sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})


def _text(request: HttpRequest, name: str) -> str:
    return str(request.POST.get(name, "")).strip()


def _days(request: HttpRequest) -> int:
    try:
        return int(request.POST.get("days", ""))
    except ValueError:
        raise ApplicationError(_("Give the number of days as a whole number.")) from None


def _date(request: HttpRequest, name: str) -> datetime.date | None:
    value = _text(request, name)
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ApplicationError(_("Give the date as YYYY-MM-DD.")) from None


def _submit(request: HttpRequest, item: Request, actor: User, expected: str | None) -> None:
    authority_id = request.POST.get("validating_authority") or None
    choices = {str(a.pk): a for a in validating_authority_choices(request=item)}
    if authority_id and authority_id not in choices:
        raise ApplicationError(_("Choose a validating authority from the list."))
    request_submit(
        request=item,
        actor=actor,
        expected_state=expected,
        validating_authority=choices.get(authority_id or ""),
    )


def _assign(request: HttpRequest, item: Request, actor: User, expected: str | None) -> None:
    username = _text(request, "assignee")
    assignee = None
    if username == "me":
        assignee = actor
    elif username:
        assignee = User.objects.filter(username=username, authority=actor.authority).first()
        if assignee is None:
            raise ApplicationError(_("There is no colleague with that username."))
    request_assign(request=item, actor=actor, assignee=assignee, expected_state=expected)


def _follow_up(request: HttpRequest, item: Request, actor: User, expected: str | None) -> None:
    target = request_for_user(user=actor, reference=_text(request, "follow_up"))
    if target is None:
        raise ApplicationError(_("There is no request of yours with that reference."))
    request_follow_up(request=item, actor=actor, follow_up=target, expected_state=expected)


def _forward(request: HttpRequest, item: Request, actor: User, expected: str | None) -> None:
    choices = {str(a.pk): a for a in forward_choices(request=item)}
    target = choices.get(str(request.POST.get("authority", "")))
    if target is None:
        raise ApplicationError(_("Choose the competent authority from the list."))
    request_forward(
        request=item, actor=actor, to=target, note=_text(request, "note"), expected_state=expected
    )


Step = Callable[[HttpRequest, Request, User, str | None], object]

# Each step of the page, reading its form fields and calling its service.
STEPS: dict[str, Step] = {
    "submit": _submit,
    "validate": lambda r, item, user, expected: request_validate(
        request=item, actor=user, expected_state=expected, note=_text(r, "note")
    ),
    "return_for_changes": lambda r, item, user, expected: request_return_for_changes(
        request=item, actor=user, expected_state=expected, note=_text(r, "note")
    ),
    "send": lambda r, item, user, expected: request_send(
        request=item, actor=user, expected_state=expected
    ),
    "answer_information": lambda r, item, user, expected: request_answer_information(
        request=item, actor=user, note=_text(r, "note"), expected_state=expected
    ),
    "follow_up": _follow_up,
    "withdraw": lambda r, item, user, expected: request_withdraw(
        request=item, actor=user, expected_state=expected, note=_text(r, "note")
    ),
    "acknowledge": lambda r, item, user, expected: request_acknowledge(
        request=item, actor=user, expected_state=expected, note=_text(r, "note")
    ),
    "assign": _assign,
    "recognise": lambda r, item, user, expected: request_recognise(
        request=item, actor=user, expected_state=expected, note=_text(r, "note")
    ),
    "start_execution": lambda r, item, user, expected: request_start_execution(
        request=item, actor=user, expected_state=expected, note=_text(r, "note")
    ),
    "execute": lambda r, item, user, expected: request_execute(
        request=item, actor=user, expected_state=expected, note=_text(r, "note")
    ),
    "execute_partially": lambda r, item, user, expected: request_execute(
        request=item, actor=user, partially=True, expected_state=expected, note=_text(r, "note")
    ),
    "refuse": lambda r, item, user, expected: request_refuse(
        request=item,
        actor=user,
        ground=_text(r, "ground"),
        motivation=_text(r, "motivation"),
        expected_state=expected,
    ),
    "postpone": lambda r, item, user, expected: request_postpone(
        request=item,
        actor=user,
        ground=_text(r, "ground"),
        until=_date(r, "until"),
        expected_state=expected,
    ),
    "resume": lambda r, item, user, expected: request_resume(
        request=item, actor=user, expected_state=expected, note=_text(r, "note")
    ),
    "request_information": lambda r, item, user, expected: request_ask_information(
        request=item, actor=user, question=_text(r, "note"), expected_state=expected
    ),
    "receive_information": lambda r, item, user, expected: request_record_information(
        request=item, actor=user, note=_text(r, "note"), expected_state=expected
    ),
    "forward": _forward,
    "extend_recognition": lambda r, item, user, expected: request_extend_recognition(
        request=item, actor=user, days=_days(r), reason=_text(r, "reason")
    ),
    "provisional_decision": lambda r, item, user, expected: request_record_provisional_decision(
        request=item, actor=user, note=_text(r, "note")
    ),
    "preserve": lambda r, item, user, expected: request_preserve(
        request=item, actor=user, expected_state=expected, note=_text(r, "note")
    ),
    "extend_preservation": lambda r, item, user, expected: request_extend_preservation(
        request=item, actor=user, days=_days(r), reason=_text(r, "reason"), expected_state=expected
    ),
    "record_follow_up": lambda r, item, user, expected: request_record_follow_up(
        request=item, actor=user, note=_text(r, "note"), expected_state=expected
    ),
    "end_preservation": lambda r, item, user, expected: request_end_preservation(
        request=item, actor=user, note=_text(r, "note"), expected_state=expected
    ),
}


@require_POST
def request_transition_view(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    item = request_or_404(request, reference)
    step = STEPS.get(action)
    if step is None:
        raise Http404
    try:
        step(request, item, signed_in_user(request), request.POST.get("expected_state") or None)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("The request is now “%(state)s”.") % {"state": item.get_state_display()}
        )
    return redirect("requests:detail", reference=item.reference)


def request_annex_b(request: HttpRequest, reference: str) -> HttpResponse:
    """The EIO's Annex B acknowledgement of receipt, once acknowledged."""
    item = request_or_404(request, reference)
    content = annex_b_content(request=item)
    if content is None:
        raise Http404
    confidential_download_record(request, item, "annex_b")
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{item.reference}-annex-b.pdf"'
    return response


def request_check(request: HttpRequest, reference: str) -> HttpResponse:
    item = request_or_404(request, reference)
    declaration = declaration_for(item.declaration_code)
    problems = request_completeness(declaration=declaration, data=item.data)
    language = item.issuing_language
    by_section: dict[str, dict[str, Any]] = {}
    for problem in problems:
        section = next(s for s in declaration.sections if s.code == problem.section)
        entry = by_section.setdefault(
            section.code,
            {
                "code": section.code,
                "title": section_heading(section.code, label(section.title, language)),
                "rows": [],
            },
        )
        field_text = label(problem.label, language)
        if problem.row is not None:
            field_text = _("%(field)s (row %(number)d)") % {
                "field": field_text,
                "number": problem.row + 1,
            }
        entry["rows"].append(
            {
                "field": field_text,
                "message": problem.message,
                "href": reverse(
                    "requests:section",
                    kwargs={"reference": item.reference, "section": section.code},
                )
                + f"#{problem.anchor}",
            }
        )
    return render(
        request,
        "requests/check.html",
        {"item": item, "sections": list(by_section.values()), "count": len(problems)},
    )


def request_preview(request: HttpRequest, reference: str) -> HttpResponse:
    item = request_or_404(request, reference)
    context = document_context(request=item)
    context["for_screen"] = True
    return render(request, "requests/document.html", context)


def request_pdf_download(request: HttpRequest, reference: str) -> HttpResponse:
    item = request_or_404(request, reference)
    confidential_download_record(request, item, "pdf")
    response = HttpResponse(request_pdf(request=item), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{item.reference}.pdf"'
    return response


def request_json_download(request: HttpRequest, reference: str) -> HttpResponse:
    item = request_or_404(request, reference)
    confidential_download_record(request, item, "json")
    response = HttpResponse(structured_export(request=item), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{item.reference}.json"'
    return response


@require_POST
def request_duplicate_view(request: HttpRequest, reference: str) -> HttpResponse:
    item = request_or_404(request, reference)
    try:
        duplicate = request_duplicate(request=item, actor=signed_in_user(request))
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("requests:detail", reference=item.reference)
    messages.success(
        request,
        _("%(new)s is a copy of %(old)s.") % {"new": duplicate.reference, "old": item.reference},
    )
    return redirect("requests:detail", reference=duplicate.reference)


def _share_target(request: HttpRequest) -> dict[str, Any]:
    username = request.POST.get("username", "").strip()
    identifier = request.POST.get("authority", "").strip()
    if username:
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise ApplicationError(_("No user “%(name)s” on this node.") % {"name": username})
        return {"user": user}
    if identifier:
        authority = Authority.objects.filter(identifier=identifier, active=True).first()
        if authority is None:
            raise ApplicationError(
                _("No authority “%(identifier)s” in the directory.") % {"identifier": identifier}
            )
        return {"authority": authority}
    raise ApplicationError(_("Name a colleague (username) or an authority (identifier)."))


@require_POST
def request_share_view(request: HttpRequest, reference: str, revoke: bool = False) -> HttpResponse:
    item = request_or_404(request, reference)
    try:
        target = _share_target(request)
        if revoke:
            request_revoke(request=item, actor=signed_in_user(request), **target)
        else:
            request_share(request=item, actor=signed_in_user(request), **target)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Access revoked.") if revoke else _("Shared."))
    return redirect("requests:detail", reference=item.reference)


@require_POST
def request_link_view(request: HttpRequest, reference: str) -> HttpResponse:
    item = request_or_404(request, reference)
    target_reference = request.POST.get("target", "").strip()
    target = request_for_user(user=signed_in_user(request), reference=target_reference)
    try:
        if target is None:
            raise ApplicationError(
                _("No request %(reference)s among yours.") % {"reference": target_reference}
            )
        request_link(
            request=item,
            target=target,
            actor=signed_in_user(request),
            note=request.POST.get("note", ""),
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Linked to %(reference)s.") % {"reference": target_reference})
    return redirect("requests:detail", reference=item.reference)


@require_POST
def attachment_upload(request: HttpRequest, reference: str) -> HttpResponse:
    item = request_or_404(request, reference)
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise ApplicationError(_("Choose a file to attach."))
        # Refused before it is read into memory; the service checks the bytes again.
        attachment_size_check(name=upload.name or "document", size=upload.size or 0)
        attachment_add(
            request=item,
            actor=signed_in_user(request),
            name=upload.name or "document",
            content=upload.read(),
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Attached %(name)s.") % {"name": upload.name})
    return redirect("requests:detail", reference=item.reference)


def attachment_download(request: HttpRequest, reference: str, attachment_id: int) -> FileResponse:
    item = request_or_404(request, reference)
    attachment = item.attachments.filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404
    confidential_download_record(request, item, f"attachment:{attachment.sha256}")
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.name,
        content_type=attachment.media_type,
    )


@require_POST
def attachment_delete(request: HttpRequest, reference: str, attachment_id: int) -> HttpResponse:
    item = request_or_404(request, reference)
    attachment = item.attachments.filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404
    try:
        attachment_remove(attachment=attachment, actor=signed_in_user(request))
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("requests:detail", reference=item.reference)
