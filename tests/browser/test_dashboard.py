"""The staff dashboard in Chromium (issue 10, points 2 and 9): a chart is drawn (its canvas has
pixels), its table holds the expected numbers, the page has no WCAG 2.1 AA violation (axe-core)
and no Content-Security-Policy violation, and prints as a summary without navigation or forms."""

import pytest
from playwright.sync_api import expect

from cases import services
from cases.models import CaseType
from tests.browser.conftest import AxeFindings
from tests.browser.test_accessibility import axe_ready_page
from tests.browser.test_staff_pages import log_in, screenshot, totp_device
from tests.factories import CaseHandlerFactory, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DASHBOARD = "/en/staff/dashboard/"
# How many pixels of a canvas are not transparent: a drawn chart has thousands.
PAINTED_PIXELS = """(id) => {
  const canvas = document.getElementById(id);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let index = 3; index < pixels.length; index += 4) { if (pixels[index] > 0) painted += 1; }
  return painted;
}"""


@pytest.fixture(autouse=True)
def two_factors_required(settings):
    settings.TRUSTCENTER_REQUIRE_2FA = True


def table_rows(page, key: str) -> dict[str, list[str]]:
    rows = {}
    for row in page.locator(f"#table-{key} tbody tr").all():
        rows[row.locator("th").inner_text().strip()] = [
            cell.strip() for cell in row.locator("td").all_inner_texts()
        ]
    return rows


def test_the_dashboard_draws_its_charts_beside_tables_of_the_same_numbers(new_visit):
    handler = CaseHandlerFactory(username="pia", teams=["privacy"], first_name="Pia", last_name="Privacy")
    device = totp_device(handler)
    first, _code = submit()
    submit()
    submit(case_type=CaseType.PRIVACY_DEVIATION)
    submit(case_type=CaseType.WHISTLEBLOWING)  # not the privacy team's: never counted for Pia
    services.change_status(case=first, actor=handler, status="closed", outcome="answered")

    staff = new_visit()
    page = staff.page
    log_in(page, "pia", device)
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Dashboard")).to_have_attribute("aria-current", "page")

    assert page.evaluate(PAINTED_PIXELS, "chart-cases") > 1000
    assert page.locator("#chart-cases").get_attribute("role") == "img"
    assert "table beside it" in page.locator("#chart-cases").get_attribute("aria-label")
    received = table_rows(page, "cases")
    assert received["General question"] == ["2", "1"]
    assert received["Personal-data breach or privacy deviation"] == ["1", "0"]
    assert "Whistleblowing: censurable conditions" not in page.content()
    answers = table_rows(page, "answer-times")
    assert answers["General question"][0] == "1"
    screenshot(page, "dashboard")

    page.emulate_media(media="print")
    expect(page.locator("form.dashboard-filters")).to_be_hidden()
    expect(page.locator("header")).to_be_hidden()
    expect(page.locator("#chart-cases")).to_be_hidden()
    expect(page.locator("#table-cases")).to_be_visible()
    screenshot(page, "dashboard, printed")
    page.emulate_media(media="screen")

    page.locator("#id_period").select_option("custom")
    page.locator("#id_date_from").fill("2020-01-01")
    page.locator("#id_date_to").fill("2020-01-31")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#table-cases")).to_be_visible()
    assert table_rows(page, "cases")["General question"] == ["0", "0"]
    assert page.evaluate(PAINTED_PIXELS, "chart-cases") > 100  # axes and legend, no bars
    assert not staff.csp_violations(), staff.csp_violations()
    assert not staff.console_errors, staff.console_errors
    assert staff.foreign_requests(page.url) == []


def test_the_dashboard_has_no_wcag_21_aa_violations(new_visit):
    handler = CaseHandlerFactory(username="ada", first_name="Ada", last_name="Handler")  # every team
    device = totp_device(handler)
    submit()
    submit(case_type=CaseType.WHISTLEBLOWING)
    page = axe_ready_page(new_visit)
    log_in(page, "ada", device)
    findings = AxeFindings()
    assert page.goto(DASHBOARD).status == 200
    expect(page.locator("#chart-cases")).to_be_visible()
    findings.check(page, "dashboard")
    assert page.goto(f"{DASHBOARD}?period=custom&date_from=2026-03-31").status == 400
    findings.check(page, "dashboard, a bad range")
    assert not findings.seen, findings.report()
