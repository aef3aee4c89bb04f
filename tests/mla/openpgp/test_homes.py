import stat
from collections.abc import Iterator
from pathlib import Path

import gnupg
import pytest
from django.core.exceptions import ImproperlyConfigured

from mla.openpgp.homes import node_key_passphrase, secret_keyring
from mla.openpgp.keys import hosted_key_generate
from tests.support.keys import gnupg_home, gnupg_homes_remove


@pytest.fixture
def home() -> Iterator[Path]:
    """A place for a secret home (not made yet), removed with its gpg-agent."""
    parent = gnupg_home("mlak-")
    yield Path(parent) / "secret"
    gnupg_homes_remove(str(Path(parent) / "secret"), parent)


def test_a_new_secret_home_keeps_the_public_keys_in_a_keyring_file(settings, home):
    settings.NODE_SECRET_GNUPG_HOME = home

    gpg = secret_keyring()
    fingerprint = hosted_key_generate(gpg=gpg, user_id_name="Office", user_id_email="o@x.invalid")

    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    # A keyring file, where gpg caches the checks of self-signatures; never a keybox.
    assert (home / "pubring.gpg").stat().st_size > 0
    assert not (home / "pubring.kbx").exists()
    assert [key["fingerprint"] for key in gpg.list_keys(secret=True)] == [fingerprint]
    signed = gpg.sign(b"data", detach=True, extra_args=["--local-user", fingerprint])
    assert signed.fingerprint == fingerprint


def test_a_secret_home_made_as_a_keybox_is_left_as_it_is(settings, home):
    home.mkdir(mode=0o700)
    existing = gnupg.GPG(gnupghome=str(home))
    fingerprint = hosted_key_generate(
        gpg=existing, user_id_name="Office", user_id_email="o@x.invalid"
    )
    assert (home / "pubring.kbx").exists()
    settings.NODE_SECRET_GNUPG_HOME = home

    gpg = secret_keyring()

    assert not (home / "pubring.gpg").exists()
    assert [key["fingerprint"] for key in gpg.list_keys(secret=True)] == [fingerprint]


def test_the_passphrase_comes_from_the_setting_or_a_file(settings, tmp_path):
    assert node_key_passphrase() is None
    settings.NODE_KEY_PASSPHRASE = "correct horse"
    assert node_key_passphrase() == "correct horse"
    passphrase_file = tmp_path / "passphrase"
    passphrase_file.write_text("from a file\n")
    settings.NODE_KEY_PASSPHRASE = ""
    settings.NODE_KEY_PASSPHRASE_FILE = str(passphrase_file)
    assert node_key_passphrase() == "from a file"

    settings.NODE_KEY_PASSPHRASE = "and here"
    with pytest.raises(ImproperlyConfigured, match="not both"):
        node_key_passphrase()
    settings.NODE_KEY_PASSPHRASE = ""
    passphrase_file.write_text("two\nlines\n")
    with pytest.raises(ImproperlyConfigured):
        node_key_passphrase()
    settings.NODE_KEY_PASSPHRASE_FILE = str(tmp_path / "missing")
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        node_key_passphrase()
