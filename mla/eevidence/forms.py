from django import forms
from django.utils.translation import gettext_lazy as _

from mla.eevidence.models import TransmittedItem
from mla.eevidence.services import MAX_SIZE_BYTES


class OtherMeansTransmissionForm(forms.Form):
    """The facts Art. 19(6) asks of a transmission made outside the node's channel."""

    transmitted_at = forms.DateTimeField(
        label=_("Date and time"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    place = forms.CharField(label=_("Place"), max_length=200)
    recipient = forms.CharField(label=_("Recipient"), max_length=200)
    size_bytes = forms.IntegerField(label=_("Size in bytes"), min_value=0, max_value=MAX_SIZE_BYTES)
    item = forms.ChoiceField(label=_("What was transmitted"), choices=TransmittedItem.choices)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
