"""Introducing two nodes to each other: the signed introduction file, its verification, the
side-by-side review and the four-eyes path from the phone call to the pin."""

import json

import pytest

from contact_points.directory_signing import directory_sign
from contact_points.models import Authority, DirectoryChange
from contact_points.services import (
    authority_set_public_key,
    directory_change_approve,
    directory_change_reject,
)
from mla.accounts.roles import Role
from mla.core.errors import ApplicationError
from mla.exchange.introduction import (
    Comparison,
    IntroductionError,
    _country_read,
    introduction_compare,
    introduction_export,
    introduction_propose,
    introduction_read,
    introduction_take_in,
)
from mla.exchange.models import IntroductionConfirmation, PartnerIntroduction
from tests.support.factories import UserFactory
from tests.support.introductions import (
    OUR_NODE,
    PARTNER_INBOX,
    PARTNER_NODE,
    our_node,
    partner_introduction,
)

pytestmark = pytest.mark.django_db


def _grouped(fingerprint: str) -> str:
    return " ".join(fingerprint[i : i + 4] for i in range(0, 40, 4))


def _altered(content: bytes, change) -> bytes:
    """The file with its payload changed by ``change`` and the signatures kept."""
    envelope = json.loads(content)
    payload = json.loads(envelope["payload"])
    change(payload)
    envelope["payload"] = json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True)
    return json.dumps(envelope).encode()


@pytest.fixture
def ours(introduced_node) -> Authority:
    return introduced_node


@pytest.fixture
def alice(directory_administrator):
    return directory_administrator


@pytest.fixture
def bob(node_administrator):
    return node_administrator


# The file --------------------------------------------------------------------------------


def test_the_export_lists_each_hosted_authority_signed_by_its_key(settings, exchange_keys):
    ours = our_node(settings, exchange_keys)
    content = introduction_export()

    envelope = json.loads(content)
    payload = json.loads(envelope["payload"])
    assert envelope["format"] == payload["format"] == "mla-introduction"
    assert payload["node"] == {"name": OUR_NODE[0], "base_url": OUR_NODE[1]}
    [record] = payload["authorities"]
    assert record["identifier"] == "aa-sender"
    assert record["fingerprint"] == exchange_keys.sender == ours.key_fingerprint
    assert record["inbox_url"] == "https://ours.example/exchange/inbox/"
    assert "BEGIN PGP PUBLIC KEY BLOCK" in record["public_key"]
    assert record["country"]["code"] == ours.country.code
    assert "contacts" not in record
    assert [s["fingerprint"] for s in envelope["signatures"]] == [exchange_keys.sender]


def test_the_export_refuses_a_node_without_a_hosted_key_pair(settings, exchange_keys):
    our_node(settings, exchange_keys)
    Authority.objects.filter(identifier="aa-sender").update(key_fingerprint="", public_key="")

    with pytest.raises(IntroductionError, match="node_keys create"):
        introduction_export()


def test_a_partner_file_made_with_its_own_keys_verifies_here(ours, introduction_file):
    introduction = introduction_read(content=introduction_file)

    assert (introduction.node_name, introduction.node_base_url) == PARTNER_NODE
    [partner] = introduction.authorities
    assert partner.identifier == "cc-partner"
    assert partner.inbox_url == PARTNER_INBOX
    assert partner.country.code == "MD"
    assert partner.instruments == ["mla"]
    assert partner.fingerprint_groups.count(" ") == 9


@pytest.mark.parametrize(
    "change",
    [
        lambda payload: payload["authorities"][0].update(inbox_url="https://evil.example/in/"),
        lambda payload: payload["node"].update(name="Someone else"),
    ],
    ids=["inbox URL", "node name"],
)
def test_a_file_changed_after_signing_is_refused(ours, introduction_file, change):
    with pytest.raises(IntroductionError, match="does not hold"):
        introduction_read(content=_altered(introduction_file, change))


