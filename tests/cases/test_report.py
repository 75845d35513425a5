import hashlib
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from cases.models import Attachment, Case, CaseType
from tests import images

pytestmark = pytest.mark.django_db

URL = "/en/report/"


def anonymous_report(**fields):
    data = {
        "case_type": CaseType.HSE,
        "identity": "anonymous",
        "hse__location": "Loading dock, Oslo",
        "hse__anyone_hurt": "no",
        "message": "A pallet rack leans over the walkway.",
        "website": "",
    }
    data.update(fields)
    return data


def erasure_request(**fields):
    data = {
        "case_type": CaseType.SUBJECT_REQUEST,
        "identity": "identified",
        "subject_request__subject_right": "erasure",
        "reporter_name": "Kari Nordmann",
        "reporter_email": "kari@example.com",
        "message": "Please erase my data.",
    }
    data.update(fields)
    return data


def receipt_code(response) -> str:
    match = re.search(r'id="receipt-code">([\d ]+)<', response.content.decode())
    assert match, "no receipt code on the page"
    return match.group(1)


def test_it_offers_all_seven_types_each_explained(client):
    page = client.get(URL).content.decode()
    for case_type in CaseType.values:
        assert f'id="case_type_{case_type}"' in page
        assert f'id="case_type_{case_type}_help"' in page


def test_it_preselects_a_type_from_the_address(client):
    page = client.get(URL + "?type=whistleblowing").content.decode()
    assert re.search(r'id="case_type_whistleblowing" value="whistleblowing" checked', page)


def test_it_says_so_when_the_address_names_an_unknown_type(client):
    response = client.get(URL + "?type=gossip")
    assert response.status_code == 200
    assert "We don't know that subject" in response.content.decode()


def test_it_takes_an_anonymous_report_and_shows_the_code_once(client):
    response = client.post(URL, anonymous_report())
    assert response.status_code == 200
    code = receipt_code(response)
    assert re.fullmatch(r"\d{4}( \d{4}){4}", code)
    assert "no-store" in response["Cache-Control"]
    # Without JavaScript too, the only ways on are the page's own forms: no link leads away.
    assert re.findall(r'<a [^>]*href="(/[^"]*)"', response.content.decode()) == []
    case = Case.objects.get()
    assert case.case_type == CaseType.HSE
    assert case.is_anonymous
    assert case.details == {"location": "Loading dock, Oslo", "anyone_hurt": "no"}
    assert case.messages.get().body == "A pallet rack leans over the walkway."
    assert re.fullmatch(r"TC-\d{4}-00001", case.reference)
    assert code.replace(" ", "") not in str(Case.objects.values().get())


def test_anonymous_reports_keep_no_name_or_email_even_if_typed(client):
    client.post(
        URL,
        anonymous_report(
            reporter_name="Kari Nordmann", reporter_email="kari@example.com", wants_notices="on"
        ),
    )
    case = Case.objects.get()
    assert (case.reporter_name, case.reporter_email, case.wants_notices) == ("", "", False)


def test_a_data_subject_request_cannot_be_anonymous(client):
    response = client.post(URL, erasure_request(identity="anonymous", reporter_name="", reporter_email=""))
    assert response.status_code == 400
    assert "cannot be anonymous" in response.content.decode()
    assert not Case.objects.exists()


def test_an_identified_request_is_kept_with_name_and_email(client):
    response = client.post(URL, erasure_request())
    assert response.status_code == 200
    case = Case.objects.get()
    assert (case.subject_right, case.reporter_email, case.is_anonymous) == (
        "erasure",
        "kari@example.com",
        False,
    )
    assert case.email_confirmed_at is None


def test_an_email_address_longer_than_the_column_is_refused_at_its_field(client):
    address = "k" * 64 + "@" + "d" * 63 + "." + "e" * 63 + "." + "f" * 60 + ".no"  # valid, 256 characters
    assert len(address) > 254
    response = client.post(URL, erasure_request(reporter_email=address))
    page = response.content.decode()
    assert response.status_code == 400
    assert 'aria-describedby="id_reporter_email_error"' in page
    assert "Please erase my data." in page
    assert not Case.objects.exists()


