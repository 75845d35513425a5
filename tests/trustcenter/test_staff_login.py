"""Staff login (issue 9, point 12): a password and a TOTP code or a backup code, a lockout after
repeated failures that keeps no client address, and a staff session that ends when left idle."""

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import time_machine
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings as django_settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.management import call_command
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import CaseHandlerFactory, StaffFactory, submit
from tests.services import redis_contents

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"  # the factories' password
LOGIN = "/en/staff/account/login/"
SETUP = "/en/staff/account/two_factor/setup/"
QUEUE = "/en/staff/"
ADMIN = "/admin/"
ADDRESS = "192.0.2.77"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def two_factors_required(settings):
    settings.TRUSTCENTER_REQUIRE_2FA = True


@pytest.fixture
def staff_member():
    return CaseHandlerFactory(username="handler")


def totp_device(user) -> TOTPDevice:
    # "default" is the name two_factor looks for when it asks for a code.
    return TOTPDevice.objects.create(user=user, name="default", confirmed=True)


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):0{device.digits}d}"


def send_password(client: Client, username: str, password: str = PASSWORD, *, next_url: str = QUEUE):
    return client.post(
        f"{LOGIN}?next={next_url}",
        {"login_view-current_step": "auth", "auth-username": username, "auth-password": password},
    )


def send_code(client: Client, code: str, *, next_url: str = QUEUE):
    return client.post(
        f"{LOGIN}?next={next_url}", {"login_view-current_step": "token", "token-otp_token": code}
    )


def send_backup_code(client: Client, code: str, *, next_url: str = QUEUE):
    client.post(f"{LOGIN}?next={next_url}", {"wizard_goto_step": "backup"})
    return client.post(
        f"{LOGIN}?next={next_url}", {"login_view-current_step": "backup", "backup-otp_token": code}
    )


def reaches_the_queue(client: Client) -> bool:
    response = client.get(QUEUE)
    return response.status_code == 200


def path_of(response) -> str:
    return urlsplit(response["Location"]).path


def cache_contents() -> bytes:
    """Every name and value in the default cache, as a copy of it would hold them."""
    backend: Any = caches["default"]  # reached into: what it stores, not what it answers
    if isinstance(caches["default"], LocMemCache):
        return b"".join(name.encode() + value for name, value in backend._cache.items())
    names, values = redis_contents(django_settings.CACHES["default"]["LOCATION"])
    return "".join(names).encode() + values


# --- A staff member logging in ---------------------------------------------------------------------


def test_a_password_and_the_current_code_reach_the_queue(client, two_factors_required, staff_member):
    device = totp_device(staff_member)
    asked = send_password(client, "handler")
    assert asked.status_code == 200 and 'name="token-otp_token"' in asked.content.decode()
    assert not reaches_the_queue(client)  # the password alone logs no one in
    response = send_code(client, current_code(device))
    assert response.status_code == 302 and response["Location"] == QUEUE
    assert reaches_the_queue(client)
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id


def test_the_login_page_is_the_sites_and_loads_nothing_from_other_hosts(client):
    response = client.get(f"{LOGIN}?next={QUEUE}")
    page = response.content.decode()
    assert response.status_code == 200
    assert "/static/vendor/bootstrap-5.3.9/css/bootstrap.min.css" in page
    assert 'name="auth-username"' in page and "form-control" in page
    assert "//cdnjs" not in page and "Provide a template named" not in page
    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_a_password_alone_does_not_reach_the_queue_when_two_factors_are_required(
    client, two_factors_required, staff_member
):
    totp_device(staff_member)
    send_password(client, "handler")
    response = client.get(QUEUE)
    assert response.status_code == 302 and path_of(response) == LOGIN
    # Logged in by password some other way (before 2FA was required, say): still not in.
    client.force_login(staff_member)
    response = client.get(QUEUE)
    assert response.status_code == 302 and path_of(response) == LOGIN


