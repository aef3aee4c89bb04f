"""Every step a person takes on a request's page, through the API: the steps the caller may
take now, and one operation per step of the registry (mla.requests.lifecycle.steps).

Each operation's body is generated, once, from the fields of the step's own form; the
handler turns the body back into that form's data and calls ``Step.take``, as the page's
view does, so that what is accepted, refused and recorded is the page's. The state the
caller read (its ETag, sent as If-Match) is passed on as the form's ``expected_state``.

A step that takes files (the addressee's produced data) takes ``multipart/form-data``: the
files keep their bytes and names as the page's upload does, the body bound stays the one
of an attachment (settings.API_MAX_BODY_BYTES) rather than a third larger in base64, and the
schema names each part as a binary file.
"""

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated, Any, Literal

from django import forms
from django.http import HttpRequest, HttpResponse
from django.utils.choices import CallableChoiceIterator
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Path, Router, Schema
from ninja.files import UploadedFile
from pydantic import ConfigDict, create_model

from mla.accounts.models import User
from mla.api.auth import caller_of, scoped
from mla.api.etags import if_match_check, request_etag
from mla.api.models import Scope
from mla.api.routers.requests import RequestDetail, RequestKey, detail, request_or_404, with_etag
from mla.core.errors import ApplicationError
from mla.core.reauthentication import authentication_is_recent
from mla.requests.access import request_revoke, request_share, request_shares
from mla.requests.lifecycle.forms import IsoDateField, StepForm, WholeNumberField
from mla.requests.lifecycle.steps import (
    ISSUING,
    RECENT_SIGN_IN_STEPS,
    STEPS,
    Step,
    steps_shown,
)
from mla.requests.models import Request
from mla.requests.selectors import share_target

router = Router(tags=["steps"])

# Who may take each step with a token: the issuing side's steps by what they do (a draft
# submitted is drafting; what leaves the authority or answers for it is sending), and every
# step of a received request (the enforcing authority's included) is executing work.
_ISSUING_SCOPES: Mapping[str, Scope] = {
    "submit": Scope.DRAFT,
    "validate": Scope.SEND,
    "return_for_changes": Scope.SEND,
    "send": Scope.SEND,
    "answer_information": Scope.SEND,
    "follow_up": Scope.SEND,
    "answer_impossibility": Scope.SEND,
    "order_extension": Scope.SEND,
    "confirm_receipt": Scope.SEND,
    "withdraw": Scope.SEND,
}


def _scope_of(step: Step) -> Scope:
    # A KeyError here (at import) is an issuing step added to the registry without a scope.
    return _ISSUING_SCOPES[step.name] if step.side == ISSUING else Scope.EXECUTE


STEP_SCOPES: Mapping[str, Scope] = MappingProxyType(
    {name: _scope_of(step) for name, step in STEPS.items()}
)

# The longest free text another node takes in a step's note (mla.exchange.status.MAX_NOTE):
# the forms bound none, and the API bounds every string.
MAX_TEXT = 20_000
MAX_CHOICE = 200  # an option's value: an authority's key, a username, a ground's code
MAX_CHOSEN = 50
MAX_FILES = 100
ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# The database's integer, where the form's field names no bounds of its own.
SMALLEST_INTEGER, LARGEST_INTEGER = -(2**31), 2**31 - 1

FieldKind = Literal["text", "choice", "multiple_choice", "boolean", "integer", "date", "files"]


@dataclass(frozen=True)
class FieldSpec:
    """One field of a step's form as the API states it."""

    name: str
    kind: FieldKind
    label: str
    help: str
    # The page asks for it; a missing one is refused by the service with its reason.
    asked: bool
    # The form cannot read the step without it (a number of days, say).
    required: bool
    # The values the form takes whatever the request; None when the request decides them
    # (GET …/steps/ lists them for the request).
    choices: tuple[str, ...] | None = None
    minimum: int | None = None
    maximum: int | None = None


def _unbound_form(step: Step) -> StepForm:
    # Some forms add fields as they are made (the Annex III's conflicting obligation): one
    # made for no request in particular holds them all. Its choices are never read.
    return step.form_for(request=Request(), actor=User())


