"""Write-side services of requests: create, save a section, duplicate, link, attach."""

import copy
import hashlib
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contact_points.instruments import instrument_applicability
from contact_points.models import Authority, Country
from mla.accounts.models import User
from mla.core.errors import ApplicationError
from mla.instruments.completeness import section_refusals, values_without_refused
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
from mla.requests.drafting.language import target_language
from mla.requests.events import Event
from mla.requests.lifecycle.rules import may_issue
from mla.requests.models import Attachment, Request, RequestLink
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
) -> Request:
    """A new draft of ``declaration_code`` in the actor's authority's name.

    A declaration that is never drafted (the EPOC's copy for the enforcing authority) is
    made only by the system, as ``copy_of`` the request of which it is a variant.
    """
    declaration = declaration_for(declaration_code)
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
            % {"authority": issuing.name}
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
        issuing_language=actor.preferred_language
        if has_language(actor.preferred_language)
        else "en",
        executing_language=target_language(
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


def _changed_fields(before: Any, after: dict[str, Any]) -> list[str]:
    """The names of a section's fields whose value changed (never the values: the audit
    trail is read more widely than the request's content)."""
    old = before if isinstance(before, dict) else {}
    return sorted(name for name in old.keys() | after.keys() if old.get(name) != after.get(name))


def request_save_section(
    *,
    request: Request,
    actor: User,
    section_code: str,
    values: dict[str, Any],
    expected_version: int,
) -> Request:
    """Store what was typed in one section, valid or not: a draft keeps everything but what
    cannot be stored at all (a value over its field's limit, a control character, a line
    break in a one-line field).

    Raises RequestChanged when the request was saved since ``expected_version`` was read,
    so that a second tab never silently overwrites the first. Raises SectionFieldsRefused,
    after the rest of the section is saved, when some fields could not be stored.
    """
    declaration = declaration_for(request.declaration_code)
    section = next((item for item in declaration.sections if item.code == section_code), None)
    if section is None:
        raise ApplicationError(_("This request has no section %(code)s.") % {"code": section_code})
    refused = section_refusals(section=section, values=values)
    saved = _section_store(
        request=request,
        actor=actor,
        section_code=section_code,
        values=values_without_refused(section=section, values=values, refused=refused),
        expected_version=expected_version,
    )
    if refused:
        language = saved.issuing_language
        fields = "; ".join(
            label(problem.label, language)
            + ("" if problem.row is None else f" ({problem.row + 1})")
            + f": {problem.message}"
            for problem in refused
        )
        raise SectionFieldsRefused(
            _(
                "The section was saved, except these fields, which were not stored; what you "
                "typed is shown below to correct. %(fields)s"
            )
            % {"fields": fields},
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
            _("“%(name)s” is larger than %(mb)d MB.") % {"name": name, "mb": limit // 2**20}
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
