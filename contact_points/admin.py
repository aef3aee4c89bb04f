from functools import partial
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from contact_points.directory_io import (
    DirectoryImportError,
    directory_export_csv,
    directory_export_json,
    directory_import,
)
from contact_points.directory_signing import (
    MAX_SIGNATURE_BYTES,
    MISSING_SIGNATURE,
    DirectorySignatureError,
    directory_publisher_keys_read,
    directory_publishers_pinned,
    directory_signature_verify,
)
from contact_points.forms import MultilineTextField
from contact_points.instruments import Instrument
from contact_points.models import (
    KEY_DERIVED_FIELDS,
    AcceptedLanguages,
    Authority,
    AuthorityInstrument,
    ContactPerson,
    Country,
    DirectoryChange,
    Language,
    ProviderService,
    authority_instruments_problems,
    stale_entries_q,
)
from contact_points.services import (
    authorities_mark_verified,
    authority_apply_key_info,
    authority_identifier_suggest,
    directory_change_approve,
    directory_change_propose,
    directory_change_reject,
    fingerprint_ensure_free,
    key_text,
    may_administer_directory,
)
from contact_points.widgets import QuickLanguageListsMixin
from mla.core.errors import ApplicationError
from mla.core.reauthentication import recent_authentication_required
from mla.openpgp.keys import PublicKeyInfo, public_key_inspect

MAX_IMPORT_BYTES = 50 * 1024 * 1024
# Text areas keep Unix line ends, and an unchanged one is not recorded as changed.
MULTILINE_TEXT: "dict[type[models.Field[Any, Any]], dict[str, Any]]" = {
    models.TextField: {"form_class": MultilineTextField}
}


class AcceptedLanguagesInline(QuickLanguageListsMixin, admin.TabularInline):
    model = AcceptedLanguages
    extra = 0
    filter_horizontal = ["languages"]


@admin.register(Country)
class CountryAdmin(SimpleHistoryAdmin):
    formfield_overrides = MULTILINE_TEXT
    list_display = [
        "code",
        "name",
        "eio_bound",
        "eevidence_bound",
        "budapest_party",
        "budapest_second_protocol_party",
    ]
    list_filter = [
        "eio_bound",
        "eevidence_bound",
        "budapest_party",
        "budapest_second_protocol_party",
    ]
    search_fields = ["code", "name"]
    inlines = [AcceptedLanguagesInline]


@admin.register(Language)
class LanguageAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


