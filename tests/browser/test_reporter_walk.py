"""A reporter's walk in Chromium: send a message, keep the receipt, follow up, read the answer."""

import io
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from cases.models import Case, CaseStatus
from tests.browser.conftest import GPS_IFD, document_and_viewport_width, jpeg_with_gps, receipt_code_on
from tests.factories import reply_as_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HSE = "Health, safety and environment"
HSE_QUESTIONS = f"About your message: {HSE}"
STAFF_REPLY = "Thank you. The loading dock is fenced off until the ramp is repaired."
FIRST_MESSAGE = "A pallet fell from the ramp at the loading dock."
LOCATION = "Loading dock, building B"
PHOTO_NAME = "loading-dock.jpg"
REPORTER = {"name": "Kari Nordmann", "email": "kari@example.org"}
RECEIVED_SUBJECT = "Your message to the Trust Center has been received"
NEWS_SUBJECT = "There is news on your case in the Trust Center"
NO_JAVASCRIPT = {"java_script_enabled": False}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}


def a_week_ago() -> str:
    return (timezone.localdate() - timedelta(days=7)).isoformat()


def pick_type(page, label: str):
    """Picks a case type and returns its questions, which must then be the only ones shown."""
    page.get_by_role("radio", name=label, exact=True).check()
    questions = page.get_by_role("group", name=f"About your message: {label}")
    expect(questions).to_be_visible()
    expect(page.locator(".type-questions:visible")).to_have_count(1)
    return questions


def fill_hse_report(page, *, message: str, location: str, photo: bytes, reporter: dict | None) -> None:
    """Fills the form as a person would: a type, its questions, the message, a photo, and either
    stays anonymous (the default) or gives a name and e-mail address and asks for notices."""
    page.goto("/en/report/")
    expect(page.get_by_role("heading", name="Send a message", level=1)).to_be_visible()
    # Before a type is picked, no type's questions are shown.
    expect(page.locator(".type-questions:visible")).to_have_count(0)
    questions = pick_type(page, HSE)
    questions.get_by_label("When did it happen?").fill(a_week_ago())
    questions.get_by_label("Where did it happen? (required)").fill(location)
    questions.get_by_role("group", name="Was anyone hurt?").get_by_label("No", exact=True).check()
    page.get_by_label("Your message").fill(message)
    page.get_by_label("Attachments").set_input_files(
        files=[{"name": PHOTO_NAME, "mimeType": "image/jpeg", "buffer": photo}]
    )
    expect(page.get_by_label("I want to stay anonymous")).to_be_checked()
    if reporter is not None:
        page.get_by_label("I give my name and e-mail address").check()
        page.get_by_label("Your name").fill(reporter["name"])
        page.get_by_label("Your e-mail address").fill(reporter["email"])
        page.get_by_label("E-mail me when there is news on my case").check()
    page.get_by_role("button", name="Send the message").click()


def keep_receipt(page) -> str:
    """Reads the receipt code, confirms it was saved, and goes on to the case page."""
    expect(page.get_by_role("heading", name="Your message has been received")).to_be_visible()
    code = receipt_code_on(page)
    page.get_by_label("I have written down or saved my receipt code").check()
    page.get_by_role("button", name="Continue to my case").click()
    expect(page).to_have_url(re.compile(r"/en/follow-up/case/$"))
    return code


def case_on(page) -> Case:
    heading = page.get_by_role("heading", level=1).inner_text()
    reference = re.search(r"TC-\d{4}-\d{5}", heading).group(0)
    return Case.objects.get(reference=reference)


def open_case_with_code(page, code: str) -> None:
    page.goto("/en/follow-up/")
    page.get_by_label("Your receipt code").fill(code)
    page.get_by_role("button", name="Open my case").click()
    expect(page).to_have_url(re.compile(r"/en/follow-up/case/$"))


def add_reporter_message(page, text: str) -> None:
    page.get_by_label("Your message").fill(text)
    page.get_by_role("button", name="Send", exact=True).click()
    expect(
        page.get_by_role("status").filter(has_text="Your message has been added to the case.")
    ).to_be_visible()
    expect(page.locator("#case-messages")).to_contain_text(text)


def download_attachment(page, name: str) -> bytes:
    with page.expect_download() as download_info:
        page.get_by_role("link", name=name).click()
    download = download_info.value
    assert download.suggested_filename == name
    with open(download.path(), "rb") as downloaded:
        return downloaded.read()


def assert_no_image_metadata(data: bytes) -> None:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    exif = image.getexif()
    assert len(exif) == 0, dict(exif)
    assert not exif.get_ifd(GPS_IFD)
    assert "exif" not in image.info


