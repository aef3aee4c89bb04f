"""The pages of a request as it is drafted and kept: the lists, a new draft, the request's
page, its sections and completeness check, and what is done from the page besides its steps
(duplicate, link, share, supporting documents)."""

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

from contact_points.selectors import authority_recent_key_change
from mla.core.edge import errors_as_messages
from mla.core.errors import ApplicationError
from mla.core.pagination import keyset_page
from mla.core.reauthentication import recent_authentication_required
from mla.instruments.completeness import (
    Problem,
    section_applies,
)
from mla.instruments.declarations import declaration_for
from mla.instruments.labels import label, section_heading
from mla.requests.access import (
    may_edit,
    request_revoke,
    request_rights,
    request_share,
    request_shares,
)
from mla.requests.derived import urgency_with_reason
from mla.requests.documents.eevidence_annexes import (
    ANNEX_III,
    ANNEX_V,
    ANNEX_VI,
    annexes_issued,
)
from mla.requests.drafting.attachments import served_media_type
from mla.requests.drafting.editor import (
    section_controls,
    section_problems_shown,
    section_values_from_post,
    section_values_keep_hidden,
)
from mla.requests.drafting.language import (
    LANGUAGE_PROBLEM_PATH,
    language_name,
    request_language_reason_record,
    request_problems,
    request_section_problems,
    request_translation_attached_set,
    target_language,
    translations_apply,
)
from mla.requests.drafting.services import (
    RequestChanged,
    SectionFieldsRefused,
    attachment_add_uploaded,
    attachment_remove,
    request_create,
    request_duplicate,
    request_link,
    request_save_section,
)
from mla.requests.lifecycle.rules import may_issue
from mla.requests.lifecycle.steps import steps_shown
from mla.requests.models import Request, Urgency
from mla.requests.selectors import (
    TIMELINE_SIZE,
    drafting_authority,
    drafting_countries,
    drafting_country,
    drafting_options,
    incoming_requests,
    other_visible_requests,
    outgoing_requests,
    request_acknowledged,
    request_attachment,
    request_by_typed_reference,
    request_deadlines,
    request_timeline,
    request_visible_links,
    share_target,
)
from mla.requests.views.common import confidential_download_record, request_or_404, signed_in_user

LIST_PAGE_SIZE = 50


