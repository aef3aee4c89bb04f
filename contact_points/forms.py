import unicodedata
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from contact_points.instruments import Instrument
from contact_points.models import AuthorityKind, ProviderDesignation, ProviderService
from contact_points.selectors import DirectoryQuery, country_choices, language_choices
from mla.core.text import validate_one_line


def by_name(name: str) -> str:
    """A sort key of a name in the interface language: accents and case set aside (É with
    E), so that a list reads in that language's order, not the English names' order."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()


def line_ends_unix(text: str) -> str:
    """Text with Unix line ends: a browser's text area sends CRLF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


class MultilineTextField(forms.CharField):
    """A text area's field whose value is stored with Unix line ends, and which counts as
    changed only when its text changed: a browser sends back CRLF, and the blank space at
    either end of the box, for text it was given with LF."""

    def to_python(self, value: Any) -> str:
        return line_ends_unix(str(super().to_python(value)))

    def has_changed(self, initial: Any, data: Any) -> bool:
        if self.disabled:
            return False
        before = line_ends_unix("" if initial is None else str(initial)).strip()
        return before != self.to_python(data).strip()


class DirectorySearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search"), required=False, max_length=200, validators=[validate_one_line]
    )
    country = forms.ChoiceField(label=_("Country"), required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("Any kind")), *AuthorityKind.choices]
    )
    instrument = forms.ChoiceField(
        label=_("Receives"),
        required=False,
        choices=[("", _("Any instrument")), *Instrument.choices],
    )
    language = forms.ChoiceField(label=_("Language"), required=False)
    service = forms.ChoiceField(
        label=_("Provider's services"),
        required=False,
        choices=[("", _("Any service")), *ProviderService.choices],
    )
    designation = forms.ChoiceField(
        label=_("Provider's addressee"),
        required=False,
        choices=[("", _("Establishment or representative")), *ProviderDesignation.choices],
    )
    available_24_7 = forms.BooleanField(label=_("Reachable 24/7 only"), required=False)
    stale = forms.BooleanField(label=_("Not verified recently"), required=False)
    inactive = forms.BooleanField(label=_("Include inactive entries"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        countries = sorted(
            (
                (country.code, f"{country.display_name} ({country.code})")
                for country in country_choices()
            ),
            key=lambda choice: by_name(choice[1]),
        )
        languages = sorted(
            ((language.code, str(language)) for language in language_choices()),
            key=lambda choice: by_name(choice[1]),
        )
        self.fields["country"].choices = [("", _("Any country")), *countries]  # type: ignore[attr-defined]
        self.fields["language"].choices = [("", _("Any language")), *languages]  # type: ignore[attr-defined]

    def to_query(self) -> DirectoryQuery:
        data = self.cleaned_data
        return DirectoryQuery(
            country=data.get("country") or "",
            kind=data.get("kind") or "",
            instrument=data.get("instrument") or "",
            language=data.get("language") or "",
            text=data.get("q") or "",
            available_24_7=bool(data.get("available_24_7")),
            stale_only=bool(data.get("stale")),
            include_inactive=bool(data.get("inactive")),
            provider_service=data.get("service") or "",
            provider_designation=data.get("designation") or "",
        )
