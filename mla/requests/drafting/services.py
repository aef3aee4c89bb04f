"""Write-side services of requests: create, save a section, duplicate, link, attach."""

import copy
import hashlib
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contact_points.instruments import instrument_applicability
from contact_points.models import Authority, Country
from mla.accounts.models import User
from mla.core.errors import ApplicationError
from mla.instruments.completeness import (
    Problem,
    section_refusals,
    shown_name,
    values_without_refused,
)
from mla.instruments.declarations import declaration_for
from mla.instruments.labels import has_language, label
from mla.instruments.prefill import prefill_data
from mla.requests.access import (
    edit_refusal,
    may_duplicate,
    request_grant_authority,
    visible_requests,
)
from mla.requests.audit import audit_record
from mla.requests.derived import request_derived_refresh
from mla.requests.drafting.attachments import document_type_check
from mla.requests.drafting.language import (
    request_language_reason_record,
    request_translation_attached_set,
    target_language,
)
from mla.requests.events import Event
from mla.requests.lifecycle.rules import may_issue
from mla.requests.models import Attachment, Request, RequestLink, canonical_json
from mla.requests.references import reference_next
from mla.requests.selectors import receiving_authorities


class RequestChanged(ApplicationError):
    """The request was saved elsewhere (another tab, a colleague) since this page was loaded."""

    default_code = "stale"


class SectionFieldsRefused(ApplicationError):
    """Some fields of a section could not be stored (too long, a control character, a line
    break in a one-line field); the rest of the section was saved.

    ``extra["request"]`` is the request as saved, ``extra["problems"]`` the refused fields
    (mla.instruments.completeness.Problem), so that the page shows the typing back with
    each field's reason and nothing typed is lost.
    """

    default_code = "fields_refused"


@transaction.atomic
def request_create(
    *,
    actor: User,
    declaration_code: str,
    executing_country: Country,
    executing_authority: Authority | None = None,
    copy_of: Request | None = None,
    issuing_language: str | None = None,
    executing_language: str | None = None,
) -> Request:
    """A new draft of ``declaration_code`` in the actor's authority's name.

    A declaration that is never drafted (the EPOC's copy for the enforcing authority) is
    made only by the system, as ``copy_of`` the request of which it is a variant.

    It is written in the actor's language and goes in the first language the executing
    side accepts (drafting.language.target_language), unless ``issuing_language`` and
    ``executing_language`` say otherwise (a request made again from another's data, in
    its languages); the completeness check then asks why a language the executing side
    does not accept is used.
    """
    declaration = declaration_for(declaration_code)
    for chosen in (issuing_language, executing_language):
        if chosen is not None and not has_language(chosen):
            raise ApplicationError(
                _("There is no form in the language “%(code)s”.") % {"code": shown_name(chosen)},
                code="unknown_language",
            )
    made_by_system = copy_of is not None and declaration.variant_of == copy_of.declaration_code
    if not declaration.drafted and not made_by_system:
        raise ApplicationError(
            _("%(type)s is made by the system when the request it copies is sent.")
            % {"type": label(declaration.title, actor.preferred_language)}
        )
    issuing = actor.authority
    if not may_issue(user=actor):
        raise ApplicationError(
            _(
                "Only a prosecutor (or another role allowed to issue) drafts requests in the "
                "name of %(authority)s."
            )
            % {"authority": issuing.name},
            code="forbidden",
        )
    applicability = instrument_applicability(
        instrument=declaration.directory_instrument,
        issuing=issuing.country,
        executing=executing_country,
    )
    if not applicability.applies:
        raise ApplicationError(str(applicability.reason))
    if issuing.kind not in declaration.issuer_kinds:
        raise ApplicationError(
            _("%(authority)s (%(kind)s) cannot issue this kind of request.")
            % {"authority": issuing.name, "kind": issuing.get_kind_display()}
        )
    if (
        executing_authority is not None
        and not receiving_authorities(country=executing_country, declaration=declaration)
        .filter(pk=executing_authority.pk)
        .exists()
    ):
        raise ApplicationError(
            _("%(authority)s does not receive this kind of request in %(country)s.")
            % {"authority": executing_authority.name, "country": executing_country.name}
        )
    request = Request.objects.create(
        # Numbered in the issuing authority's own sequence (mla.requests.references).
        reference=reference_next(
            authority=issuing,
            declaration_code=declaration.code,
            year=timezone.now().year,
        ),
        declaration_code=declaration.code,
        issuing_authority=issuing,
        executing_country=executing_country,
        executing_authority=executing_authority,
        created_by=actor,
        issuing_language=issuing_language
        or (actor.preferred_language if has_language(actor.preferred_language) else "en"),
        executing_language=executing_language
        or target_language(
            country=executing_country, declaration=declaration, authority=executing_authority
        ).code,
    )
    request.data = prefill_data(
        declaration=declaration,
        issuing=issuing,
        executing_country=executing_country,
        executing_authority=executing_authority,
        actor=actor,
        reference=request.reference,
    )
    request.save(update_fields=["data"])
    request_derived_refresh(request=request, created=True)
    request_grant_authority(request=request, authority=issuing)
    audit_record(
        request=request,
        actor=actor,
        event=Event.CREATED,
        to_state=request.state,
        payload={"type": declaration.code, "executing_country": executing_country.code},
    )
    return request


