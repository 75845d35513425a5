"""The edges of personal tokens and sessions (issue 10, point 5) that tests/api/test_authentication.py
leaves open: a backup code makes no token, no one revokes another's token, a token stops working
with its owner's rights, and a session's unsafe methods all need the CSRF token."""

import pytest
from django.contrib.auth.models import Permission
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
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


def test_a_backup_code_makes_no_token(client, handler):
    TOTPDevice.objects.create(user=handler, name="default", confirmed=True)
    backup = StaticDevice.objects.create(user=handler, name="backup", confirmed=True)
    backup.token_set.create(token="12345678")
    backup.token_set.create(token="abcdefgh")
    for code in ("12345678", "abcdefgh"):
        response = client.post(TOKENS, {"name": "Via backup", "days": "30", "code": code})
        assert response.status_code == 400 and "That code is wrong" in response.content.decode()
    assert not ApiToken.objects.exists()
    assert backup.token_set.count() == 2, "a backup code is not used up by a refused token"


def test_a_code_of_another_user_s_device_makes_no_token(client, handler):
    other = TOTPDevice.objects.create(user=CaseHandlerFactory(), name="default", confirmed=True)
    TOTPDevice.objects.create(user=handler, name="default", confirmed=True)
    code = f"{totp(other.bin_key, other.step, other.t0, other.digits, other.drift):06d}"
    assert client.post(TOKENS, {"name": "x", "days": "30", "code": code}).status_code == 400
    assert not ApiToken.objects.exists()


def test_an_unconfirmed_device_makes_no_token(client, handler):
    device = TOTPDevice.objects.create(user=handler, name="default", confirmed=False)
    code = f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"
    response = client.post(TOKENS, {"name": "x", "days": "30", "code": code})
    assert response.status_code == 400 and not ApiToken.objects.exists()


@pytest.mark.parametrize("days", ["0", "-1", "91", "99999999999999999999", "abc", "1.5", ""])
def test_a_validity_out_of_range_makes_no_token(client, handler, days):
    device = TOTPDevice.objects.create(user=handler, name="default", confirmed=True)
    code = f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"
    response = client.post(TOKENS, {"name": "x", "days": days, "code": code})
    assert response.status_code == 400 and not ApiToken.objects.exists()


def test_no_one_revokes_another_s_token(client, handler):
    victim = CaseHandlerFactory(teams=["privacy"])
    text = token_for(victim)
    digest = ApiToken.objects.get(user=victim).digest
    for given in (digest, digest.upper(), text, text[:15], "%", "*", ""):
        response = client.post(f"{TOKENS}revoke/", {"token": given})
        assert response.status_code == 302
    assert ApiToken.objects.filter(user=victim).count() == 1
    assert client_with_token(text).get("/api/v1/cases/").status_code == 200
    # The page lists one's own tokens only, and never another's digest.
    assert digest not in client.get(TOKENS).content.decode()


def test_the_token_page_shows_no_secret_of_a_token(client, handler):
    text = token_for(handler)
    page = client.get(TOKENS).content.decode()
    assert text not in page and text[15:] not in page


@pytest.mark.parametrize("loses", ["is_staff", "is_active", "view_case", "change_case"])
def test_a_token_stops_working_with_its_owner_s_rights(handler, loses):
    case, _code = submit()
    api = client_with_token(token_for(handler))
    assert api.get(f"/api/v1/cases/{case.pk}/").status_code == 200
    if loses in ("is_staff", "is_active"):
        setattr(handler, loses, False)
        handler.save()
    else:
        handler.user_permissions.remove(
            Permission.objects.get(codename=loses, content_type__app_label="cases")
        )
    read = api.get(f"/api/v1/cases/{case.pk}/")
    note = api.post(f"/api/v1/cases/{case.pk}/note/", {"body": "Still here"}, format="json")
    if loses == "change_case":
        assert read.status_code == 200 and note.status_code == 403
    else:
        assert read.status_code in (401, 403) and note.status_code in (401, 403)
        assert case.reference.encode() not in read.content
    assert not case.messages.filter(body="Still here").exists()


def test_a_token_of_a_user_removed_from_the_team_sees_none_of_its_cases(handler):
    case, _code = submit()
    api = client_with_token(token_for(handler))
    handler.team_memberships.all().delete()
    assert api.get(f"/api/v1/cases/{case.pk}/").status_code == 403
    assert api.get("/api/v1/cases/").json()["count"] == 0


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize(
    "action", ["reply", "note", "status", "assign", "type", "extension", "breach/decision"]
)
def test_every_unsafe_method_of_a_session_needs_the_csrf_token(handler, method, action):
    case, _code = submit()
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(handler)
    response = getattr(browser, method)(
        f"/api/v1/cases/{case.pk}/{action}/", {"body": "Hello", "status": "closed"}, format="json"
    )
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert not case.messages.filter(body="Hello").exists()


def test_a_session_posts_with_its_csrf_token(handler):
    case, _code = submit()
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(handler)
    browser.get("/en/staff/")  # sets the CSRF cookie, as the site's pages do
    csrf = browser.cookies["csrftoken"].value
    response = browser.post(
        f"/api/v1/cases/{case.pk}/note/", {"body": "Hello"}, format="json", HTTP_X_CSRFTOKEN=csrf
    )
    assert response.status_code == 201


def test_a_token_needs_no_csrf_token(handler):
    case, _code = submit()
    api = client_with_token(token_for(handler))
    api.handler.enforce_csrf_checks = True
    assert api.post(f"/api/v1/cases/{case.pk}/note/", {"body": "Hello"}, format="json").status_code == 201


def test_the_rate_is_counted_per_token_in_the_cache(handler, settings):
    from django.core.cache import cache

    settings.TRUSTCENTER_API_RATE = "2/min"
    text = token_for(handler)
    api = client_with_token(text)
    assert [api.get("/api/v1/cases/").status_code for _ in range(3)] == [200, 200, 429]
    key = f"throttle_api_token-{ApiToken.objects.get(user=handler).digest}"
    assert len(cache.get(key)) == 2
    assert text not in key and text[:15] not in key
