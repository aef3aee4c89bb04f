"""Two nodes stood up from nothing by following deploy/README.md as written, then run by
their own administrators through the pages only: no shell, no Django console, no fixture
that skips a step (tests/support/deploy_guide.py says what a test cannot do of a host).

Node A hosts a German prosecutor's office, node B a French one. Each is installed, migrated
and started by its units' commands, initialised by the guide's ``mla-manage`` lines, and
its administrators sign in with a second factor, invite their colleagues, introduce their
node to the other, and approve the other's introduction (four eyes). A's prosecutor then
drafts and sends an EIO that B's contact point acknowledges; at last both import one
shared signed directory and each keeps its own pins.
"""

import json
import re
import secrets
import subprocess
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from mla.instruments.declarations import declaration_for
from tests.support.deploy_guide import GuideHost, clean_copy, guide_commands
from tests.support.forms import section_post
from tests.support.nodes import Postgres, Redis, wait_for
from tests.support.samples import complete_data
from tests.support.web import AuthenticatorApp, Page, Upload, WebClient

pytestmark = pytest.mark.two_nodes


@pytest.fixture(scope="module")
def code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One clean copy of the checkout, as `git clone` in step 3 would give it."""
    return clean_copy(tmp_path_factory.mktemp("clone") / "mla")


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory, code: Path) -> Iterator[dict[str, GuideHost]]:
    postgres = Postgres.from_django()
    root = tmp_path_factory.mktemp("hosts")
    redis = Redis(root / "redis")
    redis.start()
    prefix = f"{settings.DATABASES['default']['TEST']['NAME']}_guide"
    made: dict[str, GuideHost] = {}
    try:
        for index, name in enumerate(("a", "b")):
            database = f"{prefix}_{name}"
            postgres.drop(database)
            postgres.create(database)
            host = GuideHost(name=name, root=root / name, settings={})
            host.settings.update(
                {
                    "SECRET_KEY": secrets.token_urlsafe(50),
                    "ALLOWED_HOSTS": "127.0.0.1,localhost",
                    "DATABASE_URL": postgres.url(database),
                    "CELERY_BROKER_URL": redis.url(index),
                    # As users reach it, through the TLS of a proxy (tests/support/web.py).
                    "SITE_URL": "https://" + host.base_url.split("://", 1)[1],
                    # No TLS on loopback: nginx is not part of the test, and the nodes
                    # reach each other's inbox over plain HTTP.
                    "SECURE_SSL_REDIRECT": "false",
                    "SECURE_HSTS_SECONDS": "0",
                    "DIRECTORY_INBOX_URL_REQUIRE_HTTPS": "false",
                    "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
                    "EMAIL_FILE_PATH": str(root / name / "mail"),
                    "WEB_CONCURRENCY": "2",
                }
            )
            host.install(code=code)
            made[name] = host
        for host in made.values():
            host.run_unit("mla-migrate")
            for unit in ("mla-web", "mla-worker", "mla-exchange-worker", "mla-beat"):
                host.start_unit(unit)
        for host in made.values():
            host.wait_until_serving()
        yield made
    finally:
        for host in made.values():
            print(host.logs())
            host.stop()
        redis.stop()
        for name in made:
            postgres.drop(f"{prefix}_{name}")


# What the guide's example values become on each node (node A takes the guide's own).
NODE_VALUES = {
    "a": {},
    "b": {
        "Berlin prosecution node": "Paris prosecution node",
        "de-berlin-prosecutor": "fr-paris-prosecutor",
        "Staatsanwaltschaft Berlin": "Parquet de Paris",
        "--country DE": "--country FR",
        "Europe/Berlin": "Europe/Paris",
    },
}
AUTHORITY = {"a": "Staatsanwaltschaft Berlin", "b": "Parquet de Paris"}
IDENTIFIER = {"a": "de-berlin-prosecutor", "b": "fr-paris-prosecutor"}


def _first_start(host: GuideHost) -> tuple[WebClient, AuthenticatorApp]:
    """The guide's first start, then the first administrator's first sign-in: a second
    factor is required of administrators, so they enrol an authenticator app at once."""
    (command,) = guide_commands("First start of the node")
    replacements = {**NODE_VALUES[host.name], "https://mla.example.org": host.base_url}
    printed = host.manage(command, replacements=replacements).stdout
    credentials = re.search(r"Credentials: username (\S+), password (\S+)", printed)
    assert credentials, printed
    fingerprint = re.search(r"(?:[0-9A-F]{4} ){9}[0-9A-F]{4}", printed)
    assert fingerprint, printed
    web = WebClient(host.base_url)
    web.sign_in(credentials.group(1), credentials.group(2))
    app = web.enrol_authenticator()
    return web, app


def _state_of(web: WebClient, request_url: str) -> str:
    """The request's state, as its page's header shows it."""
    page = web.get(request_url, expect=None)
    found = re.search(r'data-state="([a-z_]+)"', page.text) if page.status == 200 else None
    return found.group(1) if found else ""


def test_two_nodes_from_nothing_exchange_an_eio_and_keep_their_pins(
    hosts: dict[str, GuideHost], tmp_path: Path
) -> None:
    a, b = hosts["a"], hosts["b"]
    (check,) = guide_commands("Management commands")
    for host in (a, b):
        checked = host.manage(check)
        assert "System check identified" in checked.stdout + checked.stderr

    # First start, and the administrators invite their colleagues.
    admin = {host.name: _first_start(host)[0] for host in (a, b)}
    second_admin = {
        host.name: _invite(
            admin=admin[host.name],
            host=host,
            username="second.admin",
            authority=AUTHORITY[host.name],
            roles=["Node administrator"],
        )[0]
        for host in (a, b)
    }
    prosecutor, _app = _invite(
        admin=admin["a"],
        host=a,
        username="jonas.prosecutor",
        authority=AUTHORITY["a"],
        roles=["Prosecutor"],
    )
    intake, _app = _invite(
        admin=admin["b"],
        host=b,
        username="claire.intake",
        authority=AUTHORITY["b"],
        roles=["Contact-point staff (24/7)"],
    )

    # Each node introduces itself to the other; a second administrator approves the pins.
    _introduce(introducer=admin["a"], receiver=admin["b"], approver=second_admin["b"])
    _introduce(introducer=admin["b"], receiver=admin["a"], approver=second_admin["a"])

    # A's prosecutor sends an EIO; B's contact point finds it in the queue and acknowledges.
    reference = _eio_drafted_and_sent(prosecutor, country="FR", authority_name=AUTHORITY["b"])
    queued = wait_for(
        lambda: intake.get("/requests/queue/").links(re.escape(reference) + "/$"),
        timeout=90,
        what=f"{reference} in B's queue",
    )
    _step(intake, queued[0], "acknowledge")
    issued = prosecutor.get("/requests/").links(re.escape(reference) + "/$")[0]
    wait_for(
        lambda: _state_of(prosecutor, issued) == "acknowledged",
        timeout=90,
        what="the acknowledgement back at A",
    )

    # A shared directory, signed by its publisher, imported on both: each node keeps its
    # own entry (key and inbox URL) and takes the publisher's word for the other's.
    _shared_directory_imported(hosts, tmp_path)
    _step(intake, queued[0], "recognise")
    wait_for(
        lambda: _state_of(prosecutor, issued) == "recognised",
        timeout=90,
        what="the recognition back at A after the directory import",
    )


# A shared directory ------------------------------------------------------------------------


def _publisher_key(home: Path) -> str:
    """The directory publisher's signing key, made with plain gpg; its fingerprint."""
    home.mkdir(mode=0o700)
    subprocess.run(
        [
            "gpg",
            "--homedir",
            str(home),
            "--batch",
            "--passphrase",
            "",
            "--quick-gen-key",
            "Directory publisher <publisher@example.org>",
            "ed25519",
            "sign",
            "1y",
        ],
        check=True,
        capture_output=True,
    )
    listed = subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--with-colons", "--list-secret-keys"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return next(line.split(":")[9] for line in listed.splitlines() if line.startswith("fpr:"))


