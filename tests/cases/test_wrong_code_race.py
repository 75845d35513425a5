"""The follow-up page's limit on wrong receipt codes holds when the codes arrive all at once, and
whatever the code is once it is reached.

`services.open_case_with_code` counts every attempt atomically before the (slow, Argon2) check.
Of simultaneous attempts from one client, the first `limit` increments are allowed and every
later one sees a count above the limit and is refused (and given back). Since the allowed wrong
codes stay counted, the count never falls back under the limit within the window: exactly
`limit` codes are checked, never more and never fewer, provided the burst stays in one window.
"""

import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPRedirectHandler, Request, build_opener

import pytest
from django.conf import settings as django_settings

from tests.conftest import need
from tests.factories import submit

LIMIT = 5
SIMULTANEOUS = 20
CHECKED = "We could not open a case with this code"
REFUSED = re.compile(r"Too many wrong codes\. Please try again in \d+ minutes\.")


def wrong_codes(count: int) -> list[str]:
    """Distinct 20-digit codes that open no case."""
    return [f"{90000000000000000000 + number:020d}" for number in range(count)]


@pytest.fixture(params=["locmem", "configured"])
def rate_limit_cache(request, settings):
    """The limit must hold on the per-process cache of a local run and on the shared cache
    (Redis) that bin/test and production configure."""
    if request.param == "locmem":
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": f"wrong-code-race-{request.node.name}",
            }
        }
    else:
        configured = django_settings.CACHES["default"]["BACKEND"].lower()
        need("redis" in configured, "a Redis cache (CACHE_URL=redis://...)")
    settings.TRUSTCENTER_FOLLOWUP_FAILURES = LIMIT
    return request.param


# --- Against a real threaded HTTP server ------------------------------------------------------


class _NoRedirects(HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer to look at, not to follow


_opener = build_opener(_NoRedirects)


def _send(request: Request) -> tuple[int, str]:
    try:
        with _opener.open(request, timeout=120) as response:
            return response.status, response.read().decode()
    except HTTPError as error:
        return error.code, error.read().decode()


def csrf_cookie_and_token(url: str) -> tuple[str, str]:
    """One GET of the code form: the CSRF cookie it sets and the token in its form."""
    with _opener.open(url, timeout=60) as response:
        cookies = response.headers.get_all("Set-Cookie") or []
        page = response.read().decode()
    cookie = next(
        (match.group(1) for header in cookies if (match := re.match(r"csrftoken=([^;]+)", header))), None
    )
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert cookie and token, "the follow-up page sets no CSRF cookie or has no CSRF token"
    return cookie, token.group(1)


def post_code(url: str, code: str, *, cookie: str, token: str) -> tuple[int, str]:
    request = Request(
        url,
        data=urlencode({"csrfmiddlewaretoken": token, "receipt_code": code}).encode(),
        headers={"Cookie": f"csrftoken={cookie}"},
    )
    return _send(request)


def window_index() -> int:
    return int(time.time() // django_settings.TRUSTCENTER_FOLLOWUP_WINDOW_SECONDS)


def wait_for_room_in_the_window(*, room_seconds: float = 30) -> None:
    """Counts are per fixed window: a burst that crossed a window's end would be counted in two
    windows. Start it where the current window has `room_seconds` left."""
    window = django_settings.TRUSTCENTER_FOLLOWUP_WINDOW_SECONDS
    left = window - time.time() % window
    if left < room_seconds:
        time.sleep(left + 0.5)


@pytest.mark.usefixtures("transactional_db")
def test_twenty_wrong_codes_sent_at_the_same_moment_from_one_client_get_exactly_five_checked(
    live_server, rate_limit_cache
):
    case, right_code = submit()
    url = live_server.url + "/en/follow-up/"
    cookie, token = csrf_cookie_and_token(url)
    codes = wrong_codes(SIMULTANEOUS)
    start = threading.Barrier(SIMULTANEOUS, timeout=60)

    def attempt(code: str) -> tuple[int, str]:
        start.wait()
        return post_code(url, code, cookie=cookie, token=token)

    wait_for_room_in_the_window()
    window_before = window_index()
    with ThreadPoolExecutor(max_workers=SIMULTANEOUS) as pool:
        answers = list(pool.map(attempt, codes))
    assert window_index() == window_before, "the burst crossed a window's end: too slow to judge"

    statuses = Counter(status for status, _page in answers)
    assert set(statuses) <= {400, 429}, f"unexpected answers: {statuses}"
    assert statuses[400] == LIMIT, f"{statuses[400]} of {SIMULTANEOUS} simultaneous codes were checked"
    assert statuses[429] == SIMULTANEOUS - LIMIT
    for status, page in answers:
        if status == 400:
            assert CHECKED in page and not REFUSED.search(page)
        else:
            assert REFUSED.search(page) and CHECKED not in page

    # The limit holds afterwards too, for the right code as well.
    status, page = post_code(url, right_code, cookie=cookie, token=token)
    assert status == 429 and REFUSED.search(page)


# --- One code after another --------------------------------------------------------------------


@pytest.mark.django_db
def test_after_five_wrong_codes_the_right_code_is_refused_too(client, rate_limit_cache):
    case, right_code = submit()
    for code in wrong_codes(LIMIT):
        response = client.post("/en/follow-up/", {"receipt_code": code})
        assert response.status_code == 400
        assert CHECKED in response.content.decode()
    response = client.post("/en/follow-up/", {"receipt_code": right_code})
    assert response.status_code == 429
    assert REFUSED.search(response.content.decode())
    # No session was opened on the case.
    page = client.get("/en/follow-up/case/")
    assert page.status_code == 302 and page["Location"] == "/en/follow-up/"


@pytest.mark.django_db
def test_a_right_code_uses_up_no_attempt(client, rate_limit_cache):
    case, right_code = submit()
    for _time in range(10):
        response = client.post("/en/follow-up/", {"receipt_code": right_code})
        assert response.status_code == 302 and response["Location"] == "/en/follow-up/case/"
    # All five wrong codes the limit allows are still there, and checked.
    for code in wrong_codes(LIMIT):
        response = client.post("/en/follow-up/", {"receipt_code": code})
        assert response.status_code == 400
        assert CHECKED in response.content.decode()
    response = client.post("/en/follow-up/", {"receipt_code": wrong_codes(LIMIT + 1)[-1]})
    assert response.status_code == 429
