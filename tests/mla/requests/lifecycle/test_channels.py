import logging

import pytest
from django.utils import timezone

from mla.exchange.channel import ExchangeChannel
from mla.exchange.models import OutboxMessage
from mla.requests.events import Event
from mla.requests.lifecycle import channels
from mla.requests.lifecycle.issuing import request_send
from mla.requests.models import Request
from tests.support.channels import RecordingChannel
from tests.support.factories import UserFactory

State = Request.State


@pytest.fixture
def recording(monkeypatch) -> RecordingChannel:
    channel = RecordingChannel()
    monkeypatch.setattr(channels, "_remote", [channel])
    return channel


def test_the_exchange_registers_its_channel_when_django_starts():
    assert isinstance(channels.remote_channel(), ExchangeChannel)


@pytest.mark.django_db
def test_an_authority_is_served_here_while_it_has_active_users(authorities):
    berlin = authorities["berlin"]
    assert not channels.authority_served_here(authority=berlin)
    user = UserFactory(authority=berlin, is_active=False)
    assert not channels.authority_served_here(authority=berlin)
    user.is_active = True
    user.save()
    assert channels.authority_served_here(authority=berlin)


@pytest.mark.django_db
def test_a_request_to_an_authority_served_elsewhere_leaves_by_the_remote_channel(
    ready_eio, prosecutor, recording
):
    request_send(request=ready_eio, actor=prosecutor)

    ready_eio.refresh_from_db()
    assert ready_eio.state == State.SENT
    assert recording.delivered == [(ready_eio.reference, prosecutor.get_full_name())]
    assert not Request.objects.filter(direction=Request.Direction.INCOMING).exists()
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_a_step_on_a_copy_whose_other_side_is_elsewhere_is_told_by_the_remote_channel(
    ready_eio, prosecutor, recording
):
    from mla.requests.lifecycle.issuing import request_withdraw

    request_send(request=ready_eio, actor=prosecutor)
    request_withdraw(request=ready_eio, actor=prosecutor, note="No longer needed")

    assert recording.told == [(ready_eio.reference, Event.WITHDRAWN, False, [])]


@pytest.mark.django_db
def test_with_no_remote_channel_nothing_leaves_and_a_warning_says_so(
    ready_eio, prosecutor, monkeypatch, caplog
):
    monkeypatch.setattr(channels, "_remote", [channels._Unconnected()])

    with caplog.at_level(logging.WARNING, logger="mla.requests.lifecycle.channels"):
        request_send(request=ready_eio, actor=prosecutor)

    ready_eio.refresh_from_db()
    assert ready_eio.state == State.SENT
    assert ready_eio.sent_at is not None
    assert ready_eio.sent_at <= timezone.now()
    assert "no channel to other nodes is installed" in caplog.text
    assert not OutboxMessage.objects.exists()
