"""Where a webhook may point: https to public addresses only, unless the host is allowed by
WEBHOOK_ALLOWED_HOSTS (the tests' receiver on 127.0.0.1)."""

import socket

import pytest

from mla.core.errors import ApplicationError
from mla.webhooks import addresses
from mla.webhooks.addresses import address_for, target_of, webhook_url_check

PUBLIC = "93.184.215.14"


@pytest.fixture
def no_host_allowed(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []


@pytest.fixture
def resolving_to(monkeypatch):
    """Names resolve to the addresses given, without asking a name server."""

    def resolve(*found: str) -> None:
        def getaddrinfo(host, port, *args, **kwargs):
            return [
                (
                    socket.AF_INET6 if ":" in ip else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (ip, port),
                )
                for ip in found
            ]

        monkeypatch.setattr(addresses.socket, "getaddrinfo", getaddrinfo)

    return resolve


def _refusal(url: str) -> ApplicationError:
    with pytest.raises(ApplicationError) as refused:
        webhook_url_check(url=url)
    return refused.value


def test_an_https_url_of_a_public_address_is_taken_apart_as_an_attempt_connects_to_it(
    no_host_allowed,
):
    target = webhook_url_check(url=f"https://{PUBLIC}:8443/hooks/mla?source=node")

    assert (target.scheme, target.host, target.port, target.path) == (
        "https",
        PUBLIC,
        8443,
        "/hooks/mla?source=node",
    )
    assert address_for(target) == PUBLIC


def test_a_name_is_resolved_and_reached_at_the_address_checked(no_host_allowed, resolving_to):
    resolving_to(PUBLIC)

    target = webhook_url_check(url="https://hooks.example.org/in")

    assert (target.host, target.port, target.path) == ("hooks.example.org", 443, "/in")
    assert address_for(target) == PUBLIC


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.5",
        "192.168.1.1",
        "169.254.169.254",  # the cloud's metadata service
        "0.0.0.0",  # noqa: S104  (an address refused, not one bound to)
        "100.64.0.1",
        "::1",
        "fd00::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ],
)
def test_a_name_resolving_to_a_private_loopback_or_reserved_address_is_refused(
    no_host_allowed, resolving_to, address
):
    resolving_to(address)

    refused = _refusal("https://hooks.example.org/in")

    assert refused.code == "address_refused"
    assert "public addresses only" in refused.message


def test_a_name_resolving_to_a_public_and_a_private_address_is_refused(
    no_host_allowed, resolving_to
):
    # Else the attempt, not the check, would choose where it goes.
    resolving_to(PUBLIC, "10.0.0.7")

    assert _refusal("https://hooks.example.org/in").code == "address_refused"


def test_a_literal_private_address_is_refused_without_resolving_anything(no_host_allowed):
    assert _refusal("https://127.0.0.1:9000/in").code == "address_refused"
    assert _refusal("https://[::1]/in").code == "address_refused"


def test_a_host_that_cannot_be_resolved_is_refused(no_host_allowed, monkeypatch):
    def unknown(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(addresses.socket, "getaddrinfo", unknown)

    refused = _refusal("https://nowhere.invalid/in")

    assert refused.code == "unreachable"


@pytest.mark.parametrize(
    ("url", "said"),
    [
        (f"http://{PUBLIC}/in", "https://"),
        (f"ftp://{PUBLIC}/in", "https://"),
        ("https:///in", "https://"),
        (f"https://user:secret@{PUBLIC}/in", "user name or password"),
        (f"https://{PUBLIC}/in#part", "fragment"),
        (f"https://{PUBLIC}:99999/in", "not a valid URL"),
        (f"https://{PUBLIC}/in put", "spaces or control characters"),
        (f"https://{PUBLIC}/in\x00", "spaces or control characters"),
        (f"https://{PUBLIC}/" + "a" * 500, "longer than 500"),
    ],
)
def test_a_url_that_is_not_https_or_carries_credentials_is_refused(no_host_allowed, url, said):
    refused = _refusal(url)

    assert said in refused.message
    assert refused.code == "invalid"


def test_an_allowed_host_may_be_reached_over_http_at_a_loopback_address(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]

    target = webhook_url_check(url="http://127.0.0.1:8123/in")

    assert (target.scheme, target.port) == ("http", 8123)
    assert address_for(target) == "127.0.0.1"
    # Only that host: another loopback name is still refused.
    assert _refusal("http://localhost:8123/in").code == "invalid"


def test_the_target_of_a_url_is_checked_again_without_resolving(no_host_allowed):
    # What an attempt does first, before resolving the host again.
    with pytest.raises(ApplicationError):
        target_of(f"http://{PUBLIC}/in")