def _entries(host: GuideHost, folder: Path) -> dict[str, dict[str, object]]:
    exported = folder / f"export-{host.name}.json"
    host.manage(f"mla-manage export_directory -o {exported}")
    return {entry["identifier"]: entry for entry in json.loads(exported.read_text())["authorities"]}


def _shared_directory_imported(hosts: dict[str, GuideHost], folder: Path) -> None:
    """The publisher's edition lists both nodes' authorities, with another spelling of each
    inbox URL (localhost for 127.0.0.1: both reach the node). Each node keeps its own entry
    and reports the difference; it takes the other's URL from the signed edition."""
    before = {name: _entries(host, folder) for name, host in hosts.items()}
    edition = json.loads((folder / "export-a.json").read_text())
    for entry in edition["authorities"]:
        entry["inbox_url"] = str(entry["inbox_url"]).replace("127.0.0.1", "localhost")
    directory = folder / "directory.json"
    directory.write_text(json.dumps(edition, indent=2))
    home = folder / "publisher"
    fingerprint = _publisher_key(home)
    subprocess.run(
        [
            "gpg",
            "--homedir",
            str(home),
            "--batch",
            "--armor",
            "--detach-sign",
            "-o",
            f"{directory}.asc",
            str(directory),
        ],
        check=True,
        capture_output=True,
    )
    publisher_key = folder / "publisher.asc"
    publisher_key.write_bytes(
        subprocess.run(
            ["gpg", "--homedir", str(home), "--armor", "--export", fingerprint],
            check=True,
            capture_output=True,
        ).stdout
    )
    (command,) = guide_commands("Joining a shared directory")
    for name, host in hosts.items():
        other = "b" if name == "a" else "a"
        imported = host.manage(
            command,
            replacements={
                "/root/directory.json": str(directory),
                "/root/publisher.asc": str(publisher_key),
                "FINGERPRINT": fingerprint,
            },
        ).stdout
        assert "conflicts with this node's own entries" in imported, imported
        assert IDENTIFIER[name] in imported, imported
        after = _entries(host, folder)
        own, theirs = IDENTIFIER[name], IDENTIFIER[other]
        for field in ("inbox_url", "key_fingerprint", "public_key"):
            assert after[own].get(field) == before[name][own].get(field), (name, field)
        assert "localhost" in str(after[theirs]["inbox_url"]), imported
        assert after[theirs].get("key_fingerprint") == before[name][theirs].get("key_fingerprint")