def test_a_missing_answer_is_marked_at_its_field_and_nothing_typed_is_lost(client):
    response = client.post(URL, anonymous_report(hse__location="", message="Everything I wrote so far."))
    page = response.content.decode()
    assert response.status_code == 400
    assert 'aria-describedby="id_hse__location_error"' in page
    assert "Please answer this question." in page
    assert "Everything I wrote so far." in page
    assert re.search(r'name="hse__anyone_hurt" value="no"\s+id="id_hse__anyone_hurt_1" checked', page)
    assert not Case.objects.exists()


def test_an_unknown_type_is_refused_next_to_the_type_question(client):
    response = client.post(URL, anonymous_report(case_type="gossip", message="Keep this text."))
    page = response.content.decode()
    assert response.status_code == 400
    assert "Choose one of the subjects in the list." in page
    assert 'id="case_type_error"' in page
    assert "Keep this text." in page


def test_text_over_the_limit_is_refused_and_kept(client, settings):
    long_text = "x" * (settings.TRUSTCENTER_MAX_MESSAGE_CHARS + 1)
    response = client.post(URL, anonymous_report(message=long_text))
    assert response.status_code == 400
    assert "Ensure this value has at most" in response.content.decode()
    assert long_text in response.content.decode()


def test_text_pasted_far_over_the_limit_is_refused_at_its_field_and_kept(client, settings):
    # A pasted log ten times the limit, in two-byte letters: the request must still reach the form.
    long_text = "ø" * (10 * settings.TRUSTCENTER_MAX_MESSAGE_CHARS)
    response = client.post(URL, anonymous_report(message=long_text))
    page = response.content.decode()
    assert response.status_code == 400
    assert 'aria-describedby="id_message_error"' in page
    assert "Ensure this value has at most" in page
    assert long_text in page
    assert not Case.objects.exists()


def test_a_program_disguised_as_a_pdf_is_refused_and_the_text_kept(client):
    upload = SimpleUploadedFile("report.pdf", images.WINDOWS_PROGRAM, content_type="application/pdf")
    response = client.post(URL, anonymous_report(attachments=[upload], message="My careful description."))
    page = response.content.decode()
    assert response.status_code == 400
    assert "report.pdf: This kind of file is not accepted" in page
    assert "My careful description." in page
    assert not Case.objects.exists()


def test_a_broken_image_is_refused(client):
    upload = SimpleUploadedFile("photo.jpg", images.BROKEN_JPEG, content_type="image/jpeg")
    response = client.post(URL, anonymous_report(attachments=[upload]))
    assert response.status_code == 400
    assert "damaged" in response.content.decode()