def request_list(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    # The interface's language: the one the page is rendered in.
    language = get_language()

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
    country = drafting_country(code=country_code) if country_code else None
    if request.method == "POST":
        code = request.POST.get("declaration", "")
        authority_id = request.POST.get("authority") or None
        with errors_as_messages(request):
            if country is None:
                raise ApplicationError(_("Choose the executing country."))
            authority = (
                drafting_authority(country=country, authority_id=authority_id)
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
            messages.success(
                request, _("Draft %(reference)s created.") % {"reference": created.reference}
            )
            first = declaration_for(created.declaration_code).sections[0].code
            return redirect("requests:section", *created.url_args, first)
    options = (
        drafting_options(user=user, executing_country=country, language=language)
        if country is not None and may_issue(user=user)
        else []
    )
    # The language each request would go in, and why (a warning before the first save when
    # the country accepts no language with a form).
    targets = (
        {
            option.declaration.code: target_language(
                country=country, declaration=option.declaration
            )
            for option in options
            if option.applies
        }
        if country is not None
        else {}
    )
    return render(
        request,
        "requests/new.html",
        {
            "countries": drafting_countries(),
            "country": country,
            "options": options,
            "offers": [(option, targets.get(option.declaration.code)) for option in options],
            "may_issue": may_issue(user=user),
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


def _annex_links(item: Request) -> list[dict[str, str]]:
    """The e-Evidence annexes sent about this certificate so far, to download: on the copy
    of the side that sent each and on the other's."""
    texts = {
        ANNEX_III: _("Download the report that it cannot be executed (Annex III)"),
        ANNEX_V: _("Download the confirmation of the request for production (Annex V)"),
        ANNEX_VI: _("Download the extension of the preservation (Annex VI)"),
    }
    return [
        {"url": reverse(f"requests:{annex}", args=item.url_args), "text": texts[annex]}
        for annex in annexes_issued(request=item)
    ]


def request_detail(request: HttpRequest, issuer: str, reference: str) -> HttpResponse:
    item = request_or_404(request, issuer, reference)
    declaration = declaration_for(item.declaration_code)
    user = signed_in_user(request)
    language = user.preferred_language
    problems = request_problems(request=item) if item.state == Request.State.DRAFT else []
    steps = steps_shown(request=item, user=user)
    urgency, urgency_reason = urgency_with_reason(
        declaration_code=item.declaration_code, data=item.data
    )
    return render(
        request,
        "requests/detail.html",
        {
            "item": item,
            "title": label(declaration.title, item.issuing_language),
            "progress": _progress(item, problems),
            "problems": problems,
            "steps": steps,
            # The likely next step as one clear action; the others each on their own.
            "likely_step": next((step for step in steps if step.likely), None),
            "other_steps": [step for step in steps if not step.likely],
            "urgency": {
                "level": urgency,
                "text": Urgency(urgency).label,
                "reason": urgency_reason,
            },
            "draft": item.state == Request.State.DRAFT,
            "rights": request_rights(request=item, user=user),
            "links": request_visible_links(request=item, user=user),
            "shares": request_shares(request=item),
            "deadlines": request_deadlines(request=item, user=user, language=language),
            "executing_side": item.direction == Request.Direction.INCOMING,
            "recent_key_change": None
            if item.direction == Request.Direction.INCOMING
            else authority_recent_key_change(authority=item.executing_authority),
            "annex_b": item.instrument == "eio" and request_acknowledged(request=item),
            "eevidence_annexes": _annex_links(item),
            "language": _language_context(item, problems),
            "timeline": request_timeline(
                request=item, size=None if request.GET.get("timeline") == "all" else TIMELINE_SIZE
            ),
        },
    )


def _language_context(item: Request, problems: list[Problem]) -> dict[str, Any]:
    """What the request page says of the request's language and its free text's translation."""
    issuing, executing = item.issuing_language, item.executing_language
    choice = (
        target_language(
            country=item.executing_country,
            declaration=declaration_for(item.declaration_code),
            authority=item.executing_authority,
        )
        if item.direction == Request.Direction.OUTGOING
        else None
    )
    return {
        "issuing": language_name(issuing),
        "executing": language_name(executing),
        "why": choice.reason if choice is not None and choice.code == executing else "",
        "problem": next((p for p in problems if p.path == LANGUAGE_PROBLEM_PATH), None),
        "asks_reason": bool(item.language_reason)
        or any(p.path == LANGUAGE_PROBLEM_PATH for p in problems),
        "translations": translations_apply(request=item),
    }


def request_section(
    request: HttpRequest, issuer: str, reference: str, section: str
) -> HttpResponse:
    item = request_or_404(request, issuer, reference)
    declaration = declaration_for(item.declaration_code)
    sections = list(declaration.sections)
    current = next((s for s in sections if s.code == section), None)
    if current is None:
        raise Http404
    values = item.data.get(current.code) or {}
    saved_before = current.code in item.data
    conflict = False
    # A request going out in another language has each free text's translation beside it
    # (read-only, like the rest, on a received copy).
    translation_language = item.executing_language if translations_apply(request=item) else None
    if request.method == "POST":
        values = section_values_keep_hidden(
            section=current,
            data=item.data,
            values=section_values_from_post(
                current, request.POST, translation_language=translation_language
            ),
        )
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
            # Not an error: the page shows both versions and offers to overwrite.
            conflict = True
            messages.warning(request, error.message)
        except SectionFieldsRefused as error:
            # The rest is saved; the page shows every field as typed, each refused one with
            # its reason (the completeness check gives the same), to correct and save again.
            item = error.extra["request"]
            messages.error(request, error.message)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            action = request.POST.get("action", "save")
            if action == "next":
                index = sections.index(current)
                following = [s for s in sections[index + 1 :] if section_applies(s, item.data)]
                if following:
                    return redirect("requests:section", *item.url_args, following[0].code)
                return redirect(item)
            if not request.POST.get("add_row") and not request.POST.get("remove_row"):
                messages.success(request, _("Saved."))
                return redirect("requests:section", *item.url_args, current.code)
    data = {**item.data, current.code: values}
    problems = request_section_problems(request=item, section=current, data=data)
    shown_problems = section_problems_shown(
        problems,
        section=current,
        values=values,
        post=request.POST if request.method == "POST" else None,
        saved_before=saved_before,
    )
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
                translation_language=translation_language,
            ),
            "translation_language": language_name(translation_language)
            if translation_language
            else "",
            "problem_count": len(problems),
            "progress": _progress(item, request_problems(request=item)),
            "conflict": conflict,
            "may_edit": may_edit(request=item, user=signed_in_user(request)),
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


def request_check(request: HttpRequest, issuer: str, reference: str) -> HttpResponse:
    item = request_or_404(request, issuer, reference)
    declaration = declaration_for(item.declaration_code)
    problems = request_problems(request=item)
    language = item.issuing_language
    by_section: dict[str, dict[str, Any]] = {}
    for problem in problems:
        if problem.path == LANGUAGE_PROBLEM_PATH:
            by_section.setdefault(
                "", {"code": "", "title": _("Language of the request"), "rows": []}
            )["rows"].append(
                {
                    "field": _("Language"),
                    "message": problem.message,
                    "href": reverse("requests:detail", args=item.url_args) + "#language",
                }
            )
            continue
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
        if problem.path.endswith(".translation"):
            field_text = _("%(field)s (translation)") % {"field": field_text}
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
                    args=[*item.url_args, section.code],
                )
                + f"#{problem.anchor}",
            }
        )
    return render(
        request,
        "requests/check.html",
        {"item": item, "sections": list(by_section.values()), "count": len(problems)},
    )


