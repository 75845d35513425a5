"""Retention in the admin, in Chromium (issue 11, point 14): an admin logged in with a password and
a TOTP code shortens a rule's period, sees in the dry run the records the change made due, runs
the purge from the button, finds the run in the run log; the expired rows are gone from the
database and the kept ones stay. Each new page is photographed to /tmp/shots/."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from registers.models import Lead, VisitorRegistration
from retention.defaults import ensure_default_rules
from retention.models import RetentionRule, RetentionRun, RunStatus, Trigger
from tests.browser.test_accessibility import submit
from tests.browser.test_staff_pages import PASSWORD, current_code, totp_device
from tests.factories import StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOGIN = "/en/staff/account/login/"
RULES = "/admin/retention/retentionrule/"
SHOTS = Path("/tmp/shots")


@pytest.fixture(autouse=True)
def two_factors_required(settings):
    settings.TRUSTCENTER_REQUIRE_2FA = True
    settings.TRUSTCENTER_RETENTION_PAUSE_SECONDS = 0


def screenshot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    page.screenshot(path=str(SHOTS / f"retention-{slug}.png"), full_page=True)


def log_in_to_the_admin(page, username: str, device) -> None:
    assert page.goto(f"{LOGIN}?next={RULES}").status == 200
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    assert submit(page, page.get_by_role("button", name="Next")) == 200
    page.locator("#id_token-otp_token").fill(current_code(device))
    assert submit(page, page.get_by_role("button", name="Next")) == 200
    expect(page).to_have_url(re.compile(re.escape(RULES) + "$"))


def dry_run_cells(page, category: str) -> dict[str, str]:
    row = page.locator("#dry-run tbody tr").filter(
        has=page.locator("th", has_text=re.compile(f"^{category}$"))
    )
    expect(row).to_have_count(1)
    return {
        "due": row.locator("td.due").inner_text(),
        "held": row.locator("td.held").inner_text(),
        "would go": row.locator("td.would-go").inner_text(),
    }


def leads(days_ago: int, count: int, name: str) -> list[int]:
    return [
        Lead.objects.create(
            full_name=f"{name} {number}",
            email=f"{name.lower().replace(' ', '.')}.{number}@example.net",
            created_at=timezone.now() - timedelta(days=days_ago),
        ).pk
        for number in range(count)
    ]


def test_an_admin_shortens_a_rule_looks_at_the_dry_run_and_runs_the_purge(new_visit):
    ensure_default_rules()
    admin = StaffFactory(is_superuser=True, username="rita-retention")
    device = totp_device(admin)
    already_due = leads(500, 2, "Old Prospect")  # past the default year
    made_due = leads(250, 3, "Halfyear Prospect")  # within a year, past six months
    kept = leads(20, 2, "Fresh Prospect")
    kept_visitor = VisitorRegistration.objects.create(full_name="Vera Visitor", email="vera@example.net").pk

    visit = new_visit()
    page = visit.page
    log_in_to_the_admin(page, admin.username, device)
    screenshot(page, "rules")

    # Before the change, the dry run would take the two leads past a year.
    page.get_by_role("link", name="Dry run").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dry run")
    assert dry_run_cells(page, "leads") == {"due": "2", "held": "0", "would go": "2"}

    # The admin shortens the leads rule from 1 year to 6 months in its change form.
    page.goto(RULES)
    page.locator("#result_list").get_by_role("link", name="leads", exact=True).click()
    expect(page.locator("#id_period_amount")).to_have_value("1")
    page.locator("#id_period_amount").fill("6")
    page.locator("#id_period_unit").select_option("months")
    screenshot(page, "rule change form")
    assert submit(page, page.locator("input[name=_save]")) == 200
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    rule = RetentionRule.objects.get(category="leads")
    assert (rule.period_amount, rule.period_unit) == (6, "months")

    # The dry run now counts the three the change made due; no name or address is shown.
    page.get_by_role("link", name="Dry run").first.click()
    assert dry_run_cells(page, "leads") == {"due": "5", "held": "0", "would go": "5"}
    content = page.content()
    assert "Prospect" not in content and "example.net" not in content
    screenshot(page, "dry run")

    page.get_by_role("link", name="Overview").first.click()
    leads_row = page.locator("#category-leads")
    expect(leads_row.locator("td.records")).to_have_text("7")
    expect(leads_row.locator("td.next-run")).to_have_text("5")
    screenshot(page, "overview")

    # The admin runs the purge and finds it in the run log.
    page.get_by_role("link", name="Dry run").first.click()
    assert submit(page, page.get_by_role("button", name="Run the purge now")) == 200
    expect(page).to_have_url(re.compile(r"/admin/retention/retentionrun/$"))
    expect(page.locator(".messagelist")).to_contain_text("The purge was started.")
    first_run = page.locator("#result_list tbody tr").first
    expect(first_run.locator("td.field-trigger")).to_have_text("Manual")
    expect(first_run.locator("td.field-status")).to_have_text("Finished")
    expect(first_run.locator("td.field-deleted")).to_have_text("5")
    screenshot(page, "run log")
    first_run.locator("th a").click()
    expect(page.locator("body")).to_contain_text("registers.Lead")
    screenshot(page, "run")

    run = RetentionRun.objects.get()
    assert (run.trigger, run.status, run.requested_by_id) == (Trigger.MANUAL, RunStatus.FINISHED, admin.pk)
    assert not Lead.objects.filter(pk__in=already_due + made_due).exists()
    assert set(Lead.objects.values_list("pk", flat=True)) == set(kept)
    assert VisitorRegistration.objects.filter(pk=kept_visitor).exists()

    # After the run, the dry run has nothing left to take among the leads.
    page.goto(f"{RULES}dry-run/")
    assert dry_run_cells(page, "leads") == {"due": "0", "held": "0", "would go": "0"}


def test_the_record_of_processing_activities_and_the_proof_of_deletion(new_visit):
    ensure_default_rules()
    admin = StaffFactory(is_superuser=True, username="rolf-ropa")
    device = totp_device(admin)
    page = new_visit().page
    log_in_to_the_admin(page, admin.username, device)

    page.get_by_role("link", name="Record of processing activities").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Record of processing activities")
    expect(page.locator("#activity-registersaccountingrecord")).to_contain_text("Sweden: 7 years")
    screenshot(page, "record of processing activities")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as CSV").click()
    assert download.value.suggested_filename.startswith("record-of-processing-activities-")

    page.get_by_role("link", name="Proof of deletion").first.click()
    screenshot(page, "proof of deletion")
    page.locator("#id_first_day").fill("2026-03-31")
    page.locator("#id_last_day").fill("2026-03-01")
    assert submit(page, page.get_by_role("button", name="Download the proof of deletion")) == 200
    expect(page.locator("#period-errors")).to_contain_text("The period ends before it starts")
    expect(page.locator("#id_first_day")).to_have_value("2026-03-31")
    screenshot(page, "proof of deletion refused")
    page.locator("#id_last_day").fill("2026-04-30")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the proof of deletion").click()
    assert download.value.suggested_filename == "proof-of-deletion-2026-03-31-2026-04-30.csv"