# Drafting and answering through the pages --------------------------------------------------


def _eio_drafted_and_sent(web: WebClient, *, country: str, authority_name: str) -> str:
    """A's prosecutor drafts a complete EIO section by section, checks, submits and sends it,
    as the pages offer; its reference."""
    offered = web.get(f"/requests/new/?country={country}")
    match = re.search(
        rf'name="authority" value="(\d+)"[^>]*> {re.escape(authority_name)}', offered.text
    )
    assert match, offered.visible_text[:3000]
    created = web.post(
        "/requests/new/",
        {"country": country, "declaration": "eio", "authority": match.group(1)},
        referer=offered.url,
    )
    # The path of the request's page: its first section's, without the section.
    request_url = urllib.parse.urlsplit(created.url).path.split("/section/")[0] + "/"
    wanted = complete_data(declaration_for("eio"))
    wanted["K"]["issuer_type"] = "prosecutor"
    del wanted["L"]  # a prosecutor issues: no validating authority
    for section in declaration_for("eio").sections:
        if section.code not in wanted:
            continue
        page = web.get(f"{request_url}section/{section.code}/")
        version = page.form(having="version")["version"]
        saved = web.post(
            page.url,
            [("version", version[0]), *section_post(section, wanted[section.code])],
            referer=page.url,
        )
        assert "Saved." in saved.visible_text, (section.code, saved.visible_text[:2000])
    check = web.get(f"{request_url}check/")
    assert "Complete: nothing is missing." in check.visible_text, check.visible_text[:3000]
    _step(web, request_url, "submit")
    _step(web, request_url, "send")
    return request_url.rstrip("/").rsplit("/", 1)[-1]


def _step(web: WebClient, request_url: str, action: str, **fields: str) -> Page:
    """Take a step from the request's page, with the fields its form holds."""
    page = web.get(request_url)
    target = f"{request_url}transition/{action}/"
    values = {**page.form(target), **fields}
    done = web.post(target, values, referer=page.url)
    assert "is now" in done.visible_text, (action, done.visible_text[:3000])
    return done


# Introducing the nodes -------------------------------------------------------------------------