def test_an_image_cut_short_is_refused_with_the_text_kept(client):
    """verify() passes a JPEG cut in half; stripping its metadata would then fail mid-save."""
    whole = images.jpeg_with_metadata()
    upload = SimpleUploadedFile("photo.jpg", whole[: len(whole) * 2 // 3], content_type="image/jpeg")
    response = client.post(URL, anonymous_report(message="Seen at the gate.", attachments=[upload]))
    page = response.content.decode()
    assert response.status_code == 400
    assert "photo.jpg: This image is damaged" in page
    assert "Seen at the gate." in page
    assert not Case.objects.exists()


def test_answers_the_page_hides_are_neither_kept_nor_refused(client):
    """An anonymous reporter who typed half an e-mail address, or answered another type's
    questions before changing type, cannot see those fields: they must not block sending."""
    response = client.post(
        URL,
        anonymous_report(
            reporter_email="kari@",
            reporter_name="Kari",
            whistleblowing__occurred_on="not a date",
            privacy_deviation__data_involved="names",
        ),
    )
    assert response.status_code == 200
    case = Case.objects.get()
    assert case.details == {"location": "Loading dock, Oslo", "anyone_hurt": "no"}
    assert case.reporter_email == "" and case.reporter_name == ""


def test_the_form_leaves_checking_to_the_server(client):
    """A hidden e-mail field must not stop the browser from sending (novalidate)."""
    page = client.get(URL).content.decode()
    assert re.search(r'<form [^>]*class="trust-form"[^>]*novalidate', page)


def test_files_over_the_size_limits_are_refused(client, settings):
    settings.TRUSTCENTER_MAX_FILE_BYTES = 1000
    settings.TRUSTCENTER_MAX_SUBMISSION_BYTES = 1500
    big = SimpleUploadedFile("big.txt", b"a" * 1001)
    response = client.post(URL, anonymous_report(attachments=[big]))
    assert "too large" in response.content.decode()
    two = [SimpleUploadedFile(f"part{n}.txt", b"a" * 900) for n in range(2)]
    response = client.post(URL, anonymous_report(attachments=two))
    assert "Together the files are too large" in response.content.decode()
    assert not Case.objects.exists()


def test_several_files_are_stored_privately_and_anonymous_images_lose_metadata(client, settings):
    files = [
        SimpleUploadedFile("minutes.pdf", images.PDF),
        SimpleUploadedFile("PXL_20260301_101512.jpg", images.jpeg_with_metadata()),
    ]
    response = client.post(URL, anonymous_report(attachments=files))
    assert response.status_code == 200
    document, photo = Attachment.objects.order_by("pk")
    assert photo.metadata_removed and not document.metadata_removed
    # A phone names a photo by when it was taken: the name goes with the rest of its metadata.
    assert (document.original_name, photo.original_name) == ("minutes.pdf", "image-2.jpg")
    stored_photo = photo.file.read()
    assert b"Kari Nordmann" not in stored_photo
    # The fingerprint is of what is stored: a hash of the original photo would link it to the report.
    assert photo.sha256 == hashlib.sha256(stored_photo).hexdigest()
    assert photo.sha256 != hashlib.sha256(images.jpeg_with_metadata()).hexdigest()
    photo.file.seek(0)
    assert document.file.read() == images.PDF  # documents are kept as sent
    assert "PXL" not in photo.file.name and photo.file.name.endswith(".jpg")
    assert str(settings.MEDIA_ROOT) in photo.file.path
    # There is no public URL for uploads.
    assert client.get("/media/" + photo.file.name).status_code == 404
    assert client.get("/" + photo.file.name).status_code == 404


def test_an_identified_reporter_s_photo_is_kept_as_sent_with_its_name(client):
    photo = SimpleUploadedFile("PXL_20260301_101512.jpg", images.jpeg_with_metadata())
    fields = {
        "identity": "identified",
        "reporter_name": "Kari Nordmann",
        "reporter_email": "kari@example.com",
    }
    response = client.post(URL, anonymous_report(attachments=[photo], **fields))
    assert response.status_code == 200
    attachment = Attachment.objects.get()
    assert attachment.original_name == "PXL_20260301_101512.jpg" and not attachment.metadata_removed
    assert attachment.file.read() == images.jpeg_with_metadata()


def test_the_form_warns_about_image_and_document_metadata(client):
    page = client.get(URL).content.decode()
    assert "lose their hidden information" in page
    assert "may carry the author's name" in page


def test_the_honeypot_stops_robots(client):
    response = client.post(URL, anonymous_report(website="http://spam.example"))
    assert response.status_code == 400
    assert not Case.objects.exists()


def test_submissions_are_rate_limited_per_client_in_the_cache_only(client, settings):
    settings.TRUSTCENTER_SUBMISSIONS_PER_HOUR = 2
    statuses = [
        client.post(URL, anonymous_report(), REMOTE_ADDR="198.51.100.7").status_code for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    assert Case.objects.count() == 2
    other_client = Client()
    assert other_client.post(URL, anonymous_report(), REMOTE_ADDR="198.51.100.8").status_code == 200


def test_an_expired_form_token_brings_the_form_back_with_the_text(db):
    client = Client(enforce_csrf_checks=True)
    response = client.post(URL, anonymous_report(message="Written before lunch."))
    page = response.content.decode()
    assert response.status_code == 403
    assert "the page had been open too long" in page
    assert "Written before lunch." in page
    assert "Loading dock, Oslo" in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert not Case.objects.exists()


def test_references_count_up_per_year_without_gaps(time_machine):
    from tests.factories import submit

    time_machine.move_to("2026-12-31 12:00:00+00:00", tick=False)
    first, _ = submit()
    second, _ = submit()
    time_machine.move_to("2027-01-02 12:00:00+00:00", tick=False)
    third, _ = submit()
    assert [first.reference, second.reference, third.reference] == [
        "TC-2026-00001",
        "TC-2026-00002",
        "TC-2027-00001",
    ]


CHOOSE_AGAIN = re.compile(r" ?Files are not kept when a form is refused\. Choose them again: (.*)\.$")


def attachment_errors(response) -> str:
    """The text of the error shown under the attachments field, without the closing note that
    names the files to choose again (checked on its own: files_to_choose_again)."""
    match = re.search(r'<div id="id_attachments_error"[^>]*>(.*?)</div>', response.content.decode(), re.S)
    assert match, "no error at the attachments field"
    return CHOOSE_AGAIN.sub("", re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip())


def files_to_choose_again(response) -> str | None:
    match = re.search(r'<div id="id_attachments_error"[^>]*>(.*?)</div>', response.content.decode(), re.S)
    if not match:
        return None
    note = CHOOSE_AGAIN.search(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip())
    return note.group(1) if note else None


def test_a_refused_form_names_the_files_to_choose_again(client):
    files = [SimpleUploadedFile("plan.pdf", b"%PDF-1.4 plan"), SimpleUploadedFile("notes.txt", b"notes")]
    response = client.post(URL, anonymous_report(message="", attachments=files))
    assert response.status_code == 400
    assert files_to_choose_again(response) == "plan.pdf, notes.txt"
    assert "hse__location" in response.content.decode()  # the rest of the form is still there


def test_a_refused_form_without_files_asks_for_none_again(client):
    response = client.post(URL, anonymous_report(message=""))
    assert response.status_code == 400
    assert files_to_choose_again(response) is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (images.encrypted_odt(), "notes.odt: This file is damaged and could not be read."),
        (images.odt_with_corrupt_mimetype(), "notes.odt: This file is damaged and could not be read."),
        (images.odt_with_unknown_compression(), "notes.odt: This kind of file is not accepted."),
        (images.zip_bomb(8 << 20), "notes.odt: This kind of file is not accepted."),
    ],
    ids=["encrypted", "corrupt", "unknown compression", "zip bomb"],
)
def test_a_document_that_cannot_be_unpacked_is_refused_at_its_field_and_the_text_kept(client, data, message):
    upload = SimpleUploadedFile("notes.odt", data)
    response = client.post(URL, anonymous_report(message="What I saw on Monday.", attachments=[upload]))
    assert response.status_code == 400
    assert attachment_errors(response).startswith(message)
    assert "What I saw on Monday." in response.content.decode()
    assert not Case.objects.exists()


@pytest.mark.parametrize("identity", ["anonymous", "identified"])
def test_an_image_whose_metadata_cannot_be_removed_is_refused_at_its_field_and_the_text_kept(
    client, identity
):
    """Its EXIF is damaged: this once failed when the case was saved, after the form had passed."""
    upload = SimpleUploadedFile("photo.webp", images.webp_with_damaged_exif())
    fields = {"identity": identity, "reporter_name": "Kari Nordmann", "reporter_email": "kari@example.com"}
    response = client.post(URL, anonymous_report(message="Seen at the gate.", attachments=[upload], **fields))
    assert response.status_code == 400
    assert attachment_errors(response) == "photo.webp: This image is damaged and could not be read."
    assert "Seen at the gate." in response.content.decode()
    assert not Case.objects.exists()


def test_an_image_of_too_many_pixels_is_refused_at_its_field_and_the_text_kept(client):
    upload = SimpleUploadedFile("scan.png", images.png_header(12000, 12000))  # 144 megapixels
    response = client.post(URL, anonymous_report(message="Seen at the gate.", attachments=[upload]))
    assert response.status_code == 400
    assert attachment_errors(response).startswith(
        "scan.png: This image is too large: the limit is 40 megapixels"
    )
    assert "Seen at the gate." in response.content.decode()
    assert not Case.objects.exists()


def test_an_anonymous_reporter_s_animation_is_stored_whole_without_metadata(client):
    upload = SimpleUploadedFile("leak.gif", images.animation("GIF", comment=b"made by Kari Nordmann"))
    response = client.post(URL, anonymous_report(attachments=[upload]))
    assert response.status_code == 200
    attachment = Attachment.objects.get()
    assert attachment.metadata_removed
    stored = attachment.file.read()
    assert b"Kari Nordmann" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.n_frames == 3
