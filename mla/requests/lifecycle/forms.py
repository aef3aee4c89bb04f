"""The forms of the steps offered on a request's page.

Each reads what its step's service takes: a note, a number of days, a date, a choice from a
list. A form refuses only what cannot be read (not a whole number, not a date, not one of
the choices); whether a value is acceptable (a motivation given, a date after today, a
ground the instrument allows) is the service's to say. So the fields the browser asks for
(``required`` on the page) are optional here, and a missing one gets the service's message.
"""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django import forms
from django.forms.boundfield import BoundField
from django.utils.choices import CallableChoiceIterator
from django.utils.translation import gettext_lazy as _

from contact_points.models import Authority
from mla.accounts.models import User
from mla.requests.lifecycle.executing import forward_choices, refusal_grounds
from mla.requests.lifecycle.issuing import validating_authority_choices
from mla.requests.models import Request
from mla.requests.selectors import (
    authority_colleague,
    executing_colleagues,
    request_by_typed_reference,
)

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile
    from django.utils.datastructures import MultiValueDict
    from django_stubs_ext import StrOrPromise

NO_CHOICE = "—"
ASKED = {"required": True}  # the browser asks for it; the service says why when it is missing


@dataclass(frozen=True)
class Note:
    """The free text a step takes: its label, whether the browser asks for it, whether it
    takes several lines, and the service's name for it."""

    label: "StrOrPromise"
    required: bool = False
    long: bool = False
    argument: str = "note"


@dataclass(frozen=True)
class FieldProblem:
    """A field of a step's form that could not be read (its name, the rule, the message)."""

    field: str
    code: str
    message: str
    section: str = ""


def text_widget(*, required: bool, long: bool = False) -> forms.Widget:
    """The input of a step's free text: one line, or a few (``long``); marked as asked for
    when the step requires it."""
    attrs: dict[str, Any] = dict(ASKED) if required else {}
    if long:
        # No "cols": the text area keeps the width the browser gives it.
        return forms.Textarea(attrs={**attrs, "rows": "3", "cols": False})
    return forms.TextInput(attrs=attrs)


class DateInput(forms.DateInput):
    input_type = "date"


class WholeNumberField(forms.Field):
    """A whole number as Python reads one (int()); anything else gets ``message``."""

    widget = forms.NumberInput

    def __init__(self, *, message: "StrOrPromise", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.message = message

    def to_python(self, value: Any) -> int:
        try:
            return int(value if value is not None else "")
        except (TypeError, ValueError):
            raise forms.ValidationError(self.message, code="invalid") from None


class IsoDateField(forms.Field):
    """A date written YYYY-MM-DD (date.fromisoformat), or None when left empty."""

    widget = DateInput

    def to_python(self, value: Any) -> datetime.date | None:
        text = str(value or "").strip()
        if not text:
            return None
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            raise forms.ValidationError(_("Give the date as YYYY-MM-DD."), code="invalid") from None


class StepForm(forms.Form):
    """A step's form. Each carries the state the page showed, which the service compares
    with the request's state now, and the step's note when it takes one."""

    expected_state = forms.CharField(
        required=False, strip=False, widget=forms.HiddenInput(attrs={"id": False})
    )
    # The ids of the fields on the page, where several steps' forms sit side by side.
    id_format = "id_{step}_%s"

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        step: str,
        request: Request,
        actor: User,
        note: Note | None = None,
        files: "MultiValueDict[str, UploadedFile] | None" = None,
    ) -> None:
        super().__init__(
            data,
            files,
            auto_id=self.id_format.format(step=step),
            initial={"expected_state": request.state},
        )
        self.request = request
        self.actor = actor
        self.note = note
        if note is not None:
            self.fields["note"] = forms.CharField(
                label=note.label,
                required=False,
                widget=text_widget(required=note.required, long=note.long),
            )

    def shown_fields(self) -> list[BoundField]:
        """The fields the page shows for this request."""
        return self.visible_fields()

    def first_error(self) -> str:
        """The message of the first field that could not be read."""
        return str(next(iter(self.errors.values()))[0])

    def field_problems(self) -> list["FieldProblem"]:
        """Each field that could not be read, with its message: what a program is told."""
        return [
            FieldProblem(
                field=name,
                code=error.code or "invalid",
                message=" ".join(str(text) for text in error.messages),
            )
            for name, errors in self.errors.as_data().items()
            for error in errors
        ]

    def arguments(self) -> dict[str, Any]:
        """The step's fields as its service's keyword arguments (once valid)."""
        arguments = {
            name: value for name, value in self.cleaned_data.items() if name != "expected_state"
        }
        if self.note is not None:
            arguments[self.note.argument] = arguments.pop("note")
        return arguments


