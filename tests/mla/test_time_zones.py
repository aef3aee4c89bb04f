"""One instant, every page: each shows it in the reader's zone with the zone's name.

An EIO from Paris reaches Berlin, is acknowledged and chased, all at one instant, 09:30 UTC
on 15 January 2026. The Berlin officer and the Paris prosecutor read it in their
authority's zone (CET, 10:30), or in a zone they chose on their account page (Tokyo 18:30
JST, New York 04:30 EST): on the request list, the queue, the request page's header and
timeline, the tracker, the notifications and the e-mailed copy. Annex B states the Berlin
authority's zone, by name and offset, whoever downloads it.
"""

import datetime
import re
from dataclasses import dataclass

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from mla.core.instants import format_instant, format_instant_stated
from mla.core.templatetags.instants import instant, instant_date, instant_text
from mla.notifications.kinds import Kind
from mla.notifications.models import Notification
from mla.notifications.services import email_preferences_set, notification_email_deliver
from mla.requests.desk.tracker import request_chase
from mla.requests.lifecycle.executing import request_acknowledge
from mla.requests.lifecycle.issuing import request_send
from tests.support.pdf_text import flat, pdf_pages

pytestmark = pytest.mark.django_db

T = datetime.datetime(2026, 1, 15, 9, 30, tzinfo=datetime.UTC)
MACHINE = "2026-01-15T09:30:00Z"


@dataclass(frozen=True)
class Reader:
    choice: str  # the user's own zone; "" for their authority's
    wall: str  # T on their clock
    label: str

    @property
    def shown(self) -> str:
        return f"{self.wall} {self.label}"


AUTHORITY_ZONE = Reader("", "2026-01-15 10:30", "CET")  # Paris and Berlin, in winter
READERS = [
    AUTHORITY_ZONE,
    Reader("Asia/Tokyo", "2026-01-15 18:30", "JST"),
    Reader("America/New_York", "2026-01-15 04:30", "EST"),
]


def _time_elements(html: str) -> list[str]:
    """The text of each <time> element of T."""
    return re.findall(rf'<time datetime="{MACHINE}" title="[^"]*">([^<]*)</time>', html)


@pytest.fixture
def story(ready_eio, prosecutor, berlin_staff, authorities):
    """Everything at T: sent, delivered, acknowledged, chased."""
    authorities["paris"].time_zone = "Europe/Paris"
    authorities["paris"].save()
    authorities["berlin"].time_zone = "Europe/Berlin"
    authorities["berlin"].save()
    for user in (prosecutor, berlin_staff):
        email_preferences_set(user=user, kinds=Kind.values)
    with time_machine.travel(T, tick=False):
        request_send(request=ready_eio, actor=prosecutor)
        ready_eio.refresh_from_db()
        executing = ready_eio.counterpart
        request_acknowledge(request=executing, actor=berlin_staff)
        request_chase(request=ready_eio, actor=prosecutor)
    executing.refresh_from_db()
    assert executing.received_at == T
    return ready_eio, executing


def _with_zone(user, reader: Reader):
    user.time_zone = reader.choice
    user.save(update_fields=["time_zone"])
    return user


@pytest.mark.parametrize("reader", READERS, ids=lambda reader: reader.label)
def test_the_executing_side_reads_the_instant_in_its_zone_on_every_page(
    client, story, berlin_staff, reader
):
    _issuing, executing = story
    client.force_login(_with_zone(berlin_staff, reader))

    pages = {
        "list": reverse("requests:list"),
        "queue": reverse("requests:queue"),
        "request page": executing.get_absolute_url(),
        "notifications": reverse("notifications:inbox"),
    }
    for name, url in pages.items():
        html = client.get(url).content.decode()
        shown = _time_elements(html)
        assert shown, f"{name}: no <time> of the instant"
        assert set(shown) == {reader.shown}, name

    page = client.get(executing.get_absolute_url()).content.decode()
    header = page.split("<h2", 1)[0]
    assert f">{reader.shown}</time>" in header  # received, in the header
    timeline = page[page.index('<ol class="timeline">') :].split("</ol>", 1)[0]
    assert timeline.count(f">{reader.shown}</time>") >= 3  # received, acknowledged, chased


