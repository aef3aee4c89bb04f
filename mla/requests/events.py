"""The one vocabulary of what happens to a request: the events of its audit trail.

Every audit entry's ``event`` is one of these values, and so is every step one side tells
the other (in the same transaction on this node, or in a status message between nodes).
The values are stored in hash-chained audit entries and read by the statistics' triggers
(tests/mla/requests/test_events.py checks their SQL against this list), so a value is never
renamed: the few in the imperative (``submit``, ``withdraw``…) are the issuing side's own
acts as first recorded. Labels are what the timeline shows (through ``event_label``,
which words an EPOC's production its own way).
"""

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from mla.instruments import eevidence


class Event(models.TextChoices):
    # Drafting, on the issuing copy.
    CREATED = "created", _("Created")
    DUPLICATED = "duplicated", _("Created as a copy")
    SECTION_SAVED = "section_saved", _("Section saved")
    LINKED = "linked", _("Linked to another request")
    UNLINKED = "unlinked", _("Link removed")
    ATTACHMENT_ADDED = "attachment_added", _("Document attached")
    ATTACHMENT_REMOVED = "attachment_removed", _("Document removed")
    NOTE = "note", _("Note")
    SHARE = "share", _("Shared")
    REVOKE = "revoke", _("Access revoked")
    DOWNLOADED = "downloaded", _("Confidential copy downloaded")
    LANGUAGE_REASON = "language_reason", _("Reason for the request's language recorded")
    TRANSLATION_ATTACHED = "translation_attached", _("Translation to be attached as a document")
    TRANSLATION_BESIDE = "translation_beside", _("Translation given beside each free text")
    DOCUMENT_SIGNED = "document_signed", _("PDF signed with the authority's OpenPGP key")
    # The issuing side's steps.
    SUBMIT = "submit", _("Submitted")
    VALIDATE = "validate", _("Validated")
    RETURN_FOR_CHANGES = "return_for_changes", _("Returned for changes")
    WITHDRAW = "withdraw", _("Withdrawn")
    SENT = "sent", _("Sent")
    CHASED = "chased", _("Reminder sent to the executing side")
    NOT_TRANSMITTED = "not_transmitted", _("Could not be sent to the competent authority")
    # Told to the executing copy by the issuing side.
    WITHDRAWN = "withdrawn", _("Withdrawn")
    # Arrival.
    DELIVERED = "delivered", _("Delivered")
    RECEIVED = "received", _("Received")
    # The executing side's steps.
    ACKNOWLEDGED = "acknowledged", _("Receipt acknowledged")
    ASSIGNED = "assigned", _("Assigned")
    RELEASED = "released", _("Released (unassigned)")
    HANDOVER_NOTE = "handover_note", _("Handover note")
    RECOGNISED = "recognised", _("Recognised")
    EXECUTION_STARTED = "execution_started", _("Execution started")
    EXECUTED = "executed", _("Executed")
    PARTIALLY_EXECUTED = "partially_executed", _("Partially executed")
    REFUSED = "refused", _("Refused")
    POSTPONED = "postponed", _("Postponed")
    RESUMED = "resumed", _("Resumed")
    INFO_REQUESTED = "info_requested", _("Additional information requested")
    INFO_ANSWERED = "info_answered", _("Information provided")
    FORWARDED = "forwarded", _("Forwarded to the competent authority")
    RECOGNITION_EXTENDED = "recognition_extended", _("Time to decide extended")
    PROVISIONAL_DECIDED = "provisional_decided", _("Provisional measure decided")
    # Preservation (Budapest Art. 29).
    PRESERVED = "preserved", _("Data preserved")
    PRESERVATION_EXTENDED = "preservation_extended", _("Preservation extended")
    FOLLOWED_UP = "followed_up", _("Followed up by a request for the data")
    FOLLOW_UP_DECIDED = "follow_up_decided", _("Follow-up request decided")
    EXPIRED = "expired", _("Preservation ended")
    # Regulation (EU) 2023/1543 (e-Evidence). Production itself is EXECUTED or
    # PARTIALLY_EXECUTED, an Annex VI extension PRESERVATION_EXTENDED and an Annex V
    # confirmation FOLLOWED_UP, so that deadlines and statistics read them as the others.
    ENFORCING_NOTIFIED = "enforcing_notified", _("Enforcing authority notified (Art. 8)")
    NO_GROUNDS = "no_grounds", _("Enforcing authority raised no ground for refusal")
    GROUNDS_RAISED = "grounds_raised", _("Enforcing authority raised a ground for refusal")
    IMPOSSIBILITY_REPORTED = (
        "impossibility_reported",
        _("Impossibility to execute reported (Annex III)"),
    )
    IMPOSSIBILITY_ANSWERED = "impossibility_answered", _("Annex III answered")
    DATA_PART_RECEIVED = "data_part_received", _("Part of the produced data received")
    DATA_RECEIPT_SIGNED = "data_receipt_signed", _("Receipt for the produced data signed")
    OTHER_MEANS_TRANSMISSION = (
        "other_means_transmission",
        _("Transmitted by other means (Art. 19(6))"),
    )
    # The node's own checks.
    DEADLINE_MISSED = "deadline_missed", _("Deadline missed")


