"""The enforcing authority of a European Production Order (Regulation (EU) 2023/1543): the
notification sent with the EPOC (Art. 8), its decision (Art. 12), and what both copies of
the EPOC record of it."""

import pytest
from django.urls import reverse

from contact_points.models import AuthorityInstrument
from mla.core.errors import ApplicationError
from mla.instruments import eevidence
from mla.requests.events import Event
from mla.requests.lifecycle.enforcing import (
    enforcing_decision,
    enforcing_grounds_raise,
    enforcing_no_grounds,
    notifications_of,
)
from mla.requests.lifecycle.enforcing_forms import SendForm
from mla.requests.lifecycle.executing import request_acknowledge, request_assign
from mla.requests.lifecycle.issuing import request_send, request_withdraw
from mla.requests.lifecycle.steps import STEPS, steps_allowed
from mla.requests.models import AuditEntry, Request, RequestLink
from tests.support.factories import AuthorityFactory

State = Request.State
pytestmark = pytest.mark.django_db


def _fresh(request):
    return Request.objects.get(pk=request.pk)


def _events(request):
    return list(
        AuditEntry.objects.filter(request=request)
        .order_by("sequence")
        .values_list("event", flat=True)
    )


def _entry(request, event):
    return AuditEntry.objects.filter(request=request, event=event).get()


@pytest.fixture
def sent(ready_epoc, eevidence_parties):
    """Send an EPOC made with the given options: (the EPOC's issuing copy, the addressee's
    copy, the notification's issuing copy or None, the enforcing authority's copy or None)."""

    def send(**options):
        epoc = ready_epoc(**options)
        request_send(request=epoc, actor=eevidence_parties["prosecutor"])
        epoc = _fresh(epoc)
        notifications = notifications_of(certificate=epoc)
        notification = notifications[0] if notifications else None
        return (
            epoc,
            epoc.counterpart,
            notification,
            notification.counterpart if notification is not None else None,
        )

    return send


@pytest.fixture
def acknowledged(sent, eevidence_parties):
    """A notified EPOC whose notification the enforcing authority acknowledged."""

    def make(**options):
        epoc, addressee, notification, enforcing = sent(**options)
        request_acknowledge(request=enforcing, actor=eevidence_parties["enforcing_staff"])
        return epoc, addressee, _fresh(notification), _fresh(enforcing)

    return make


# The notification (Art. 8) ------------------------------------------------------------


def test_sending_an_epoc_for_traffic_data_notifies_the_enforcing_authority(sent, eevidence_parties):
    epoc, addressee, notification, enforcing = sent(categories=(eevidence.TRAFFIC,))

    assert epoc.state == State.DELIVERED
    assert addressee.executing_authority == eevidence_parties["provider"]
    assert notification.declaration_code == eevidence.EPOC_NOTIFICATION
    assert notification.direction == Request.Direction.OUTGOING
    assert notification.state == State.DELIVERED
    assert notification.executing_authority == eevidence_parties["enforcing"]
    assert notification.reference != epoc.reference
    assert notification.data == epoc.data
    assert notification.data["M"]["enforcing_information"] == "For the enforcing authority only."
    assert RequestLink.objects.filter(from_request=notification, to_request=epoc).exists()
    # The enforcing authority's own copy, section M included, received now.
    assert enforcing.direction == Request.Direction.INCOMING
    assert enforcing.state == State.RECEIVED
    assert enforcing.executing_authority == eevidence_parties["enforcing"]
    assert enforcing.data["M"] == epoc.data["M"]
    notified = _entry(epoc, Event.ENFORCING_NOTIFIED)
    assert notified.payload == {"to": "de-enforcing", "notification": notification.reference}
    assert notified.at == epoc.sent_at
    assert _events(notification)[-3:] == [Event.LINKED, Event.SENT, Event.DELIVERED]


@pytest.mark.parametrize(
    ("options", "notified"),
    [
        ({"categories": (eevidence.CONTENT,)}, True),
        ({"categories": (eevidence.SUBSCRIBER, eevidence.TRAFFIC)}, True),
        ({"categories": (eevidence.SUBSCRIBER,)}, False),
        ({"categories": (eevidence.SUBSCRIBER, eevidence.IDENTIFICATION)}, False),
        # Art. 8(2): offence and person both in the issuing State.
        ({"offence_at_home": "yes", "person_at_home": "yes"}, False),
        ({"offence_at_home": "yes", "person_at_home": "no"}, True),
        ({"offence_at_home": "yes", "person_at_home": "unknown"}, True),
    ],
)
def test_a_notification_is_sent_only_when_the_regulation_requires_it(sent, options, notified):
    epoc, addressee, notification, _enforcing = sent(**options)

    assert addressee is not None
    assert (notification is not None) is notified
    assert epoc.audit_entries.filter(event=Event.ENFORCING_NOTIFIED).exists() is notified
    assert Request.objects.filter(declaration_code=eevidence.EPOC_NOTIFICATION).exists() is notified


