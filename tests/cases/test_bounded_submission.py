"""The work one submission can cause is bounded before any image is decoded, and refused or
invalid submissions count against the client's limit."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cases.models import Case
from tests import images
from tests.cases.test_report import URL, anonymous_report, attachment_errors, files_to_choose_again

pytestmark = pytest.mark.django_db


def pictures(data: bytes, count: int) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(f"picture{number}.png", data, "image/png") for number in range(count)]


def test_the_45_large_pictures_of_an_invalid_report_are_refused_at_their_field_undecoded(
    client,
    decodes,
    huge_png,
):
    response = client.post(URL, anonymous_report(case_type="", attachments=pictures(huge_png, 45)))
    assert response.status_code == 400
    assert attachment_errors(response).startswith("Too many files (45): at most 10 files")
    assert decodes == {"load": 0, "strip": 0}
    assert "A pallet rack leans over the walkway." in response.content.decode()  # nothing typed is lost


def test_pictures_over_the_budget_for_one_message_are_refused_undecoded(client, decodes, huge_png):
    response = client.post(URL, anonymous_report(attachments=pictures(huge_png, 4)))  # 159 megapixels
    assert response.status_code == 400
    assert attachment_errors(response).startswith("Together the pictures are too large: 159 megapixels")
    assert decodes == {"load": 0, "strip": 0}
    assert not Case.objects.exists()


def test_pictures_are_decoded_only_once_the_rest_of_the_form_is_valid(client, decodes):
    photo = images.png_of(300, 300)
    refused = client.post(URL, anonymous_report(message="", attachments=pictures(photo, 2)))
    assert refused.status_code == 400
    assert decodes == {"load": 0, "strip": 0}
    assert files_to_choose_again(refused) == "picture0.png, picture1.png"
    sent = client.post(URL, anonymous_report(attachments=pictures(photo, 2)))
    assert sent.status_code == 200
    assert decodes["strip"] == 2  # decoded once each, by the form; the service reuses the result
    assert Case.objects.get().attachments.count() == 2


def test_invalid_and_refused_submissions_count_against_the_client_s_limit(
    client, settings, decodes, huge_png
):
    settings.TRUSTCENTER_SUBMISSIONS_PER_HOUR = 3
    for _ in range(3):
        assert (
            client.post(URL, anonymous_report(case_type="", attachments=pictures(huge_png, 45))).status_code
            == 400
        )
    # Past the limit the files are not even looked at, and what was typed comes back.
    refused = client.post(URL, anonymous_report(attachments=pictures(images.png_of(10, 10), 1)))
    assert refused.status_code == 429
    page = refused.content.decode()
    assert "Too many messages have been sent from your connection" in page
    assert "A pallet rack leans over the walkway." in page
    assert decodes == {"load": 0, "strip": 0}
    assert not Case.objects.exists()
