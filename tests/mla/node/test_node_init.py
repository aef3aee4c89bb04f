"""`manage.py node_init`: the first start of a real node, from an empty database."""

import builtins
import json
import re
import shlex

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from contact_points.directory_io import directory_import
from contact_points.models import Authority, Country
from mla.accounts.models import User
from mla.accounts.roles import Role
from mla.core.node import node_identity
from mla.exchange.keys import NodeKeyError, authority_is_hosted, node_keys_list
from mla.node import setup
from tests.support.deploy_guide import guide_commands
from tests.support.keys import pinned_authority

pytestmark = pytest.mark.django_db

BASE_URL = "https://mla.berlin.example"
INBOX_URL = f"{BASE_URL}/exchange/inbox/"
PASSWORD = "a long and unusual passphrase 7"
FIRST_START = [
    "--name",
    "Berlin node",
    "--base-url",
    BASE_URL,
    "--create-authority",
    "de-berlin-prosecutor",
    "--authority-name",
    "Staatsanwaltschaft Berlin",
    "--country",
    "DE",
    "--kind",
    "prosecutor",
    "--time-zone",
    "Europe/Berlin",
    "--instruments",
    "eio,preservation",
    "--admin-username",
    "admin",
    "--admin-email",
    "admin@berlin.example",
    "--no-input",
]


def _node_init(capsys, *arguments: str) -> str:
    call_command("node_init", *arguments)
    return capsys.readouterr().out


def _printed_password(output: str) -> str:
    (password,) = re.findall(r"^Credentials: username \S+, password (\S+) \(shown", output, re.M)
    return password


def _nothing_written() -> None:
    assert node_identity() is None
    assert not User.objects.exists()
    assert node_keys_list() == []


def test_a_fresh_node_gets_its_identity_authority_key_pair_and_administrator(
    fresh_homes, capsys, caplog, client
):
    output = _node_init(capsys, *FIRST_START)

    identity = node_identity()
    assert (identity.name, identity.base_url) == ("Berlin node", BASE_URL)
    authority = Authority.objects.get(identifier="de-berlin-prosecutor")
    assert (authority.name, authority.country.code, authority.kind, authority.time_zone) == (
        "Staatsanwaltschaft Berlin",
        "DE",
        "prosecutor",
        "Europe/Berlin",
    )
    assert authority.inbox_url == INBOX_URL
    assert sorted(authority.instrument_links.values_list("instrument", flat=True)) == [
        "eio",
        "preservation",
    ]
    assert authority_is_hosted(authority=authority)
    germany = Country.objects.get(code="DE")
    assert germany.name == "Germany"
    # A Member State taking part in the EIO Directive: its prosecutors may issue EIOs at once.
    assert germany.eio_bound
    assert "as bound by the EIO Directive: yes" in output
    admin = User.objects.get()
    assert admin.username == "admin"
    assert admin.is_superuser
    assert admin.is_staff
    assert admin.authority == authority
    assert admin.has_role(Role.NODE_ADMINISTRATOR)
    assert admin.groups.filter(name="authority:de-berlin-prosecutor").exists()
    # What the administrator reads: one summary with everything to hand to a partner.
    assert "Node: Berlin node" in output
    assert f"Fingerprint: {authority.fingerprint_groups} (key pair created)" in output
    assert f"Inbox URL: {INBOX_URL} (set)" in output
    assert f"Sign in at: {BASE_URL}{reverse('accounts:login')}" in output
    password = _printed_password(output)
    assert password not in admin.password
    assert password not in caplog.text
    # The printed password signs in.
    response = client.post(reverse("accounts:login"), {"username": "admin", "password": password})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(admin.pk)


def test_running_it_again_keeps_everything_and_says_so(fresh_homes, capsys):
    _node_init(capsys, *FIRST_START)
    fingerprint = Authority.objects.get().key_fingerprint

    again = _node_init(capsys, *FIRST_START)
    bare = _node_init(capsys, "--no-input")

    assert Authority.objects.get().key_fingerprint == fingerprint
    assert len(node_keys_list()) == 1
    assert User.objects.count() == 1
    for output in (again, bare):
        assert "(key pair already here)" in output
        assert f"Inbox URL: {INBOX_URL} (kept)" in output
        assert "First administrator: admin (already there)" in output
        assert "Credentials: unchanged" in output
    assert "de-berlin-prosecutor is already in the directory" in again


def test_a_second_first_administrator_is_refused(fresh_homes, capsys):
    _node_init(capsys, *FIRST_START)

    output = _node_init(
        capsys, "--admin-username", "second", "--admin-email", "second@berlin.example"
    )

    assert list(User.objects.values_list("username", flat=True)) == ["admin"]
    assert "No administrator created: the node already has its first administrator (admin)" in (
        output
    )