def test_without_an_enforcing_authority_in_the_directory_nothing_is_sent(
    ready_epoc, eevidence_parties
):
    AuthorityInstrument.objects.filter(authority=eevidence_parties["enforcing"]).delete()
    epoc = ready_epoc()

    with pytest.raises(ApplicationError, match="enforcing authority of Germany must be notified"):
        request_send(request=epoc, actor=eevidence_parties["prosecutor"])

    epoc = _fresh(epoc)
    assert epoc.state == State.READY
    assert epoc.counterpart is None
    assert not epoc.audit_entries.filter(event=Event.SENT).exists()
    assert not Request.objects.filter(direction=Request.Direction.INCOMING).exists()
    assert not Request.objects.filter(declaration_code=eevidence.EPOC_NOTIFICATION).exists()


def test_with_several_enforcing_authorities_the_prosecutor_chooses(
    ready_epoc, eevidence_parties, countries, authorities
):
    other = AuthorityFactory(
        identifier="de-enforcing-2",
        name="Generalstaatsanwaltschaft",
        country=countries["DE"],
        kind="prosecutor",
        instruments=[eevidence.EPOC_NOTIFICATION],
    )
    epoc = ready_epoc()
    prosecutor = eevidence_parties["prosecutor"]

    with pytest.raises(ApplicationError, match="Choose which enforcing authority"):
        request_send(request=epoc, actor=prosecutor)
    with pytest.raises(ApplicationError, match="is not an enforcing authority of Germany"):
        request_send(
            request=_fresh(epoc), actor=prosecutor, enforcing_authority=authorities["berlin"]
        )
    assert _fresh(epoc).state == State.READY

    request_send(request=_fresh(epoc), actor=prosecutor, enforcing_authority=other)

    (notification,) = notifications_of(certificate=_fresh(epoc))
    assert notification.executing_authority == other


def test_the_send_form_asks_for_the_enforcing_authority_only_when_there_are_several(
    ready_epoc, eevidence_parties, countries
):
    prosecutor = eevidence_parties["prosecutor"]
    epoc = ready_epoc()
    subscriber_only = ready_epoc(categories=(eevidence.SUBSCRIBER,))

    def shown(request):
        form = SendForm(step="send", request=request, actor=prosecutor)
        return [field.name for field in form.shown_fields()]

    assert shown(epoc) == []
    assert "enforcing authority of Germany is notified" in STEPS["send"].help(request=epoc)
    assert "enforcing authority" not in STEPS["send"].help(request=subscriber_only)
    AuthorityFactory(
        country=countries["DE"], kind="prosecutor", instruments=[eevidence.EPOC_NOTIFICATION]
    )
    assert shown(epoc) == ["enforcing_authority"]
    assert shown(subscriber_only) == []
    form = SendForm(
        {
            "expected_state": "ready",
            "enforcing_authority": eevidence_parties["enforcing"].identifier,
        },
        step="send",
        request=epoc,
        actor=prosecutor,
    )
    assert form.is_valid()
    assert form.arguments() == {"enforcing_authority": eevidence_parties["enforcing"]}


def test_withdrawing_the_epoc_withdraws_its_notification_which_cannot_be_withdrawn_alone(
    sent, eevidence_parties
):
    epoc, addressee, notification, enforcing = sent()
    prosecutor = eevidence_parties["prosecutor"]

    with pytest.raises(ApplicationError, match="withdraw the EPOC, and it is withdrawn with it"):
        request_withdraw(request=notification, actor=prosecutor)
    assert "withdraw" not in [
        step.name for step in steps_allowed(request=notification, user=prosecutor)
    ]

    request_withdraw(request=epoc, actor=prosecutor, note="Case closed.")

    assert [_fresh(copy).state for copy in (epoc, addressee, notification, enforcing)] == [
        State.WITHDRAWN
    ] * 4
    assert _entry(notification, Event.WITHDRAW).payload == {"certificate": epoc.reference}
    assert _entry(enforcing, Event.WITHDRAWN).note == "Case closed."