def test_a_file_whose_listed_key_did_not_sign_is_refused(ours, introduction_file):
    envelope = json.loads(introduction_file)
    envelope["signatures"] = [
        {**signature, "fingerprint": "AAAA" * 10} for signature in envelope["signatures"]
    ]

    with pytest.raises(IntroductionError, match="does not list"):
        introduction_read(content=json.dumps(envelope).encode())

    envelope["signatures"] = []
    with pytest.raises(IntroductionError, match="not signed"):
        introduction_read(content=json.dumps(envelope).encode())


def test_a_key_signed_by_another_key_than_the_one_listed_is_refused(
    ours, introduction_file, exchange_keys
):
    # The file lists cc-partner's key, and the signature under its name is by another key.
    envelope = json.loads(introduction_file)
    envelope["signatures"][0]["signature"] = directory_sign(
        content=envelope["payload"].encode(), fingerprint=exchange_keys.sender
    ).decode()
    with pytest.raises(IntroductionError, match="cc-partner"):
        introduction_read(content=json.dumps(envelope).encode())


def test_a_key_without_an_encryption_subkey_is_refused(ours, introduction_file, openpgp_keys):
    def sign_only(payload):
        payload["authorities"][0]["public_key"] = openpgp_keys.sign_only

    with pytest.raises(IntroductionError, match="encryption"):
        introduction_read(content=_altered(introduction_file, sign_only))


def test_an_expired_key_is_refused(ours, introduction_file, exchange_keys):
    def expired(payload):
        payload["authorities"][0]["public_key"] = exchange_keys.armored[exchange_keys.expired]
        payload["authorities"][0]["fingerprint"] = exchange_keys.expired

    with pytest.raises(IntroductionError, match="expired"):
        introduction_read(content=_altered(introduction_file, expired))


@pytest.mark.parametrize(
    "content",
    [b"", b"not json", b'{"format": "mla-directory"}', b"[]"],
    ids=["empty", "not JSON", "another format", "a list"],
)
def test_what_is_not_an_introduction_is_refused(ours, content):
    with pytest.raises(IntroductionError, match="nothing was changed"):
        introduction_read(content=content)


def test_our_own_introduction_is_refused(settings, exchange_keys):
    our_node(settings, exchange_keys)

    with pytest.raises(IntroductionError, match="own introduction"):
        introduction_read(content=introduction_export())


def test_an_authority_hosted_here_is_never_touched(settings, exchange_keys):
    # The partner's file names an authority with the identifier of one hosted here.
    content = partner_introduction(settings, exchange_keys, identifier="aa-sender")
    ours = our_node(settings, exchange_keys)
    alice = UserFactory(authority=ours, roles=[Role.DIRECTORY_ADMINISTRATOR])

    with pytest.raises(IntroductionError, match="hosted on this node"):
        introduction_take_in(content=content, actor=alice)

    ours.refresh_from_db()
    assert ours.key_fingerprint == exchange_keys.sender
    assert not PartnerIntroduction.objects.exists()
    assert not DirectoryChange.objects.exists()


# Side by side ---------------------------------------------------------------------------------


def test_the_review_tells_a_new_authority_from_a_key_or_inbox_change(
    settings, exchange_keys, openpgp_keys
):
    content = partner_introduction(settings, exchange_keys)
    our_node(settings, exchange_keys)
    introduction = introduction_read(content=content)
    [row] = introduction_compare(introduction=introduction)
    assert (row.comparison, row.current) == (Comparison.NEW, None)

    known = Authority.objects.create(
        identifier="cc-partner",
        name="Partner",
        country=Authority.objects.get(identifier="aa-sender").country,
        kind="prosecutor",
        inbox_url=PARTNER_INBOX,
    )
    authority_set_public_key(authority=known, armored=openpgp_keys.valid)
    [row] = introduction_compare(introduction=introduction)
    assert row.comparison == Comparison.KEY
    assert row.current_fingerprint_groups == _grouped(openpgp_keys.valid_fingerprint)

    authority_set_public_key(authority=known, armored=exchange_keys.armored[exchange_keys.partner])
    known.inbox_url = "https://old.partner.example/inbox/"
    known.save()
    [row] = introduction_compare(introduction=introduction)
    assert row.comparison == Comparison.INBOX

    known.inbox_url = PARTNER_INBOX
    known.save()
    [row] = introduction_compare(introduction=introduction)
    assert row.comparison == Comparison.UNCHANGED
    assert not row.needs_confirmation


