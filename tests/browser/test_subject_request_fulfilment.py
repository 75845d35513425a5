"""A data-subject request fulfilled in Chromium (issue 13, point 10): a privacy handler collects
what is held on the requester, builds the access export, reviews it and withholds an item, sends
it; the requester opens the link from the e-mail, a second visit (a mail scanner) spends nothing,
and the download with the receipt code gives the zip. axe-core checks each page on the way."""

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import expect

from cases.models import ExportStatus
from registers.models import AccountingRecord, Lead
from tests.browser.conftest import run_axe
from tests.browser.test_accessibility import submit
from tests.browser.test_staff_pages import log_in, totp_device
from tests.factories import CaseHandlerFactory, confirmed_subject_request
from tests.registers.factories import AccountingRecordFactory, LeadFactory, RecruitmentEntryFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/dsr_shots")
KARI = "kari@example.com"
LINK = re.compile(r"https?://\S+?(/\w\w/my-data/\?t=[\w-]+)")


def shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def no_violations(page, where: str) -> None:
    violations = run_axe(page)
    assert not violations, f"{where}: " + "; ".join(f"{v['id']}: {v['help']}" for v in violations)


def test_a_handler_collects_exports_sends_and_erases_and_the_requester_downloads(new_visit, live_server):
    case, code = confirmed_subject_request(language="en")
    kept = LeadFactory(email=KARI, company="Fjord Fisk AS")
    withheld = LeadFactory(email=KARI, company="Complaint about a colleague AS")
    RecruitmentEntryFactory(email=KARI, skills="Python, GDPR")
    AccountingRecordFactory(email=KARI, voucher_number="2024-KARI")
    handler = CaseHandlerFactory(teams=["privacy"], first_name="Pia", last_name="Privacy")

    staff = new_visit(bypass_csp=True)  # axe-core is the test's script, which the site's CSP forbids
    page = staff.page
    log_in(page, handler.username, totp_device(handler))
    assert page.goto(f"/en/staff/cases/{case.pk}/").status == 200
    panel = page.get_by_role("region", name="What is held on the requester")
    expect(panel).to_contain_text("Nothing has been collected yet.")

    assert submit(page, panel.get_by_role("button", name="Collect what is held")) == 200
    expect(page.get_by_text("What is held on the requester was collected.")).to_be_visible()
    expect(panel.get_by_role("row", name=re.compile(r"^Leads 2$"))).to_be_visible()
    no_violations(page, "case page with a collection")
    shot(page, "case-collected")

    assert submit(page, panel.get_by_role("button", name="Build the access export")) == 200
    page.reload()  # the worker (in-process here) has built it meanwhile
    expect(panel).to_contain_text("Ready for review")
    with page.expect_navigation():
        panel.get_by_role("link", name="Review it and send it").click()
    expect(page.get_by_role("heading", name="Review the access export")).to_be_visible()
    expect(page.get_by_text("Complaint about a colleague AS")).to_be_visible()
    no_violations(page, "export review")
    shot(page, "export-review")

    row = page.get_by_role("row").filter(has_text="Complaint about a colleague AS")
    row.get_by_role("textbox").fill("It names a colleague's complaint.")
    assert submit(page, row.get_by_role("button", name="Withhold")) == 200
    page.goto(page.url)  # the case page; the export is built again without the item
    assert page.goto(f"/en/staff/cases/{case.pk}/exports/{case.access_exports.get().pk}/").status == 200
    expect(page.get_by_text("Fjord Fisk AS")).to_be_visible()
    expect(page.get_by_text("Complaint about a colleague AS")).to_have_count(0)
    assert submit(page, page.get_by_role("button", name="Send it to the requester")) == 200
    expect(page.get_by_text("The requester is sent a link")).to_be_visible()

    [sent] = [message for message in mail.outbox if message.subject == "Your copy of your data is ready"]
    path = LINK.search(sent.body).group(1)

    scanner = new_visit()
    assert scanner.page.goto(path).status == 200  # a mail scanner opens the link: nothing is spent

    requester = new_visit(bypass_csp=True)
    download_page = requester.page
    assert download_page.goto(path).status == 200
    no_violations(download_page, "download page")
    shot(download_page, "download-page")
    assert not requester.foreign_requests(live_server.url)
    download_page.get_by_label("Your receipt code").fill("1234 5678 9012 3456 7890")
    assert submit(download_page, download_page.get_by_role("button", name="Download")) == 400
    expect(download_page.get_by_text("This is not the receipt code of the request.")).to_be_visible()

    download_page.get_by_label("Your receipt code").fill(code)
    with download_page.expect_download() as downloading:
        download_page.get_by_role("button", name="Download").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(downloading.value.path()).read_bytes()))
    data = json.loads(archive.read("data.json"))
    leads = next(
        register["records"] for register in data["registers"] if register["register"] == "registers.Lead"
    )
    assert [record["id"] for record in leads] == [str(kept.pk)]
    assert data["withheld"] == [{"register": "registers.Lead", "reason": "It names a colleague's complaint."}]
    assert withheld.company.encode() not in archive.read("summary.html")

    export = case.access_exports.get()
    assert export.status == ExportStatus.DOWNLOADED and not export.file
    assert download_page.goto(path).status == 410
    shot(download_page, "download-gone")

    # Then the requester's data is erased: the accounting record is kept, and the page says why.
    assert page.goto(f"/en/staff/cases/{case.pk}/").status == 200
    panel.get_by_label(re.compile("The requester asked for erasure")).check()
    assert submit(page, panel.get_by_role("button", name="Erase the requester's data")) == 200
    expect(page.get_by_text("The requester's data was erased")).to_be_visible()
    kept = panel.get_by_role("row", name=re.compile("^Accounting records 0 1 Bookkeeping law"))
    expect(kept).to_be_visible()
    expect(panel.get_by_role("row", name=re.compile(r"^Leads 2 0"))).to_be_visible()
    no_violations(page, "case page after the erasure")
    shot(page, "case-erased")
    assert not Lead.objects.filter(email=KARI).exists()
    assert AccountingRecord.objects.filter(email=KARI).exists()
