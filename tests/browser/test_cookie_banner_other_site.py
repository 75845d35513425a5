"""Cookie consent in Chromium (issue 12, point 8).

The other sites' banner: the demo page (docs/demo-site/) served from ANOTHER origin by a small
http.server, pointing at the live server's banner.js, its origin registered as one of the group's
sites. Before a choice no cookie but the necessary one and no marked element loads (the analytics
script does not run, the image and the frame have no src, no request goes to the marked URLs);
after each choice exactly the right ones load; a browser with Global Privacy Control loads no
analytics or marketing even after "Accept all"; data-cookie-settings opens the banner again.

The portal's own banner and settings page: axe-core finds nothing, without JavaScript the forms
work, and both are photographed at 390 and 1280 px to /tmp/shots/."""

import functools
import http.server
import re
import shutil
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect

from consent import cookies
from consent.cookies_demo import add_demo_cookie_site
from consent.defaults import ensure_default_purposes
from consent.models import ConsentEvent, Cookie, CookieSite
from tests.browser.conftest import run_axe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_SITE = Path(__file__).resolve().parents[2] / "docs" / "demo-site"
SHOTS = Path("/tmp/shots")
MARKED = ("preferences.js", "analytics.js", "marketing-pixel.svg", "marketing-frame.html")
GPC_SCRIPT = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true});"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the standard library's name
        pass