@pytest.mark.parametrize("reader", READERS, ids=lambda reader: reader.label)
def test_the_issuing_side_reads_the_instant_in_its_zone_on_every_page(
    client, story, prosecutor, reader
):
    issuing, _executing = story
    client.force_login(_with_zone(prosecutor, reader))

    for name, url in {
        "tracker": reverse("requests:tracker"),
        "request page": issuing.get_absolute_url(),
    }.items():
        shown = _time_elements(client.get(url).content.decode())
        assert shown, f"{name}: no <time> of the instant"
        assert set(shown) == {reader.shown}, name

    header = client.get(issuing.get_absolute_url()).content.decode().split("<h2", 1)[0]
    assert f'sent on <time datetime="{MACHINE}"' in header
    assert f">{reader.shown}</time>" in header


@pytest.mark.parametrize("reader", READERS, ids=lambda reader: reader.label)
def test_an_emailed_notification_is_in_its_recipients_zone(story, berlin_staff, reader):
    _with_zone(berlin_staff, reader)
    notification = Notification.objects.filter(recipient=berlin_staff, created_at=T).first()
    assert notification is not None
    mail.outbox.clear()
    Notification.objects.filter(pk=notification.pk).update(emailed_at=None)

    assert notification_email_deliver(notification_id=notification.pk)

    assert f"Notified on {reader.shown}." in mail.outbox[0].body


def test_annex_b_states_the_berlin_zone_whoever_reads_it(client, story, berlin_staff, tmp_path):
    _issuing, executing = story
    texts = []
    for reader in READERS:
        client.force_login(_with_zone(berlin_staff, reader))
        response = client.get(reverse("requests:annex_b", args=executing.url_args))
        assert response.status_code == 200
        texts.append(flat(" ".join(pdf_pages(response.content, tmp_path))))

    stated = "2026-01-15 10:30 Europe/Berlin (UTC+01:00)"
    for text in texts:
        assert text.count(stated) >= 2  # received, and acknowledged
        for other in READERS[1:]:
            assert other.wall not in text


def test_the_template_filters_name_the_zone():
    with timezone.override("Asia/Tokyo"):
        assert instant(T) == (
            f'<time datetime="{MACHINE}" title="Asia/Tokyo, UTC+09:00">2026-01-15 18:30 JST</time>'
        )
        assert instant_text(T, "America/New_York") == "2026-01-15 04:30 EST"
        assert ">2026-01-15</time>" in instant_date(T)
    assert instant(None) == ""


@pytest.mark.parametrize(
    ("zone", "summer", "winter"),
    [
        ("Europe/Paris", "2026-07-15 11:30 CEST", "2026-01-15 10:30 CET"),
        ("UTC", "2026-07-15 09:30 UTC", "2026-01-15 09:30 UTC"),
        # tzdata has no letters for Istanbul's zone: its offset stands for them.
        ("Europe/Istanbul", "2026-07-15 12:30 UTC+03:00", "2026-01-15 12:30 UTC+03:00"),
        ("Asia/Kolkata", "2026-07-15 15:00 IST", "2026-01-15 15:00 IST"),
    ],
)
def test_an_instant_carries_the_zones_name_at_that_instant(zone, summer, winter):
    assert format_instant(T.replace(month=7), zone) == summer
    assert format_instant(T, zone) == winter


def test_a_document_states_the_zone_by_name_and_offset():
    assert format_instant_stated(T, "America/New_York") == (
        "2026-01-15 04:30 America/New_York (UTC-05:00)"
    )


def test_a_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        format_instant(T.replace(tzinfo=None), "UTC")


def test_the_profile_page_sets_the_zone_and_refuses_an_unknown_one(client, prosecutor):
    client.force_login(prosecutor)

    client.post(reverse("accounts:profile"), {"time_zone": "Asia/Tokyo"})
    prosecutor.refresh_from_db()
    assert prosecutor.time_zone == "Asia/Tokyo"
    assert prosecutor.zone == "Asia/Tokyo"
    page = client.get(reverse("accounts:profile")).content.decode()
    assert '<option value="Asia/Tokyo" selected>' in page
    assert "JST</time>" in page  # the time now, as the user will read it

    response = client.post(reverse("accounts:profile"), {"time_zone": "Mars/Olympus"})
    prosecutor.refresh_from_db()
    assert prosecutor.time_zone == "Asia/Tokyo"
    assert "is not an IANA time zone" in response.content.decode()

    client.post(reverse("accounts:profile"), {"time_zone": ""})
    prosecutor.refresh_from_db()
    assert prosecutor.time_zone == ""
    assert prosecutor.zone == prosecutor.authority.time_zone