# The decision (Art. 12) ---------------------------------------------------------------


def test_no_ground_raised_moves_the_copies_and_is_recorded_on_the_epoc(
    acknowledged, eevidence_parties
):
    epoc, addressee, notification, enforcing = acknowledged()
    assert notification.state == State.ACKNOWLEDGED

    enforcing_no_grounds(
        request=enforcing,
        actor=eevidence_parties["enforcing_staff"],
        note="Nothing against it.",
        expected_state=State.ACKNOWLEDGED,
    )

    enforcing, notification = _fresh(enforcing), _fresh(notification)
    assert enforcing.state == State.NO_GROUNDS
    assert enforcing.decided_at is not None
    assert enforcing.closed_at is not None
    decided = _entry(enforcing, Event.NO_GROUNDS)
    assert (decided.from_state, decided.to_state) == (State.ACKNOWLEDGED, State.NO_GROUNDS)
    assert decided.actor == eevidence_parties["enforcing_staff"]
    assert notification.state == State.NO_GROUNDS
    assert _entry(notification, Event.NO_GROUNDS).note == "Nothing against it."
    # The EPOC goes on: both copies record the decision, without changing state.
    assert _fresh(epoc).state == State.DELIVERED
    assert _entry(epoc, Event.NO_GROUNDS).note == "Nothing against it."
    assert _fresh(addressee).state == State.RECEIVED
    assert _entry(addressee, Event.NO_GROUNDS).note == ""  # the reasons stay with the issuer
    for copy in (epoc, addressee, enforcing):
        decision = enforcing_decision(request=copy)
        assert decision is not None
        assert decision.state == State.NO_GROUNDS
        assert decision.allows(eevidence.TRAFFIC)
        assert decision.decided_at == decided.at


def test_a_ground_against_the_whole_order_refuses_the_epoc_on_both_copies(
    acknowledged, eevidence_parties
):
    epoc, addressee, notification, enforcing = acknowledged(
        categories=(eevidence.TRAFFIC, eevidence.CONTENT)
    )

    enforcing_grounds_raise(
        request=enforcing,
        actor=eevidence_parties["enforcing_cp_staff"],
        scope=eevidence.FULL,
        ground="ne_bis_in_idem",
        explanation="Already tried here in 2024.",
    )

    assert _fresh(enforcing).state == State.GROUNDS_RAISED
    assert _fresh(notification).state == State.GROUNDS_RAISED
    payload = {"scope": "full", "ground": "ne_bis_in_idem", "categories": ["content", "traffic"]}
    for copy in (enforcing, notification, epoc, addressee):
        assert _entry(copy, Event.GROUNDS_RAISED).payload == payload
    for copy in (epoc, addressee):
        assert _fresh(copy).state == State.REFUSED
        refused = _entry(copy, Event.REFUSED)
        assert refused.payload == {"ground": "ne_bis_in_idem", "by": "enforcing_authority"}
        assert refused.actor is None
        assert _events(copy)[-2:] == [Event.GROUNDS_RAISED, Event.REFUSED]
    decision = enforcing_decision(request=addressee)
    assert decision is not None
    assert decision.refused
    assert not decision.allows(eevidence.SUBSCRIBER)


def test_a_ground_against_some_categories_lets_the_others_be_produced(
    acknowledged, eevidence_parties
):
    epoc, addressee, _notification, enforcing = acknowledged(
        categories=(eevidence.SUBSCRIBER, eevidence.TRAFFIC, eevidence.CONTENT)
    )
    staff = eevidence_parties["enforcing_staff"]
    request_assign(request=enforcing, actor=staff, assignee=staff)

    enforcing_grounds_raise(
        request=_fresh(enforcing),
        actor=staff,
        scope=eevidence.PARTIAL,
        ground="immunities_privileges",
        categories=["content"],
        explanation="The content is covered by a journalist's privilege.",
        expected_state=State.ASSIGNED,
    )

    assert _fresh(epoc).state == State.DELIVERED
    assert _fresh(addressee).state == State.RECEIVED
    for copy in (epoc, addressee):
        assert _entry(copy, Event.GROUNDS_RAISED).payload == {
            "scope": "partial",
            "ground": "immunities_privileges",
            "categories": ["content"],
        }
    decision = enforcing_decision(request=_fresh(addressee))
    assert decision is not None
    assert (decision.state, decision.ground, decision.scope) == (
        State.GROUNDS_RAISED,
        "immunities_privileges",
        "partial",
    )
    assert decision.affected_categories == {"content"}
    assert not decision.refused
    assert [c for c in eevidence.DATA_CATEGORIES if decision.allows(c)] == [
        "subscriber",
        "identification",
        "traffic",
    ]


