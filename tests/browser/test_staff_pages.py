"""The staff workspace in Chromium (issue 9, points 3 and 15): a staff member's day, logged in with
a password and a TOTP code through the real login form; WCAG 2.1 AA (axe-core) on every staff page
and the two-factor account pages; the case page from the keyboard; the queue and a reply without
JavaScript; and a whistleblowing case that a member of the privacy team can never reach."""

import base64
import re
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from cases import services
from cases.models import Case, CaseMessage, CaseType
from tests.browser.conftest import AXE_SCRIPT, AxeFindings
from tests.browser.test_accessibility import (
    FOCUS_SHOWN,
    FOCUSED,
    KEYBOARD_VISIT,
    assert_focus_is_visible,
    axe_ready_page,
    press_and_land,
    submit,
    tab_to,
)
from tests.factories import CaseHandlerFactory, StaffFactory, submit_subject_request
from tests.factories import submit as submit_case

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery-staple"  # the factories' password
LOGIN = "/en/staff/account/login/"
QUEUE = "/en/staff/"
QUEUE_URL = re.compile(r"/en/staff/$")
NO_JAVASCRIPT = {"java_script_enabled": False}
SHOTS = Path("/tmp/staff_shots")
# What has the keyboard's focus: its id, else its name, else a button's or a link's text.


@pytest.fixture(autouse=True)
def two_factors_required(settings):
    settings.TRUSTCENTER_REQUIRE_2FA = True


# --- helpers -----------------------------------------------------------------------------------


def totp_device(user) -> TOTPDevice:
    # "default" is the name two_factor looks for when it asks for a code.
    return TOTPDevice.objects.create(user=user, name="default", confirmed=True)


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):0{device.digits}d}"


def log_in(page, username: str, device: TOTPDevice, *, then=None) -> None:
    """Logs in through the two-factor login: the password, then the code. `then`, if given, is
    called at each of the two steps (before the form is filled), with the step's name."""
    assert page.goto(f"{LOGIN}?next={QUEUE}").status == 200
    if then:
        then("login, password step")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    assert submit(page, page.get_by_role("button", name="Next")) == 200
    expect(page.locator("#id_token-otp_token")).to_be_visible()
    if then:
        then("login, code step")
    page.locator("#id_token-otp_token").fill(current_code(device))
    assert submit(page, page.get_by_role("button", name="Next")) == 200
    expect(page).to_have_url(QUEUE_URL)
    expect(page.get_by_role("heading", name="Queue", level=1)).to_be_visible()


def queue_references(page) -> list[str]:
    return page.locator("main table tbody th[scope=row] a").all_inner_texts()


def received(ago: timedelta, **answers) -> Case:
    """A case sent `ago` (through the real service, at that moment)."""
    with time_machine.travel(timezone.now() - ago, tick=False):
        case, _code = submit_case(**answers)
    return case


def screenshot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    page.screenshot(path=str(SHOTS / f"{slug}.png"), full_page=True)


# --- a staff member's day (point 15) --------------------------------------------------------------

REPLY = "We have stopped the mailing and are contacting the recipients. We will write again on Friday."