# From the phone call to the pin --------------------------------------------------------------


def test_nothing_is_proposed_without_the_confirmation_tick(alice, introduction_file):
    taken_in = introduction_take_in(content=introduction_file, actor=alice)

    with pytest.raises(IntroductionError, match="Tick at least one"):
        introduction_propose(
            introduction=taken_in, confirmed=[], spoke_with="Ion Popescu", actor=alice
        )

    assert not Authority.objects.filter(identifier="cc-partner").exists()
    assert not DirectoryChange.objects.exists()
    assert not IntroductionConfirmation.objects.exists()
    assert (taken_in.taken_in_by, taken_in.node_name) == (alice, PARTNER_NODE[0])


def test_the_person_spoken_to_must_be_named(alice, introduction_file, exchange_keys):
    taken_in = introduction_take_in(content=introduction_file, actor=alice)

    with pytest.raises(IntroductionError, match="whom you spoke"):
        introduction_propose(
            introduction=taken_in,
            confirmed=[exchange_keys.partner],
            spoke_with="  ",
            actor=alice,
        )
    assert not DirectoryChange.objects.exists()


def test_a_fingerprint_not_in_the_file_is_refused(alice, introduction_file, exchange_keys):
    taken_in = introduction_take_in(content=introduction_file, actor=alice)

    with pytest.raises(IntroductionError, match="not a fingerprint of this introduction"):
        introduction_propose(
            introduction=taken_in,
            confirmed=[exchange_keys.recipient],
            spoke_with="Ion Popescu",
            actor=alice,
        )


def test_the_confirmed_key_is_pinned_only_when_a_second_administrator_approves(
    alice, bob, introduction_file, exchange_keys
):
    taken_in = introduction_take_in(content=introduction_file, actor=alice)

    [confirmation] = introduction_propose(
        introduction=taken_in,
        confirmed=[_grouped(exchange_keys.partner)],
        spoke_with="Ion Popescu, duty officer",
        actor=alice,
    )

    partner = Authority.objects.get(identifier="cc-partner")
    assert (partner.key_fingerprint, partner.inbox_url, partner.public_key) == ("", "", "")
    assert partner.name == "Partner prosecutor's office"
    assert partner.country.code == "MD"
    assert partner.instrument_codes == ["mla"]
    assert partner.history.first().history_user == alice
    change = confirmation.change
    assert change.status == DirectoryChange.Status.PENDING
    assert change.origin == DirectoryChange.Origin.INTRODUCTION
    assert (change.proposed_by, change.new_fingerprint) == (alice, exchange_keys.partner)
    assert change.new_inbox_url == PARTNER_INBOX
    assert (confirmation.confirmed_by, confirmation.spoke_with) == (
        alice,
        "Ion Popescu, duty officer",
    )
    assert confirmation.fingerprint == exchange_keys.partner

    with pytest.raises(ApplicationError, match="four eyes"):
        directory_change_approve(change=change, actor=alice)
    partner.refresh_from_db()
    assert partner.key_fingerprint == ""

    directory_change_approve(change=change, actor=bob)

    partner.refresh_from_db()
    assert partner.key_fingerprint == exchange_keys.partner
    assert partner.inbox_url == PARTNER_INBOX
    change.refresh_from_db()
    assert (change.status, change.decided_by) == (DirectoryChange.Status.APPROVED, bob)


