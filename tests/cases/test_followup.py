import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from cases import services
from cases.models import CaseStatus, MessageAuthor
from tests import images
from tests.factories import StaffFactory, submit

pytestmark = pytest.mark.django_db

LOGIN = "/en/follow-up/"
CASE_PAGE = "/en/follow-up/case/"


def open_case(client, code, **extra):
    return client.post(LOGIN, {"receipt_code": code}, **extra)


def test_the_code_alone_opens_the_case_with_status_and_staff_replies(client):
    case, code = submit(message="Is my CV kept?")
    services.reply_as_staff(case=case, staff_user=StaffFactory(), message="We keep CVs for 360 days.")
    services.change_status(case=case, status=CaseStatus.WAITING_FOR_REPORTER)
    response = open_case(client, " ".join(code[i : i + 4] for i in range(0, 20, 4)))
    assert response.status_code == 302 and response["Location"] == CASE_PAGE
    assert code not in response["Location"]
    page = client.get(CASE_PAGE).content.decode()
    assert case.reference in page
    assert "Waiting for your answer" in page
    assert "We keep CVs for 360 days." in page
    assert "Is my CV kept?" in page


def test_a_wrong_code_gets_a_neutral_answer(client):
    submit()
    response = open_case(client, "0000 0000 0000 0000 0000")
    assert response.status_code == 400
    assert "We could not open a case with this code" in response.content.decode()
    assert client.get(CASE_PAGE)["Location"] == LOGIN


def test_a_brute_force_loop_is_stopped_after_five_wrong_codes(client):
    case, code = submit()
    statuses = [open_case(client, f"{n:020d}", REMOTE_ADDR="192.0.2.10").status_code for n in range(1, 9)]
    assert statuses == [400] * 5 + [429] * 3
    # While refused, even the right code does not open the case from that client...
    refused = open_case(client, code, REMOTE_ADDR="192.0.2.10")
    assert refused.status_code == 429
    assert "Too many wrong codes" in refused.content.decode()
    # ...but another client is not punished for it.
    assert open_case(Client(), code, REMOTE_ADDR="192.0.2.11").status_code == 302


def test_the_refusal_is_lifted_when_the_window_has_passed(client, settings, time_machine):
    settings.TRUSTCENTER_FOLLOWUP_WINDOW_SECONDS = 60
    time_machine.move_to("2026-03-02 10:00:10+00:00", tick=False)
    case, code = submit()
    for n in range(5):
        open_case(client, f"{n + 1:020d}")
    assert open_case(client, code).status_code == 429
    # A minute later the failures still fall within the last minute's span...
    time_machine.move_to("2026-03-02 10:01:05+00:00", tick=False)
    assert open_case(client, code).status_code == 429
    # ...two windows later they do not.
    time_machine.move_to("2026-03-02 10:02:01+00:00", tick=False)
    assert open_case(client, code).status_code == 302


def test_failures_on_both_sides_of_a_window_edge_still_count_together(client, settings, time_machine):
    settings.TRUSTCENTER_FOLLOWUP_WINDOW_SECONDS = 900
    case, code = submit()
    time_machine.move_to("2026-03-02 10:14:58+00:00", tick=False)
    for n in range(3):
        assert open_case(client, f"{n + 1:020d}").status_code == 400
    time_machine.move_to("2026-03-02 10:15:01+00:00", tick=False)
    statuses = [open_case(client, f"{n + 10:020d}").status_code for n in range(3)]
    assert statuses == [400, 400, 429]


def test_the_code_is_kept_nowhere_but_as_its_hash(client):
    case, code = submit()
    open_case(client, code)
    session = client.session
    assert session["followup_case_id"] == case.pk
    assert code not in str(dict(session))
    assert code not in case.receipt_hash


def test_the_reporter_adds_a_message_with_a_file(client):
    case, code = submit()
    open_case(client, code)
    response = client.post(
        CASE_PAGE,
        {
            "message": "Here is a photo.",
            "attachments": [SimpleUploadedFile("p.jpg", images.jpeg_with_metadata())],
        },
    )
    assert response.status_code == 302
    message = case.messages.get(body="Here is a photo.")
    assert message.author == MessageAuthor.REPORTER
    attachment = message.attachments.get()
    assert attachment.metadata_removed  # the case is anonymous
    assert "Here is a photo." in client.get(CASE_PAGE).content.decode()


def test_a_refused_file_keeps_the_message_typed(client):
    case, code = submit()
    open_case(client, code)
    response = client.post(
        CASE_PAGE,
        {"message": "Typed with care.", "attachments": [SimpleUploadedFile("x.pdf", images.WINDOWS_PROGRAM)]},
    )
    assert response.status_code == 400
    assert "Typed with care." in response.content.decode()
    assert case.messages.count() == 1


def test_files_are_served_only_to_the_session_of_their_case(client):
    case, code = submit(uploads=[])
    open_case(client, code)
    client.post(CASE_PAGE, {"message": "file", "attachments": [SimpleUploadedFile("notes.txt", b"my notes")]})
    attachment = case.attachments.get()
    url = f"/en/follow-up/case/files/{attachment.pk}/"
    download = client.get(url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"my notes"
    assert 'attachment; filename="notes.txt"' == download["Content-Disposition"]
    assert Client().get(url).status_code == 404
    _other_case, other_code = submit()
    stranger = Client()
    open_case(stranger, other_code)
    assert stranger.get(url).status_code == 404


def test_leaving_ends_the_session(client):
    case, code = submit()
    open_case(client, code)
    client.post("/en/follow-up/leave/")
    assert client.get(CASE_PAGE).status_code == 302


def test_follow_up_pages_are_not_cached(client):
    case, code = submit()
    open_case(client, code)
    assert "no-store" in client.get(CASE_PAGE)["Cache-Control"]
    assert "no-store" in client.get(LOGIN)["Cache-Control"]


@pytest.mark.parametrize("door", ["/en/report/receipt/", "/en/report/proof/"])
def test_the_receipt_page_forms_are_no_way_around_the_limit(client, door):
    case, code = submit()
    for n in range(5):
        client.post(door, {"receipt_code": f"{n + 1:020d}", "saved": "on"})
    refused = client.post(door, {"receipt_code": code, "saved": "on"})
    assert refused.status_code == 429
    assert open_case(client, code).status_code == 429
    assert "followup_case_id" not in client.session
