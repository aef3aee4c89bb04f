"""A request's state as users read it: in an e-Evidence certificate's own words where it has
them, in the shared words otherwise."""

import pytest
from django.utils import translation

from mla.instruments import eevidence
from mla.requests.models import Request, state_label

State = Request.State
OUTGOING, INCOMING = Request.Direction.OUTGOING, Request.Direction.INCOMING


@pytest.mark.parametrize(
    ("declaration_code", "state", "direction", "shown"),
    [
        # The addressee produces the data; the issuing authority receives them.
        (eevidence.EPOC, State.EXECUTED, INCOMING, "Data produced"),
        (eevidence.EPOC, State.EXECUTED, OUTGOING, "Data received"),
        (eevidence.EPOC, State.PARTIALLY_EXECUTED, INCOMING, "Data partly produced"),
        (eevidence.EPOC, State.PARTIALLY_EXECUTED, OUTGOING, "Data partly received"),
        (eevidence.EPOC, State.PRESERVED, INCOMING, "Data preserved"),
        (eevidence.EPOC_PR, State.PRESERVED, INCOMING, "Data preserved"),
        (eevidence.EPOC_PR, State.PRESERVED, OUTGOING, "Data preserved"),
        # Without a side (a figure over both), the addressee's words.
        (eevidence.EPOC, State.EXECUTED, "", "Data produced"),
        # The states a certificate shares unchanged, and every other instrument's.
        (eevidence.EPOC, State.DELIVERED, OUTGOING, "Delivered"),
        (eevidence.EPOC_PR, State.EXTENDED, INCOMING, "Preservation extended"),
        ("eio", State.EXECUTED, INCOMING, "Executed"),
        ("eio", State.PARTIALLY_EXECUTED, OUTGOING, "Partially executed"),
        ("preservation", State.PRESERVED, INCOMING, "Preserved"),
        ("", State.EXECUTED, "", "Executed"),
    ],
)
def test_a_state_reads_in_the_words_of_its_request(declaration_code, state, direction, shown):
    label = state_label(state=state, declaration_code=declaration_code, direction=direction)
    request = Request(declaration_code=declaration_code, state=state, direction=direction)

    assert str(label) == shown
    assert request.get_state_display() == shown


def test_an_unknown_state_reads_as_its_code():
    assert state_label(state="no_such_state", declaration_code=eevidence.EPOC) == "no_such_state"


@pytest.mark.parametrize(
    ("language", "produced", "received", "partly", "preserved"),
    [
        (
            "fr",
            "Données produites",
            "Données reçues",
            "Données produites en partie",
            "Données conservées",
        ),
        (
            "de",
            "Daten herausgegeben",
            "Daten erhalten",
            "Daten teilweise herausgegeben",
            "Daten gesichert",
        ),
    ],
)
def test_a_certificate_s_own_words_are_translated(language, produced, received, partly, preserved):
    epoc, epoc_pr = eevidence.EPOC, eevidence.EPOC_PR

    with translation.override(language):
        shown = [
            str(state_label(state=State.EXECUTED, declaration_code=epoc, direction=INCOMING)),
            str(state_label(state=State.EXECUTED, declaration_code=epoc, direction=OUTGOING)),
            str(
                state_label(
                    state=State.PARTIALLY_EXECUTED, declaration_code=epoc, direction=INCOMING
                )
            ),
            str(state_label(state=State.PRESERVED, declaration_code=epoc_pr, direction=INCOMING)),
        ]

    assert shown == [produced, received, partly, preserved]
