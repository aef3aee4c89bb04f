from functools import partial
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from contact_points.directory_io import (
    DirectoryImportError,
    directory_export_csv,
    directory_export_json,
    directory_import,
)
from contact_points.instruments import Instrument
from contact_points.models import (
    KEY_DERIVED_FIELDS,
    AcceptedLanguages,
    Authority,
    AuthorityInstrument,
    ContactPerson,
    Country,
    Language,
    stale_entries_q,
)
from contact_points.services import (
    authorities_mark_verified,
    authority_apply_key_info,
    authority_identifier_suggest,
)
from mla.core.errors import ApplicationError
from mla.openpgp.keys import PublicKeyInfo, public_key_inspect

MAX_IMPORT_BYTES = 50 * 1024 * 1024


class AcceptedLanguagesInline(admin.TabularInline):
    model = AcceptedLanguages
    extra = 0
    filter_horizontal = ["languages"]


@admin.register(Country)
class CountryAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "eio_bound", "budapest_party", "budapest_second_protocol_party"]
    list_filter = ["eio_bound", "budapest_party", "budapest_second_protocol_party"]
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


class ContactPersonInline(admin.StackedInline):
    model = ContactPerson
    extra = 0
    filter_horizontal = ["languages"]


AUTHORITY_READONLY_FIELDS = [
    *KEY_DERIVED_FIELDS,
    "last_verified_at",
    "last_verified_by",
    "created_at",
    "updated_at",
]
AUTHORITY_FIELDSETS: list[tuple[Any, dict[str, list[str]]]] = [
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
            ]
        },
    ),
    (
        _("Exchange endpoint"),
        {
            "fields": [
                "inbox_url",
                "public_key",
                *KEY_DERIVED_FIELDS,
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
        armored: str = self.cleaned_data.get("public_key", "")
        if not armored.strip():
            return ""
        try:
            self.key_info = public_key_inspect(armored=armored)
        except ApplicationError as error:
            raise forms.ValidationError(error.message) from error
        return self.key_info.armored


@admin.register(Authority)
class AuthorityAdmin(SimpleHistoryAdmin):
    form = AuthorityAdminForm
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
        InstrumentFilter,
        StaleFilter,
        "available_24_7",
        "active",
        "languages",
    ]
    search_fields = ["identifier", "name", "name_local", "email", "key_fingerprint"]
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

    def save_model(self, request: HttpRequest, obj: Authority, form: Any, change: bool) -> None:
        if not obj.identifier:
            obj.identifier = authority_identifier_suggest(
                country_code=obj.country.code, name=obj.name
            )
        if "public_key" in form.changed_data:
            authority_apply_key_info(authority=obj, key=form.key_info)
        super().save_model(request, obj, form, change)

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
            try:
                report = directory_import(data=upload.read(), fmt=fmt)
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
                self.message_user(request, str(report), level=messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:contact_points_authority_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "problems": problems,
            "title": _("Import the directory"),
        }
        return TemplateResponse(request, "admin/contact_points/authority/import.html", context)


class DirectoryImportForm(forms.Form):
    file = forms.FileField(label=_("File"))
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


def _download(content: str, fmt: str) -> HttpResponse:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    media_type = "application/json" if fmt == "json" else "text/csv"
    response = HttpResponse(content, content_type=f"{media_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="directory-{stamp}.{fmt}"'
    return response


@admin.register(ContactPerson)
class ContactPersonAdmin(SimpleHistoryAdmin):
    list_display = ["name", "function", "authority", "phone", "email"]
    search_fields = ["name", "function", "email", "authority__name"]
    list_select_related = ["authority__country"]
    autocomplete_fields = ["authority"]
    filter_horizontal = ["languages"]
