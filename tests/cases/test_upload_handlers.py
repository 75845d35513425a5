import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cases.models import Case
from cases.upload_handlers import SizeLimitedUploadHandler
from tests.cases.test_report import URL, anonymous_report

CHUNK = 100


@pytest.fixture
def limits(settings):
    settings.TRUSTCENTER_MAX_FILE_BYTES = 1000
    settings.TRUSTCENTER_MAX_SUBMISSION_BYTES = 1500
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # every upload goes through the disk handler


def stream(handler, size: int):
    """One file through the handler as Django's multipart parser feeds it."""
    handler.new_file("attachments", f"file-{size}.txt", "text/plain", size)
    for start in range(0, size, CHUNK):
        handler.receive_data_chunk(b"a" * min(CHUNK, size - start), start)
    uploaded = handler.file_complete(size)
    return uploaded, os.path.getsize(uploaded.temporary_file_path())


def test_it_stops_writing_a_file_past_the_one_file_limit(limits):
    uploaded, written = stream(SizeLimitedUploadHandler(), 5000)
    assert uploaded.size == 5000  # so the form names it as too large
    assert written <= 1000


def test_it_stops_writing_once_the_files_together_pass_the_limit(limits):
    handler = SizeLimitedUploadHandler()
    first, first_written = stream(handler, 900)
    second, second_written = stream(handler, 900)
    assert first_written == 900
    assert second.size == 900 and second_written <= 600


def test_a_file_over_its_own_limit_does_not_count_against_the_others(limits):
    """Like the form, which refuses such a file by itself and leaves it out of the total."""
    handler = SizeLimitedUploadHandler()
    stream(handler, 1200)
    _second, second_written = stream(handler, 900)
    assert second_written == 900


@pytest.mark.django_db
def test_the_form_refuses_what_the_handler_left_out_and_keeps_the_text(client, limits):
    big = SimpleUploadedFile("big.txt", b"a" * 5000)
    response = client.post(URL, anonymous_report(message="Kept in full.", attachments=[big]))
    page = response.content.decode()
    assert response.status_code == 400
    assert "big.txt is too large" in page
    assert "Kept in full." in page
    two = [SimpleUploadedFile(f"part{n}.txt", b"a" * 900) for n in range(2)]
    response = client.post(URL, anonymous_report(attachments=two))
    assert "Together the files are too large" in response.content.decode()
    assert not Case.objects.exists()