class InstrumentFilter(admin.SimpleListFilter):
    title = _("instrument received")
    parameter_name = "instrument"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(Instrument.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(
                id__in=AuthorityInstrument.objects.filter(instrument=self.value()).values(
                    "authority_id"
                )
            )
        return queryset


class StaleFilter(admin.SimpleListFilter):
    title = _("verification")
    parameter_name = "stale"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Stale (not verified recently)")), ("no", _("Verified recently"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(stale_entries_q())
        if self.value() == "no":
            return queryset.exclude(stale_entries_q())
        return queryset


class ContactPersonInline(QuickLanguageListsMixin, admin.StackedInline):
    formfield_overrides = MULTILINE_TEXT
    model = ContactPerson
    extra = 0
    filter_horizontal = ["languages"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ContactPerson]:
        # Each contact's languages are read with the contacts, not in a query per contact.
        return super().get_queryset(request).prefetch_related("languages")


AUTHORITY_READONLY_FIELDS = [
    *KEY_DERIVED_FIELDS,
    "pending_trust_change",
    "last_verified_at",
    "last_verified_by",
    "created_at",
    "updated_at",
]
AUTHORITY_FIELDSETS: list[tuple[Any, Any]] = [
    (
        None,
        {
            "fields": [
                "identifier",
                "reference_code",
                "name",
                "name_local",
                "country",
                "kind",
                "parent",
            ]
        },
    ),
    (
        _("Reaching the authority"),
        {
            "fields": [
                "postal_address",
                "phone",
                "email",
                "time_zone",
                "office_hours",
                "available_24_7",
                "languages",
                "instruments",
                "eevidence_central_authority",
            ]
        },
    ),
    (
        _("Service provider (e-Evidence addressee)"),
        {
            "fields": [
                "provider_name",
                "provider_services",
                "provider_designation",
                "emergency_phone",
                "emergency_email",
            ],
            "description": _(
                "For entries of kind “service provider” only: the designated establishment or "
                "legal representative that receives European Production and Preservation "
                "Orders (Directive (EU) 2023/1544). Its languages above are the languages it "
                "accepts them in."
            ),
        },
    ),
    (
        _("Exchange endpoint"),
        {
            "fields": [
                "inbox_url",
                "public_key",
                *KEY_DERIVED_FIELDS,
                "pending_trust_change",
            ]
        },
    ),
    (
        _("Entry"),
        {
            "fields": [
                "active",
                "source",
                "last_verified_at",
                "last_verified_by",
                "created_at",
                "updated_at",
            ]
        },
    ),
]
# The model fields the change form edits ("instruments" is a form field of its own).
AUTHORITY_FORM_FIELDS = [
    name
    for _title, options in AUTHORITY_FIELDSETS
    for name in options["fields"]
    if name not in AUTHORITY_READONLY_FIELDS and name != "instruments"
]


class AuthorityAdminForm(forms.ModelForm):
    instruments = forms.MultipleChoiceField(
        label=_("Instruments received"),
        choices=Instrument.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    provider_services = forms.MultipleChoiceField(
        label=_("Services offered"),
        choices=ProviderService.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=Authority._meta.get_field("provider_services").help_text,
    )

    class Meta:
        model = Authority
        fields = AUTHORITY_FORM_FIELDS
        # Inbox URLs are HTTPS; a bare host name is read as https://, never http://.
        field_classes = {"inbox_url": partial(forms.URLField, assume_scheme="https")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["identifier"].required = False
        self.fields["identifier"].help_text = _(
            "Leave empty to derive one from the country and name. Imports match on it."
        )
        if self.instance.pk:
            self.initial["instruments"] = self.instance.instrument_codes
        self.key_info: PublicKeyInfo | None = None

    def clean_reference_code(self) -> str:
        return str(self.cleaned_data.get("reference_code", "")).strip().upper()

    def clean_public_key(self) -> str:
        armored = key_text(self.cleaned_data.get("public_key", ""))
        if not armored:
            return ""
        try:
            self.key_info = public_key_inspect(armored=armored)
        except ApplicationError as error:
            raise forms.ValidationError(error.message) from error
        return self.key_info.armored

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("kind"):
            for problem in authority_instruments_problems(
                kind=cleaned["kind"],
                country=cleaned.get("country"),
                instruments=cleaned.get("instruments") or [],
            ):
                self.add_error("instruments", problem)
        # The key the entry will pin once this is saved (a proposal is checked the same way).
        if self.key_info is not None and cleaned.get("active", True):
            try:
                fingerprint_ensure_free(
                    fingerprint=self.key_info.fingerprint,
                    authority=self.instance if self.instance.pk else None,
                )
            except ApplicationError as error:
                self.add_error("public_key", error.message)
        elif self.instance.pk and cleaned.get("active") and self.instance.key_fingerprint:
            # Made active again: its key must not speak for another active entry meanwhile.
            try:
                fingerprint_ensure_free(
                    fingerprint=self.instance.key_fingerprint, authority=self.instance
                )
            except ApplicationError as error:
                self.add_error("active", error.message)
        return cleaned


@admin.register(Authority)
class AuthorityAdmin(QuickLanguageListsMixin, SimpleHistoryAdmin):
    form = AuthorityAdminForm
    formfield_overrides = MULTILINE_TEXT
    list_display = [
        "name",
        "country",
        "kind",
        "available_24_7",
        "active",
        "fingerprint_short",
        "last_verified_at",
        "stale_mark",
    ]
    list_filter = [
        "country",
        "kind",
        "provider_designation",
        InstrumentFilter,
        StaleFilter,
        "available_24_7",
        "active",
        "languages",
    ]
    search_fields = [
        "identifier",
        "name",
        "name_local",
        "provider_name",
        "email",
        "key_fingerprint",
    ]
    list_select_related = ["country"]
    autocomplete_fields = ["parent", "country"]
    filter_horizontal = ["languages"]
    inlines = [ContactPersonInline]
    readonly_fields = AUTHORITY_READONLY_FIELDS
    fieldsets = AUTHORITY_FIELDSETS
    actions = ["mark_verified", "export_selected_csv"]
    change_list_template = "admin/contact_points/authority/change_list.html"

    @admin.display(description=_("fingerprint"))
    def fingerprint_short(self, obj: Authority) -> str:
        return obj.fingerprint_groups[-19:] if obj.key_fingerprint else "—"

    @admin.display(description=_("stale"), boolean=True)
    def stale_mark(self, obj: Authority) -> bool:
        return obj.is_stale

    @admin.display(description=_("change awaiting approval"))
    def pending_trust_change(self, obj: Authority) -> str:
        pending = obj.trust_changes.filter(status=DirectoryChange.Status.PENDING).first()
        if pending is None:
            return "—"
        url = reverse("admin:contact_points_directorychange_change", args=[pending.pk])
        return format_html(
            '<a href="{}">{}</a>', url, _("A new key or inbox URL awaits a second approval.")
        )

    def save_model(self, request: HttpRequest, obj: Authority, form: Any, change: bool) -> None:
        if not obj.identifier:
            obj.identifier = authority_identifier_suggest(
                country_code=obj.country.code, name=obj.name
            )
        if not change:
            # A new entry's first key and URL: nothing was in force to substitute.
            if "public_key" in form.changed_data:
                authority_apply_key_info(authority=obj, key=form.key_info)
            super().save_model(request, obj, form, change)
            return
        # Compared with the entry as stored, not with the form's initial values: a form
        # built from an old version (the history's "revert") must not restore an old key.
        current = Authority.objects.get(pk=obj.pk)
        proposed_key, proposed_url = obj.public_key, obj.inbox_url
        # The key and URL in force stay until a second administrator approves the change.
        for name in ("inbox_url", "public_key", *KEY_DERIVED_FIELDS):
            setattr(obj, name, getattr(current, name))
        super().save_model(request, obj, form, change)
        assert isinstance(request.user, get_user_model())
        try:
            proposal = directory_change_propose(
                authority=obj,
                actor=request.user,
                public_key=proposed_key,
                inbox_url=proposed_url,
            )
        except ApplicationError as error:
            self.message_user(request, error.message, level=messages.ERROR)
            return
        if proposal is not None:
            self.message_user(
                request,
                _(
                    "The new key or inbox URL of %(authority)s awaits the approval of another "
                    "directory administrator; the current ones stay in force until then."
                )
                % {"authority": obj.name},
                level=messages.WARNING,
            )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        wanted = set(form.cleaned_data.get("instruments") or [])
        authority: Authority = form.instance
        current = set(authority.instrument_codes)
        AuthorityInstrument.objects.filter(
            authority=authority, instrument__in=current - wanted
        ).delete()
        AuthorityInstrument.objects.bulk_create(
            [AuthorityInstrument(authority=authority, instrument=code) for code in wanted - current]
        )

    @admin.action(description=_("Mark selected entries as verified today"), permissions=["verify"])
    def mark_verified(self, request: HttpRequest, queryset: QuerySet[Authority]) -> None:
        assert isinstance(request.user, get_user_model())
        count = authorities_mark_verified(authorities=queryset, actor=request.user)
        self.message_user(request, _("%(count)d entries marked as verified.") % {"count": count})

    def has_verify_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("contact_points.verify_authority")

    @admin.action(description=_("Export selected entries as CSV"))
    def export_selected_csv(self, request: HttpRequest, queryset: QuerySet[Authority]) -> Any:
        rows = queryset.select_related("country", "parent").prefetch_related(
            "languages", "instrument_links", "contacts__languages"
        )
        return _download(directory_export_csv(authorities=rows), "csv")

    def get_urls(self) -> list[URLPattern]:
        custom = [
            path(
                "export/<str:fmt>/",
                self.admin_site.admin_view(self.export_view),
                name="contact_points_authority_export",
            ),
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="contact_points_authority_import",
            ),
        ]
        return custom + super().get_urls()

    def export_view(self, request: HttpRequest, fmt: str) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        if fmt == "json":
            return _download(directory_export_json(), "json")
        if fmt == "csv":
            return _download(directory_export_csv(), "csv")
        raise PermissionDenied

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        form = DirectoryImportForm(request.POST or None, request.FILES or None)
        problems: list[str] = []
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            fmt = form.cleaned_data["format"] or (
                "csv" if upload.name.lower().endswith(".csv") else "json"
            )
            assert isinstance(request.user, get_user_model())
            try:
                # Read once: the bytes whose signature is checked are the bytes imported.
                data = upload.read()
                signed_by = _import_signature_check(
                    data=data, signature=form.cleaned_data.get("signature")
                )
                report = directory_import(
                    data=data, fmt=fmt, proposer=request.user, signed_by=signed_by
                )
            except DirectoryImportError as error:
                problems = [str(problem) for problem in error.problems]
                self.message_user(
                    request,
                    _("The file was not imported; nothing was changed."),
                    level=messages.ERROR,
                )
            except ApplicationError as error:
                self.message_user(request, error.message, level=messages.ERROR)
            else:
                self.message_user(request, report.summary(), level=messages.SUCCESS)
                for conflict in report.conflicts:
                    self.message_user(request, str(conflict), level=messages.WARNING)
                return HttpResponseRedirect(reverse("admin:contact_points_authority_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "problems": problems,
            "title": _("Import the directory"),
            "publishers": directory_publishers_pinned(),
        }
        return TemplateResponse(request, "admin/contact_points/authority/import.html", context)


class DirectoryImportForm(forms.Form):
    file = forms.FileField(label=_("File"))
    signature = forms.FileField(
        label=_("Detached signature (.asc)"),
        required=False,
        help_text=_(
            "The publisher's signature of the file (FILE.asc). Required when this node pins "
            "directory publishers (DIRECTORY_PUBLISHER_FINGERPRINTS)."
        ),
    )
    format = forms.ChoiceField(
        label=_("Format"),
        required=False,
        choices=[("", _("From the file name")), ("json", "JSON"), ("csv", "CSV")],
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(mb)d MB.") % {"mb": MAX_IMPORT_BYTES // 2**20}
            )
        return upload

    def clean_signature(self) -> bytes | None:
        upload = self.cleaned_data.get("signature")
        if upload is None:
            return None
        if upload.size > MAX_SIGNATURE_BYTES:
            raise forms.ValidationError(_("This file is too large to be a signature."))
        return bytes(upload.read())


def _import_signature_check(*, data: bytes, signature: bytes | None) -> str:
    """The pinned publisher that signed ``data``, or "" when this node pins none.

    The check of the command line (import_directory), with the publishers and their keys
    from the settings. In the web there is no "allow unsigned": with publishers pinned, a
    file without their good signature is refused.
    """
    pinned = directory_publishers_pinned()
    if not pinned:
        if signature:
            raise ApplicationError(
                gettext(
                    "This node pins no directory publisher (DIRECTORY_PUBLISHER_FINGERPRINTS), "
                    "so a signature cannot be checked; import the file without it."
                )
            )
        return ""
    if not signature:
        raise DirectorySignatureError(
            MISSING_SIGNATURE,
            gettext(
                "The directory file was not imported; nothing was changed. This node accepts "
                "only directories signed by a pinned publisher: upload the detached signature "
                "(.asc) beside the file."
            ),
        )
    return directory_signature_verify(
        content=data,
        signature=signature,
        pinned=pinned,
        publisher_keys=directory_publisher_keys_read(),
    )


def _download(content: str, fmt: str) -> HttpResponse:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    media_type = "application/json" if fmt == "json" else "text/csv"
    response = HttpResponse(content, content_type=f"{media_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="directory-{stamp}.{fmt}"'
    return response


@admin.register(ContactPerson)
class ContactPersonAdmin(QuickLanguageListsMixin, SimpleHistoryAdmin):
    formfield_overrides = MULTILINE_TEXT
    list_display = ["name", "function", "authority", "phone", "email"]
    search_fields = ["name", "function", "email", "authority__name"]
    list_select_related = ["authority__country"]
    autocomplete_fields = ["authority"]
    filter_horizontal = ["languages"]


@admin.register(DirectoryChange)
class DirectoryChangeAdmin(admin.ModelAdmin):
    """Changes of key and inbox URL: the list, and one page per change to approve or reject."""

    list_display = [
        "authority",
        "status",
        "origin",
        "old_fingerprint_short",
        "new_fingerprint_short",
        "proposed_by",
        "proposed_at",
        "decided_by",
        "decided_at",
    ]
    list_filter = ["status", "origin"]
    list_select_related = ["authority__country", "proposed_by", "decided_by"]
    search_fields = ["authority__identifier", "authority__name", "new_fingerprint"]
    change_form_template = "admin/contact_points/directorychange/change_form.html"

    @admin.display(description=_("current fingerprint"))
    def old_fingerprint_short(self, obj: DirectoryChange) -> str:
        return obj.old_fingerprint_groups[-19:] or "—"

    @admin.display(description=_("proposed fingerprint"))
    def new_fingerprint_short(self, obj: DirectoryChange) -> str:
        return obj.new_fingerprint_groups[-19:] or "—"

    # Changes are made by the change form of an entry or by an import, and decided here.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        custom = [
            path(
                "<int:change_id>/approve/",
                self.admin_site.admin_view(directory_change_approve_view),
                name="contact_points_directorychange_approve",
            ),
            path(
                "<int:change_id>/reject/",
                self.admin_site.admin_view(directory_change_reject_view),
                name="contact_points_directorychange_reject",
            ),
        ]
        return custom + super().get_urls()

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        change = self.get_object(request, object_id)
        assert isinstance(request.user, get_user_model())
        context = {
            **(extra_context or {}),
            "trust_change": change,
            "may_decide": change is not None
            and change.status == DirectoryChange.Status.PENDING
            and may_administer_directory(request.user),
            "own_proposal": change is not None and change.proposed_by_id == request.user.pk,
        }
        return super().change_view(request, object_id, form_url, context)


def _decided_change(request: HttpRequest, change_id: int) -> DirectoryChange:
    if request.method != "POST":
        raise PermissionDenied
    return get_object_or_404(DirectoryChange.objects.select_related("authority"), pk=change_id)


# Approving puts a partner's key or inbox URL in force: it needs a recent sign-in.
@recent_authentication_required(
    return_to=lambda request, change_id: reverse(
        "admin:contact_points_directorychange_change", args=[change_id]
    )
)
def directory_change_approve_view(request: HttpRequest, change_id: int) -> HttpResponse:
    """Approve one pending change (POST), after a recent authentication."""
    change = _decided_change(request, change_id)
    assert isinstance(request.user, get_user_model())
    page = reverse("admin:contact_points_directorychange_change", args=[change.pk])
    try:
        directory_change_approve(change=change, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
        return HttpResponseRedirect(page)
    messages.success(
        request,
        _("The new key or inbox URL of %(authority)s is now in force.")
        % {"authority": change.authority.name},
    )
    return HttpResponseRedirect(reverse("admin:contact_points_directorychange_changelist"))


def directory_change_reject_view(request: HttpRequest, change_id: int) -> HttpResponse:
    change = _decided_change(request, change_id)
    assert isinstance(request.user, get_user_model())
    try:
        directory_change_reject(change=change, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
        return HttpResponseRedirect(
            reverse("admin:contact_points_directorychange_change", args=[change.pk])
        )
    messages.success(
        request,
        _("The change to %(authority)s was rejected; its key and inbox URL stay as they are.")
        % {"authority": change.authority.name},
    )
    return HttpResponseRedirect(reverse("admin:contact_points_directorychange_changelist"))
