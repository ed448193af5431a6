"""Password hashing: scrypt, parameters stored with each hash, constant-time comparison."""

import pytest

from accounts import passwords
from accounts.passwords import hash_password, verify_password


def test_a_password_verifies_and_a_wrong_one_does_not() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("scrypt$")
    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse batterY", stored)
    assert not verify_password("anything", None)
    assert not verify_password("anything", "md5$abc")


def test_each_hash_keeps_its_own_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "SCRYPT_N", 2**14)
    strong = hash_password("pw-123456")
    monkeypatch.setattr(passwords, "SCRYPT_N", 2**8)
    assert strong.split("$")[1] == str(2**14)
    assert verify_password("pw-123456", strong)
    assert hash_password("pw-123456") != hash_password("pw-123456")  # salted