def test_a_staff_member_without_a_device_is_sent_to_set_one_up_and_then_reaches_the_queue(
    client, two_factors_required, staff_member
):
    response = send_password(client, "handler")
    assert response.status_code == 302  # logged in by the password: there is no code to ask
    response = client.get(QUEUE)
    assert response.status_code == 302 and path_of(response) == SETUP
    setup = response["Location"]
    client.get(setup)
    client.post(setup, {"setup_view-current_step": "welcome"})
    page = client.post(setup, {"setup_view-current_step": "method", "method-method": "generator"})
    # The QR code is an image of this site, within the Content-Security-Policy's img-src 'self'.
    assert 'src="/en/staff/account/two_factor/qrcode/"' in page.content.decode()
    qr_code = client.get("/en/staff/account/two_factor/qrcode/")
    assert qr_code.status_code == 200 and qr_code["Content-Type"].startswith("image/svg+xml")
    key = page.context["wizard"]["form"].key
    code = f"{totp(bytes.fromhex(key)):06d}"
    done = client.post(setup, {"setup_view-current_step": "generator", "generator-token": code})
    assert done.status_code == 302 and done["Location"] == QUEUE
    assert reaches_the_queue(client)
    assert TOTPDevice.objects.get(user=staff_member).confirmed


def test_a_wrong_code_is_refused(client, two_factors_required, staff_member):
    device = totp_device(staff_member)
    send_password(client, "handler")
    wrong = f"{(int(current_code(device)) + 1) % 1_000_000:06d}"
    response = send_code(client, wrong)
    assert response.status_code == 200 and 'name="token-otp_token"' in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert not reaches_the_queue(client)


def test_a_backup_code_works_once_and_only_once(client, two_factors_required, staff_member):
    totp_device(staff_member)
    backup = StaticDevice.objects.create(user=staff_member, name="backup")
    backup.token_set.create(token="kq7fmx2p")
    send_password(client, "handler")
    response = send_backup_code(client, "kq7fmx2p")
    assert response.status_code == 302 and response["Location"] == QUEUE
    assert reaches_the_queue(client)

    again = Client()
    send_password(again, "handler")
    response = send_backup_code(again, "kq7fmx2p")
    assert response.status_code == 200 and "_auth_user_id" not in again.session
    assert not reaches_the_queue(again)
    assert not backup.token_set.exists()


def test_without_the_requirement_a_password_is_enough(client, settings, staff_member):
    settings.TRUSTCENTER_REQUIRE_2FA = False
    response = send_password(client, "handler")
    assert response.status_code == 302 and response["Location"] == QUEUE
    assert reaches_the_queue(client)


def test_a_visitor_who_is_not_staff_is_turned_away(client, two_factors_required):
    user = StaffFactory(username="not-staff", is_staff=False)
    client.force_login(user)
    assert client.get(QUEUE).status_code == 403


def test_logging_out_ends_the_staff_session(client, two_factors_required, staff_member):
    device = totp_device(staff_member)
    send_password(client, "handler")
    send_code(client, current_code(device))
    assert client.post("/en/staff/account/logout/").status_code == 302
    assert not reaches_the_queue(client)


# --- The admin -------------------------------------------------------------------------------------


def test_the_admin_requires_a_code_when_two_factors_are_required(client, two_factors_required):
    superuser = StaffFactory(username="admin", is_superuser=True)
    device = totp_device(superuser)
    client.force_login(superuser)  # a password login, no code
    response = client.get(ADMIN, follow=True)
    assert response.redirect_chain[-1][0].startswith(f"{LOGIN}?next=")
    assert 'name="auth-username"' in response.content.decode()

    send_password(client, "admin", next_url=ADMIN)
    response = send_code(client, current_code(device), next_url=ADMIN)
    assert response.status_code == 302 and response["Location"] == ADMIN
    assert client.get(ADMIN).status_code == 200


def test_the_admin_sends_a_staff_member_without_a_device_to_set_one_up(client, two_factors_required):
    superuser = StaffFactory(username="admin", is_superuser=True)
    client.force_login(superuser)
    response = client.get(ADMIN, follow=True)
    assert urlsplit(response.redirect_chain[-1][0]).path == SETUP