def test_authorities_of_an_imported_directory_with_a_given_password(
    fresh_homes, capsys, tmp_path, client, monkeypatch
):
    document = {
        "format": "mla-directory",
        "version": 1,
        "countries": [{"code": "FR", "name": "France", "eio_bound": True}],
        "authorities": [
            {
                "identifier": identifier,
                "name": identifier,
                "country": "FR",
                "kind": "prosecutor",
                "time_zone": "Europe/Paris",
                "inbox_url": inbox_url,
            }
            for identifier, inbox_url in (
                ("fr-paris", ""),
                ("fr-lyon", "https://lyon.example/exchange/inbox/"),
            )
        ],
    }
    directory_import(data=json.dumps(document).encode(), fmt="json")
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "not this one, the file comes first")

    output = _node_init(
        capsys,
        *("--name", "Paris node", "--base-url", "https://mla.paris.example/"),
        *("--authority", "fr-paris", "--authority", "fr-lyon"),
        *("--admin-username", "root", "--admin-email", "root@paris.example"),
        *("--admin-authority", "fr-lyon", "--admin-password-file", str(password_file)),
    )

    paris, lyon = (Authority.objects.get(identifier=i) for i in ("fr-paris", "fr-lyon"))
    assert paris.inbox_url == "https://mla.paris.example/exchange/inbox/"
    # Set already: kept, and the administrator is told it is not this node's.
    assert lyon.inbox_url == "https://lyon.example/exchange/inbox/"
    assert "fr-lyon keeps its inbox URL https://lyon.example/exchange/inbox/" in output
    assert authority_is_hosted(authority=paris)
    assert authority_is_hosted(authority=lyon)
    root = User.objects.get(username="root")
    assert root.authority == lyon
    assert root.check_password(PASSWORD)
    assert PASSWORD not in output
    assert "Credentials: username root, password as given by --admin-password-file" in output
    response = client.post(reverse("accounts:login"), {"username": "root", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(root.pk)


def test_the_password_may_come_from_the_environment(fresh_homes, capsys, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)

    output = _node_init(capsys, *FIRST_START)

    assert User.objects.get().check_password(PASSWORD)
    assert PASSWORD not in output
    assert "password as given by DJANGO_SUPERUSER_PASSWORD" in output


def test_a_run_that_failed_after_gpg_made_a_key_pair_is_finished_by_the_next(
    fresh_homes, capsys, monkeypatch
):
    pinned_authority("de-one", name="One")
    pinned_authority("de-two", name="Two")
    arguments = [
        *("--name", "Node", "--base-url", BASE_URL, "--authority", "de-one"),
        *("--authority", "de-two", "--admin-username", "admin", "--admin-email", "a@b.example"),
    ]
    real_create = setup.node_key_create

    def gpg_fails_on_the_second(*, authority: Authority) -> str:
        if authority.identifier == "de-two":
            raise NodeKeyError("gpg could not create a key pair for de-two: disk full")
        return real_create(authority=authority)

    monkeypatch.setattr(setup, "node_key_create", gpg_fails_on_the_second)
    with pytest.raises(CommandError, match="disk full"):
        call_command("node_init", *arguments)
    # The database forgot the run; the secret home kept the first key pair.
    assert node_identity() is None
    assert not User.objects.exists()
    assert Authority.objects.get(identifier="de-one").key_fingerprint == ""
    (left,) = node_keys_list()

    monkeypatch.setattr(setup, "node_key_create", real_create)
    output = _node_init(capsys, *arguments)

    one, two = (Authority.objects.get(identifier=i) for i in ("de-one", "de-two"))
    assert one.key_fingerprint == left.fingerprint
    assert authority_is_hosted(authority=two)
    assert "(key pair of an earlier run, pinned now)" in output
    assert "(key pair created)" in output
    assert User.objects.filter(username="admin").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--name": ""}, "The node needs a name"),
        ({"--base-url": "mla.berlin.example"}, "is not a base URL"),
        ({"--kind": "ministry"}, "is not a kind of authority"),
        ({"--country": "XX"}, "--country"),
        ({"--time-zone": "Berlin"}, "time_zone"),
        ({"--authority-name": ""}, "give also: --authority-name"),
        ({"--create-authority": "Not An Identifier"}, "identifier"),
        ({"--admin-username": "bad name!"}, "--admin-username"),
        ({"--admin-username": ""}, "needs a username"),
        ({"--admin-email": ""}, "needs an e-mail address"),
        ({"--admin-email": "not-an-address"}, "is not an e-mail address"),
        ({"--admin-authority": "xx-nowhere"}, "no authority “xx-nowhere”"),
        ({"--instruments": "eio,letters"}, "“letters” is not an instrument"),
        ({"--instruments": "eio,epoc"}, "only an entry of kind “service provider” receives epoc"),
    ],
)
def test_a_bad_answer_is_refused_and_nothing_is_written(fresh_homes, change, message):
    arguments = list(FIRST_START)
    for option, value in change.items():
        if option in arguments:
            arguments[arguments.index(option) + 1] = value
        else:
            arguments += [option, value]

    with pytest.raises(CommandError, match=message):
        call_command("node_init", *arguments)

    _nothing_written()
    assert not Authority.objects.exists()