def _fingerprints_read_aloud(web: WebClient) -> list[str]:
    """What the introducing administrator reads over the phone: the fingerprints on their
    own Partners page."""
    page = web.get("/exchange/partners/")
    groups = re.findall(r"\b(?:[0-9A-F]{4} ){9}[0-9A-F]{4}\b", page.visible_text)
    assert groups, page.visible_text[:3000]
    return sorted({group.replace(" ", "") for group in groups})


def _introduce(*, introducer: WebClient, receiver: WebClient, approver: WebClient) -> None:
    """The introducer's file is taken in by the receiver, who ticks the fingerprints the
    introducer read aloud; a second administrator of the receiving node approves."""
    introduction = introducer.get("/exchange/partners/introduction/")
    read_aloud = _fingerprints_read_aloud(introducer)
    partners = receiver.get("/exchange/partners/")
    review = receiver.post(
        "/exchange/partners/take-in/",
        partners.form("/exchange/partners/take-in/"),
        files={"file": Upload("introduction.json", introduction.body, "application/json")},
        referer=partners.url,
    )
    shown = sorted(set(re.findall(r'name="confirmed" value="([0-9A-F]+)"', review.text)))
    assert shown == read_aloud, review.visible_text[:3000]
    proposed = receiver.post(
        review.url,
        {**review.form(having="spoke_with"), "confirmed": shown, "spoke_with": "Duty officer"},
        referer=review.url,
    )
    decide = sorted(
        set(
            re.findall(
                r'action="(/exchange/partners/changes/\d+/decide/)"',
                approver.get(proposed.url).text,
            )
        )
    )
    assert decide, proposed.visible_text[:3000]
    for action in decide:
        page = approver.get(proposed.url)
        approver.post(action, {**page.form(action), "decision": "approve"}, referer=page.url)


# Accounts --------------------------------------------------------------------------------------


def _option_value(page: Page, name: str, label: str) -> str:
    """The value of the choice labelled ``label`` in the field ``name`` of a form."""
    select = re.search(rf'(?s)<select name="{name}".*?</select>', page.text)
    if select is not None:
        found = re.search(rf'<option value="([^"]+)"[^>]*>\s*{re.escape(label)}', select.group(0))
    else:
        found = re.search(rf'name="{name}" value="([^"]+)"[^>]*>\s*{re.escape(label)}', page.text)
    assert found, (name, label, page.visible_text[:3000])
    return found.group(1)


def _mail_to(host: GuideHost, address: str) -> str:
    """The newest e-mail the node wrote for ``address`` (file backend)."""
    folder = Path(host.settings["EMAIL_FILE_PATH"])

    def newest() -> str | None:
        if not folder.exists():
            return None
        for path in sorted(folder.iterdir(), key=lambda item: item.stat().st_mtime, reverse=True):
            text = path.read_text(errors="replace")
            if f"To: {address}" in text:
                return text
        return None

    return wait_for(newest, timeout=60, what=f"an e-mail to {address}")


def _invite(
    *,
    admin: WebClient,
    host: GuideHost,
    username: str,
    authority: str,
    roles: list[str],
) -> tuple[WebClient, AuthenticatorApp]:
    """The administrator invites a colleague; the colleague follows the e-mailed link, sets
    a password, enrols an authenticator app as the node requires, and is signed in."""
    address = f"{username}@example.org"
    form_page = admin.get("/accounts/users/invite/")
    values = {
        **form_page.form(having="username"),
        "username": username,
        "first_name": username.split(".")[0].title(),
        "last_name": "Example",
        "email": address,
        "authority": _option_value(form_page, "authority", authority),
        "roles": [_option_value(form_page, "roles", role) for role in roles],
    }
    invited = admin.post("/accounts/users/invite/", values, referer=form_page.url)
    assert username in invited.visible_text, invited.visible_text[:3000]
    link = re.search(r"https?://\S+?(/accounts/link/[^/\s]+/)", _mail_to(host, address))
    assert link, "no one-time link in the invitation"
    colleague = WebClient(host.base_url)
    opened = colleague.get(link.group(1))
    password = secrets.token_urlsafe(16)
    colleague.post(
        opened.url,
        {
            **opened.form(having="new_password1"),
            "new_password1": password,
            "new_password2": password,
        },
        referer=opened.url,
    )
    app = colleague.enrol_authenticator()
    return colleague, app
