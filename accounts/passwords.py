"""Password hashing with scrypt (a slow, memory-hard hash from the standard library)."""

import hashlib
import hmac
import secrets

# About 60 ms and 16 MiB per hash on this class of machine. Each hash records its own parameters, so the test
# suite may lower SCRYPT_N for speed without affecting how stored hashes verify.
SCRYPT_N, _R, _P = 2**14, 8, 1
_PREFIX = "scrypt"
# The rule every new password follows (registration, change, reset).
MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH = 8, 128


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=_R, p=_P, dklen=32)
    return f"{_PREFIX}${SCRYPT_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        prefix, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if prefix != _PREFIX:
        return False
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    return hmac.compare_digest(candidate.hex(), digest)
