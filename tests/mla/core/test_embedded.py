"""`make run`'s first-run set-up: a secret key of this install, no debug server on the
network."""

import stat

import pytest
from django.core.management import CommandError, call_command

from mla.core.embedded import secret_key_ensure, serve_address_check
from mla.core.errors import ApplicationError


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_the_debug_server_may_listen_on_the_loopback(host):
    serve_address_check(host=host, debug=True)


ALL_INTERFACES = "0.0.0.0"  # noqa: S104 (what is refused, never bound)


@pytest.mark.parametrize("host", [ALL_INTERFACES, "::", "192.168.1.20", "node.example.org"])
def test_the_debug_server_is_refused_on_the_network_with_how_to_run_it(host):
    with pytest.raises(ApplicationError) as refused:
        serve_address_check(host=host, debug=True)

    assert f"Refusing to serve on {host} with DEBUG on" in refused.value.message
    assert "Running in production" in refused.value.message
    assert "DEBUG=false" in refused.value.message


def test_without_debug_any_host_is_accepted():
    serve_address_check(host=ALL_INTERFACES, debug=False)


def test_a_secret_key_is_written_once_into_a_private_env_file(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    env_file = tmp_path / ".env"

    assert secret_key_ensure(env_file=env_file) is True
    first = env_file.read_text()
    assert secret_key_ensure(env_file=env_file) is False

    assert env_file.read_text() == first
    key = next(line for line in first.splitlines() if line.startswith("SECRET_KEY="))
    assert len(key.removeprefix("SECRET_KEY=")) >= 50
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600


def test_two_installs_get_two_keys(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    secret_key_ensure(env_file=tmp_path / "a" / ".env")
    secret_key_ensure(env_file=tmp_path / "b" / ".env")

    assert (tmp_path / "a" / ".env").read_text() != (tmp_path / "b" / ".env").read_text()


def test_an_existing_env_file_keeps_its_settings_and_gains_the_key(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text("NODE_NAME=Demo node")

    secret_key_ensure(env_file=env_file)

    lines = env_file.read_text().splitlines()
    assert lines[0] == "NODE_NAME=Demo node"
    assert lines[-1].startswith("SECRET_KEY=")


def test_a_key_set_in_the_environment_or_the_file_is_left_alone(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert secret_key_ensure(env_file=env_file) is False
    assert not env_file.exists()

    monkeypatch.delenv("SECRET_KEY")
    env_file.write_text("SECRET_KEY=chosen-by-the-operator\n")
    assert secret_key_ensure(env_file=env_file) is False
    assert env_file.read_text() == "SECRET_KEY=chosen-by-the-operator\n"


def test_the_command_refuses_a_network_host_under_debug(settings):
    settings.DEBUG = True

    with pytest.raises(CommandError, match=r"Refusing to serve on 0\.0\.0\.0"):
        call_command("embedded_prepare", host=ALL_INTERFACES)