def _static_choices(form: StepForm, name: str, field: forms.Field) -> tuple[str, ...] | None:
    declared = type(form).base_fields.get(name, field)
    choices = getattr(declared, "choices", None)
    if isinstance(choices, CallableChoiceIterator):
        function = choices.func
        # A function that sees no request (no argument, nothing closed over) cannot
        # depend on one: its values are the same for every request.
        code = getattr(function, "__code__", None)
        if code is None or code.co_argcount or getattr(function, "__closure__", None):
            return None
        choices = list(choices)
    if not choices:
        return None  # filled in for each request
    return tuple(str(value) for value, _label in choices)


def _bound(field: forms.Field, attribute: str) -> int | None:
    value = field.widget.attrs.get(attribute)
    return int(value) if value is not None else None


def _kind(field: forms.Field) -> FieldKind:
    if isinstance(field, forms.FileField):
        return "files"
    if isinstance(field, forms.BooleanField):
        return "boolean"
    if isinstance(field, forms.MultipleChoiceField):
        return "multiple_choice"
    if isinstance(field, forms.ChoiceField):
        return "choice"
    if isinstance(field, WholeNumberField | forms.IntegerField):
        return "integer"
    if isinstance(field, IsoDateField | forms.DateField):
        return "date"
    if isinstance(field, forms.CharField):
        return "choice" if isinstance(field.widget, forms.Select) else "text"
    raise TypeError(f"The API cannot state the form field {field!r}.")


def _spec(form: StepForm, name: str, field: forms.Field) -> FieldSpec:
    kind = _kind(field)
    return FieldSpec(
        name=name,
        kind=kind,
        label=str(field.label or name),
        help=str(field.help_text or ""),
        asked=field.required or bool(field.widget.attrs.get("required")),
        required=field.required,
        choices=(
            _static_choices(form, name, field) if kind in ("choice", "multiple_choice") else None
        ),
        minimum=_bound(field, "min") if kind == "integer" else None,
        maximum=_bound(field, "max") if kind == "integer" else None,
    )


def form_fields(step: Step) -> tuple[FieldSpec, ...]:
    """The fields of the step's form a caller fills (the state read is the API's to give)."""
    form = _unbound_form(step)
    return tuple(
        _spec(form, name, field) for name, field in form.fields.items() if name != "expected_state"
    )


def _described(spec: FieldSpec) -> str:
    words = spec.label
    if spec.help:
        words += f". {spec.help}"
    if spec.asked and not spec.required:
        words += " (asked for: without it the step is refused, with the reason)"
    if spec.kind in ("choice", "multiple_choice") and spec.choices is None:
        words += " (one of the values GET …/steps/ lists for this request)"
    return words


def _value_type(spec: FieldSpec) -> Any:
    """One chosen value: one of the form's own, or any the request offers."""
    if spec.choices:
        return Literal.__getitem__(spec.choices)
    return Annotated[str, Field(max_length=MAX_CHOICE)]


def _annotation(spec: FieldSpec) -> tuple[Any, Any]:
    """The pydantic type and default of one field."""
    default: Any = ... if spec.required else None
    about = _described(spec)
    if spec.kind == "text":
        return Annotated[str, Field(max_length=MAX_TEXT, description=about)], (
            ... if spec.required else ""
        )
    if spec.kind == "choice":
        return Annotated[_value_type(spec), Field(description=about)], (
            ... if spec.required else ""
        )
    if spec.kind == "multiple_choice":
        return Annotated[
            list[_value_type(spec)],  # type: ignore[misc]
            Field(max_length=len(spec.choices or ()) or MAX_CHOSEN, description=about),
        ], (... if spec.required else [])
    if spec.kind == "boolean":
        return Annotated[bool, Field(description=about)], False
    if spec.kind == "integer":
        low = spec.minimum if spec.minimum is not None else SMALLEST_INTEGER
        high = spec.maximum if spec.maximum is not None else LARGEST_INTEGER
        return Annotated[int, Field(ge=low, le=high, description=about)], default
    if spec.kind == "date":
        # Written as the page's date field posts it; the form reads it, with its own words
        # for a day that does not exist (a number of seconds is no date here).
        day = Annotated[
            str, Field(pattern=ISO_DATE, max_length=10, json_schema_extra={"format": "date"})
        ]
        return Annotated[day | None, Field(description=about)], default
    raise TypeError(spec.kind)


