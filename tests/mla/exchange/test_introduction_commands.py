"""manage.py partner_introduction: export, review, propose, approve and reject."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from contact_points.models import Authority, DirectoryChange
from mla.exchange.models import IntroductionConfirmation, PartnerIntroduction

pytestmark = pytest.mark.django_db


def _grouped(fingerprint: str) -> str:
    return " ".join(fingerprint[i : i + 4] for i in range(0, 40, 4))


def _call(*arguments: str) -> str:
    out = io.StringIO()
    call_command("partner_introduction", *arguments, stdout=out)
    return out.getvalue()


@pytest.fixture
def partner_file(tmp_path, introduction_file) -> str:
    path = tmp_path / "partner.mlaintro.json"
    path.write_bytes(introduction_file)
    return str(path)


def test_export_writes_our_signed_introduction(introduced_node, tmp_path, exchange_keys):
    path = tmp_path / "ours.mlaintro.json"

    printed = _call("export", "-o", str(path))

    assert f"aa-sender: {_grouped(exchange_keys.sender)}" in printed
    envelope = json.loads(path.read_bytes())
    assert [s["fingerprint"] for s in envelope["signatures"]] == [exchange_keys.sender]


def test_review_prints_the_file_beside_our_directory(introduced_node, partner_file, exchange_keys):
    printed = _call("review", partner_file)

    assert "cc-partner" in printed
    assert "new authority" in printed
    assert _grouped(exchange_keys.partner) in printed
    assert "every signature is good" in printed
    assert not PartnerIntroduction.objects.exists()


def test_review_refuses_a_tampered_file(introduced_node, partner_file, tmp_path):
    with open(partner_file, "rb") as handle:
        envelope = json.loads(handle.read())
    envelope["payload"] = envelope["payload"].replace("Partner", "Someone")
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(envelope))

    with pytest.raises(CommandError, match="does not hold"):
        _call("review", str(tampered))


def test_propose_then_approve_by_another_administrator_pins_the_key(
    partner_file, directory_administrator, node_administrator, exchange_keys
):
    printed = _call(
        "propose",
        partner_file,
        "--confirmed",
        _grouped(exchange_keys.partner),
        "--spoke-with",
        "Ion Popescu",
        "--actor",
        "alice",
    )

    assert "cc-partner: proposed" in printed
    confirmation = IntroductionConfirmation.objects.get()
    assert (confirmation.confirmed_by, confirmation.spoke_with) == (
        directory_administrator,
        "Ion Popescu",
    )
    assert Authority.objects.get(identifier="cc-partner").key_fingerprint == ""

    with pytest.raises(CommandError, match="four eyes"):
        _call("approve", "cc-partner", "--actor", "alice")

    _call("approve", "cc-partner", "--actor", "bob")

    assert Authority.objects.get(identifier="cc-partner").key_fingerprint == exchange_keys.partner
    assert DirectoryChange.objects.get().decided_by == node_administrator


def test_a_refused_proposal_keeps_nothing(partner_file, directory_administrator, exchange_keys):
    with pytest.raises(CommandError, match="whom you spoke"):
        _call(
            "propose",
            partner_file,
            "--confirmed",
            exchange_keys.partner,
            "--spoke-with",
            " ",
            "--actor",
            "alice",
        )

    assert not PartnerIntroduction.objects.exists()
    assert not Authority.objects.filter(identifier="cc-partner").exists()


def test_propose_names_a_real_user(partner_file, introduced_node, exchange_keys):
    with pytest.raises(CommandError, match="No active user"):
        _call(
            "propose",
            partner_file,
            "--confirmed",
            exchange_keys.partner,
            "--spoke-with",
            "Ion",
            "--actor",
            "nobody",
        )


def test_reject_leaves_the_directory_as_it_was(
    partner_file, directory_administrator, exchange_keys
):
    _call(
        "propose",
        partner_file,
        "--confirmed",
        exchange_keys.partner,
        "--spoke-with",
        "Ion",
        "--actor",
        "alice",
    )

    _call("reject", "cc-partner", "--actor", "alice")

    assert DirectoryChange.objects.get().status == DirectoryChange.Status.REJECTED
    assert Authority.objects.get(identifier="cc-partner").key_fingerprint == ""
    with pytest.raises(CommandError, match="No change proposed"):
        _call("approve", "cc-partner", "--actor", "alice")
