"""Tokens that a link carries (self-service, sign-ups, access exports) and API clients present."""

import hashlib
import secrets


def new_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database keeps of a token: its SHA-256, as hex. A token is 256 random bits, so a
    fast hash is enough (no guessing a preimage), and a lookup needs no salt."""
    return hashlib.sha256(token.encode()).hexdigest()