@require_POST
def request_duplicate_view(request: HttpRequest, issuer: str, reference: str) -> HttpResponse:
    item = request_or_404(request, issuer, reference)
    shown = item  # the copy once made, else the request itself
    with errors_as_messages(request):
        shown = request_duplicate(request=item, actor=signed_in_user(request))
        messages.success(
            request,
            _("%(new)s is a copy of %(old)s.") % {"new": shown.reference, "old": item.reference},
        )
    return redirect(shown)


@require_POST
# Sharing opens the request to someone else: it needs a recent sign-in (revoking does not).
@recent_authentication_required(
    when=lambda request, issuer, reference, revoke=False: not revoke,
    return_to=lambda request, issuer, reference, revoke=False: reverse(
        "requests:detail", kwargs={"issuer": issuer, "reference": reference}
    ),
)
def request_share_view(
    request: HttpRequest, issuer: str, reference: str, revoke: bool = False
) -> HttpResponse:
    item = request_or_404(request, issuer, reference)
    with errors_as_messages(request):
        target = share_target(
            username=request.POST.get("username", ""),
            identifier=request.POST.get("authority", ""),
        )
        if revoke:
            request_revoke(
                request=item,
                actor=signed_in_user(request),
                user=target.user,
                authority=target.authority,
            )
        else:
            request_share(
                request=item,
                actor=signed_in_user(request),
                edit=request.POST.get("edit") == "1",
                user=target.user,
                authority=target.authority,
            )
        messages.success(request, _("Access revoked.") if revoke else _("Shared."))
    return redirect(item)


@require_POST
def request_link_view(request: HttpRequest, issuer: str, reference: str) -> HttpResponse:
    item = request_or_404(request, issuer, reference)
    target_reference = request.POST.get("target", "").strip()
    target = request_by_typed_reference(user=signed_in_user(request), reference=target_reference)
    with errors_as_messages(request):
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
        messages.success(request, _("Linked to %(reference)s.") % {"reference": target_reference})
    return redirect(item)


@require_POST
def attachment_upload(request: HttpRequest, issuer: str, reference: str) -> HttpResponse:
    item = request_or_404(request, issuer, reference)
    with errors_as_messages(request):
        added = attachment_add_uploaded(
            request=item, actor=signed_in_user(request), upload=request.FILES.get("file")
        )
        messages.success(request, _("Attached %(name)s.") % {"name": added.name})
    return redirect(item)


def attachment_download(
    request: HttpRequest, issuer: str, reference: str, attachment_id: int
) -> FileResponse:
    item = request_or_404(request, issuer, reference)
    attachment = request_attachment(request=item, attachment_id=attachment_id)
    if attachment is None:
        raise Http404
    confidential_download_record(request, item, f"attachment:{attachment.sha256}")
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.name,
        content_type=served_media_type(attachment.media_type),
    )


@require_POST
def attachment_delete(
    request: HttpRequest, issuer: str, reference: str, attachment_id: int
) -> HttpResponse:
    item = request_or_404(request, issuer, reference)
    attachment = request_attachment(request=item, attachment_id=attachment_id)
    if attachment is None:
        raise Http404
    with errors_as_messages(request):
        attachment_remove(attachment=attachment, actor=signed_in_user(request))
    return redirect(item)


@require_POST
def request_language_view(request: HttpRequest, issuer: str, reference: str) -> HttpResponse:
    """Record why the request goes in its language, or how its free text is translated."""
    item = request_or_404(request, issuer, reference)
    user = signed_in_user(request)
    with errors_as_messages(request):
        if "reason" in request.POST:
            request_language_reason_record(
                request=item, actor=user, reason=request.POST.get("reason", "")
            )
            messages.success(request, _("The reason for the request's language is recorded."))
        else:
            attached = request.POST.get("translation_attached") == "1"
            request_translation_attached_set(request=item, actor=user, attached=attached)
            messages.success(
                request,
                _("The translation is to be attached as a document.")
                if attached
                else _("The translation is given beside each free text."),
            )
    return redirect(reverse("requests:detail", args=item.url_args) + "#language")