def select(form: forms.Form, name: str) -> forms.Select:
    """The drop-down list of a field, whose options are set per request."""
    widget = form.fields[name].widget
    assert isinstance(widget, forms.Select)
    return widget


def authority_choices(authorities: list[Authority]) -> list[tuple[str, str]]:
    """The options of a drop-down list of authorities, by their directory identifier (the
    name a page, the API and another node all use), after an empty one."""
    return [("", NO_CHOICE), *((authority.identifier, authority.name) for authority in authorities)]


def chosen(authorities: list[Authority], identifier: str) -> Authority | None:
    """The authority of ``authorities`` whose identifier the form sent, or None when the
    form sent one not offered."""
    return next(
        (authority for authority in authorities if authority.identifier == identifier), None
    )


class SubmitForm(StepForm):
    """Submission; the validating authority is chosen when the request needs validation."""

    id_format = "id_%s"
    validating_authority = forms.CharField(
        label=_("Validating authority"),
        required=False,
        strip=False,  # the option's value exactly as the list gives it
        widget=forms.Select(attrs=ASKED),
        help_text=_(
            "The issuer is not a judicial authority: a judge, court, investigating judge or "
            "prosecutor must validate the request before it is sent."
        ),
    )

    def __init__(self, data: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        # Read when shown or checked: a request that needs no validation is submitted
        # without asking which authorities could validate it.
        select(self, "validating_authority").choices = CallableChoiceIterator(
            lambda: authority_choices(self.validators)
        )
        self.initial["validating_authority"] = (
            self.request.validating_authority.identifier
            if self.request.validating_authority
            else None
        )

    @cached_property
    def validators(self) -> list[Authority]:
        return validating_authority_choices(request=self.request)

    def shown_fields(self) -> list[BoundField]:
        return self.visible_fields() if self.request.needs_validation else []

    def clean_validating_authority(self) -> Authority | None:
        chosen_identifier = self.cleaned_data["validating_authority"]
        if not chosen_identifier:
            return None  # the service says whether one is needed
        authority = chosen(self.validators, chosen_identifier)
        if authority is None:
            raise forms.ValidationError(_("Choose a validating authority from the list."))
        return authority


class FollowUpForm(StepForm):
    """The issuer names the request for the data that follows a preservation."""

    id_format = "id_%s"
    follow_up = forms.CharField(
        label=_("Reference of the request for the data that follows this preservation"),
        required=False,
        widget=forms.TextInput(attrs=ASKED),
    )

    def clean_follow_up(self) -> Request:
        target = request_by_typed_reference(
            user=self.actor, reference=self.cleaned_data["follow_up"]
        )
        if target is None:
            raise forms.ValidationError(_("There is no request of yours with that reference."))
        return target


class AssignForm(StepForm):
    """Who holds the request: a colleague (by username), oneself ("me"), or nobody."""

    ME = "me"
    id_format = "id_%s"
    assignee = forms.CharField(label=_("Assigned to"), required=False, widget=forms.Select)

    def __init__(self, data: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        select(self, "assignee").choices = CallableChoiceIterator(self._choices)
        self.initial["assignee"] = self._holder

    @cached_property
    def colleagues(self) -> list[User]:
        return executing_colleagues(request=self.request)

    def _choices(self) -> list[tuple[str, str]]:
        # The user is "Me", not also under their own name further down the list.
        return [
            ("", str(_("Nobody (release)"))),
            (self.ME, str(_("Me"))),
            *(
                (c.username, c.get_full_name() or c.username)
                for c in self.colleagues
                if c.pk != self.actor.pk
            ),
        ]

    def _holder(self) -> str:
        holder = self.request.assignee_id
        if holder is not None and holder == self.actor.pk:
            return self.ME
        return next((c.username for c in self.colleagues if c.pk == holder), "")

    def clean_assignee(self) -> User | None:
        username = self.cleaned_data["assignee"]
        if not username:
            return None
        if username == self.ME:
            return self.actor
        # Any colleague of the same authority: the service says who may hold it.
        colleague = authority_colleague(authority_id=self.actor.authority_id, username=username)
        if colleague is None:
            raise forms.ValidationError(_("There is no colleague with that username."))
        return colleague


_DAYS_MESSAGE = _("Give the number of days as a whole number.")


class ExtendPreservationForm(StepForm):
    """A further period of preservation, with its reason."""

    id_format = "id_preservation_%s"
    days = WholeNumberField(
        label=_("Extend by (days)"),
        message=_DAYS_MESSAGE,
        initial=60,
        widget=forms.NumberInput(attrs={"min": "1"}),
    )
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.TextInput(ASKED))


class ExtendRecognitionForm(StepForm):
    """The one extension of the time to decide (EIO Art. 12(5)), with its reason. Not a
    transition: it does not depend on the state the page showed."""

    id_format = "id_recognition_%s"
    days = WholeNumberField(
        label=_("Extend the time to decide by (days, at most 30; once)"),
        message=_DAYS_MESSAGE,
        initial=30,
        widget=forms.NumberInput(attrs={"min": "1", "max": "30"}),
    )
    reason = forms.CharField(
        label=_("Reason (the issuing authority is told)"),
        required=False,
        widget=forms.TextInput(ASKED),
    )

    def __init__(self, data: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        del self.fields["expected_state"]


class PostponeForm(StepForm):
    ground = forms.CharField(
        label=_("Ground for postponing"), required=False, widget=forms.TextInput(ASKED)
    )
    until = IsoDateField(label=_("Expected to resume on"), required=False, widget=DateInput(ASKED))


class ForwardForm(StepForm):
    """The competent authority of the same country it goes to, from the directory's list."""

    authority = forms.CharField(
        label=_("Forward to the competent authority"),
        required=False,
        strip=False,  # the option's value exactly as the list gives it
        widget=forms.Select(attrs=ASKED),
    )

    def __init__(self, data: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        select(self, "authority").choices = CallableChoiceIterator(
            lambda: authority_choices(self.authorities)
        )

    @cached_property
    def authorities(self) -> list[Authority]:
        return forward_choices(request=self.request)

    def clean_authority(self) -> Authority:
        authority = chosen(self.authorities, self.cleaned_data["authority"])
        if authority is None:
            raise forms.ValidationError(_("Choose the competent authority from the list."))
        return authority

    def arguments(self) -> dict[str, Any]:
        arguments = super().arguments()
        arguments["to"] = arguments.pop("authority")
        return arguments


class RefuseForm(StepForm):
    """A ground the instrument allows and the written motivation."""

    ground = forms.CharField(
        label=_("Ground for refusal"), required=False, widget=forms.Select(attrs=ASKED)
    )
    motivation = forms.CharField(
        label=_("Written motivation"),
        required=False,
        widget=text_widget(required=True, long=True),
    )

    def __init__(self, data: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        select(self, "ground").choices = CallableChoiceIterator(
            lambda: [("", NO_CHOICE), *refusal_grounds(request=self.request)]
        )


# e-Evidence (Regulation (EU) 2023/1543) -------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field; an empty list when none was chosen (the service says
    that the data must be attached)."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        items = data if isinstance(data, list | tuple) else ([data] if data else [])
        return [super(MultipleFileField, self).clean(item, initial) for item in items]


class ProduceForm(StepForm):
    """The data produced for an EPOC, as files: each is kept with its SHA-256."""

    id_format = "id_produce_%s"
    produced = MultipleFileField(
        label=_("The data produced (one or more files)"),
        required=False,
        widget=MultipleFileInput(attrs=ASKED),
    )

    def arguments(self) -> dict[str, Any]:
        from mla.requests.lifecycle.certificates import ProducedFile

        arguments = super().arguments()
        arguments["files"] = [
            ProducedFile(name=upload.name, content=upload.read())
            for upload in arguments.pop("produced") or ()
        ]
        return arguments


def _annex_iii_reason_choices() -> list[tuple[str, str]]:
    from mla.instruments.eevidence import ANNEX_III_REASONS

    labels = {
        "incomplete": _("The certificate is incomplete"),
        "manifest_errors": _("The certificate contains manifest errors"),
        "insufficient_information": _("The certificate does not contain sufficient information"),
        "data_not_stored": _("The data were not stored when the certificate was received"),
        "data_no_longer_held": _("The data are no longer held or cannot be preserved"),
        "de_facto_impossible": _("Other de facto impossibility"),
        "not_competent_authority": _("Not issued or validated by a competent authority"),
        "offence_not_covered": _("The offence is not one for which it may be issued"),
        "service_not_covered": _("The service is not covered by the Regulation"),
        "immunities_privileges": _("Immunities, privileges or freedom of the press"),
        "conflicting_obligations": _("Conflicting obligation under a third country's law"),
        "other": _("Other"),
    }
    return [(code, str(labels[code])) for code in ANNEX_III_REASONS]


_CONFLICT_LABELS = {
    "third_country": _("The third country"),
    "law_provision": _("The law and its provision"),
    "law_text": _("The text of the provision"),
    "nature_of_obligation": _("The nature of the conflicting obligation"),
    "why_it_applies": _("Why the law applies in this case"),
    "why_it_conflicts": _("Why it conflicts with the order"),
    "provider_link": _("The provider's link to that country"),
    "consequences": _("The consequences for the provider of complying"),
}


class ImpossibilityForm(StepForm):
    """Annex III: why the order cannot be executed as it stands (wording not verified
    against the Official Journal: the reasons follow the public provider templates)."""

    id_format = "id_annex_iii_%s"
    reasons = forms.MultipleChoiceField(
        label=_("Reasons"),
        required=False,
        choices=CallableChoiceIterator(_annex_iii_reason_choices),
        widget=forms.CheckboxSelectMultiple,
    )
    explanation = forms.CharField(
        label=_("Explanation"),
        required=False,
        widget=forms.Textarea(attrs={**ASKED, "rows": "3", "cols": False}),
    )
    additional_information = forms.CharField(
        label=_("Additional information requested"),
        required=False,
        widget=forms.Textarea(attrs={"rows": "2", "cols": False}),
    )
    data_preserved = forms.BooleanField(label=_("The data are being preserved"), required=False)

    def __init__(self, data: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        for name, label in _CONFLICT_LABELS.items():
            self.fields[f"conflict_{name}"] = forms.CharField(
                label=label,
                required=False,
                help_text=_("Required when a conflicting obligation is given (Art. 17).")
                if name == "third_country"
                else "",
            )

    def arguments(self) -> dict[str, Any]:
        arguments = super().arguments()
        arguments["conflicting"] = {
            name: arguments.pop(f"conflict_{name}") or "" for name in _CONFLICT_LABELS
        }
        return arguments


class AnswerImpossibilityForm(StepForm):
    """The issuing authority's answer to an Annex III."""

    id_format = "id_annex_iii_answer_%s"
    answer = forms.ChoiceField(
        label=_("Answer"),
        required=False,
        choices=[
            ("", NO_CHOICE),
            ("corrected", _("Corrected")),
            ("completed", _("Completed")),
            ("withdrawn", _("Withdrawn")),
        ],
        widget=forms.Select(attrs=ASKED),
    )