@transaction.atomic
def request_create_from_data(
    *,
    actor: User,
    declaration_code: str,
    executing_country: Country,
    executing_authority: Authority | None,
    data: Mapping[str, Any],
    issuing_language: str | None = None,
    executing_language: str | None = None,
    translation_attached: bool | None = None,
    language_reason: str | None = None,
    data_sha256: str | None = None,
) -> Request:
    """A new draft holding ``data``, a request's sections as its JSON download gives them
    (documents.rendering.structured_export): made as the new-request page makes it, then
    each section given stored as the section's page stores it, its language choices as the
    request's page records them.

    Nothing is made when a field of any section cannot be stored: SectionFieldsRefused
    lists them all at once (``extra["problems"]``), so that a program fixes its data in one
    go; nor when ``data_sha256`` (the download's digest of its data) is not theirs: the
    file was changed or cut short.
    """
    declaration = declaration_for(declaration_code)
    sections = {section.code: section for section in declaration.sections}
    refused: list[Problem] = []
    for code, values in data.items():
        section = sections.get(code)
        if section is None:
            refused.append(
                Problem(
                    shown_name(code),
                    shown_name(code),
                    shown_name(code),
                    _("This request has no section %(code)s.") % {"code": shown_name(code)},
                    code="unknown_section",
                )
            )
        elif not isinstance(values, dict):
            refused.append(
                Problem(
                    code,
                    code,
                    section.title,
                    _("This value has the wrong form: %(expected)s expected.")
                    % {"expected": _("an object of fields")},
                    code="wrong_type",
                )
            )
        else:
            refused += section_refusals(section=section, values=values)
    if refused:
        language = issuing_language if issuing_language and has_language(issuing_language) else "en"
        raise SectionFieldsRefused(
            _("No draft was made: these fields cannot be stored. %(fields)s")
            % {"fields": _refused_fields_text(refused, language, sections=True)},
            extra={"problems": refused},
        )
    # Only once every value has its field's form: the digest reads the data whole.
    if data_sha256 is not None and data_sha256 != hashlib.sha256(canonical_json(data)).hexdigest():
        raise ApplicationError(
            _(
                "The data do not match their sha256: the file was changed or cut short "
                "after it was downloaded. Leave sha256 out to make a draft of data changed "
                "on purpose."
            ),
            code="digest_mismatch",
        )
    request = request_create(
        actor=actor,
        declaration_code=declaration_code,
        executing_country=executing_country,
        executing_authority=executing_authority,
        issuing_language=issuing_language,
        executing_language=executing_language,
    )
    for section in declaration.sections:
        if section.code in data:
            request = request_save_section(
                request=request,
                actor=actor,
                section_code=section.code,
                values=dict(data[section.code]),
                expected_version=request.version,
                partial=False,
            )
    if translation_attached is not None:
        request = request_translation_attached_set(
            request=request, actor=actor, attached=translation_attached
        )
    if language_reason:
        request = request_language_reason_record(
            request=request, actor=actor, reason=language_reason
        )
    return request


