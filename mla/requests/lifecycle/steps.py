"""The steps a person takes on a request's page, in one registry.

Each step names its side, the words of its button, its form and the service it calls; the
page offers the steps of the request's side that the user may take now, in this order, and
the transition view reads and takes the one posted.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_fsm import has_transition_perm

from mla.accounts.models import User
from mla.core.errors import ApplicationError
from mla.instruments import eevidence
from mla.requests.deadlines.engine import format_remaining
from mla.requests.lifecycle.certificates import (
    certificate_answer_impossibility,
    certificate_confirm_receipt,
    certificate_extend_preservation,
    certificate_produce,
    certificate_report_impossibility,
    production_allowed,
    receipt_confirmed,
)
from mla.requests.lifecycle.enforcing import (
    assessment_time_left,
    enforcing_grounds_raise,
    enforcing_no_grounds,
    notification_needed,
)
from mla.requests.lifecycle.enforcing_forms import GroundsForm, SendForm
from mla.requests.lifecycle.executing import (
    request_acknowledge,
    request_ask_information,
    request_assign,
    request_end_preservation,
    request_execute,
    request_extend_preservation,
    request_extend_recognition,
    request_forward,
    request_postpone,
    request_preserve,
    request_recognise,
    request_record_follow_up,
    request_record_information,
    request_record_provisional_decision,
    request_refuse,
    request_resume,
    request_start_execution,
)
from mla.requests.lifecycle.forms import (
    AnswerImpossibilityForm,
    AssignForm,
    ExtendPreservationForm,
    ExtendRecognitionForm,
    FollowUpForm,
    ForwardForm,
    ImpossibilityForm,
    Note,
    PostponeForm,
    ProduceForm,
    RefuseForm,
    StepForm,
    SubmitForm,
)
from mla.requests.lifecycle.issuing import (
    request_answer_information,
    request_follow_up,
    request_return_for_changes,
    request_send,
    request_submit,
    request_validate,
    request_withdraw,
)
from mla.requests.lifecycle.rules import may_act_for_executor, may_act_for_issuer, may_submit
from mla.requests.models import Deadline, Request

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile
    from django.utils.datastructures import MultiValueDict
    from django_stubs_ext import StrOrPromise

Side = Literal["issuing", "executing"]
ISSUING: Side = "issuing"
EXECUTING: Side = "executing"

# Deadlines still counting (or run out and not yet met): what an extension or a decision
# on a provisional measure applies to.
_OPEN_DEADLINE_STATES = ("running", "extended", "suspended", "missed")


@dataclass(frozen=True)
class Step:
    """One step of the page: who takes it (``side``), its button (``verb``, or a function
    of the request when it reads differently), its form and note, the service it calls,
    and the help shown under it."""

    name: str
    side: Side
    verb: "StrOrPromise | Callable[[Request], StrOrPromise]"
    # Called with the request, the actor, the form's arguments, ``fixed`` and, when
    # ``checks_state``, the state the page showed.
    service: Callable[..., object]
    form: type[StepForm] = StepForm
    note: Note | None = None
    help_text: "StrOrPromise | Callable[[Request], StrOrPromise]" = ""
    primary: bool = False
    checks_state: bool = True
    fixed: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    # Who may take it now; by default the permission of its transition (source state,
    # guards and who may act), as the service checks it.
    allowed: Callable[[Request, User], bool] | None = None

    def may(self, *, request: Request, user: User) -> bool:
        if self.allowed is not None:
            return self.allowed(request, user)
        return bool(has_transition_perm(getattr(request, self.name), user))

    def button(self, *, request: Request) -> str:
        return str(self.verb(request) if callable(self.verb) else self.verb)

    def help(self, *, request: Request) -> str:
        return str(self.help_text(request) if callable(self.help_text) else self.help_text)

    def form_for(
        self,
        *,
        request: Request,
        actor: User,
        data: Mapping[str, Any] | None = None,
        files: "MultiValueDict[str, UploadedFile] | None" = None,
    ) -> StepForm:
        return self.form(
            data, step=self.name, request=request, actor=actor, note=self.note, files=files
        )

    def take(
        self,
        *,
        request: Request,
        actor: User,
        data: Mapping[str, Any],
        files: "MultiValueDict[str, UploadedFile] | None" = None,
    ) -> None:
        """Read the posted form and call the service; ApplicationError if a field cannot be
        read (with the first such field's message) or the service refuses."""
        form = self.form_for(request=request, actor=actor, data=data, files=files)
        if not form.is_valid():
            raise ApplicationError(
                form.first_error(), code="invalid", extra={"problems": form.field_problems()}
            )
        if self.allowed is not None and not self.allowed(request, actor):
            # The page offers the step only where ``allowed`` says; a step posted elsewhere
            # (another page's, or an EIO's on a certificate) is refused as the page would.
            raise ApplicationError(
                gettext("This step is not open to you on this request now."),
                code="not_allowed_in_state",
            )
        arguments = {**self.fixed, **form.arguments()}
        if self.checks_state:
            arguments["expected_state"] = form.cleaned_data["expected_state"] or None
        self.service(request=request, actor=actor, **arguments)


@dataclass(frozen=True)
class ShownStep:
    """A step as the page shows it for one request: its form, button and help.

    ``likely``: the step the page offers first, as the one clear action (the first of the
    request's primary steps the user may take); the others are offered each on its own."""

    name: str
    primary: bool
    button: str
    help: str
    form: StepForm
    likely: bool = False


def _submit_allowed(request: Request, user: User) -> bool:
    # Offered to its author even while incomplete: the refusal says what is missing.
    return request.state == Request.State.DRAFT and may_submit(request=request, user=user)


def _submit_verb(request: Request) -> "StrOrPromise":
    if request.needs_validation:
        return _("Submit for validation")
    return _("Submit: ready to send")


def _send_help(request: Request) -> str:
    authority = request.executing_authority
    text = _(
        "It goes to %(authority)s, with its documents; the deadlines start when it is received."
    ) % {"authority": authority.name if authority else ""}
    if notification_needed(request=request):
        text += " " + _(
            "The enforcing authority of %(country)s is notified at the same time, section M "
            "included (Regulation (EU) 2023/1543, Art. 8)."
        ) % {"country": request.executing_country.name}
    return text


def _acknowledge_help(request: Request) -> "StrOrPromise":
    if request.instrument == "eio":
        return _("For an EIO this issues the Annex B acknowledgement of receipt (Art. 16(1)).")
    return ""


def _open_deadlines(request: Request) -> dict[str, Deadline]:
    return {row.code: row for row in request.deadlines.all() if row.state in _OPEN_DEADLINE_STATES}


def _assign_allowed(request: Request, user: User) -> bool:
    return (
        may_act_for_executor(request=request, user=user)
        and request.is_open
        and request.state != Request.State.RECEIVED
    )


def _extend_recognition_allowed(request: Request, user: User) -> bool:
    recognition = _open_deadlines(request).get("recognition")
    return (
        may_act_for_executor(request=request, user=user)
        and recognition is not None
        and recognition.extended_days == 0
    )


def _provisional_decision_allowed(request: Request, user: User) -> bool:
    return may_act_for_executor(request=request, user=user) and (
        "provisional_measures" in _open_deadlines(request)
    )


# e-Evidence (Regulation (EU) 2023/1543) -------------------------------------------------


def _certificate(request: Request) -> bool:
    return request.declaration_code in eevidence.CERTIFICATES


def _time_left(request: Request, code: str) -> str:
    """ " 3 d 4 h left." for the open deadline ``code``, or nothing."""
    deadline = _open_deadlines(request).get(code)
    if deadline is None:
        return ""
    return " " + format_remaining(due_at=deadline.due_at, now=timezone.now()) + "."


def _transition_allowed(action: str, *, certificate: bool) -> Callable[[Request, User], bool]:
    """A step of the transition ``action`` offered on certificates only (``certificate``)
    or on every other request only."""

    def allowed(request: Request, user: User) -> bool:
        return _certificate(request) == certificate and bool(
            has_transition_perm(getattr(request, action), user)
        )

    return allowed


def _produce_help(request: Request) -> str:
    data = request.data or {}
    if eevidence.is_emergency(data):
        text = gettext("Emergency: transmit at the latest 8 hours after receipt (Art. 10(4)).")
    elif eevidence.notification_required(data):
        text = gettext(
            "The enforcing authority is notified: transmit at the end of its 10 days, or "
            "as soon as it says it raises no ground (Art. 10(2))."
        )
    else:
        text = gettext("Transmit within 10 days of receipt (Art. 10(3)).")
    text += _time_left(request, "production")
    allowed, reason = production_allowed(request=request)
    return text if allowed else f"{text} {reason}"


def _preserve_help(request: Request) -> "StrOrPromise":
    if request.declaration_code == eevidence.EPOC:
        return _("The data are preserved on receipt, until they are produced (Art. 10(1)).")
    if request.declaration_code == eevidence.EPOC_PR:
        return _("Preserve without undue delay; the 60 days count from now (Art. 11(1)).")
    return ""


def _impossibility_help(request: Request) -> "StrOrPromise":
    return _(
        "Annex III (Art. 10(5)-(8), 11(4)-(5)): the issuing authority answers within 5 days; "
        "the time to produce stops meanwhile."
    )


def _answer_help(request: Request) -> str:
    return gettext(
        "Answer the Annex III within 5 days of receiving it (Art. 10(5)-(6)): corrected or "
        "completed, it goes back to the provider; withdrawn, it ends."
    ) + _time_left(request, "impossibility_answer")


def _extension_help(request: Request) -> str:
    return gettext(
        "Annex VI: 30 more days, once, before the 60 days end (Art. 11(1))."
    ) + _time_left(request, "preservation")


def _follow_up_verb(request: Request) -> "StrOrPromise":
    if request.declaration_code == eevidence.EPOC_PR:
        return _("Confirm the production request (Annex V)")
    return _("Mark as followed up")


def _follow_up_help(request: Request) -> str:
    if request.declaration_code != eevidence.EPOC_PR:
        return ""
    return gettext(
        "Annex V: name the EPOC, EIO or MLA request of your authority that asks for these "
        "data; they are kept until it is decided (Art. 11(1))."
    ) + _time_left(request, "preservation")


def _confirm_receipt_allowed(request: Request, user: User) -> bool:
    return (
        request.declaration_code == eevidence.EPOC
        and request.state in (Request.State.EXECUTED, Request.State.PARTIALLY_EXECUTED)
        and may_act_for_issuer(request=request, user=user)
        and not receipt_confirmed(request=request)
    )


def _confirm_receipt(*, request: Request, actor: User, note: str = "") -> None:
    certificate_confirm_receipt(request=request, actor=actor, note=note)


_NOTE = _("Note (optional)")


# Enforcing authority (e-Evidence) --------------------------------------------------------


def _assessment_help(request: Request) -> str:
    left = assessment_time_left(request=request)
    text = _(
        "Regulation (EU) 2023/1543, Art. 12(1): decide within 10 days of receiving the "
        "notification (96 hours in an emergency, Art. 10(4))."
    )
    return f"{text} {left}." if left else str(text)


def _no_grounds_help(request: Request) -> str:
    early = _(
        "Confirming before the time ends lets the addressee produce the data at once (Art. 10(2))."
    )
    return f"{_assessment_help(request)} {early}"


ENFORCING_STEPS = (
    Step(
        name="confirm_no_grounds",
        side=EXECUTING,
        verb=_("No ground for refusal"),
        service=enforcing_no_grounds,
        note=Note(_NOTE),
        primary=True,
        help_text=_no_grounds_help,
    ),
    Step(
        name="raise_grounds",
        side=EXECUTING,
        verb=_("Raise a ground for refusal"),
        service=enforcing_grounds_raise,
        form=GroundsForm,
        help_text=_assessment_help,
    ),
)

# In the order the page shows them.
STEPS: dict[str, Step] = {
    step.name: step
    for step in (
        # The issuing side.
        Step(
            name="submit",
            side=ISSUING,
            verb=_submit_verb,
            service=request_submit,
            form=SubmitForm,
            primary=True,
            allowed=_submit_allowed,
        ),
        Step(
            name="validate",
            side=ISSUING,
            verb=_("Validate"),
            service=request_validate,
            note=Note(_NOTE),
            primary=True,
        ),
        Step(
            name="return_for_changes",
            side=ISSUING,
            verb=_("Return for changes"),
            service=request_return_for_changes,
            note=Note(_("What must change"), required=True),
        ),
        Step(
            name="send",
            side=ISSUING,
            verb=_("Send to the executing authority"),
            service=request_send,
            form=SendForm,
            primary=True,
            help_text=_send_help,
        ),
        Step(
            name="answer_information",
            side=ISSUING,
            verb=_("Send the answer"),
            service=request_answer_information,
            note=Note(_("The information asked for"), required=True, long=True),
            primary=True,
        ),
        Step(
            name="follow_up",
            side=ISSUING,
            verb=_follow_up_verb,
            service=request_follow_up,
            form=FollowUpForm,
            help_text=_follow_up_help,  # e-Evidence: Annex V
        ),
        # e-Evidence: the issuing authority's answer to an Annex III, Annex VI, and the
        # receipt of the data produced.
        Step(
            name="answer_impossibility",
            side=ISSUING,
            verb=_("Answer the Annex III"),
            service=certificate_answer_impossibility,
            form=AnswerImpossibilityForm,
            note=Note(
                _("What was corrected or completed, or why it is withdrawn"),
                required=True,
                long=True,
            ),
            primary=True,
            help_text=_answer_help,
        ),
        Step(
            name="order_extension",
            side=ISSUING,
            verb=_("Extend the preservation by 30 days (Annex VI)"),
            service=certificate_extend_preservation,
            note=Note(_("Reason for the extension"), required=True, argument="reason"),
            help_text=_extension_help,
        ),
        Step(
            name="confirm_receipt",
            side=ISSUING,
            verb=_("Confirm receipt of the data"),
            service=_confirm_receipt,
            note=Note(_NOTE),
            primary=True,
            checks_state=False,
            allowed=_confirm_receipt_allowed,
            help_text=_(
                "Records a receipt naming each file's SHA-256, signed with your authority's "
                "key where this node holds it."
            ),
        ),
        Step(
            name="withdraw",
            side=ISSUING,
            verb=_("Withdraw"),
            service=request_withdraw,
            note=Note(_("Reason for withdrawing (optional)")),
        ),
        # The executing side.
        Step(
            name="acknowledge",
            side=EXECUTING,
            verb=_("Acknowledge receipt"),
            service=request_acknowledge,
            note=Note(_("Other information (optional)")),
            primary=True,
            help_text=_acknowledge_help,
        ),
        Step(
            name="assign",
            side=EXECUTING,
            verb=_("Assign"),
            service=request_assign,
            form=AssignForm,
            allowed=_assign_allowed,
        ),
        Step(
            name="recognise",
            side=EXECUTING,
            verb=_("Recognise: it will be executed"),
            service=request_recognise,
            note=Note(_NOTE),
            primary=True,
        ),
        Step(
            name="preserve",
            side=EXECUTING,
            verb=_("Data preserved"),
            service=request_preserve,
            note=Note(_NOTE),
            primary=True,
            help_text=_preserve_help,
        ),
        # e-Evidence: the addressee transmits an EPOC's data, or reports on Annex III.
        Step(
            name="produce",
            side=EXECUTING,
            verb=_("Transmit the data"),
            service=certificate_produce,
            form=ProduceForm,
            note=Note(_NOTE),
            primary=True,
            help_text=_produce_help,
            allowed=_transition_allowed("execute", certificate=True),
        ),
        Step(
            name="produce_partially",
            side=EXECUTING,
            verb=_("Transmit part of the data"),
            service=certificate_produce,
            form=ProduceForm,
            note=Note(_("Which data could not be produced, and why"), required=True, long=True),
            fixed=MappingProxyType({"partially": True}),
            help_text=_produce_help,
            allowed=_transition_allowed("execute_partially", certificate=True),
        ),
        Step(
            name="report_impossibility",
            side=EXECUTING,
            verb=_("Report that it cannot be executed (Annex III)"),
            service=certificate_report_impossibility,
            form=ImpossibilityForm,
            help_text=_impossibility_help,
        ),
        Step(
            name="start_execution",
            side=EXECUTING,
            verb=_("Start executing"),
            service=request_start_execution,
            note=Note(_NOTE),
        ),
        Step(
            name="execute",
            side=EXECUTING,
            verb=_("Executed"),
            service=request_execute,
            note=Note(_("What was done (optional)")),
            primary=True,
            allowed=_transition_allowed("execute", certificate=False),  # e-Evidence: produce
        ),
        Step(
            name="execute_partially",
            side=EXECUTING,
            verb=_("Partially executed"),
            service=request_execute,
            note=Note(_("What could not be done, and why"), required=True, long=True),
            fixed=MappingProxyType({"partially": True}),
            allowed=_transition_allowed("execute_partially", certificate=False),
        ),
        Step(
            name="request_information",
            side=EXECUTING,
            verb=_("Ask the issuer for information"),
            service=request_ask_information,
            note=Note(
                _("What information is needed"), required=True, long=True, argument="question"
            ),
        ),
        Step(
            name="receive_information",
            side=EXECUTING,
            verb=_("Information received"),
            service=request_record_information,
            note=Note(_("The information received, and how it came"), required=True, long=True),
        ),
        Step(
            name="resume",
            side=EXECUTING,
            verb=_("Resume"),
            service=request_resume,
            note=Note(_NOTE),
        ),
        Step(
            name="extend_preservation",
            side=EXECUTING,
            verb=_("Extend the preservation"),
            service=request_extend_preservation,
            form=ExtendPreservationForm,
        ),
        Step(
            name="record_follow_up",
            side=EXECUTING,
            verb=_("Follow-up received"),
            service=request_record_follow_up,
            note=Note(_("The follow-up request (reference or channel)"), required=True),
        ),
        Step(
            name="end_preservation",
            side=EXECUTING,
            verb=_("End the preservation"),
            service=request_end_preservation,
            note=Note(_("Why the preservation ends")),
        ),
        Step(
            name="extend_recognition",
            side=EXECUTING,
            verb=_("Extend the deadline"),
            service=request_extend_recognition,
            form=ExtendRecognitionForm,
            checks_state=False,
            allowed=_extend_recognition_allowed,
        ),
        Step(
            name="provisional_decision",
            side=EXECUTING,
            verb=_("Record the decision"),
            service=request_record_provisional_decision,
            note=Note(_("The decision on the provisional measure"), required=True),
            checks_state=False,
            allowed=_provisional_decision_allowed,
        ),
        Step(
            name="postpone",
            side=EXECUTING,
            verb=_("Postpone"),
            service=request_postpone,
            form=PostponeForm,
        ),
        Step(
            name="forward",
            side=EXECUTING,
            verb=_("Forward"),
            service=request_forward,
            form=ForwardForm,
            note=Note(_NOTE),
        ),
        Step(
            name="refuse",
            side=EXECUTING,
            verb=_("Refuse"),
            service=request_refuse,
            form=RefuseForm,
        ),
        *ENFORCING_STEPS,
    )
}


# Steps that put the request abroad under the user's name: from a browser they need a
# recent sign-in (password and second factor confirmed again).
RECENT_SIGN_IN_STEPS = frozenset({"send"})


def steps_of_side(side: Side) -> tuple[str, ...]:
    return tuple(name for name, step in STEPS.items() if step.side == side)


ISSUING_STEPS = steps_of_side(ISSUING)
EXECUTING_STEPS = steps_of_side(EXECUTING)


def request_side(*, request: Request) -> Side:
    """The side whose steps a copy of a request offers."""
    return ISSUING if request.direction == Request.Direction.OUTGOING else EXECUTING


def steps_allowed(*, request: Request, user: User) -> list[Step]:
    """The steps the user may take on the request now, in the page's order."""
    side = request_side(request=request)
    return [
        step
        for step in STEPS.values()
        if step.side == side and step.may(request=request, user=user)
    ]


def steps_shown(*, request: Request, user: User) -> list[ShownStep]:
    """The steps the user may take on the request now, each with its form, as the page
    shows them; the first primary one is the likely next step."""
    allowed = steps_allowed(request=request, user=user)
    likely = next((step.name for step in allowed if step.primary), None)
    return [
        ShownStep(
            name=step.name,
            primary=step.primary,
            button=step.button(request=request),
            help=step.help(request=request),
            form=step.form_for(request=request, actor=user),
            likely=step.name == likely,
        )
        for step in allowed
    ]
