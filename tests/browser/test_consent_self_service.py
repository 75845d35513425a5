"""Consent self-service in Chromium (issue 12, point 6): a person asks for a link, opens it, gives
and withdraws a consent and reads the receipt, without JavaScript; and axe-core finds nothing
on any of the pages, on a phone and on a desktop."""

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core import mail
from playwright.sync_api import expect

from consent import selectors, services
from consent.defaults import ensure_default_purposes
from consent.models import Channel, ConsentAction, ConsentEvent, ConsentPurpose, ConsentSeal, Purpose
from tests.browser.conftest import AXE_SCRIPT, AxeFindings, document_and_viewport_width

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots")
PERSON = "kari.nordmann@example.org"


def screenshot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"consent-{name}.png"), full_page=True)


def mailed_link(email: str) -> str:
    """The path and query of the latest link mailed to `email` (sent at once: the test commits)."""
    body = str(next(message.body for message in reversed(mail.outbox) if message.to == [email]))
    link = re.search(r"https?://\S+", body)
    assert link is not None, body
    parts = urlsplit(link.group())
    return f"{parts.path}?{parts.query}"


def open_consents(page, email: str) -> None:
    page.goto("/en/consent/")
    page.get_by_label("Your e-mail address").fill(email)
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("heading", name="Check your e-mail", level=1)).to_be_visible()
    page.goto(mailed_link(email))
    page.get_by_role("button", name="Open my consents").click()
    expect(page).to_have_url(re.compile(r"/en/consent/mine/$"))
    expect(page.get_by_role("heading", name="Your consents", level=1)).to_be_visible()


def test_a_person_gives_and_withdraws_without_javascript_and_reads_the_receipt(new_visit, live_server):
    ensure_default_purposes()
    visit = new_visit(java_script_enabled=False)
    page = visit.page
    open_consents(page, PERSON)

    newsletter = page.get_by_role("region", name="Newsletter")
    expect(newsletter).to_contain_text("Never answered")
    newsletter.get_by_role("button", name="Give consent").click()
    expect(page.get_by_role("status")).to_contain_text("Your consent to “Newsletter” is recorded.")
    expect(newsletter).to_contain_text("Given on")
    given = ConsentEvent.objects.get()
    assert (given.action, given.channel, given.subject.email) == (ConsentAction.GIVE, Channel.WEB, PERSON)
    assert selectors.current_consent(email=PERSON, purpose=Purpose.NEWSLETTER).standing

    newsletter.get_by_role("button", name="Withdraw consent").click()
    expect(page.get_by_role("status")).to_contain_text("Your consent to “Newsletter” is withdrawn.")
    expect(newsletter).to_contain_text("Withdrawn on")
    assert not selectors.current_consent(email=PERSON, purpose=Purpose.NEWSLETTER).standing
    withdrawn = ConsentEvent.objects.latest("id")

    history = page.get_by_role("table", name="History")
    expect(history.locator("tbody tr")).to_have_count(2)
    history.get_by_role("link", name=re.compile(r"^Receipt for Newsletter")).first.click()
    expect(page.get_by_role("heading", name="Consent receipt", level=1)).to_be_visible()
    expect(page.get_by_text("Consent withdrawn: Newsletter")).to_be_visible()
    expect(
        page.get_by_text(ConsentSeal.objects.get(event=withdrawn).digest)
    ).to_be_visible()  # sealed by the receipt
    with page.expect_download() as download:
        page.get_by_role("link", name="Download this receipt (JSON)").click()
    assert download.value.suggested_filename == f"consent-receipt-{withdrawn.pk}.json"

    page.get_by_role("button", name="Leave").click()
    expect(page.get_by_role("heading", name="Your consents", level=1)).to_be_visible()
    page.goto("/en/consent/mine/")
    expect(page).to_have_url(re.compile(r"/en/consent/$"))
    assert visit.foreign_requests(live_server.url) == []
    assert visit.csp_violations() == []


@pytest.mark.parametrize("width", [390, 1280])
def test_every_self_service_page_passes_axe(new_visit, width):
    ensure_default_purposes()
    marketing = ConsentPurpose.objects.get(slug=Purpose.MARKETING_EMAIL)
    for action, slug in [
        (ConsentAction.GIVE, Purpose.MARKETING_EMAIL),
        (ConsentAction.GIVE, Purpose.NEWSLETTER),
        (ConsentAction.WITHDRAW, Purpose.NEWSLETTER),
    ]:
        services.record_consent(
            email=PERSON,
            purpose=ConsentPurpose.objects.get(slug=slug),
            action=action,
            channel=Channel.IMPORT,
        )
    services.publish_version(
        purpose=marketing,
        wordings={"en": ("Marketing e-mail", "Send me offers by e-mail, at most twice a month.")},
    )
    # axe is a script of the test's, which the site's CSP forbids: this context bypasses CSP.
    visit = new_visit(bypass_csp=True, viewport={"width": width, "height": 900})
    visit.context.add_init_script(path=str(AXE_SCRIPT))
    page = visit.page
    findings = AxeFindings()

    def check(name: str) -> None:
        findings.check(page, name)
        screenshot(page, f"{name}-{width}")
        scroll_width, viewport_width = document_and_viewport_width(page)
        assert scroll_width <= viewport_width, f"{name} scrolls sideways at {width} px"

    page.goto("/en/consent/")
    check("request-form")
    # An address the browser lets through (no dot in its domain) and the site refuses.
    page.get_by_label("Your e-mail address").fill("kari@example")
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_text("Enter a valid email address.")).to_be_visible()
    check("request-form-refused")
    page.get_by_label("Your e-mail address").fill(PERSON)
    page.get_by_role("button", name="Send me a link").click()
    check("link-sent")
    link = mailed_link(PERSON)
    page.goto(link)
    check("link")
    page.get_by_role("button", name="Open my consents").click()
    expect(page.get_by_text("The wording has changed.")).to_be_visible()
    check("mine")
    page.get_by_role("link", name=re.compile(r"^Receipt for Marketing e-mail")).click()
    check("receipt")
    page.goto(link)
    expect(page.get_by_role("heading", name="This link has already been used")).to_be_visible()
    check("link-spent")
    assert not findings.seen, findings.report()