def test_a_privacy_handler_s_day_and_a_whistleblowing_case_out_of_reach(new_visit):
    handler = CaseHandlerFactory(username="pia", teams=["privacy"], first_name="Pia", last_name="Privacy")
    device = totp_device(handler)
    # Three cases of the privacy team with clocks due at different times (the nearest is neither
    # the oldest nor the newest), and a whistleblowing report whose clock has run out: were it
    # visible, it would be the first row.
    inquiry = received(timedelta(days=20), message="How long do you keep CVs?")  # due in 10 days
    with time_machine.travel(timezone.now() - timedelta(days=2), tick=False):
        deviation, receipt_code = submit_case(
            case_type=CaseType.PRIVACY_DEVIATION, message="A newsletter went out with every address in To."
        )  # 72 hours: due in 1 day
    complaint = received(timedelta(days=5), case_type=CaseType.COMPLAINT)  # due in 25 days
    whistleblowing = received(
        timedelta(days=20), case_type=CaseType.WHISTLEBLOWING, message="The CFO fakes invoices."
    )  # 7 days (moved past holidays at most by a few): breached
    cases = [inquiry, deviation, complaint, whistleblowing]
    for case in cases:
        case.refresh_from_db()
    assert whistleblowing.next_due_at < deviation.next_due_at < inquiry.next_due_at < complaint.next_due_at

    staff = new_visit()
    page = staff.page
    log_in(page, "pia", device)
    assert queue_references(page) == [deviation.reference, inquiry.reference, complaint.reference]
    expect(page.locator("main")).not_to_contain_text(whistleblowing.reference)

    # The first row is the case with the nearest deadline: open it and reply.
    first_row = page.locator("main table tbody tr").first
    expect(first_row).to_contain_text("Personal-data breach or privacy deviation")
    first_row.get_by_role("link", name=deviation.reference).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(deviation.reference)
    page.get_by_role("textbox", name="Reply to the reporter").fill(REPLY)
    page.get_by_role("button", name="Send the reply").click()
    expect(page.get_by_role("status").filter(has_text="Your reply was sent.")).to_be_visible()
    expect(page.get_by_role("region", name="Conversation")).to_contain_text(REPLY)
    assert CaseMessage.objects.filter(case=deviation, body=REPLY, staff_user=handler).count() == 1

    # The reporter, in a browser of their own that knows nothing but the receipt code.
    reporter = new_visit().page
    reporter.goto("/en/follow-up/")
    reporter.get_by_label("Your receipt code").fill(receipt_code)
    reporter.get_by_role("button", name="Open my case").click()
    expect(reporter).to_have_url(re.compile(r"/en/follow-up/case/$"))
    expect(reporter.get_by_role("heading", level=1)).to_contain_text(deviation.reference)
    their_reply = reporter.locator("#case-messages > li").filter(has_text=REPLY)
    expect(their_reply).to_have_count(1)
    expect(their_reply).to_contain_text("From us")

    # The whistleblowing report: not in the queue, not found by its reference, not at its URL.
    page.goto(f"{QUEUE}?q={whistleblowing.reference}&status=all")
    expect(page.get_by_text("No case matches.")).to_be_visible()
    for path in ["", "reply/"]:
        response = page.goto(f"/en/staff/cases/{whistleblowing.pk}/{path}")
        assert response.status in (403, 404), (path, response.status)
        assert whistleblowing.reference not in page.content()
        assert "fakes invoices" not in page.content()
    assert not staff.csp_violations()


# --- WCAG 2.1 AA on every staff page (point 3) --------------------------------------------------


def a_page_of_the_workspace(page, findings: AxeFindings, name: str) -> None:
    """axe-core on the page as it is now, and a screenshot of it."""
    expect(page.locator("html")).to_have_attribute("lang", "en")
    findings.check(page, name)
    screenshot(page, name)