class StepBody(Schema):
    model_config = ConfigDict(extra="forbid")


def _model_name(step: Step, suffix: str) -> str:
    return "".join(part.capitalize() for part in step.name.split("_")) + suffix


def _body_model(step: Step, specs: tuple[FieldSpec, ...]) -> type[StepBody]:
    fields = {spec.name: _annotation(spec) for spec in specs if spec.kind != "files"}
    model: type[StepBody] = create_model(  # type: ignore[call-overload]
        _model_name(step, "Step"), __base__=StepBody, **fields
    )
    return model


def _form_data(*, specs: tuple[FieldSpec, ...], values: Mapping[str, Any]) -> MultiValueDict:
    """The body as the page's form posts it: text and dates as typed, a ticked box "on",
    several choices as several values."""
    data: MultiValueDict[str, Any] = MultiValueDict()
    for spec in specs:
        value = values.get(spec.name)
        if value is None or spec.kind == "files":
            continue
        if spec.kind == "boolean":
            if value:
                data[spec.name] = "on"
        elif spec.kind == "multiple_choice":
            data.setlist(spec.name, [str(item) for item in value])
        else:
            data[spec.name] = str(value)
    return data


def _recent_sign_in_check(http_request: HttpRequest) -> None:
    """A browser's session takes what needs a recent sign-in on the page (sending, sharing)
    only after one, as the page does; a token was made with the second factor and is its
    own proof."""
    caller = caller_of(http_request)
    if caller.token is not None:
        return
    if not authentication_is_recent(user=caller.user, session=http_request.session):
        raise ApplicationError(
            _("Confirm your password (and second factor) on the node's pages, then try again."),
            code="reauthentication_required",
        )


def _form_known_check(
    *, http_request: HttpRequest, fields: set[str], file_fields: set[str]
) -> None:
    """A part the step does not know is refused, as an unknown JSON field is."""
    if not (http_request.content_type or "").startswith("multipart/form-data"):
        raise ApplicationError(
            _("This step takes its files as multipart/form-data."),
            code="unsupported_media_type",
        )
    unknown = sorted((set(http_request.POST) - fields) | (set(http_request.FILES) - file_fields))
    if unknown:
        raise ApplicationError(
            _("Unknown field: %(names)s.") % {"names": ", ".join(unknown[:10])},
            code="invalid",
        )


def step_take(
    *,
    http_request: HttpRequest,
    response: HttpResponse,
    step: Step,
    key: RequestKey,
    specs: tuple[FieldSpec, ...],
    values: Mapping[str, Any],
    files: MultiValueDict | None = None,
) -> dict[str, Any]:
    """Take ``step`` on the caller's copy of the request named by ``key``, as the page's
    transition view does, if the caller read its current state."""
    item = request_or_404(http_request, key.issuer, key.reference)
    if step.name in RECENT_SIGN_IN_STEPS:
        _recent_sign_in_check(http_request)
    if_match_check(http_request=http_request, current=request_etag(item))
    data = _form_data(specs=specs, values=values)
    data["expected_state"] = item.state
    step.take(request=item, actor=caller_of(http_request).user, data=data, files=files)
    # Some services act on a copy they lock: the answer reads the request again.
    fresh = Request.objects.select_related("issuing_authority").get(pk=item.pk)
    with_etag(response, fresh)
    return detail(fresh)


_NAME = re.compile(r"^[a-z_]+$")