def the_receipt_cannot_be_left_unconfirmed(page) -> None:
    """Without JavaScript too, the reporter must confirm having saved the code before going on."""
    saved = page.get_by_label("I have written down or saved my receipt code")
    shown_code = receipt_code_on(page)
    # The browser itself stops an unticked submission...
    page.get_by_role("button", name="Continue to my case").click()
    expect(page.get_by_role("heading", name="Your message has been received")).to_be_visible()
    assert saved.evaluate("box => box.validity.valueMissing")
    # ...and the server does too, for browsers that do not: an error and the same code again.
    page.locator("#receipt-saved-form").evaluate("form => { form.noValidate = true; }")
    page.get_by_role("button", name="Continue to my case").click()
    expect(page.get_by_text("Please confirm that you have saved your receipt code")).to_be_visible()
    expect(saved).to_have_accessible_description(re.compile("Please confirm that you have saved"))
    assert receipt_code_on(page) == shown_code


def assert_a_bare_notice(sent, *, subject: str, untold: list[str]) -> None:
    """A notice to the reporter: its subject, a link to follow-up, and nothing about the case."""
    assert sent.to == [REPORTER["email"]]
    assert sent.subject == subject
    assert "/en/follow-up/" in sent.body
    for text in untold:
        assert text not in sent.subject + sent.body, (text, sent.body)


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
@pytest.mark.parametrize("identified", [False, True], ids=["anonymous", "identified"])
def test_a_reporter_sends_a_photo_keeps_the_receipt_follows_up_and_reads_the_reply(
    new_visit, identified, javascript
):
    options = {} if javascript else NO_JAVASCRIPT
    reporter = REPORTER if identified else None
    photo = jpeg_with_gps()
    first = new_visit(**options)
    page = first.page
    fill_hse_report(page, message=FIRST_MESSAGE, location=LOCATION, photo=photo, reporter=reporter)
    if not javascript:
        the_receipt_cannot_be_left_unconfirmed(page)
    code = keep_receipt(page)
    case = case_on(page)
    assert case.case_type == "hse" and case.details["location"] == LOCATION
    assert case.is_anonymous is not identified
    kept = (REPORTER["name"], REPORTER["email"], True) if identified else ("", "", False)
    assert (case.reporter_name, case.reporter_email, case.wants_notices) == kept
    assert case.attachments.count() == 1
    expect(page.locator("#case-messages")).to_contain_text(FIRST_MESSAGE)
    # An anonymous reporter's photo loses its name with its other metadata.
    stored_name = PHOTO_NAME if identified else "image-1.jpg"
    expect(page.get_by_role("link", name=stored_name)).to_be_visible()
    expect(page.get_by_role("link", name=PHOTO_NAME)).to_have_count(1 if identified else 0)
    received = list(mail.outbox)

    reply_as_staff(case=case, message=STAFF_REPLY, status=CaseStatus.IN_PROGRESS)

    # The e-mails: an anonymous reporter gets none; an identified one who asked for notices is
    # told that the message arrived, then that there is news (one notice for the reply and the
    # status, saved together), never what.
    untold = [STAFF_REPLY, FIRST_MESSAGE, LOCATION, REPORTER["name"], case.reference, code.replace(" ", "")]
    if identified:
        assert len(received) == 1
        assert_a_bare_notice(received[0], subject=RECEIVED_SUBJECT, untold=untold)
        news = mail.outbox[1:]
        assert len(news) == 1
        for sent in news:
            assert_a_bare_notice(sent, subject=NEWS_SUBJECT, untold=untold)
            assert "There is news on your case" in sent.body
    else:
        assert mail.outbox == []

    # A later visit: a fresh browser context that knows nothing but the code.
    second = new_visit(**options)
    page = second.page
    page.goto("/en/follow-up/case/")
    expect(page).to_have_url(re.compile(r"/en/follow-up/$"))
    open_case_with_code(page, code)
    assert case_on(page) == case
    expect(page.locator("#case-status")).to_have_text("In progress")
    staff_message = page.locator("#case-messages > li").filter(has_text=STAFF_REPLY)
    expect(staff_message).to_have_count(1)
    expect(staff_message).to_contain_text("From us")
    # An anonymous reporter's photo lost its hidden information; an identified one's is kept as sent.
    downloaded = download_attachment(page, stored_name)
    if identified:
        expect(page.get_by_text("hidden information removed")).to_have_count(0)
        assert downloaded == photo
    else:
        expect(page.get_by_text("hidden information removed")).to_be_visible()
        assert_no_image_metadata(downloaded)

    add_reporter_message(page, "The ramp is still wet in the mornings.")
    assert case.messages.filter(author="reporter", body="The ramp is still wet in the mornings.").exists()
    assert not first.csp_violations() and not second.csp_violations()


