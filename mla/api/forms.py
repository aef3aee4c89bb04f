"""The form of the page that makes a personal API token (the rules are the service's,
mla.api.tokens.api_token_create: this form only reads what was typed)."""

import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mla.api.models import Scope
from mla.api.tokens import DEFAULT_LIFETIME, MAX_LIFETIME


class DateInput(forms.DateInput):
    input_type = "date"


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What the token is for, such as the case-management system that holds it."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("What the token may do; it acts as you, so never more than you may."),
    )
    expires_on = forms.DateField(
        label=_("Expires on"),
        widget=DateInput(format="%Y-%m-%d"),
        help_text=_("The token stops working at the start of this day, in your time zone."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        today = timezone.localdate()
        kwargs.setdefault(
            "initial", {"scopes": [Scope.READ], "expires_on": today + DEFAULT_LIFETIME}
        )
        super().__init__(*args, **kwargs)
        self.fields["expires_on"].widget.attrs.update(
            min=(today + datetime.timedelta(days=1)).isoformat(),
            max=(today + MAX_LIFETIME).isoformat(),
        )

    def expires_at(self) -> datetime.datetime:
        """The instant the chosen day begins in the user's zone (the zone of the page)."""
        day: datetime.date = self.cleaned_data["expires_on"]
        return datetime.datetime.combine(
            day, datetime.time.min, tzinfo=timezone.get_current_timezone()
        )