def _operation(step: Step) -> Callable[..., dict[str, Any]]:
    """The handler of one step, with the signature django-ninja reads its schema from: a
    JSON body of the step's form, or its form fields and files as multipart/form-data."""
    assert _NAME.match(step.name)
    specs = form_fields(step)
    model = _body_model(step, specs)
    file_fields = [spec.name for spec in specs if spec.kind == "files"]
    request_parameter = inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    leading = [
        request_parameter,
        inspect.Parameter("key", inspect.Parameter.KEYWORD_ONLY, annotation=Path[RequestKey]),
        inspect.Parameter("response", inspect.Parameter.KEYWORD_ONLY, annotation=HttpResponse),
    ]

    if not file_fields:

        def take_json(
            request: HttpRequest, *, key: RequestKey, response: HttpResponse, body: StepBody
        ) -> dict[str, Any]:
            return step_take(
                http_request=request,
                response=response,
                step=step,
                key=key,
                specs=specs,
                values=dict(body),
            )

        take_json.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [*leading, inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=model)]
        )
        handler: Callable[..., dict[str, Any]] = take_json
    else:
        named = {spec.name for spec in specs if spec.kind != "files"}
        form: Any = Form  # its fields as parts of multipart/form-data

        def take_multipart(
            request: HttpRequest, *, key: RequestKey, response: HttpResponse, **parts: Any
        ) -> dict[str, Any]:
            _form_known_check(http_request=request, fields=named, file_fields=set(file_fields))
            body = parts["body"]
            return step_take(
                http_request=request,
                response=response,
                step=step,
                key=key,
                specs=specs,
                values=dict(body),
                files=request.FILES,
            )

        uploads = [
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=list[UploadedFile],
                default=File(None, max_length=MAX_FILES),
            )
            for name in file_fields
        ]
        take_multipart.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [
                *leading,
                inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=form[model]),
                *uploads,
            ]
        )
        handler = take_multipart
    handler.__name__ = f"step_{step.name}"
    handler.__doc__ = _operation_description(step, specs)
    return handler


def _operation_description(step: Step, specs: tuple[FieldSpec, ...]) -> str:
    scope = STEP_SCOPES[step.name]
    side = _("issuing") if step.side == ISSUING else _("executing")
    lines = [
        f"A step of the {side} side, as on the request's page; the token needs the "
        f"`{scope}` scope. Send `If-Match` with the ETag last read. The answer is the "
        "request with its new ETag.",
    ]
    if any(spec.kind == "files" for spec in specs):
        lines.append("Takes `multipart/form-data`: the files as parts, the other fields too.")
    if step.name in RECENT_SIGN_IN_STEPS:
        lines.append("From a browser's session, only after a recent sign-in.")
    return "\n\n".join(lines)


# A part the step does not know is refused (_form_known_check): the schema says so, as the
# JSON bodies' models do.
_PARTS_CLOSED = {
    "requestBody": {"content": {"multipart/form-data": {"schema": {"additionalProperties": False}}}}
}

for _step in STEPS.values():
    router.post(
        f"/{{issuer}}/{{reference}}/steps/{_step.name}/",
        response=RequestDetail,
        auth=scoped(STEP_SCOPES[_step.name]),
        summary=f"Step: {_step.name.replace('_', ' ')}",
        operation_id=f"step_{_step.name}",
        openapi_extra=(
            _PARTS_CLOSED if any(spec.kind == "files" for spec in form_fields(_step)) else None
        ),
    )(_operation(_step))


# The steps the caller may take now ------------------------------------------------------


class ChoiceOut(Schema):
    value: str
    label: str


class StepFieldOut(Schema):
    name: str
    type: FieldKind
    label: str
    help: str
    required: bool = Field(description="The page asks for it.")
    choices: list[ChoiceOut] | None = Field(
        description="The values this request offers (None: free text, a number or files)."
    )
    max_length: int | None
    minimum: int | None
    maximum: int | None


class StepOut(Schema):
    name: str
    side: Literal["issuing", "executing"]
    button: str = Field(description="The words of the page's button.")
    help: str
    primary: bool
    likely: bool = Field(description="The one clear next step the page offers first.")
    scope: str = Field(description="The token's scope this step needs.")
    url: str = Field(description="Where to POST it.")
    fields: list[StepFieldOut]


_SPECS: Mapping[str, Mapping[str, FieldSpec]] = MappingProxyType(
    {name: {spec.name: spec for spec in form_fields(step)} for name, step in STEPS.items()}
)


def _choices(field: forms.Field) -> list[dict[str, str]]:
    return [
        {"value": str(value), "label": str(label)}
        for value, label in getattr(field.widget, "choices", ())
    ]


def _max_length(spec: FieldSpec) -> int | None:
    if spec.kind == "text":
        return MAX_TEXT
    if spec.kind == "choice" and spec.choices is None:
        return MAX_CHOICE
    return None