def test_every_staff_page_has_no_wcag_21_aa_violations(new_visit, settings):
    handler = CaseHandlerFactory(username="ada", first_name="Ada", last_name="Handler")  # every team
    colleague = CaseHandlerFactory(username="ole", teams=["privacy"], first_name="Ole", last_name="Colleague")
    device = totp_device(handler)
    request, _code = submit_subject_request(message="Please send me a copy of my data.")
    Case.objects.filter(pk=request.pk).update(email_confirmed_at=timezone.now())
    deviation = received(
        timedelta(hours=60),
        case_type=CaseType.PRIVACY_DEVIATION,
        message="Payslips sent to the wrong people.",
    )
    received(timedelta(hours=60), case_type=CaseType.PRIVACY_DEVIATION)  # its 72-hour clock at risk
    whistleblowing = received(timedelta(days=20), case_type=CaseType.WHISTLEBLOWING)  # acknowledgement late
    for number in range(26):  # a second page of 25
        submit_case(message=f"Question number {number} about cookies")
    services.assign_case(case=deviation, actor=handler, assignee=colleague)
    services.add_internal_note(case=deviation, actor=handler, body="Asked payroll for the list.")
    services.reply_to_reporter(case=deviation, actor=handler, body="Thank you, we are on it.")
    services.update_breach_facts(
        case=deviation,
        actor=handler,
        nature="Payslips for March were e-mailed to the wrong employees.",
        data_categories="Names, salaries, bank accounts",
        subjects_affected=14,
        effects="Colleagues learnt each other's salaries.",
        remedial_action="The recipients were asked to delete the e-mails.",
    )
    services.record_breach_notification(
        case=deviation,
        actor=handler,
        authority="NO",
        notified_at=timezone.now() - timedelta(hours=1),
        authority_reference="24/01234",
        summary="First notification.",
    )

    page = axe_ready_page(new_visit)
    findings = AxeFindings()

    def check(name: str) -> None:
        a_page_of_the_workspace(page, findings, name)

    log_in(page, "ada", device, then=check)
    check("queue")
    page.get_by_label("Type").select_option("privacy_deviation")
    assert submit(page, page.get_by_role("button", name="Show")) == 200
    assert deviation.reference in queue_references(page)
    check("queue, filtered by type")
    page.get_by_label("Search").fill("nothing-like-this")
    assert submit(page, page.get_by_role("button", name="Show")) == 200
    expect(page.get_by_text("No case matches.")).to_be_visible()
    check("queue, a search with no results")
    assert page.goto(f"{QUEUE}?per_page=25&page=2").status == 200
    expect(page.get_by_text(re.compile(r"Page 2 of 2"))).to_be_visible()
    check("queue, page 2")

    assert page.goto(f"/en/staff/cases/{request.pk}/").status == 200
    expect(page.get_by_role("heading", name=re.compile("Extend the deadline"))).to_be_visible()
    check("case page, a data-subject request that may be extended")

    assert page.goto(f"/en/staff/cases/{whistleblowing.pk}/").status == 200
    check("case page, a whistleblowing report")

    assert page.goto(f"/en/staff/cases/{deviation.pk}/").status == 200
    expect(page.get_by_role("region", name="Personal-data breach")).to_be_visible()
    check("case page, a privacy deviation with its breach panel")

    # An empty reply, sent past the browser's own check: the page comes back with the error.
    reply_form = page.locator("form:has(#id_reply-body)")
    reply_form.evaluate("form => { form.noValidate = true; }")
    assert submit(page, reply_form.get_by_role("button", name="Send the reply")) == 400
    expect(page.locator("#id_reply-body")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert").filter(has_text="Nothing was saved")).to_be_visible()
    check("case page, an empty reply refused")

    # Not notifying without the reasons: the breach form page, with its error.
    decision = page.get_by_role("form", name="Notify the authority, or record why not")
    decision.get_by_label("Do not notify").check()
    assert submit(page, decision.get_by_role("button", name="Record the decision")) == 400
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    check("breach form page, the decision with its error")

    assert page.goto("/en/staff/breaches/").status == 200
    expect(page.locator("main table")).to_contain_text(deviation.reference)
    check("breach register")
    assert page.goto("/en/staff/breaches/?decision=pending&year=1999").status == 200
    check("breach register, a filter with an error")

    assert page.goto("/en/staff/account/two_factor/").status == 200
    check("account security")
    assert page.goto("/en/staff/account/two_factor/backup/tokens/").status == 200
    check("backup codes, none yet")
    assert submit(page, page.get_by_role("button", name="Generate Tokens")) == 200
    expect(page.locator("main li")).to_have_count(10)
    check("backup codes, generated")

    # Another browser: someone guessing a password, until the account is locked.
    newcomer = new_visit(bypass_csp=True)
    newcomer.context.add_init_script(path=str(AXE_SCRIPT))
    page = newcomer.page
    settings.AXES_FAILURE_LIMIT = 2
    page.goto(f"{LOGIN}?next={QUEUE}")
    for attempt, status in [("login, a wrong password", 200), ("login, locked after failures", 429)]:
        page.get_by_label("Username").fill("ada")
        page.get_by_label("Password").fill("not-the-password")
        assert submit(page, page.get_by_role("button", name="Next")) == status
        check(attempt)
    expect(page.get_by_role("heading", level=1)).to_have_text("Too many failed logins")

    # A staff member without rights and without a device: sent to set one up, then refused a case.
    StaffFactory(username="newcomer")
    page.goto(f"{LOGIN}?next={QUEUE}")
    page.get_by_label("Username").fill("newcomer")
    page.get_by_label("Password").fill(PASSWORD)
    assert submit(page, page.get_by_role("button", name="Next")) == 200
    expect(page).to_have_url(re.compile(r"/en/staff/account/two_factor/setup/"))
    check("two-factor setup, welcome")
    # The token generator is the only method offered, so the wizard skips the choice of method.
    assert submit(page, page.get_by_role("button", name="Next")) == 200
    expect(page.locator("img[src$='/qrcode/']")).to_be_visible()
    check("two-factor setup, the QR code")
    secret = page.locator("a[href^='otpauth:']").inner_text().strip()
    page.locator("#id_generator-token").fill(f"{totp(base32_key(secret)):06d}")
    assert submit(page, page.get_by_role("button", name="Next")) == 200
    expect(page).to_have_url(QUEUE_URL)
    check("queue, of a staff member without rights")
    assert page.goto(f"/en/staff/cases/{deviation.pk}/").status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Access denied")
    check("403 page, a case out of reach")

    assert not findings.seen, findings.report()
    assert len(findings.pages_checked) == 22, findings.pages_checked


def base32_key(secret: str) -> bytes:
    text = secret.replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


# --- the keyboard (point 3) ----------------------------------------------------------------------


def stops_without_visible_focus(page, *, presses: int = 150) -> tuple[list[str], list[str]]:
    """Tabs through the whole page from its top: (every stop, the stops that did not show focus)."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    reached: list[str] = []
    unseen: list[str] = []
    for _press in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement === document.body"):
            break
        stop = page.evaluate(FOCUSED)
        if reached and stop == reached[0]:
            break
        reached.append(stop)
        if not page.evaluate(FOCUS_SHOWN):
            unseen.append(stop)
    return reached, unseen


def test_a_case_is_opened_and_answered_from_the_keyboard(new_visit):
    handler = CaseHandlerFactory(username="kim", teams=["privacy"])
    device = totp_device(handler)
    case, _code = submit_case(message="Do you sell my data?")
    page = new_visit(**KEYBOARD_VISIT).page

    page.goto(f"{LOGIN}?next={QUEUE}")
    tab_to(page, "id_auth-username", presses=60)
    assert_focus_is_visible(page)
    page.keyboard.type("kim")
    tab_to(page, "id_auth-password", presses=1)
    page.keyboard.type(PASSWORD)
    assert press_and_land(page, "Enter") == 200
    tab_to(page, "id_token-otp_token", presses=60)
    assert_focus_is_visible(page)
    page.keyboard.type(current_code(device))
    assert press_and_land(page, "Enter") == 200
    expect(page).to_have_url(QUEUE_URL)

    # Every control of the queue shows the focus when Tab reaches it, from the skip link on.
    reached, unseen = stops_without_visible_focus(page)
    assert reached[0] == "link:Skip to content", reached
    assert {"id_q", "id_case_type", "submit:Show", f"link:{case.reference}"} <= set(reached), reached
    assert unseen == [], unseen

    tab_to(page, f"link:{case.reference}", presses=60)
    assert_focus_is_visible(page)
    assert press_and_land(page, "Enter") == 200
    expect(page.get_by_role("heading", level=1)).to_contain_text(case.reference)

    # Every control of the case page shows the focus when Tab reaches it.
    reached, unseen = stops_without_visible_focus(page)
    assert {"id_reply-body", "id_reply-attachments", "submit:Send the reply"} <= set(reached), reached
    assert unseen == [], unseen

    reply = "No, we never sell personal data."
    tab_to(page, "id_reply-body", presses=60)
    assert_focus_is_visible(page)
    page.keyboard.type(reply)
    reached = tab_to(page, "submit:Send the reply", presses=6)
    assert "id_reply-attachments" in reached, reached
    assert_focus_is_visible(page)
    assert press_and_land(page, "Enter") == 200
    expect(page.get_by_role("status").filter(has_text="Your reply was sent.")).to_be_visible()
    assert CaseMessage.objects.filter(case=case, body=reply, staff_user=handler).count() == 1


# --- without JavaScript (point 3) -----------------------------------------------------------------


def test_the_queue_s_filters_and_a_reply_work_without_javascript(new_visit):
    handler = CaseHandlerFactory(username="nils", teams=["privacy"])
    device = totp_device(handler)
    inquiry, _code = submit_case(message="How long do you keep job applications?")
    complaint, _code = submit_case(case_type=CaseType.COMPLAINT, message="You kept my CV for years.")
    page = new_visit(**NO_JAVASCRIPT).page
    log_in(page, "nils", device)
    assert sorted(queue_references(page)) == sorted([inquiry.reference, complaint.reference])

    page.get_by_label("Type").select_option("complaint")
    assert submit(page, page.get_by_role("button", name="Show")) == 200
    assert "case_type=complaint" in page.url
    assert queue_references(page) == [complaint.reference]
    page.get_by_label("Search").fill("applications")
    page.get_by_label("Type").select_option("")
    assert submit(page, page.get_by_role("button", name="Show")) == 200
    assert queue_references(page) == [inquiry.reference]
    page.get_by_role("link", name="Clear").click()
    expect(page).to_have_url(QUEUE_URL)
    assert len(queue_references(page)) == 2

    page.get_by_role("link", name=complaint.reference).click()
    reply = "We have deleted your CV and are checking why it was kept."
    page.get_by_role("textbox", name="Reply to the reporter").fill(reply)
    assert submit(page, page.get_by_role("button", name="Send the reply")) == 200
    expect(page.get_by_role("status").filter(has_text="Your reply was sent.")).to_be_visible()
    expect(page.get_by_role("region", name="Conversation")).to_contain_text(reply)
    assert CaseMessage.objects.filter(case=complaint, body=reply, staff_user=handler).count() == 1