def _changed_fields(before: Any, after: dict[str, Any]) -> list[str]:
    """The names of a section's fields whose value changed (never the values: the audit
    trail is read more widely than the request's content)."""
    old = before if isinstance(before, dict) else {}
    return sorted(name for name in old.keys() | after.keys() if old.get(name) != after.get(name))


def _refused_fields_text(refused: list[Problem], language: str, *, sections: bool = False) -> str:
    return "; ".join(
        (f"{problem.section}. " if sections and problem.section else "")
        + label(problem.label, language)
        + ("" if problem.row is None else f" ({problem.row + 1})")
        + f": {problem.message}"
        for problem in refused
    )


def request_save_section(
    *,
    request: Request,
    actor: User,
    section_code: str,
    values: dict[str, Any],
    expected_version: int,
    partial: bool = True,
) -> Request:
    """Store what was typed in one section, valid or not: a draft keeps everything but what
    cannot be stored at all (a field the form does not have, a value not of its field's
    form or over its limit, a control character, a line break in a one-line field).

    Raises RequestChanged when the request was saved since ``expected_version`` was read,
    so that a second tab never silently overwrites the first. Raises SectionFieldsRefused
    when some fields could not be stored: after the rest of the section is saved (the page,
    where a person keeps what they typed), or, when not ``partial`` (a program, which keeps
    its data), before anything is.
    """
    declaration = declaration_for(request.declaration_code)
    section = next((item for item in declaration.sections if item.code == section_code), None)
    if section is None:
        raise ApplicationError(
            _("This request has no section %(code)s.") % {"code": shown_name(section_code)},
            code="unknown_section",
        )
    refused = section_refusals(section=section, values=values)
    if refused and not partial:
        raise SectionFieldsRefused(
            _("The section was not saved: these fields cannot be stored. %(fields)s")
            % {"fields": _refused_fields_text(refused, request.issuing_language)},
            extra={"request": request, "problems": refused},
        )
    saved = _section_store(
        request=request,
        actor=actor,
        section_code=section_code,
        values=values_without_refused(section=section, values=values, refused=refused),
        expected_version=expected_version,
    )
    if refused:
        raise SectionFieldsRefused(
            _(
                "The section was saved, except these fields, which were not stored; what you "
                "typed is shown below to correct. %(fields)s"
            )
            % {"fields": _refused_fields_text(refused, saved.issuing_language)},
            extra={"request": saved, "problems": refused},
        )
    return saved


@transaction.atomic
def _section_store(
    *,
    request: Request,
    actor: User,
    section_code: str,
    values: dict[str, Any],
    expected_version: int,
) -> Request:
    locked = Request.objects.select_for_update().get(pk=request.pk)
    edit_refusal(request=locked, user=actor)
    if locked.version != expected_version:
        raise RequestChanged(
            _(
                "This request was saved elsewhere (another tab or a colleague) after you "
                "opened this page. Your typing is kept below: check it against the newer "
                "version, then save again to keep yours."
            ),
            extra={"current_version": locked.version},
        )
    data = dict(locked.data)
    changed = _changed_fields(data.get(section_code), values)
    data[section_code] = values
    locked.data = data
    locked.version += 1
    locked.save(update_fields=["data", "version", "updated_at"])
    request_derived_refresh(request=locked)
    audit_record(
        request=locked,
        actor=actor,
        event=Event.SECTION_SAVED,
        payload={"section": section_code, "fields": changed, "version": locked.version},
    )
    return locked