@router.get(
    "/{issuer}/{reference}/steps/",
    response=list[StepOut],
    auth=scoped(Scope.READ),
    summary="The steps you may take now",
)
def step_list(request: HttpRequest, key: Path[RequestKey]) -> list[dict[str, Any]]:
    """The steps the page offers you on this request now, in its order, each with the
    fields of its form (the choices as this request offers them)."""
    item = request_or_404(request, key.issuer, key.reference)
    issuer, reference = item.url_args
    shown = steps_shown(request=item, user=caller_of(request).user)
    answer = []
    for entry in shown:
        step = STEPS[entry.name]
        specs = _SPECS[entry.name]
        fields = []
        for bound in entry.form.shown_fields():
            spec = specs[bound.name]
            fields.append(
                {
                    "name": spec.name,
                    "type": spec.kind,
                    "label": str(bound.label),
                    "help": str(bound.help_text or ""),
                    "required": spec.asked,
                    "choices": (
                        _choices(bound.field)
                        if spec.kind in ("choice", "multiple_choice")
                        else None
                    ),
                    "max_length": _max_length(spec),
                    "minimum": spec.minimum,
                    "maximum": spec.maximum,
                }
            )
        answer.append(
            {
                "name": entry.name,
                "side": step.side,
                "button": entry.button,
                "help": entry.help,
                "primary": entry.primary,
                "likely": entry.likely,
                "scope": str(STEP_SCOPES[entry.name]),
                "url": f"/api/v1/requests/{issuer}/{reference}/steps/{entry.name}/",
                "fields": fields,
            }
        )
    return answer


# Sharing ---------------------------------------------------------------------------------


class ShareBody(Schema):
    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, Field(max_length=150)] = Field(
        "", description="A colleague on this node, by username."
    )
    authority: Annotated[str, Field(max_length=64)] = Field(
        "", description="Or every user of an authority, by its identifier in the directory."
    )
    edit: bool = Field(False, description="May change it too, while it is a draft.")


class RevokeBody(Schema):
    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, Field(max_length=150)] = ""
    authority: Annotated[str, Field(max_length=64)] = ""


class ShareOut(Schema):
    name: str = Field(description="A username, or an authority's identifier.")
    edit: bool


class SharesOut(Schema):
    users: list[ShareOut]
    authorities: list[ShareOut]


def _shares(item: Request) -> dict[str, Any]:
    return {
        side: [{"name": share.name, "edit": share.edit} for share in shares]
        for side, shares in request_shares(request=item).items()
    }


@router.post(
    "/{issuer}/{reference}/share/",
    response=SharesOut,
    auth=scoped(Scope.SEND),
    summary="Share a request",
)
def request_share_with(
    request: HttpRequest, key: Path[RequestKey], body: ShareBody, response: HttpResponse
) -> dict[str, Any]:
    """Let a colleague, or every user of another authority, see the request (and change
    it while it is a draft, with `edit`). The answer: whom it is shared with now. Send
    `If-Match` with the ETag last read."""
    item = request_or_404(request, key.issuer, key.reference)
    # As on the page: sharing opens the request to someone else (revoking does not).
    _recent_sign_in_check(request)
    if_match_check(http_request=request, current=request_etag(item))
    target = share_target(username=body.username, identifier=body.authority)
    request_share(
        request=item,
        actor=caller_of(request).user,
        user=target.user,
        authority=target.authority,
        edit=body.edit,
    )
    with_etag(response, item)
    return _shares(item)


@router.post(
    "/{issuer}/{reference}/revoke/",
    response=SharesOut,
    auth=scoped(Scope.SEND),
    summary="Stop sharing a request",
)
def request_share_revoke(
    request: HttpRequest, key: Path[RequestKey], body: RevokeBody, response: HttpResponse
) -> dict[str, Any]:
    """Take back what was shared with a colleague or an authority. Send `If-Match` with
    the ETag last read."""
    item = request_or_404(request, key.issuer, key.reference)
    if_match_check(http_request=request, current=request_etag(item))
    target = share_target(username=body.username, identifier=body.authority)
    request_revoke(
        request=item,
        actor=caller_of(request).user,
        user=target.user,
        authority=target.authority,
    )
    with_etag(response, item)
    return _shares(item)
