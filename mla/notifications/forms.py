from django import forms
from django.utils.translation import gettext_lazy as _

from mla.notifications.kinds import Kind


class EmailPreferencesForm(forms.Form):
    kinds = forms.MultipleChoiceField(
        label=_("Send me an e-mail when"),
        choices=Kind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