def test_refusals_about_authorities_and_passwords(fresh_homes, exchange_keys, tmp_path):
    pinned_authority("cc-partner", exchange_keys.armored[exchange_keys.partner])
    weak = tmp_path / "weak"
    weak.write_text("12345678")
    base = ["--name", "Node", "--base-url", BASE_URL, "--no-input"]
    admin = ["--admin-username", "admin", "--admin-email", "a@b.example"]

    with pytest.raises(CommandError, match="Name the authorities this node hosts"):
        call_command("node_init", *base, *admin)
    with pytest.raises(CommandError, match="No authority “xx-nowhere” in the directory"):
        call_command("node_init", *base, *admin, "--authority", "xx-nowhere")
    with pytest.raises(CommandError, match="hosted on another node"):
        call_command("node_init", *base, *admin, "--authority", "cc-partner")
    with pytest.raises(CommandError, match="give --create-authority too"):
        call_command("node_init", *base, *admin, "--authority", "cc-partner", "--kind", "court")
    pinned_authority("de-here")
    with pytest.raises(CommandError, match="give --admin-username and --admin-email"):
        call_command("node_init", *base, "--authority", "de-here")
    with pytest.raises(CommandError, match="The administrator's password"):
        call_command(
            "node_init", *base, *admin, "--authority", "de-here", "--admin-password-file", str(weak)
        )
    with pytest.raises(CommandError, match="cannot read"):
        call_command(
            "node_init",
            *base,
            *admin,
            *("--authority", "de-here", "--admin-password-file", str(tmp_path / "missing")),
        )

    _nothing_written()
    assert Authority.objects.get(identifier="de-here").inbox_url == ""


def test_missing_answers_are_asked_for_at_a_terminal(fresh_homes, capsys, monkeypatch):
    class Terminal:
        def isatty(self) -> bool:
            return True

    answers = iter(
        [
            "Vienna node",
            "https://mla.vienna.example",
            "at-vienna-prosecutor",
            "Staatsanwaltschaft Wien",
            "AT",
            "prosecutor",
            "Europe/Vienna",
            "",  # the instruments: all, as offered
            "admin",
            "admin@vienna.example",
        ]
    )
    asked: list[str] = []

    def answer(prompt: str) -> str:
        asked.append(prompt)
        return next(answers)

    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr(builtins, "input", answer)

    output = _node_init(capsys)

    assert node_identity().name == "Vienna node"
    authority = Authority.objects.get(identifier="at-vienna-prosecutor")
    assert (authority.country.code, authority.time_zone) == ("AT", "Europe/Vienna")
    assert authority.country.eio_bound
    assert authority.country.eevidence_bound
    assert authority.inbox_url == "https://mla.vienna.example/exchange/inbox/"
    assert sorted(authority.instrument_links.values_list("instrument", flat=True)) == [
        "eio",
        "mla",
        "preservation",
    ]
    assert User.objects.get().check_password(_printed_password(output))
    assert len(asked) == 10


def test_the_deploy_guides_first_start_command_works_as_written(fresh_homes, capsys):
    (command,) = guide_commands("First start of the node")
    program, name, *arguments = shlex.split(command)
    assert (program, name) == ("mla-manage", "node_init")

    output = _node_init(capsys, *arguments)

    authority = Authority.objects.get()
    assert authority_is_hosted(authority=authority)
    assert authority.inbox_url == "https://mla.example.org/exchange/inbox/"
    assert User.objects.get().check_password(_printed_password(output))


def test_a_country_outside_the_eio_directive_is_added_as_not_bound(fresh_homes, capsys):
    arguments = [
        *FIRST_START[: FIRST_START.index("--create-authority")],
        "--create-authority",
        "dk-copenhagen-prosecutor",
        "--authority-name",
        "Københavns Politi",
        "--country",
        "DK",
        "--kind",
        "prosecutor",
        "--time-zone",
        "Europe/Copenhagen",
        "--admin-username",
        "admin",
        "--admin-email",
        "admin@example.org",
    ]
    output = _node_init(capsys, *arguments)

    assert not Country.objects.get(code="DK").eio_bound  # Denmark does not take part
    assert "as bound by the EIO Directive: no" in output
    # Nor in the e-Evidence Regulation.
    assert not Country.objects.get(code="DK").eevidence_bound
    assert "by the e-Evidence Regulation: no" in output
