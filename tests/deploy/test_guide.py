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

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from mla.instruments.declarations import declaration_for
from tests.support.deploy_guide import GuideHost, clean_copy, guide_commands
from tests.support.forms import section_post
from tests.support.nodes import Postgres, Redis
from tests.support.samples import complete_data
from tests.support.web import Page, Upload, WebClient

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


def test_two_nodes_from_nothing_exchange_an_eio(hosts: dict[str, GuideHost]) -> None:
    a, b = hosts["a"], hosts["b"]
    for host in (a, b):
        (check,) = guide_commands("Management commands")
        checked = host.manage(check)
        assert "System check identified" in checked.stdout + checked.stderr


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
    section_url = created.url
    request_url = section_url.split("/section/")[0] + "/"
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