@pytest.fixture
def demo_site(tmp_path, live_server):
    """The demo page on an origin of its own (127.0.0.1 and a free port; the portal is at
    localhost), registered with the demo inventory: its origin."""
    folder = tmp_path / "demo-site"
    shutil.copytree(DEMO_SITE, folder)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder))
    )
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    page = (folder / "index.html").read_text()
    assert 'src="http://127.0.0.1:8000/static/consent/banner.js"' in page
    page = page.replace("http://127.0.0.1:8000", live_server.url).replace(
        'data-site="http://localhost:8001"', f'data-site="{origin}"'
    )
    (folder / "index.html").write_text(page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    ensure_default_purposes()  # a transactional test before this one emptied the database
    add_demo_cookie_site(origin=origin)
    yield origin
    server.shutdown()
    server.server_close()


def marked_requests(visit) -> list[str]:
    return [url for url in visit.requests if url.rsplit("/", 1)[-1] in MARKED]


def cookie_names(visit, origin: str) -> set[str]:
    return {cookie["name"] for cookie in visit.context.cookies(origin)}


def open_demo(visit, origin: str):
    page = visit.page
    page.goto(f"{origin}/")
    expect(page.locator("#tc-cookie-banner")).to_be_visible()
    return page


def assert_nothing_marked_loaded(visit, origin: str) -> None:
    page = visit.page
    assert page.evaluate("() => window.demoAnalyticsRan") is None
    assert page.evaluate("() => window.demoPreferencesRan") is None
    assert page.locator("#marketing-pixel").get_attribute("src") is None
    assert page.locator("#marketing-frame").get_attribute("src") is None
    assert marked_requests(visit) == []


def ledger() -> list[tuple[str, str, str]]:
    return [
        (slug, action, channel)
        for slug, action, channel in ConsentEvent.objects.order_by("id").values_list(
            "purpose__slug", "action", "channel"
        )
    ]


def test_nothing_loads_before_a_choice_and_everything_after_accept_all(new_visit, demo_site):
    visit = new_visit()
    page = open_demo(visit, demo_site)
    banner = page.locator("#tc-cookie-banner")
    for category in ("functional", "analytics", "marketing"):
        expect(banner.get_by_role("checkbox", name=re.compile(category, re.I))).not_to_be_checked()
    expect(banner.get_by_role("button")).to_have_text(["Accept all", "Reject all", "Save my choices"])
    boxes = [button.bounding_box() for button in banner.get_by_role("button").all()]
    assert len({(round(box["width"]), round(box["height"])) for box in boxes}) == 1, boxes
    page.wait_for_timeout(300)  # time enough for anything that would load
    assert cookie_names(visit, demo_site) == set()
    assert_nothing_marked_loaded(visit, demo_site)
    portal = page.evaluate("() => new URL(document.querySelector('script[data-site]').src).origin")
    elsewhere = visit.foreign_requests(demo_site)
    assert elsewhere and all(url.startswith(portal + "/") for url in elsewhere), elsewhere

    banner.get_by_role("button", name="Accept all").click()
    expect(banner).to_have_count(0)
    page.wait_for_function("() => window.demoAnalyticsRan === true && window.demoPreferencesRan === true")
    expect(page.locator("#marketing-pixel")).to_have_attribute("src", "marketing-pixel.svg")
    expect(page.locator("#marketing-frame")).to_have_attribute("src", "marketing-frame.html")
    page.wait_for_function("() => document.getElementById('marketing-pixel').complete")
    assert set(marked_requests(visit)) >= {f"{demo_site}/{name}" for name in MARKED}
    assert cookie_names(visit, demo_site) == {cookies.CHOICE_COOKIE, "demo_analytics", "demo_preferences"}
    expect(page.locator("#analytics-status")).to_contain_text("running")
    page.wait_for_function("() => document.cookie.includes('%22recorded%22%3Atrue')")
    assert ledger() == [
        ("cookies_functional", "give", "api"),
        ("cookies_analytics", "give", "api"),
        ("cookies_marketing", "give", "api"),
    ]

    page.reload()
    page.wait_for_function("() => window.demoAnalyticsRan === true")
    expect(page.locator("#marketing-frame")).to_have_attribute("src", "marketing-frame.html")
    page.wait_for_timeout(300)
    expect(page.locator("#tc-cookie-banner")).to_have_count(0)
    assert len(ledger()) == 3, "a page seen again records nothing"


def test_reject_all_loads_nothing(new_visit, demo_site):
    visit = new_visit()
    page = open_demo(visit, demo_site)
    page.locator("#tc-cookie-banner").get_by_role("button", name="Reject all").click()
    expect(page.locator("#tc-cookie-banner")).to_have_count(0)
    page.wait_for_function("() => document.cookie.includes('%22recorded%22%3Atrue')")
    page.reload()
    page.wait_for_timeout(500)
    expect(page.locator("#tc-cookie-banner")).to_have_count(0)
    assert_nothing_marked_loaded(visit, demo_site)
    assert cookie_names(visit, demo_site) == {cookies.CHOICE_COOKIE}
    assert ledger() == [
        ("cookies_functional", "withdraw", "api"),
        ("cookies_analytics", "withdraw", "api"),
        ("cookies_marketing", "withdraw", "api"),
    ]


def test_choose_analytics_only_loads_analytics_only(new_visit, demo_site):
    visit = new_visit()
    page = open_demo(visit, demo_site)
    banner = page.locator("#tc-cookie-banner")
    banner.get_by_role("checkbox", name=re.compile("analytics", re.I)).check()
    banner.get_by_role("button", name="Save my choices").click()
    page.wait_for_function("() => window.demoAnalyticsRan === true")
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.demoPreferencesRan") is None
    assert page.locator("#marketing-pixel").get_attribute("src") is None
    assert page.locator("#marketing-frame").get_attribute("src") is None
    assert [url.rsplit("/", 1)[-1] for url in marked_requests(visit)] == ["analytics.js"]
    assert cookie_names(visit, demo_site) == {cookies.CHOICE_COOKIE, "demo_analytics"}


def test_global_privacy_control_keeps_analytics_and_marketing_off(new_visit, demo_site):
    visit = new_visit(extra_http_headers={"Sec-GPC": "1"})
    visit.context.add_init_script(GPC_SCRIPT)
    page = open_demo(visit, demo_site)
    banner = page.locator("#tc-cookie-banner")
    expect(banner).to_contain_text("Global Privacy Control")
    expect(banner).to_contain_text("analytics and marketing stay off")
    expect(banner.get_by_role("checkbox", name=re.compile("analytics", re.I))).to_be_disabled()
    expect(banner.get_by_role("checkbox", name=re.compile("marketing", re.I))).to_be_disabled()
    expect(banner.get_by_role("checkbox", name=re.compile("functional", re.I))).to_be_enabled()

    banner.get_by_role("button", name="Accept all").click()
    page.wait_for_function("() => window.demoPreferencesRan === true")
    page.wait_for_function("() => document.cookie.includes('%22recorded%22%3Atrue')")
    page.reload()
    page.wait_for_function("() => window.demoPreferencesRan === true")
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.demoAnalyticsRan") is None
    assert page.locator("#marketing-pixel").get_attribute("src") is None
    assert page.locator("#marketing-frame").get_attribute("src") is None
    assert {url.rsplit("/", 1)[-1] for url in marked_requests(visit)} == {"preferences.js"}
    assert cookie_names(visit, demo_site) == {cookies.CHOICE_COOKIE, "demo_preferences"}
    assert ledger() == [
        ("cookies_functional", "give", "api"),
        ("cookies_analytics", "withdraw", "api"),
        ("cookies_marketing", "withdraw", "api"),
    ]


def test_cookie_settings_reopens_the_banner_and_a_withdrawal_takes_effect(new_visit, demo_site):
    visit = new_visit()
    page = open_demo(visit, demo_site)
    page.locator("#tc-cookie-banner").get_by_role("button", name="Accept all").click()
    page.wait_for_function("() => window.demoAnalyticsRan === true")
    page.wait_for_function("() => document.cookie.includes('%22recorded%22%3Atrue')")

    page.get_by_role("button", name="Cookie settings").click()
    banner = page.locator("#tc-cookie-banner")
    expect(banner).to_be_visible()
    expect(banner.get_by_role("checkbox", name=re.compile("analytics", re.I))).to_be_checked()
    with page.expect_navigation():  # what already runs cannot be stopped: the page starts again
        banner.get_by_role("button", name="Reject all").click()
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.demoAnalyticsRan") is None
    assert page.locator("#marketing-frame").get_attribute("src") is None
    assert cookie_names(visit, demo_site) == {cookies.CHOICE_COOKIE}, (
        "the refused categories' cookies are gone"
    )
    assert ledger()[3:] == [
        ("cookies_functional", "withdraw", "api"),
        ("cookies_analytics", "withdraw", "api"),
        ("cookies_marketing", "withdraw", "api"),
    ]


def test_the_other_site_banner_passes_axe(new_visit, demo_site):
    visit = new_visit()
    page = open_demo(visit, demo_site)
    violations = run_axe(page)
    assert violations == [], [violation["id"] for violation in violations]
    screenshot(page, "other site, 390 px", width=390)
    screenshot(page, "other site, 1280 px", width=1280)


# --- The portal's own banner -------------------------------------------------------------------------


def screenshot(page, name: str, *, width: int) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": 900})
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    page.screenshot(path=str(SHOTS / f"cookies-{slug}.png"), full_page=True)


@pytest.fixture
def portal_inventory():
    ensure_default_purposes()
    cookies.ensure_portal_site()


def test_the_portal_banner_and_settings_page_pass_axe(new_visit, portal_inventory, live_server):
    visit = new_visit(bypass_csp=True)
    page = visit.page
    page.goto("/en/")
    expect(page.locator("#cookie-banner")).to_be_visible()
    assert run_axe(page) == []
    screenshot(page, "portal banner, 390 px", width=390)
    screenshot(page, "portal banner, 1280 px", width=1280)

    page.goto("/en/cookies/")
    assert run_axe(page) == []
    screenshot(page, "portal settings, 390 px", width=390)
    screenshot(page, "portal settings, 1280 px", width=1280)
    assert visit.foreign_requests(live_server.url) == []


def test_the_portal_banner_under_gpc_passes_axe(new_visit, portal_inventory):
    portal = CookieSite.objects.get(is_portal=True)
    for name, category in (("visits", "analytics"), ("adverts", "marketing")):
        Cookie.objects.create(site=portal, name=name, category=category, purpose="Demo", duration="1 day")
    cookies.forget_portal_offer()
    visit = new_visit(bypass_csp=True, extra_http_headers={"Sec-GPC": "1"})
    page = visit.page
    page.goto("/en/cookies/")
    expect(page.get_by_role("checkbox", name=re.compile("analytics", re.I))).to_be_disabled()
    expect(page.locator("main")).to_contain_text("analytics and marketing stay off")
    assert run_axe(page) == []
    screenshot(page, "portal settings under GPC, 390 px", width=390)


def test_the_portal_banner_works_without_javascript(new_visit, portal_inventory, live_server):
    visit = new_visit(java_script_enabled=False)
    page = visit.page
    page.goto("/en/report/")
    assert {cookie["name"] for cookie in visit.context.cookies()} <= {"csrftoken", "sessionid"}
    banner = page.locator("#cookie-banner")
    banner.get_by_role("checkbox", name=re.compile("functional", re.I)).check()
    with page.expect_navigation():
        banner.get_by_role("button", name="Save my choices").click()
    assert page.url == f"{live_server.url}/en/report/"
    expect(page.locator("#cookie-banner")).to_have_count(0)
    names = {cookie["name"] for cookie in visit.context.cookies()}
    assert cookies.CHOICE_COOKIE in names and "django_language" in names
    assert ledger() == [("cookies_functional", "give", "web")]

    page.get_by_role("link", name="Cookie settings").click()
    expect(page.get_by_role("checkbox", name=re.compile("functional", re.I))).to_be_checked()
    with page.expect_navigation():
        page.get_by_role("button", name="Reject all").click()
    expect(page.get_by_role("status")).to_contain_text("Your choice is saved")
    assert "django_language" not in {cookie["name"] for cookie in visit.context.cookies()}
    assert ledger()[1:] == [("cookies_functional", "withdraw", "web")]


def test_with_javascript_the_portal_banner_keeps_what_was_typed(new_visit, portal_inventory, live_server):
    visit = new_visit()
    page = visit.page
    page.goto("/en/report/")
    page.locator("#id_message").fill("Typed before the cookie choice.")
    banner = page.locator("#cookie-banner")
    banner.get_by_role("button", name="Reject all").click()
    expect(banner.get_by_role("status")).to_contain_text("Your cookie choice is saved")
    assert page.url == f"{live_server.url}/en/report/"
    expect(page.locator("#id_message")).to_have_value("Typed before the cookie choice.")
    assert cookies.CHOICE_COOKIE in {cookie["name"] for cookie in visit.context.cookies()}
    assert ledger() == [("cookies_functional", "withdraw", "web")]
    page.reload()
    expect(page.locator("#cookie-banner")).to_have_count(0)
    assert visit.csp_violations() == []