def test_the_admin_logs_in_through_the_two_factor_login_even_when_not_required(client, settings):
    settings.TRUSTCENTER_REQUIRE_2FA = False
    response = client.get(ADMIN, follow=True)
    assert urlsplit(response.redirect_chain[-1][0]).path == LOGIN
    StaffFactory(username="admin", is_superuser=True)
    send_password(client, "admin", next_url=ADMIN)
    assert client.get(ADMIN).status_code == 200


# --- An attacker guessing passwords ----------------------------------------------------------------


def test_repeated_failures_lock_the_account_even_against_the_right_password(
    settings, two_factors_required, staff_member, caplog
):
    settings.AXES_FAILURE_LIMIT = 5
    device = totp_device(staff_member)
    attacker = Client(REMOTE_ADDR=ADDRESS, HTTP_X_FORWARDED_FOR=ADDRESS, HTTP_USER_AGENT="guesser/1.0")
    caplog.set_level(logging.DEBUG)
    statuses = [send_password(attacker, "handler", f"guess-{n}").status_code for n in range(5)]
    assert statuses == [200] * 4 + [429]
    locked = send_password(attacker, "handler")
    assert locked.status_code == 429 and "Too many failed logins" in locked.content.decode()
    assert not reaches_the_queue(attacker)

    # The staff member too, from anywhere, until the cool-off ends...
    staff = Client(REMOTE_ADDR="198.51.100.5")
    assert send_password(staff, "handler").status_code == 429

    # ...and nothing kept or logged names the attacker's address or browser.
    stored = cache_contents()
    assert ADDRESS.encode() not in stored and b"guesser" not in stored
    assert not AccessAttempt.objects.exists()
    assert not AccessLog.objects.exists()
    assert not AccessFailureLog.objects.exists()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "AXES" in logged  # what is searched below was logged
    assert ADDRESS not in logged and "guesser" not in logged

    # An administrator may unlock the account before the cool-off ends.
    call_command("axes_reset_username", "handler", verbosity=0)
    send_password(staff, "handler")
    assert send_code(staff, current_code(device)).status_code == 302
    assert reaches_the_queue(staff)


def test_failures_on_one_account_do_not_lock_another(settings, two_factors_required, staff_member):
    settings.AXES_FAILURE_LIMIT = 3
    other = CaseHandlerFactory(username="colleague")
    device = totp_device(other)
    attacker = Client()
    for n in range(3):
        send_password(attacker, "handler", f"guess-{n}")
    colleague = Client()
    send_password(colleague, "colleague")
    assert send_code(colleague, current_code(device)).status_code == 302


# --- Idle staff sessions ---------------------------------------------------------------------------


def test_an_idle_staff_session_is_logged_out(client, settings, staff_member):
    settings.TRUSTCENTER_STAFF_IDLE_SECONDS = 20 * 60
    with time_machine.travel(START, tick=False) as traveller:
        send_password(client, "handler")
        assert reaches_the_queue(client)
        traveller.shift(timedelta(minutes=20, seconds=1))
        response = client.get(QUEUE)
        assert response.status_code == 302 and path_of(response) == LOGIN
        assert "_auth_user_id" not in client.session


def test_an_active_staff_session_is_kept(client, settings, staff_member):
    settings.TRUSTCENTER_STAFF_IDLE_SECONDS = 20 * 60
    with time_machine.travel(START, tick=False) as traveller:
        send_password(client, "handler")
        for _minute in range(0, 60, 19):
            traveller.shift(timedelta(minutes=19))
            assert reaches_the_queue(client)


def test_the_staff_session_expires_with_the_idle_time_and_the_reporters_keeps_its_own(client, settings):
    settings.TRUSTCENTER_STAFF_IDLE_SECONDS = 7 * 60
    CaseHandlerFactory(username="handler")
    send_password(client, "handler")
    response = client.get(QUEUE)
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 7 * 60

    _case, code = submit()
    reporter = Client()
    response = reporter.post("/en/follow-up/", {"receipt_code": code})
    assert response.status_code == 302
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == settings.SESSION_COOKIE_AGE == 30 * 60
    assert reporter.get("/en/follow-up/case/").status_code == 200
    assert reporter.session.get_expiry_age() == 30 * 60
