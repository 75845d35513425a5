import re

import pytest

from cases.models import CaseMessage, CaseStatus, CaseType, MessageAuthor
from cases.services import add_reporter_message
from cases.uploads import Upload, identify_upload
from tests.factories import StaffFactory, in_teams, submit, submit_subject_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(in_teams(StaffFactory(is_superuser=True), ["privacy", "whistleblowing"]))
    return client


def email_states(page: str) -> dict[str, str]:
    """The e-mail column of each row of the case list, by reference."""
    rows = re.findall(r'>(TC-\d{4}-\d{5})</a></th>.*?<td class="field-email_state">([^<]*)</td>', page, re.S)
    return dict(rows)


def test_staff_see_every_case_with_its_reference_and_email_state(staff_client):
    unconfirmed, _ = submit_subject_request()
    confirmed, _ = submit_subject_request()
    confirmed.email_confirmed_at = confirmed.received_at
    confirmed.save()
    whistleblowing, _ = submit(case_type=CaseType.WHISTLEBLOWING)
    page = staff_client.get("/admin/cases/case/").content.decode()
    assert email_states(page) == {
        unconfirmed.reference: "unconfirmed",
        confirmed.reference: "confirmed",
        whistleblowing.reference: "-",
    }
    # Staff can list the requests still waiting for their requester.
    waiting = staff_client.get("/admin/cases/case/?email=unconfirmed").content.decode()
    assert email_states(waiting) == {unconfirmed.reference: "unconfirmed"}
    assert email_states(staff_client.get("/admin/cases/case/?email=confirmed").content.decode()) == {
        confirmed.reference: "confirmed"
    }


def test_content_is_read_only_and_status_and_reply_are_editable(staff_client):
    case, _ = submit(message="Original words")
    url = f"/admin/cases/case/{case.pk}/change/"
    page = staff_client.get(url).content.decode()
    assert 'name="status"' in page and 'name="reply"' in page
    assert 'name="reporter_email"' not in page and 'name="details"' not in page
    first_message = case.messages.get()
    response = staff_client.post(
        url,
        {
            "status": CaseStatus.IN_PROGRESS,
            "reply": "We are on it.",
            "reporter_email": "x@y.z",
            "messages-TOTAL_FORMS": "1",
            "messages-INITIAL_FORMS": "1",
            "messages-MIN_NUM_FORMS": "0",
            "messages-MAX_NUM_FORMS": "1000",
            "messages-0-id": str(first_message.pk),
            "messages-0-case": str(case.pk),
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
            "events-MIN_NUM_FORMS": "0",
            "events-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_PROGRESS
    assert case.reporter_email == ""
    assert case.messages.filter(author=MessageAuthor.STAFF, body="We are on it.").exists()
    assert case.messages.get(author=MessageAuthor.REPORTER).body == "Original words"


def test_staff_read_attachments_through_the_admin_only(staff_client):
    case, _ = submit()
    add_reporter_message(
        case=case,
        client_key="reporter",
        message="file",
        uploads=[Upload(name="n.txt", data=b"notes", kind=identify_upload(b"notes"))],
    )
    attachment = case.attachments.get()
    url = f"/admin/cases/case/{case.pk}/attachments/{attachment.pk}/"
    assert b"".join(staff_client.get(url).streaming_content) == b"notes"
    staff_client.logout()
    assert staff_client.get(url).status_code == 302  # to the login page


def test_staff_cannot_add_or_delete_cases(staff_client):
    case, _ = submit()
    assert staff_client.get("/admin/cases/case/add/").status_code == 403
    assert staff_client.get(f"/admin/cases/case/{case.pk}/delete/").status_code == 403
    assert CaseMessage.objects.count() == 1


def test_the_outbox_admin_shows_no_message_body(staff_client, django_capture_on_commit_callbacks):
    """A confirmation e-mail's code would let staff confirm an address for the requester."""
    from trustcenter.models import OutboxMessage

    with django_capture_on_commit_callbacks(execute=False):
        submit_subject_request()
    message = OutboxMessage.objects.get()
    code = re.search(r"^(\d{6})$", message.body, re.MULTILINE).group(1)
    page = staff_client.get(f"/admin/trustcenter/outboxmessage/{message.pk}/change/").content.decode()
    assert message.subject in page
    assert code not in page and "/confirm/" not in page