def test_no_decision_yet(sent):
    epoc, addressee, _notification, enforcing = sent()

    assert enforcing_decision(request=epoc) is None
    assert enforcing_decision(request=addressee) is None
    assert enforcing_decision(request=enforcing) is None


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"scope": "", "ground": "ne_bis_in_idem"}, "whole order or to some data categories"),
        ({"scope": "full", "ground": "eio_11_1_a"}, "one of the grounds of Art. 12"),
        ({"scope": "partial", "ground": "ne_bis_in_idem", "explanation": "x"}, "Tick the data"),
        (
            {"scope": "partial", "ground": "ne_bis_in_idem", "categories": ["subscriber"]},
            "only data categories the order asks for",
        ),
        (
            {
                "scope": "partial",
                "ground": "ne_bis_in_idem",
                "categories": ["traffic", "content"],
                "explanation": "x",
            },
            "raise it against the whole order",
        ),
        (
            {"scope": "partial", "ground": "ne_bis_in_idem", "categories": ["content"]},
            "Explain why",
        ),
    ],
)
def test_a_ground_the_regulation_does_not_allow_is_refused(
    acknowledged, eevidence_parties, arguments, message
):
    _epoc, _addressee, notification, enforcing = acknowledged(
        categories=(eevidence.TRAFFIC, eevidence.CONTENT)
    )

    with pytest.raises(ApplicationError, match=message):
        enforcing_grounds_raise(
            request=enforcing, actor=eevidence_parties["enforcing_staff"], **arguments
        )

    assert _fresh(enforcing).state == State.ACKNOWLEDGED
    assert _fresh(notification).state == State.ACKNOWLEDGED
    assert not AuditEntry.objects.filter(event=Event.GROUNDS_RAISED).exists()


@pytest.mark.parametrize(
    ("annex_iv_category", "three_years", "available"),
    [
        ("computer_crime", "three_year_maximum", False),
        ("computer_crime", "listed_offence", True),
        ("", "three_year_maximum", True),
    ],
)
def test_double_criminality_is_not_available_for_an_annex_iv_offence_of_three_years(
    acknowledged, eevidence_parties, annex_iv_category, three_years, available
):
    _epoc, _addressee, _notification, enforcing = acknowledged(
        annex_iv_category=annex_iv_category, three_years=three_years
    )
    raise_it = {
        "request": enforcing,
        "actor": eevidence_parties["enforcing_staff"],
        "scope": eevidence.FULL,
        "ground": eevidence.DOUBLE_CRIMINALITY,
    }

    if available:
        enforcing_grounds_raise(**raise_it)
        assert _fresh(enforcing).state == State.GROUNDS_RAISED
    else:
        with pytest.raises(ApplicationError, match=r"Art. 12\(1\)\(d\)"):
            enforcing_grounds_raise(**raise_it)
        assert _fresh(enforcing).state == State.ACKNOWLEDGED


def test_only_the_enforcing_staff_decide(acknowledged, eevidence_parties, berlin_staff):
    _epoc, addressee, _notification, enforcing = acknowledged()

    for person in ("provider_staff", "prosecutor"):
        with pytest.raises(ApplicationError, match="Only contact-point or central-authority"):
            enforcing_no_grounds(request=enforcing, actor=eevidence_parties[person])
    with pytest.raises(ApplicationError, match="Only contact-point or central-authority"):
        enforcing_no_grounds(request=enforcing, actor=berlin_staff)
    # The addressee's copy of the EPOC is not a notification: no such step there.
    with pytest.raises(ApplicationError):
        enforcing_no_grounds(request=addressee, actor=eevidence_parties["provider_staff"])
    assert _fresh(enforcing).state == State.ACKNOWLEDGED


def test_the_decision_is_taken_once(acknowledged, eevidence_parties):
    _epoc, _addressee, _notification, enforcing = acknowledged()
    staff = eevidence_parties["enforcing_staff"]
    enforcing_no_grounds(request=enforcing, actor=staff)

    with pytest.raises(ApplicationError, match="you cannot raise a ground"):
        enforcing_grounds_raise(
            request=_fresh(enforcing), actor=staff, scope="full", ground="ne_bis_in_idem"
        )


