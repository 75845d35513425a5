"""Receipt codes and their hashes: pure functions, no ORM."""

import hashlib
import hmac
import re
import secrets

from argon2.low_level import Type, hash_secret_raw

RECEIPT_DIGITS = 20
GROUP = 4


def new_receipt_code() -> str:
    """Twenty digits from the operating system's cryptographic generator."""
    return f"{secrets.randbelow(10**RECEIPT_DIGITS):0{RECEIPT_DIGITS}d}"


def group_code(code: str) -> str:
    """'12345678...' -> '1234 5678 ...', for reading aloud and copying by hand."""
    return " ".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def normalise_code(typed: str) -> str | None:
    """The digits of what a person typed (spaces, dashes allowed), or None if it cannot be a code."""
    digits = re.sub(r"[\s\-.]", "", typed or "")
    if len(digits) != RECEIPT_DIGITS or not digits.isdigit():
        return None
    return digits


def hash_receipt_code(code: str, *, salt: str, time_cost: int, memory_kib: int) -> str:
    """Argon2id of the code with one site-wide secret salt.

    The same code always gives the same hash, so follow-up finds its case with one indexed
    query; the secret salt and the cost make a stolen table useless for guessing codes.
    """
    salt_bytes = hashlib.sha256(f"trustcenter-receipt:{salt}".encode()).digest()[:16]
    raw = hash_secret_raw(
        secret=code.encode(),
        salt=salt_bytes,
        time_cost=time_cost,
        memory_cost=memory_kib,
        parallelism=1,
        hash_len=32,
        type=Type.ID,
    )
    return raw.hex()


def new_confirmation_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def hash_short_code(code: str, *, secret: str) -> str:
    """A keyed hash for short-lived codes (e-mail confirmation); three tries make guessing useless."""
    return hmac.new(secret.encode(), f"confirm:{code}".encode(), hashlib.sha256).hexdigest()
