import pytest

from mla.core.errors import ApplicationError
from mla.openpgp.keys import public_key_inspect


def test_a_valid_key_is_read_and_its_fingerprint_computed(openpgp_keys):
    info = public_key_inspect(armored=openpgp_keys.valid)

    assert info.fingerprint == openpgp_keys.valid_fingerprint
    assert len(info.fingerprint) == 40
    assert info.algorithm == "EdDSA ed25519"
    assert "Valid Authority" in info.user_id
    assert info.expires_at is None


@pytest.mark.parametrize(
    ("key_name", "message_part"),
    [
        ("secret", "This is a secret key"),
        ("revoked", "has been revoked"),
        ("expired", "has expired"),
        ("sign_only", "no usable encryption subkey"),
        ("weak_rsa", "too weak (1024 bits)"),
    ],
)
def test_unusable_keys_are_refused_with_the_reason(openpgp_keys, key_name, message_part):
    with pytest.raises(ApplicationError) as caught:
        public_key_inspect(armored=getattr(openpgp_keys, key_name))

    assert message_part in caught.value.message


def test_two_keys_in_one_block_are_refused(openpgp_keys):
    with pytest.raises(ApplicationError, match="holds 2 keys"):
        public_key_inspect(armored=openpgp_keys.valid + openpgp_keys.second_valid)


@pytest.mark.parametrize(
    "garbage",
    [
        "hello",
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n",
        "<script>alert(1)</script>",
    ],
)
def test_garbage_is_refused(garbage):
    with pytest.raises(ApplicationError, match="not an OpenPGP public key"):
        public_key_inspect(armored=garbage)


def test_an_empty_key_is_refused():
    with pytest.raises(ApplicationError, match="Paste an OpenPGP public key"):
        public_key_inspect(armored="   ")


def test_a_truncated_key_is_refused(openpgp_keys):
    truncated = openpgp_keys.valid[: len(openpgp_keys.valid) // 2]

    with pytest.raises(ApplicationError):
        public_key_inspect(armored=truncated)