# The page -----------------------------------------------------------------------------


def test_the_enforcing_authority_is_offered_its_steps_and_not_an_executing_authority_s(
    acknowledged, eevidence_parties
):
    _epoc, addressee, _notification, enforcing = acknowledged()

    offered = [
        step.name
        for step in steps_allowed(request=enforcing, user=eevidence_parties["enforcing_staff"])
    ]

    assert {"confirm_no_grounds", "raise_grounds"} <= set(offered)
    assert not {"recognise", "refuse", "forward", "execute"} & set(offered)
    provider_offered = {
        step.name
        for step in steps_allowed(request=addressee, user=eevidence_parties["provider_staff"])
    }
    assert not {"confirm_no_grounds", "raise_grounds"} & provider_offered


def test_the_enforcing_copy_s_page_shows_section_m_and_the_time_left(
    client, acknowledged, eevidence_parties
):
    _epoc, _addressee, _notification, enforcing = acknowledged()
    client.force_login(eevidence_parties["enforcing_staff"])

    page = client.get(enforcing.get_absolute_url()).content.decode()
    preview = client.get(reverse("requests:preview", args=enforcing.url_args)).content.decode()

    assert "For the enforcing authority only." in preview
    assert "Regulation (EU) 2023/1543, Art. 12(1)" in page
    assert "9 d 23 h left." in page
    assert 'data-step="confirm_no_grounds"' in page
    assert 'data-step="raise_grounds"' in page


def test_grounds_raised_from_the_page(client, acknowledged, eevidence_parties):
    epoc, _addressee, _notification, enforcing = acknowledged(
        categories=(eevidence.TRAFFIC, eevidence.CONTENT)
    )
    client.force_login(eevidence_parties["enforcing_staff"])

    client.post(
        reverse("requests:transition", args=[*enforcing.url_args, "raise_grounds"]),
        {
            "expected_state": "acknowledged",
            "scope": "partial",
            "ground": "fundamental_rights",
            "categories": ["content"],
            "explanation": "Manifest breach for the content.",
        },
        follow=True,
    )

    assert _entry(enforcing, Event.GROUNDS_RAISED).payload == {
        "scope": "partial",
        "ground": "fundamental_rights",
        "categories": ["content"],
    }
    assert _entry(epoc, Event.GROUNDS_RAISED).note == "Manifest breach for the content."


def test_the_steps_are_registered_for_the_executing_side():
    assert STEPS["confirm_no_grounds"].side == "executing"
    assert STEPS["raise_grounds"].side == "executing"


# Between nodes ------------------------------------------------------------------------
#
# A status message from another node applies the step through counterpart.issuing_follow
# (the enforcing authority's decision, on the notification's issuing copy) and
# counterpart.executing_follow (the decision told to the addressee's copy).


def test_the_exchange_carries_the_decisions_both_ways():
    from mla.exchange import status

    assert {Event.NO_GROUNDS, Event.GROUNDS_RAISED} <= status._executing_events()
    assert {Event.NO_GROUNDS, Event.GROUNDS_RAISED} <= status._issuing_events()


def test_a_decision_received_from_the_enforcing_authority_s_node_reaches_the_epoc(sent):
    from django.utils import timezone

    from mla.requests.lifecycle import counterpart

    epoc, addressee, notification, _enforcing = sent()
    payload = {"scope": "full", "ground": "fundamental_rights", "categories": ["traffic"]}
    at = timezone.now()

    counterpart.issuing_follow(
        issuing=notification,
        event=Event.GROUNDS_RAISED,
        note="Decided there.",
        payload=payload,
        on_behalf_of=("Erik", "Bundesamt für Justiz"),
        at=at,
    )
    # The same message again, told to the addressee's copy: recorded once.
    counterpart.executing_follow(
        executing=_fresh(addressee),
        event=Event.GROUNDS_RAISED,
        payload=payload,
        on_behalf_of=("the node", "Parquet de Paris"),
        at=at,
    )

    notification_entry = _entry(notification, Event.GROUNDS_RAISED)
    assert notification_entry.authority_name == "Bundesamt für Justiz"
    assert _fresh(notification).state == State.GROUNDS_RAISED
    assert _fresh(epoc).state == State.REFUSED
    assert _fresh(addressee).state == State.REFUSED
    assert _entry(addressee, Event.GROUNDS_RAISED).payload == payload
