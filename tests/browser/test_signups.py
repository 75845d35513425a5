"""The sign-up pages in Chromium on a phone's width (issue 12, point 7): an open application is
filled in, its CV chosen and sent, the "check your e-mail" page seen, and the e-mailed link's page
confirmed; axe-core finds no WCAG 2.1 A/AA violation on either form, in any state met on the way;
nothing is loaded from another host and the page never scrolls sideways. Each page is
photographed to /tmp/shots/ at 390 px and 1280 px."""

import re
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import expect

from consent.defaults import ensure_default_purposes
from consent.models import ConsentEvent, SignUp
from registers.models import RecruitmentEntry
from tests import images
from tests.browser.conftest import AXE_SCRIPT, AxeFindings, document_and_viewport_width
from tests.browser.test_accessibility import submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SKILLS = "Ten years of Django and PostgreSQL; a position in Oslo, four days a week."


@pytest.fixture(autouse=True)
def purposes():
    ensure_default_purposes()  # the live server's database starts empty


def shoot(page, name: str) -> None:
    """The page at the phone's width and at a desktop's, whole; back to the phone's after."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, viewport in (("390", PHONE), ("1280", DESKTOP)):
        page.set_viewport_size(viewport)
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        page.screenshot(path=str(SHOTS / f"signup-{slug}-{label}.png"), full_page=True)
    page.set_viewport_size(PHONE)


def check(page, findings: AxeFindings, name: str) -> None:
    findings.check(page, name)
    width, viewport = document_and_viewport_width(page)
    assert width <= viewport, f"{name}: the page scrolls sideways ({width} px in {viewport} px)"
    shoot(page, name)


def test_an_open_application_on_a_phone(new_visit, live_server):
    # axe-core is a script of the test's, which the site's CSP forbids: this context bypasses CSP.
    visit = new_visit(viewport=PHONE, bypass_csp=True)
    visit.context.add_init_script(path=str(AXE_SCRIPT))
    page, findings = visit.page, AxeFindings()

    assert page.goto("/en/").status == 200
    shoot(page, "home")
    page.locator("#sign-ups").get_by_role("link", name="Send an open application").click()
    expect(page).to_have_url(re.compile(r"/en/join/recruitment/$"))
    expect(page.locator("#wording-title")).to_have_text("Recruitment database")
    expect(page.locator("#recruitment-term")).to_contain_text("360 days")
    check(page, findings, "recruitment form")

    page.get_by_label("Your name").fill("Kari Nordmann")
    page.get_by_label("Your e-mail address").fill("kari@example.org")
    page.get_by_label("Phone (optional)").fill("+47 912 34 567")
    page.get_by_label("Your skills and wishes").fill(SKILLS)
    # A picture is no CV: refused, and everything typed comes back.
    page.get_by_label("Your CV").set_input_files(
        files=[{"name": "photo.png", "mimeType": "image/png", "buffer": images.plain_png()}]
    )
    assert submit(page, page.get_by_role("button", name="Send my application")) == 400
    expect(page.locator("#id_cv_error")).to_contain_text("photo.png: This kind of file is not accepted.")
    expect(page.get_by_label("Your skills and wishes")).to_have_value(SKILLS)
    expect(page.get_by_label("Your name")).to_have_value("Kari Nordmann")
    check(page, findings, "recruitment form, a picture refused")

    page.get_by_label("Your CV").set_input_files(
        files=[{"name": "cv.pdf", "mimeType": "application/pdf", "buffer": images.PDF}]
    )
    assert submit(page, page.get_by_role("button", name="Send my application")) == 200
    expect(page).to_have_url(re.compile(r"/en/join/sent/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    check(page, findings, "check your e-mail")
    assert RecruitmentEntry.objects.count() == 0 and SignUp.objects.count() == 1

    [sent] = [message for message in mail.outbox if message.to == ["kari@example.org"]]
    # The link names the site's public address; here the live server answers for it.
    link = re.search(r"https?://[^/\s]+(/\S+/join/confirm/\?t=\S+)", sent.body).group(1)
    assert page.goto(link).status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your open application")
    check(page, findings, "confirmation page")
    assert ConsentEvent.objects.count() == 0

    assert submit(page, page.get_by_role("button", name="Confirm")) == 200
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Your application is in our recruitment database"
    )
    check(page, findings, "confirmed")
    entry = RecruitmentEntry.objects.get()
    with entry.cv.open("rb") as stored:
        assert stored.read() == images.PDF
    assert not SignUp.objects.exists()

    assert page.goto(link).status == 404
    check(page, findings, "link used")

    assert page.goto("/en/join/newsletter/").status == 200
    check(page, findings, "newsletter form")
    page.get_by_label("Your e-mail address").fill("not an address")
    page.locator("#id_email").evaluate("input => { input.type = 'text'; }")  # past the browser's own check
    assert submit(page, page.get_by_role("button", name="Subscribe")) == 400
    expect(page.locator("#id_email")).to_have_attribute("aria-invalid", "true")
    check(page, findings, "newsletter form, a bad address")

    assert not findings.seen, findings.report()
    assert visit.foreign_requests(live_server.url) == []