def test_a_key_change_of_a_known_partner_waits_for_approval(settings, exchange_keys, openpgp_keys):
    content = partner_introduction(settings, exchange_keys)
    ours = our_node(settings, exchange_keys)
    known = Authority.objects.create(
        identifier="cc-partner", name="Partner", country=ours.country, kind="prosecutor"
    )
    authority_set_public_key(authority=known, armored=openpgp_keys.valid)
    alice = UserFactory(authority=ours, roles=[Role.DIRECTORY_ADMINISTRATOR])
    taken_in = introduction_take_in(content=content, actor=alice)

    [confirmation] = introduction_propose(
        introduction=taken_in, confirmed=[exchange_keys.partner], spoke_with="Ion", actor=alice
    )

    known.refresh_from_db()
    assert known.key_fingerprint == openpgp_keys.valid_fingerprint
    assert known.name == "Partner"  # the file's entry does not replace ours
    assert confirmation.change.old_fingerprint == openpgp_keys.valid_fingerprint
    directory_change_reject(change=confirmation.change, actor=alice)
    known.refresh_from_db()
    assert known.key_fingerprint == openpgp_keys.valid_fingerprint


def test_only_administrators_take_an_introduction_in(ours, introduction_file):
    prosecutor = UserFactory(authority=ours, roles=[Role.PROSECUTOR])

    with pytest.raises(IntroductionError, match="Only a directory administrator"):
        introduction_take_in(content=introduction_file, actor=prosecutor)
    assert not PartnerIntroduction.objects.exists()


# e-Evidence: the countries' flag and a service provider's entry -----------------------------


def test_a_service_provider_and_its_countrys_e_evidence_flag_travel(settings, alice, exchange_keys):
    content = partner_introduction(
        settings,
        exchange_keys,
        country={"code": "NL", "name": "Netherlands", "eio_bound": True, "eevidence_bound": True},
        name="Example Hosting, designated establishment",
        kind="service_provider",
        instruments=["epoc", "epoc_pr"],
        languages=["en", "nl"],
        provider_name="Example Hosting B.V.",
        provider_services=["information_society"],
        provider_designation="designated_establishment",
        emergency_phone="+31700000031",
        emergency_email="emergency@example-hosting.example",
    )
    payload = json.loads(json.loads(content)["payload"])
    assert payload["authorities"][0]["country"]["eevidence_bound"] is True

    taken_in = introduction_take_in(content=content, actor=alice)
    introduction_propose(
        introduction=taken_in,
        confirmed=[_grouped(exchange_keys.partner)],
        spoke_with="Sanne de Vries, duty officer",
        actor=alice,
    )

    partner = Authority.objects.get(identifier="cc-partner")
    assert partner.country.code == "NL"
    assert partner.country.eevidence_bound
    assert (partner.kind, partner.provider_name) == ("service_provider", "Example Hosting B.V.")
    assert partner.provider_services == ["information_society"]
    assert partner.provider_designation == "designated_establishment"
    assert (partner.emergency_phone, partner.emergency_email) == (
        "+31700000031",
        "emergency@example-hosting.example",
    )
    assert partner.instrument_codes == ["epoc", "epoc_pr"]


@pytest.mark.parametrize(
    ("country", "bound"),
    [
        ({"code": "IE", "name": "Ireland"}, True),  # an older file: the reference data
        ({"code": "DK", "name": "Denmark"}, False),
        ({"code": "IE", "name": "Ireland", "eevidence_bound": False}, False),
        ({"code": "MD", "name": "Moldova", "eevidence_bound": True}, True),
    ],
)
def test_an_introduction_without_the_e_evidence_flag_is_read_from_the_reference_data(
    ours, country, bound
):
    introduced = _country_read(country, "cc-partner")

    assert introduced.eevidence_bound is bound