@transaction.atomic
def request_duplicate(*, request: Request, actor: User) -> Request:
    """A new draft with the same type, addressee and content (not its links or files)."""
    if request.direction != Request.Direction.OUTGOING:
        raise ApplicationError(
            _("A received request cannot be copied: only the issuing side's own requests can.")
        )
    if not may_duplicate(request=request, user=actor):
        raise ApplicationError(_("Only a prosecutor of the issuing authority copies its requests."))
    duplicate = request_create(
        actor=actor,
        declaration_code=request.declaration_code,
        executing_country=request.executing_country,
        executing_authority=request.executing_authority,
    )
    duplicate.data = copy.deepcopy(request.data)
    duplicate.executing_language = request.executing_language
    duplicate.save(update_fields=["data", "executing_language"])
    request_derived_refresh(request=duplicate)
    audit_record(
        request=duplicate, actor=actor, event=Event.DUPLICATED, payload={"from": request.reference}
    )
    return duplicate


@transaction.atomic
def request_link(*, request: Request, target: Request, actor: User, note: str = "") -> RequestLink:
    edit_refusal(request=request, user=actor)
    if not visible_requests(user=actor).filter(pk=target.pk).exists():
        raise ApplicationError(
            _("No request %(reference)s among yours.") % {"reference": target.reference}
        )
    if target.pk == request.pk:
        raise ApplicationError(_("A request cannot be linked to itself."))
    if RequestLink.objects.filter(from_request=request, to_request=target).exists():
        raise ApplicationError(
            _("This request is already linked to %(reference)s.") % {"reference": target.reference}
        )
    link = RequestLink.objects.create(from_request=request, to_request=target, note=note[:255])
    audit_record(
        request=request,
        actor=actor,
        event=Event.LINKED,
        note=link.note,
        payload={"to": target.reference},
    )
    return link


def attachment_size_check(*, name: str, size: int) -> None:
    limit = settings.REQUEST_ATTACHMENT_MAX_BYTES
    if size > limit:
        raise ApplicationError(
            _("“%(name)s” is larger than %(mb)d MB.") % {"name": name, "mb": limit // 2**20},
            code="too_large",
        )
    if size == 0:
        raise ApplicationError(_("“%(name)s” is empty.") % {"name": name})


@transaction.atomic
def attachment_add(*, request: Request, actor: User, name: str, content: bytes) -> Attachment:
    edit_refusal(request=request, user=actor)
    attachment_size_check(name=name, size=len(content))
    kind = document_type_check(name=name, content=content)
    digest = hashlib.sha256(content).hexdigest()
    attachment = Attachment(
        request=request,
        name=name[:255],
        media_type=kind.media_type,
        size=len(content),
        sha256=digest,
        uploaded_by=actor,
    )
    attachment.file.save(digest, ContentFile(content), save=False)
    attachment.save()
    audit_record(
        request=request,
        actor=actor,
        event=Event.ATTACHMENT_ADDED,
        payload={"name": attachment.name, "sha256": digest, "size": attachment.size},
    )
    return attachment


def attachment_add_uploaded(
    *, request: Request, actor: User, upload: UploadedFile | None
) -> Attachment:
    """A supporting document sent as a file: refused by its size before it is read into
    memory (attachment_add checks the bytes again)."""
    if upload is None:
        raise ApplicationError(_("Choose a file to attach."))
    name = upload.name or "document"
    attachment_size_check(name=name, size=upload.size or 0)
    return attachment_add(request=request, actor=actor, name=name, content=upload.read())


@transaction.atomic
def attachment_remove(*, attachment: Attachment, actor: User) -> None:
    edit_refusal(request=attachment.request, user=actor)
    audit_record(
        request=attachment.request,
        actor=actor,
        event=Event.ATTACHMENT_REMOVED,
        payload={"name": attachment.name, "sha256": attachment.sha256},
    )
    # The file goes once the row is gone for good: a rolled-back removal keeps both.
    stored = attachment.file
    attachment.delete()
    transaction.on_commit(lambda: stored.delete(save=False))


@transaction.atomic
def request_download_record(*, request: Request, actor: User, document: str) -> None:
    """Record that someone took a copy of a confidential request."""
    audit_record(
        request=request, actor=actor, event=Event.DOWNLOADED, payload={"document": document}
    )


def confidential_download_record(*, request: Request, actor: User, document: str) -> None:
    """A download of a confidential request is an act of record (who took a copy, when);
    of another request, not."""
    if request.is_confidential:
        request_download_record(request=request, actor=actor, document=document)
