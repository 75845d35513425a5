"""WCAG 2.1 AA (axe-core), same-host loading, CSP and keyboard use of every public page."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings as django_settings
from django.conf.urls.i18n import i18n_patterns
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.urls import path
from django.utils import translation
from playwright.sync_api import expect

from cases import services
from cases.models import CaseMessage, CaseType, SubjectRight
from tests import factories
from tests.browser.conftest import AXE_SCRIPT, AxeFindings
from tests.factories import reply_as_staff
from trustcenter import ratelimit
from trustcenter import urls as project_urls

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STAFF_REPLY = "We have received your request and will answer within a month."
# Collects CSP violations the page reports, as a second witness beside the console.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def _fail(request):
    raise RuntimeError("a deliberate failure, to show the 500 page")


def _deny(request):
    raise PermissionDenied


# This module is also the URLconf of these tests (see `error_routes`): the project's own, with
# its own error handlers, plus two test-only pages that fail, because no public page of the
# project fails on purpose or refuses access.
urlpatterns = project_urls.urlpatterns + i18n_patterns(
    path("test-only/server-error/", _fail), path("test-only/access-denied/", _deny)
)
handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500


@pytest.fixture
def error_routes(settings):
    settings.ROOT_URLCONF = __name__


def axe_ready_page(new_visit):
    """A page of a new visit on which axe-core is loaded with every document, before its own
    scripts, rather than injected into each page checked: half the cost of a check."""
    # axe is a script of the test's, which this site's CSP forbids: this context bypasses CSP.
    visit = new_visit(bypass_csp=True)
    visit.context.add_init_script(path=str(AXE_SCRIPT))
    return visit.page


def submit(page, button) -> int:
    """Clicks a submit button and returns the HTTP status of the page the browser lands on."""
    with page.expect_navigation() as navigation:
        button.click()
    return navigation.value.status


def translated(language: str, text: str) -> str:
    with translation.override(language):
        return translation.gettext(text)


def footer_pages(page, prefix: str, case):
    """The proof check (empty, an invalid proof, a valid one of the case), the privacy notice and
    the supervisory authorities' pages, yielding a name at each stop."""
    assert page.goto(f"{prefix}/proof/").status == 200
    yield "proof check"
    page.locator("#id_proof").fill("not-a-proof")
    assert submit(page, page.locator("main form button[type=submit]")) == 200
    expect(page.locator("main .alert-danger")).to_be_visible()
    yield "proof check, invalid proof"
    page.locator("#id_proof").fill(services.proof_of_submission(case=case))
    assert submit(page, page.locator("main form button[type=submit]")) == 200
    expect(page.locator("main .alert-success")).to_contain_text(case.reference)
    yield "proof check, valid proof"

    assert page.goto(f"{prefix}/privacy/").status == 200
    yield "privacy notice"
    for country in ["norway", "sweden", "denmark"]:
        assert page.goto(f"{prefix}/authorities/{country}/").status == 200
        yield f"authority page, {country}"