def test_an_identified_access_request_is_confirmed_with_the_code_from_the_email(new_visit):
    page = new_visit().page
    page.goto("/en/report/")
    questions = pick_type(page, "Data-subject request")
    questions.get_by_label("Access to my data (GDPR art. 15)").check()
    page.get_by_label("Your message").fill("Please send me a copy of what you hold about me.")
    page.get_by_label("I give my name and e-mail address").check()
    page.get_by_label("Your name").fill("Kari Nordmann")
    page.get_by_label("Your e-mail address").fill("kari@example.org")
    page.get_by_label("E-mail me when there is news on my case").check()
    page.get_by_role("button", name="Send the message").click()

    expect(page.get_by_text("We have sent a code to your e-mail address.")).to_be_visible()
    assert [message.to for message in mail.outbox] == [["kari@example.org"]]
    confirmation = re.search(r"^\s*(\d{6})\s*$", mail.outbox[0].body, re.MULTILINE)
    assert confirmation, mail.outbox[0].body
    keep_receipt(page)
    case = case_on(page)
    assert case.subject_right == "access" and case.reporter_email == "kari@example.org"
    assert case.email_confirmed_at is None

    section = page.get_by_role("region", name="Confirm your e-mail address")
    expect(section).to_be_visible()
    section.get_by_label("Confirmation code from the e-mail").fill(confirmation.group(1))
    section.get_by_role("button", name="Confirm", exact=True).click()
    expect(page.get_by_text("Thank you: your e-mail address is confirmed.")).to_be_visible()
    expect(page.get_by_role("region", name="Confirm your e-mail address")).to_have_count(0)
    expect(page.get_by_label("Confirmation code from the e-mail")).to_have_count(0)
    case.refresh_from_db()
    assert case.email_confirmed_at is not None


def test_the_form_works_on_a_phone_without_sideways_scrolling(new_visit):
    page = new_visit(**PHONE).page
    widths = {}
    page.goto("/en/report/")
    widths["empty form"] = document_and_viewport_width(page)
    page.get_by_role("radio", name=HSE).tap()
    expect(page.get_by_role("group", name=HSE_QUESTIONS)).to_be_visible()
    widths["questions shown"] = document_and_viewport_width(page)
    page.get_by_role("button", name="Send the message").tap()
    expect(page.get_by_text("Please answer this question.")).to_be_visible()
    widths["errors shown"] = document_and_viewport_width(page)
    page.get_by_role("group", name=HSE_QUESTIONS).get_by_label("Where did it happen? (required)").fill("Yard")
    page.get_by_label("Your message").fill("Broken glass in the yard.")
    page.get_by_role("button", name="Send the message").tap()
    receipt_code_on(page)
    widths["receipt"] = document_and_viewport_width(page)
    page.get_by_label("I have written down or saved my receipt code").tap()
    page.get_by_role("button", name="Continue to my case").tap()
    expect(page).to_have_url(re.compile(r"/en/follow-up/case/$"))
    widths["case page"] = document_and_viewport_width(page)
    for step, (scroll_width, viewport_width) in widths.items():
        assert viewport_width == 390, step
        assert scroll_width <= viewport_width, f"{step}: {scroll_width}px wide on a {viewport_width}px screen"


def test_a_validation_error_keeps_what_was_typed_and_sits_next_to_its_field(new_visit):
    page = new_visit().page
    page.goto("/en/report/")
    questions = pick_type(page, HSE)
    questions.get_by_label("When did it happen?").fill(a_week_ago())
    questions.get_by_role("group", name="Was anyone hurt?").get_by_label("Yes", exact=True).check()
    page.get_by_label("Your message").fill("Someone slipped on the stairs.\nSecond line.")
    page.get_by_role("button", name="Send the message").click()

    expect(
        page.get_by_role("alert").filter(has_text="Please correct the fields marked below")
    ).to_be_visible()
    assert Case.objects.count() == 0
    # Everything typed is still there, and the same type's questions are still shown.
    expect(page.get_by_role("radio", name=HSE)).to_be_checked()
    questions = page.get_by_role("group", name=HSE_QUESTIONS)
    expect(questions.get_by_label("When did it happen?")).to_have_value(a_week_ago())
    expect(
        questions.get_by_role("group", name="Was anyone hurt?").get_by_label("Yes", exact=True)
    ).to_be_checked()
    expect(page.get_by_label("Your message")).to_have_value("Someone slipped on the stairs.\nSecond line.")
    # The error is next to the field it is about, and the field names it.
    location = questions.get_by_label("Where did it happen? (required)")
    expect(location).to_have_attribute("aria-invalid", "true")
    expect(location).to_have_accessible_description(re.compile("Please answer this question."))
    # It is described by an element inside the field's own box that holds the error text.
    field_box = page.locator("#div_id_hse__location")
    described_by = location.get_attribute("aria-describedby").split()
    errors_in_box = [
        element_id
        for element_id in described_by
        if field_box.locator(f"#{element_id}").filter(has_text="Please answer this question.").count()
    ]
    assert errors_in_box, described_by
