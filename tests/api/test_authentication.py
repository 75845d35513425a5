"""Who the API lets in: personal tokens made in the workspace after a fresh TOTP code (shown
once, kept as a hash, with a capped expiry, revocable), sessions that passed the two-factor door,
and a rate limit per token."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from tests.api.conftest import client_with_token, token_for
from tests.factories import CaseHandlerFactory, submit
from trustcenter.models import ApiToken

pytestmark = pytest.mark.django_db

TOKENS = "/en/staff/account/tokens/"


@pytest.fixture
def handler(client):
    handler = CaseHandlerFactory(teams=["privacy"])
    client.force_login(handler)
    return handler


@pytest.fixture
def device(handler):
    return TOTPDevice.objects.create(user=handler, name="default", confirmed=True)


def code(device, *, steps_ahead: int = 0) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + steps_ahead):06d}"


def shown_token(response) -> str:
    found = re.search(r'id="api-token"[^>]*value="([0-9a-f]{64})"', response.content.decode())
    assert found, response.content.decode()
    return found.group(1)


def test_a_token_is_made_with_a_fresh_code_shown_once_and_kept_as_a_hash_only(client, handler, device):
    refused = client.post(TOKENS, {"name": "Reports", "days": "30", "code": "123456"})
    assert refused.status_code == 400 and "That code is wrong" in refused.content.decode()
    assert not ApiToken.objects.exists()

    device.throttle_reset()
    made = client.post(TOKENS, {"name": "Reports", "days": "30", "code": code(device)})
    assert made.status_code == 200 and "no-cache" in made["Cache-Control"]
    text = shown_token(made)
    token = ApiToken.objects.get()
    assert (token.user, token.name) == (handler, "Reports")
    assert token.expiry - timezone.now() > timedelta(days=29, hours=23)
    # The token's text is in no column of the database, only its hash.
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM trustcenter_apitoken")
        row = cursor.fetchone()
    assert not any(text in str(value) for value in row)
    assert text not in client.get(TOKENS).content.decode()
    assert client_with_token(text).get("/api/v1/cases/").status_code == 200

    again = client.post(TOKENS, {"name": "Again", "days": "30", "code": code(device)})
    assert again.status_code == 400, "a code is good once"


def test_a_token_needs_a_device_and_a_code_from_it(client, handler):
    refused = client.post(TOKENS, {"name": "Reports", "days": "30", "code": "123456"})
    assert refused.status_code == 400 and "Set up two-factor authentication first" in refused.content.decode()
    assert not ApiToken.objects.exists()


def test_the_expiry_is_capped_by_the_setting(client, handler, device, settings):
    settings.TRUSTCENTER_API_TOKEN_MAX_DAYS = 5
    refused = client.post(TOKENS, {"name": "Long", "days": "6", "code": code(device)})
    assert refused.status_code == 400 and not ApiToken.objects.exists()
    made = client.post(TOKENS, {"name": "Short", "days": "5", "code": code(device)})
    assert made.status_code == 200
    assert ApiToken.objects.get().expiry <= timezone.now() + timedelta(days=5)


def test_a_revoked_token_and_an_expired_one_are_refused(client, handler):
    revoked, expiring = token_for(handler), token_for(handler, days=1)
    token = ApiToken.objects.get(token_key=revoked[:15])
    assert client_with_token(revoked).get("/api/v1/cases/").status_code == 200
    assert client.post(f"{TOKENS}revoke/", {"token": token.digest}).status_code == 302
    response = client_with_token(revoked).get("/api/v1/cases/")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    # Another user cannot revoke someone's token.
    other = CaseHandlerFactory(teams=["privacy"])
    client.force_login(other)
    client.post(f"{TOKENS}revoke/", {"token": ApiToken.objects.get(user=handler).digest})
    assert client_with_token(expiring).get("/api/v1/cases/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)):
        assert client_with_token(expiring).get("/api/v1/cases/").status_code == 401


def test_a_session_without_the_second_factor_is_refused_when_it_is_required(
    client, handler, device, settings
):
    settings.TRUSTCENTER_REQUIRE_2FA = True
    assert client.get("/api/v1/cases/").status_code == 403
    session = client.session
    session["otp_device_id"] = device.persistent_id  # what django_otp's login keeps
    session.save()
    assert client.get("/api/v1/cases/").status_code == 200
    # A token was made with a code: it needs no session.
    assert client_with_token(token_for(handler)).get("/api/v1/cases/").status_code == 200


def test_a_session_posts_with_its_csrf_token_only(handler):
    case, _code = submit()
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(handler)
    assert browser.get(f"/api/v1/cases/{case.pk}/").status_code == 200
    response = browser.post(f"/api/v1/cases/{case.pk}/note/", {"body": "Hello"}, format="json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]


def test_too_many_requests_per_token_are_refused(handler, settings):
    settings.TRUSTCENTER_API_RATE = "3/min"
    first, second = client_with_token(token_for(handler)), client_with_token(token_for(handler))
    assert [first.get("/api/v1/cases/").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert second.get("/api/v1/cases/").status_code == 200
    assert "Retry-After" in first.get("/api/v1/cases/")


def test_the_token_page_is_for_staff_behind_the_door(client):
    client.logout()
    assert client.get(TOKENS).status_code == 302
    assert client.post(TOKENS, {"name": "x", "days": "1", "code": "1"}).status_code == 302
    assert client.get(f"{TOKENS}revoke/").status_code in (302, 405)