def public_pages(page, language: str, *, everything: bool = True):
    """Walks the public pages and their states in one language, yielding a name at each stop.

    With everything=False, the pages whose text differs most between languages: home, the form
    (empty, a type picked, with errors), the receipt (also unconfirmed), follow-up (with a wrong
    code), the case page (with a reply, a wrong e-mail confirmation code) and the error pages.
    Elements are found by id and role, not by text, so the same walk runs in every language; each
    stop first checks that the browser really is where the name says. Needs `error_routes`.
    """
    prefix = f"/{language}"
    main_heading = page.get_by_role("heading", level=1)

    assert page.goto(f"{prefix}/").status == 200
    expect(page.locator("html")).to_have_attribute("lang", language)
    yield "home"

    assert page.goto(f"{prefix}/report/").status == 200
    expect(page.locator(".type-questions:visible")).to_have_count(0)
    yield "report form"
    for case_type in CaseType.values if everything else [CaseType.SUBJECT_REQUEST]:
        page.locator(f"#case_type_{case_type}").check()
        expect(page.locator(".type-questions:visible")).to_have_count(1)
        expect(page.locator(f'.type-questions[data-case-type="{case_type}"]')).to_be_visible()
        yield f"report form, {case_type} picked"

    form_button = page.locator(".trust-form button[type=submit]")
    page.goto(f"{prefix}/report/")
    assert submit(page, form_button) == 400
    expect(page.locator("#case_type_error")).to_be_visible()
    yield "report form, no type picked"

    page.locator("#case_type_subject_request").check()
    page.locator("#id_identity_1").check()
    assert submit(page, form_button) == 400
    for field in ["subject_request__subject_right", "message", "reporter_name", "reporter_email"]:
        expect(page.locator(f"#id_{field}_error, #div_id_{field} .invalid-feedback").first).to_be_visible()
    yield "report form, a data-subject request with its errors"

    assert page.goto(f"{prefix}/follow-up/").status == 200
    yield "follow-up login"

    page.locator("#id_receipt_code").fill("0000 0000 0000 0000 0000")
    assert submit(page, page.locator("main form button[type=submit]")) == 400
    expect(page.locator("#id_receipt_code")).to_have_attribute("aria-invalid", "true")
    yield "follow-up login, wrong code"

    page.goto(f"{prefix}/report/")
    page.locator("#case_type_subject_request").check()
    page.locator("#id_subject_request__subject_right_0").check()
    page.locator("#id_message").fill("Please send me a copy of my data.")
    page.locator("#id_identity_1").check()
    page.locator("#id_reporter_name").fill("Kari Nordmann")
    page.locator("#id_reporter_email").fill("kari@example.org")
    assert submit(page, form_button) == 200
    expect(page.locator("#receipt-code")).to_have_text(re.compile(r"^\d{4}( \d{4}){4}$"))
    expect(page.locator("html")).to_have_attribute("lang", language)
    yield "receipt page"

    page.locator("#receipt-saved-form").evaluate("form => { form.noValidate = true; }")
    assert submit(page, page.locator("#receipt-saved-form button[type=submit]")) == 400
    expect(page.locator("#receipt-saved-form .invalid-feedback")).to_be_visible()
    yield "receipt page, saving not confirmed"

    page.locator("#id_saved").check()
    assert submit(page, page.locator("#receipt-saved-form button[type=submit]")) == 200
    reference = re.search(r"TC-\d{4}-\d{5}", main_heading.inner_text()).group(0)
    case = services.Case.objects.get(reference=reference)
    reply_as_staff(case=case, message=STAFF_REPLY)
    page.reload()
    expect(page.locator("#case-messages")).to_contain_text(STAFF_REPLY)
    expect(page.locator("#confirm-heading")).to_be_visible()
    yield "case page, with a staff reply and the e-mail confirmation"

    sent_code = re.search(r"^\s*(\d{6})\s*$", str(mail.outbox[-1].body), re.MULTILINE).group(1)
    page.locator("#id_code").fill("000000" if sent_code != "000000" else "111111")
    assert submit(page, page.locator("form:has(#id_code) button[type=submit]")) == 400
    expect(page.locator("#id_code")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#confirm-heading")).to_be_visible()
    yield "case page, a wrong e-mail confirmation code"

    if everything:
        yield from footer_pages(page, prefix, case)

    # A request Django refuses to read (more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS).
    too_many_fields = "&".join(f"f{n}=x" for n in range(django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    assert page.goto(f"{prefix}/report/?{too_many_fields}").status == 400
    expect(main_heading).to_have_text(translated(language, "Bad request"))
    expect(page.locator("html")).to_have_attribute("lang", language)
    yield "400 page"

    assert page.goto(f"{prefix}/test-only/access-denied/").status == 403
    expect(main_heading).to_have_text(translated(language, "Access denied"))
    yield "403 page"

    assert page.goto(f"{prefix}/no-such-page/").status == 404
    expect(main_heading).to_have_text(translated(language, "Page not found"))
    yield "404 page"

    assert page.goto(f"{prefix}/test-only/server-error/").status == 500
    expect(main_heading).to_have_text(translated(language, "Something went wrong"))
    expect(page.locator("html")).to_have_attribute("lang", language)
    yield "500 page"

    page.goto(f"{prefix}/follow-up/")
    page.context.clear_cookies()
    page.locator("#id_receipt_code").fill("1234 5678 9012 3456 7890")
    assert submit(page, page.locator("main form button[type=submit]")) == 403
    expect(page.locator("#id_receipt_code")).to_have_count(0)
    yield "CSRF failure page"


# Every page in English; in the other languages, the pages whose text differs most (see above).
WALKS = [("en", True, 29), ("nb", False, 16), ("sv", False, 16), ("da", False, 16)]
WALK_IDS = ["en-every-page", "nb", "sv", "da"]


@pytest.mark.parametrize("language,everything,stops", WALKS, ids=WALK_IDS)
def test_public_pages_have_no_wcag_21_aa_violations(new_visit, error_routes, language, everything, stops):
    page = axe_ready_page(new_visit)
    findings = AxeFindings()
    for stop in public_pages(page, language, everything=everything):
        findings.check(page, f"{stop} [{language}]")
    assert len(findings.pages_checked) == stops
    assert not findings.seen, findings.report()


@pytest.mark.parametrize("language,everything,stops", WALKS, ids=WALK_IDS)
def test_public_pages_load_nothing_from_another_host_and_break_no_csp_rule(
    new_visit, live_server, error_routes, language, everything, stops
):
    visit = new_visit()
    visit.context.add_init_script(CSP_LISTENER)
    page = visit.page
    reported, stopped_at = [], []
    for stop in public_pages(page, language, everything=everything):
        stopped_at.append(stop)
        reported += [f"{stop}: {violation}" for violation in page.evaluate("() => window.__cspViolations")]
    assert len(stopped_at) == stops
    assert len(visit.requests) > stops
    assert any("/static/" in url for url in visit.requests)
    assert visit.foreign_requests(live_server.url) == []
    assert visit.csp_violations() == []
    assert reported == []


@pytest.mark.parametrize("page", [{}, {"java_script_enabled": False}], indirect=True, ids=["js", "no-js"])
def test_the_report_form_can_be_used_from_the_keyboard(page):
    page.goto("/en/report/")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")
    expect(page.locator(":focus")).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator(":focus")).to_have_id("main")

    reached = []
    for _press in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement;"
            " return e.id || e.getAttribute('name') || (e.type === 'submit' ? 'submit:' + e.textContent.trim() : e.tagName); }"
        )
        reached.append(focused)
        if focused == "case_type_subject_request":
            # Arrow keys move within the radio group and pick a type; its questions appear.
            for _arrow in range(4):
                page.keyboard.press("ArrowDown")
            expect(page.locator("#case_type_hse")).to_be_checked()
            expect(page.locator('.type-questions[data-case-type="hse"]')).to_be_visible()
            reached.append("case_type_hse")
        if focused == "submit:Send the message":
            break
    assert "case_type_subject_request" in reached, reached
    assert "id_website" not in reached, "the honeypot must not take focus"
    order = [
        reached.index(name)
        for name in ["case_type_hse", "id_hse__location", "id_message", "submit:Send the message"]
    ]
    assert order == sorted(order), reached

    # Enter on the button sends the form; the first error is then reachable and named.
    page.keyboard.press("Enter")
    expect(page.locator("#form-errors")).to_be_visible()
    expect(page.locator("#id_hse__location")).to_have_attribute("aria-invalid", "true")


def identified_access_request(language: str) -> tuple[services.Case, str, str, str]:
    """A data-subject request sent in `language`: (case, receipt code, e-mailed code, link path)."""
    case, receipt_code = factories.submit(
        case_type=CaseType.SUBJECT_REQUEST,
        language=language,
        is_anonymous=False,
        subject_right=SubjectRight.ACCESS,
        message="Please send me a copy of my data.",
        reporter_name="Kari Nordmann",
        reporter_email="kari@example.org",
    )
    body = str(mail.outbox[-1].body)
    emailed_code = re.search(r"^\s*(\d{6})\s*$", body, re.MULTILINE).group(1)
    link = urlsplit(re.search(r"https?://\S+/confirm/\?t=\S+", body).group(0))
    assert link.path == f"/{language}/confirm/", link
    return case, receipt_code, emailed_code, f"{link.path}?{link.query}"


def other_public_states(page, settings, language: str, *, with_footer_pages: bool):
    """The public states the walk above does not reach, in one language, yielding a name at each.

    The report form asked for an unknown type, back after an expired form token, and refusing a
    message for too many from the connection; the case page refusing one for the same reason;
    follow-up after the case page's session ended with a message unsent, and refusing codes after
    too many wrong ones; the e-mail confirmation link (its button, confirmed, used a second time,
    without its token). With with_footer_pages, also the privacy notice, the supervisory
    authorities' pages and the proof check (empty, an invalid proof, a valid one), which the walk
    above checks in English only. Limits are set through settings and the case through services,
    rather than reached by clicking.
    """
    prefix = f"/{language}"
    main_heading = page.get_by_role("heading", level=1)
    form_errors = page.locator("#form-errors")

    assert page.goto(f"{prefix}/report/?type=gossip").status == 200
    expect(page.locator("main .alert-warning")).to_have_text(
        translated(language, "We don't know that subject. Choose one of the subjects in the list.")
    )
    expect(page.locator("input[name=case_type]:checked")).to_have_count(0)
    expect(page.locator("html")).to_have_attribute("lang", language)
    yield "report form, an unknown type asked for"

    typed = "How long do you keep CVs?"
    page.locator("#case_type_general_inquiry").check()
    page.locator("#id_message").fill(typed)
    page.context.clear_cookies()  # the CSRF cookie is gone, as if it had expired
    assert submit(page, page.locator(".trust-form button[type=submit]")) == 403
    expect(form_errors).to_have_text(
        translated(
            language,
            "Your message was not sent because the page had been open too long. Everything you "
            "typed is still here: check it, attach any files again, and send it.",
        )
    )
    expect(page.locator("#id_message")).to_have_value(typed)
    expect(page.locator("#case_type_general_inquiry")).to_be_checked()
    yield "report form, back after an expired form token"

    too_many = translated(
        language,
        "Too many messages have been sent from your connection. Please try again in %(minutes)s "
        "minutes. Everything you typed is still here.",
    )
    limit = settings.TRUSTCENTER_SUBMISSIONS_PER_HOUR
    settings.TRUSTCENTER_SUBMISSIONS_PER_HOUR = 1
    # The browser's one message this hour, counted as the site counts it (the server shares the cache).
    ratelimit.count_hit(
        scope="submit",
        client_key=ratelimit.ClientKey.from_address("127.0.0.1"),
        window_seconds=settings.TRUSTCENTER_SUBMISSION_WINDOW_SECONDS,
    )
    cases_before = services.Case.objects.count()
    assert submit(page, page.locator(".trust-form button[type=submit]")) == 429
    expect(form_errors).to_have_text(
        too_many_pattern := re.compile(re.escape(too_many).replace(re.escape("%(minutes)s"), r"\d+"))
    )
    expect(page.locator("#id_message")).to_have_value(typed)
    assert services.Case.objects.count() == cases_before
    yield "report form, too many messages"

    case, receipt_code, _emailed_code, link = identified_access_request(language)
    assert page.goto(f"{prefix}/follow-up/").status == 200
    page.locator("#id_receipt_code").fill(receipt_code)
    assert submit(page, page.locator("main form button[type=submit]")) == 200
    expect(main_heading).to_contain_text(case.reference)
    draft = "Here is the copy of my passport you asked for."
    message_form = page.locator("main form:has(#id_message)")
    page.locator("#id_message").fill(draft)
    assert submit(page, message_form.locator("button[type=submit]")) == 429
    expect(message_form.locator(".alert-danger")).to_have_text(too_many_pattern)
    expect(page.locator("#id_message")).to_have_value(draft)
    assert not CaseMessage.objects.filter(case=case, body=draft).exists()
    settings.TRUSTCENTER_SUBMISSIONS_PER_HOUR = limit
    yield "case page, too many messages"

    page.context.clear_cookies(name=django_settings.SESSION_COOKIE_NAME)  # the session ends
    assert submit(page, message_form.locator("button[type=submit]")) == 403
    expect(page.locator("main .alert-warning")).to_have_text(
        translated(
            language,
            "Your time on the case page ran out before your message was sent. Enter your receipt "
            "code again: your message is kept below, and you can send it on the case page. Attach "
            "any files again.",
        )
    )
    expect(page.locator("#id_draft")).to_have_value(draft)
    yield "follow-up login, the session ended with a message unsent"

    settings.TRUSTCENTER_FOLLOWUP_FAILURES = 1
    # One wrong code from the browser's address, counted as the site counts it: the limit is met.
    ratelimit.count_hit(
        scope="receipt-code",
        client_key=ratelimit.ClientKey.from_address("127.0.0.1"),
        window_seconds=settings.TRUSTCENTER_FOLLOWUP_WINDOW_SECONDS,
    )
    page.locator("#id_receipt_code").fill(receipt_code)
    assert submit(page, page.locator("main form button[type=submit]")) == 429
    wrong_codes = translated(language, "Too many wrong codes. Please try again in %(minutes)s minutes.")
    expect(page.locator("main .alert-danger")).to_have_text(
        re.compile(re.escape(wrong_codes).replace(re.escape("%(minutes)s"), r"\d+"))
    )
    yield "follow-up login, too many wrong codes"

    confirm_button = page.locator("main form button[type=submit]")
    assert page.goto(link).status == 200
    token = parse_qs(urlsplit(link).query)["t"][0]
    expect(page.locator("main input[type=hidden][name=token]")).to_have_value(token)
    expect(main_heading).to_have_text(translated(language, "Confirm your e-mail address"))
    yield "e-mail confirmation link"

    assert submit(page, confirm_button) == 200
    expect(main_heading).to_have_text(translated(language, "Your e-mail address is confirmed"))
    case.refresh_from_db()
    assert case.email_confirmed_at is not None
    yield "e-mail confirmation link, confirmed"

    page.goto(link)
    assert submit(page, confirm_button) == 200
    expect(main_heading).to_have_text(translated(language, "This link does not work"))
    yield "e-mail confirmation link, used a second time"

    assert page.goto(f"{prefix}/confirm/").status == 200
    expect(main_heading).to_have_text(translated(language, "This link does not work"))
    yield "e-mail confirmation link, without its token"

    # A whistleblower may name handlers who must not see the report: the list of the team's.
    factories.CaseHandlerFactory(teams=["whistleblowing"], first_name="Ola", last_name="Nordmann")
    assert page.goto(f"{prefix}/report/?type=whistleblowing").status == 200
    page.locator("#case_type_whistleblowing").check()
    expect(page.get_by_label("Ola Nordmann")).to_be_visible()
    yield "report form, whistleblowing with the team's handlers to leave out"

    # The same report form sent twice (a reload of the receipt page, a double click).
    assert page.goto(f"{prefix}/report/?type=general_inquiry").status == 200
    page.locator("#id_message").fill("Do you keep my CV?")
    token = page.locator("input[name=submission_token]").input_value()
    assert submit(page, page.locator(".trust-form button[type=submit]")) == 200
    assert page.goto(f"{prefix}/report/?type=general_inquiry").status == 200
    page.locator("#id_message").fill("Do you keep my CV?")
    page.locator("input[name=submission_token]").evaluate("(input, token) => { input.value = token; }", token)
    assert submit(page, page.locator(".trust-form button[type=submit]")) == 409
    expect(main_heading).to_have_text(translated(language, "Your message was already received"))
    yield "report form sent a second time"

    if with_footer_pages:
        yield from footer_pages(page, prefix, case)


# English's footer pages are in the walk above already.
OTHER_STATES = [("en", False, 12), ("nb", True, 19), ("sv", True, 19), ("da", True, 19)]


@pytest.mark.parametrize("language,with_footer_pages,stops", OTHER_STATES, ids=[o[0] for o in OTHER_STATES])
def test_limits_rescued_forms_and_the_confirmation_link_have_no_wcag_21_aa_violations(
    new_visit, settings, language, with_footer_pages, stops
):
    page = axe_ready_page(new_visit)
    findings = AxeFindings()
    for stop in other_public_states(page, settings, language, with_footer_pages=with_footer_pages):
        findings.check(page, f"{stop} [{language}]")
    assert len(findings.pages_checked) == stops
    assert not findings.seen, findings.report()


# What has the keyboard's focus: its id, else its name, else a submit button's text.
FOCUSED = """() => {
  const e = document.activeElement;
  if (e.id) return e.id;
  if (e.getAttribute("name")) return e.getAttribute("name");
  if (e.type === "submit") return "submit:" + e.textContent.trim();
  if (e.tagName === "A") return "link:" + e.textContent.trim();
  return e.tagName;
}"""
# Whether the focused element shows that it is: an outline, or a box-shadow (Bootstrap's ring).
FOCUS_SHOWN = """() => {
  const style = getComputedStyle(document.activeElement);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  return outline || style.boxShadow !== "none";
}"""
# Bootstrap's focus ring fades in; without motion it is there at once, so it can be measured.
KEYBOARD_VISIT = {"reduced_motion": "reduce"}


def tab_to(page, target: str, *, presses: int = 40) -> list[str]:
    """Presses Tab until `target` (named as FOCUSED names it) has the focus; returns every stop."""
    reached = []
    for _press in range(presses):
        page.keyboard.press("Tab")
        reached.append(page.evaluate(FOCUSED))
        if reached[-1] == target:
            return reached
    raise AssertionError(f"{presses} presses of Tab never reached {target}: {reached}")


def assert_focus_is_visible(page) -> None:
    assert page.evaluate(FOCUS_SHOWN), f"{page.evaluate(FOCUSED)} has the focus and does not show it"


def press_and_land(page, key: str) -> int:
    """Presses a key that should send a form, and returns the status of the page landed on."""
    with page.expect_navigation() as navigation:
        page.keyboard.press(key)
    return navigation.value.status


@pytest.mark.parametrize(
    "page",
    [KEYBOARD_VISIT, {**KEYBOARD_VISIT, "java_script_enabled": False}],
    indirect=True,
    ids=["js", "no-js"],
)
def test_the_receipt_page_can_be_used_from_the_keyboard(page):
    page.goto("/en/report/")
    page.locator("#case_type_general_inquiry").check()
    page.locator("#id_message").fill("How long do you keep CVs?")
    assert submit(page, page.locator(".trust-form button[type=submit]")) == 200
    reference = re.search(r"TC-\d{4}-\d{5}", page.locator("main").inner_text()).group(0)

    tab_to(page, "id_saved")
    assert_focus_is_visible(page)
    page.keyboard.press("Space")
    expect(page.locator("#id_saved")).to_be_checked()
    tab_to(page, "submit:Continue to my case", presses=1)
    assert_focus_is_visible(page)
    assert press_and_land(page, "Enter") == 200
    expect(page).to_have_url(re.compile(r"/en/follow-up/case/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)


def test_follow_up_its_message_form_and_the_e_mail_confirmation_can_be_used_from_the_keyboard(new_visit):
    page = new_visit(**KEYBOARD_VISIT).page
    case, receipt_code, emailed_code, _link = identified_access_request("en")

    page.goto("/en/follow-up/")
    tab_to(page, "id_receipt_code")
    assert_focus_is_visible(page)
    page.keyboard.type(receipt_code)
    assert press_and_land(page, "Enter") == 200
    expect(page).to_have_url(re.compile(r"/en/follow-up/case/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(case.reference)

    # A message, typed and then sent from the button that Tab reaches after the attachments.
    message = "I have moved: please write to my new address."
    tab_to(page, "id_message")
    assert_focus_is_visible(page)
    page.keyboard.type(message)
    reached = tab_to(page, "submit:Send", presses=3)
    assert "id_attachments" in reached, reached
    assert "id_website" not in reached, "the honeypot must not take focus"
    assert_focus_is_visible(page)
    assert press_and_land(page, "Enter") == 200
    expect(page.locator("#case-messages li").last).to_contain_text(message)
    assert CaseMessage.objects.filter(case=case, body=message).count() == 1

    # The code from the e-mail, typed into its field and sent with Enter.
    tab_to(page, "id_code")
    assert_focus_is_visible(page)
    page.keyboard.type(emailed_code)
    assert press_and_land(page, "Enter") == 200
    expect(page.get_by_text("Thank you: your e-mail address is confirmed.")).to_be_visible()
    expect(page.locator("#confirm-heading")).to_have_count(0)
    case.refresh_from_db()
    assert case.email_confirmed_at is not None
