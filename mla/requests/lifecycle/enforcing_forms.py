"""The forms of the enforcing authority's steps (Regulation (EU) 2023/1543, Art. 8 and 12):
which enforcing authority an EPOC's sending notifies, and the ground it raises.

As the other step forms (mla.requests.lifecycle.forms), each refuses only what cannot be
read; whether a ground is allowed is the service's to say (mla.requests.lifecycle.enforcing).
"""

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from django import forms
from django.forms.boundfield import BoundField
from django.utils.choices import CallableChoiceIterator
from django.utils.translation import gettext_lazy as _

from contact_points.models import Authority
from mla.instruments import eevidence
from mla.requests.lifecycle.enforcing import (
    DATA_CATEGORY_LABELS,
    ENFORCING_GROUND_LABELS,
    SCOPE_LABELS,
    enforcing_authority_choices,
    notification_needed,
)
from mla.requests.lifecycle.forms import (
    ASKED,
    NO_CHOICE,
    StepForm,
    authority_choices,
    chosen,
    select,
    text_widget,
)


class SendForm(StepForm):
    """Sending; an EPOC that must be notified (Art. 8) names the enforcing authority when
    the directory lists several in the addressee's Member State."""

    id_format = "id_send_%s"
    enforcing_authority = forms.CharField(
        label=_("Enforcing authority to notify"),
        required=False,
        strip=False,  # the option's value exactly as the list gives it
        widget=forms.Select(attrs=ASKED),
        help_text=_(
            "The EPOC asks for traffic or content data: the enforcing authority of the "
            "addressee's Member State receives it at the same time, section M included "
            "(Regulation (EU) 2023/1543, Art. 8)."
        ),
    )

    def __init__(self, data: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        select(self, "enforcing_authority").choices = CallableChoiceIterator(
            lambda: authority_choices(self.candidates)
        )

    @cached_property
    def candidates(self) -> list[Authority]:
        if not notification_needed(request=self.request):
            return []
        return enforcing_authority_choices(request=self.request)

    def shown_fields(self) -> list[BoundField]:
        return self.visible_fields() if len(self.candidates) > 1 else []

    def clean_enforcing_authority(self) -> Authority | None:
        chosen_identifier = self.cleaned_data["enforcing_authority"]
        if not chosen_identifier:
            return None  # the service says whether one must be chosen
        authority = chosen(self.candidates, chosen_identifier)
        if authority is None:
            raise forms.ValidationError(_("Choose the enforcing authority from the list."))
        return authority


class GroundsForm(StepForm):
    """The ground of Art. 12(1), whether it covers the whole order or some of its data
    categories, which ones, and why."""

    id_format = "id_grounds_%s"
    scope = forms.ChoiceField(
        label=_("The ground applies to"),
        required=False,
        choices=[("", NO_CHOICE), *SCOPE_LABELS.items()],
        widget=forms.Select(attrs=ASKED),
    )
    ground = forms.ChoiceField(
        label=_("Ground for refusal (Art. 12(1))"),
        required=False,
        choices=[("", NO_CHOICE), *ENFORCING_GROUND_LABELS.items()],
        widget=forms.Select(attrs=ASKED),
    )
    categories = forms.MultipleChoiceField(
        label=_("Data categories the ground applies to (when not the whole order)"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    explanation = forms.CharField(
        label=_("Explanation"),
        required=False,
        widget=text_widget(required=False, long=True),
        help_text=_("Required when the ground applies to some data categories only."),
    )

    def __init__(self, data: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        ordered = eevidence.data_categories(self.request.data)
        field = self.fields["categories"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [
            (code, label) for code, label in DATA_CATEGORY_LABELS.items() if code in ordered
        ]
