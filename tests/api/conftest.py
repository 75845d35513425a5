"""The API's actors: a member of the privacy team with a personal token, and the others."""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from trustcenter.models import ApiToken


def token_for(user, *, days: int = 30) -> str:
    """A personal token of the user, made without the workspace's TOTP step (tested apart)."""
    _token, text = ApiToken.objects.create(user=user, expiry=timedelta(days=days), name="test")
    return text


def client_with_token(text: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {text}")
    return client


@pytest.fixture(autouse=True)
def password_login_is_enough(settings):
    # Sessions that lack the second factor have a test of their own (test_authentication.py).
    settings.TRUSTCENTER_REQUIRE_2FA = False