# Each event's lazy label by its value: Event.values builds its list anew on every call,
# which over a long timeline cost more than the page's queries.
EVENT_LABELS: dict[str, Any] = dict(Event.choices)

# An EPOC's production in its own words (Regulation (EU) 2023/1543): the addressee produces
# the data; nothing is "executed". The same words on either copy, whose step it was.
CERTIFICATE_EVENT_LABELS: dict[tuple[str, str], Any] = {
    (eevidence.EPOC, Event.EXECUTED): _("Data produced"),
    (eevidence.EPOC, Event.PARTIALLY_EXECUTED): _("Data partly produced"),
}


def event_label(*, event: str, declaration_code: str = "") -> Any:
    """The lazy label of an event of a request of ``declaration_code`` as its timeline and
    lists show it; the code itself when unknown."""
    worded = CERTIFICATE_EVENT_LABELS.get((declaration_code, event))
    return worded if worded is not None else EVENT_LABELS.get(event, event)


# The steps that decide a request, and so release a preservation it follows up.
DECISIONS = frozenset({Event.RECOGNISED, Event.REFUSED, Event.EXECUTED, Event.PARTIALLY_EXECUTED})

# Steps only the executing side takes, as recorded on the issuing copy.
EXECUTING_SIDE_EVENTS = (
    Event.DELIVERED,
    Event.ACKNOWLEDGED,
    Event.RECOGNISED,
    Event.EXECUTION_STARTED,
    Event.EXECUTED,
    Event.PARTIALLY_EXECUTED,
    Event.REFUSED,
    Event.POSTPONED,
    Event.RESUMED,
    Event.INFO_REQUESTED,
    Event.FORWARDED,
    Event.RECOGNITION_EXTENDED,
    Event.PROVISIONAL_DECIDED,
    Event.PRESERVED,
    Event.PRESERVATION_EXTENDED,
    Event.EXPIRED,
    # e-Evidence: the addressee's Annex III, and the enforcing authority's decision.
    Event.IMPOSSIBILITY_REPORTED,
    Event.NO_GROUNDS,
    Event.GROUNDS_RAISED,
)
# Acts on the issuing copy by its own side, or by validators and colleagues it was shared
# with (whose authority is not the issuer's either): never news from the executing side.
ISSUING_SIDE_EVENTS = (
    Event.CREATED,
    Event.DUPLICATED,
    Event.LINKED,
    Event.UNLINKED,
    Event.ATTACHMENT_ADDED,
    Event.ATTACHMENT_REMOVED,
    Event.NOTE,
    Event.SUBMIT,
    Event.VALIDATE,
    Event.RETURN_FOR_CHANGES,
    Event.WITHDRAW,
    Event.SHARE,
    Event.REVOKE,
    Event.DOWNLOADED,
    Event.DOCUMENT_SIGNED,
    Event.SENT,
    Event.CHASED,
    # e-Evidence: the issuing authority's answer to an Annex III, its receipt for the data
    # and its notification of the enforcing authority.
    Event.IMPOSSIBILITY_ANSWERED,
    Event.DATA_RECEIPT_SIGNED,
    Event.ENFORCING_NOTIFIED,
)
