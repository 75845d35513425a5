"""The staff workspace (issue 9, points 3–5): the queue and the case page, as staff use them."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases import services, staff_views
from cases.models import Case, CaseEvent, CaseEventKind, CaseMessage, CaseStatus, CaseType, ClockKind
from tests.factories import CaseHandlerFactory, StaffFactory, submit, submit_subject_request
from tests.images import jpeg_with_metadata

pytestmark = pytest.mark.django_db

RECEIVED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


@pytest.fixture(autouse=True)
def password_login_is_enough(settings):
    # Two-factor login and the idle timeout have tests of their own
    # (tests/trustcenter/test_staff_login.py); here time travels by days between requests.
    settings.TRUSTCENTER_REQUIRE_2FA = False
    settings.TRUSTCENTER_STAFF_IDLE_SECONDS = 365 * 24 * 3600


@pytest.fixture
def privacy_handler(client):
    handler = CaseHandlerFactory(teams=["privacy"], first_name="Pia", last_name="Privacy")
    client.force_login(handler)
    return handler


def references(response) -> list[str]:
    """The references of the queue's rows, in their order."""
    return re.findall(r'<th scope="row"><a href="[^"]+">(TC-\d{4}-\d{5})</a>', response.content.decode())


def test_the_queue_lists_the_open_cases_of_the_teams_nearest_deadline_first(client, privacy_handler):
    with time_machine.travel(RECEIVED, tick=False):
        inquiry, _code = submit()  # 30 days
        breach, _code = submit(case_type=CaseType.PRIVACY_DEVIATION)  # 72 hours
        hse, _code = submit(case_type=CaseType.HSE)  # another team's
        closed, _code = submit(case_type=CaseType.COMPLAINT)
        services.change_status(case=closed, actor=privacy_handler, status="closed", outcome="answered")
    with time_machine.travel(RECEIVED + timedelta(hours=1), tick=False):
        response = client.get("/en/staff/")
    assert response.status_code == 200
    assert references(response) == [breach.reference, inquiry.reference]
    assert "1 case" not in response.content.decode() and "2 cases" in response.content.decode()


def test_breached_and_at_risk_clocks_are_marked_by_text_and_icon(client, privacy_handler):
    with time_machine.travel(RECEIVED, tick=False):
        breach, _code = submit(case_type=CaseType.PRIVACY_DEVIATION)
    with time_machine.travel(RECEIVED + timedelta(hours=60), tick=False):
        at_risk = client.get("/en/staff/").content.decode()
    with time_machine.travel(RECEIVED + timedelta(hours=73), tick=False):
        breached = client.get("/en/staff/").content.decode()
    assert "⚠" in at_risk and "At risk" in at_risk
    assert "✖" in breached and "Breached" in breached
    with time_machine.travel(RECEIVED + timedelta(hours=73), tick=False):
        only_breached = client.get("/en/staff/", {"clock": "breached"})
        only_open = client.get("/en/staff/", {"clock": "open"})
    assert references(only_breached) == [breach.reference]
    assert references(only_open) == []


def test_filters_by_type_status_team_and_assignee(client, privacy_handler):
    inquiry, _code = submit()
    complaint, _code = submit(case_type=CaseType.COMPLAINT)
    services.assign_case(case=complaint, actor=privacy_handler, assignee=privacy_handler)
    services.change_status(case=inquiry, actor=privacy_handler, status=CaseStatus.WAITING_FOR_REPORTER)
    assert references(client.get("/en/staff/", {"case_type": "complaint"})) == [complaint.reference]
    assert references(client.get("/en/staff/", {"status": "waiting_for_reporter"})) == [inquiry.reference]
    assert references(client.get("/en/staff/", {"assignee": "me"})) == [complaint.reference]
    assert references(client.get("/en/staff/", {"assignee": "none"})) == [inquiry.reference]
    assert references(client.get("/en/staff/", {"assignee": str(privacy_handler.pk)})) == [
        complaint.reference
    ]
    assert sorted(references(client.get("/en/staff/", {"team": "privacy"}))) == sorted(
        [inquiry.reference, complaint.reference]
    )
    assert references(client.get("/en/staff/", {"team": "hse"})) == []


def test_search_by_reference_and_by_words_in_the_report_and_its_messages(client, privacy_handler):
    pump, _code = submit(message="The pump in hall B leaks customer addresses")
    other, _code = submit(message="A question about cookies")
    services.add_reporter_message(case=other, client_key="someone", message="Also the newsletter", uploads=[])
    services.add_internal_note(case=pump, actor=privacy_handler, body="Vendor contract checked")
    assert references(client.get("/en/staff/", {"q": pump.reference})) == [pump.reference]
    assert references(client.get("/en/staff/", {"q": "pump"})) == [pump.reference]
    assert references(client.get("/en/staff/", {"q": "newsletter"})) == [other.reference]
    assert references(client.get("/en/staff/", {"q": "contract"})) == [pump.reference]
    assert references(client.get("/en/staff/", {"q": "nothing-like-this"})) == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
def test_full_text_search_uses_the_language_of_the_case(client, privacy_handler):
    # Norwegian stemming: "lekkasjer" (leaks) finds "lekkasje" (a leak) in a Norwegian report.
    norwegian, _code = submit(language="nb", message="Det er en lekkasje av kundedata")
    assert references(client.get("/en/staff/", {"q": "lekkasjer"})) == [norwegian.reference]


def test_unconfirmed_subject_requests_wait_behind_a_filter(client, privacy_handler):
    request, _code = submit_subject_request()
    inquiry, _code = submit()
    assert references(client.get("/en/staff/")) == [inquiry.reference]
    waiting = client.get("/en/staff/", {"waiting": "on"})
    assert references(waiting) == [request.reference]
    assert "Waiting for the requester to confirm" in waiting.content.decode()
    # Its answer clock runs from receipt all the same.
    assert request.clocks.get(kind=ClockKind.ANSWER).starts_at == request.received_at


def test_the_queue_s_query_count_does_not_grow_with_its_rows(client, privacy_handler):
    def queries_for(cases: int) -> int:
        Case.objects.all().delete()
        for number in range(cases):
            submit(case_type=CaseType.COMPLAINT if number % 2 else CaseType.GENERAL_INQUIRY)
        Case.objects.update(assignee=privacy_handler)
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/en/staff/", {"per_page": "100"})
        assert len(references(response)) == cases
        return len(queries)

    assert queries_for(10) == queries_for(100)


def test_pagination(client, privacy_handler):
    for _number in range(30):
        submit()
    first = client.get("/en/staff/", {"per_page": "25", "case_type": "general_inquiry"})
    second = client.get("/en/staff/", {"per_page": "25", "case_type": "general_inquiry", "page": "2"})
    assert len(references(first)) == 25 and len(references(second)) == 5
    assert not set(references(first)) & set(references(second))
    assert "case_type=general_inquiry" in first.content.decode()  # the next page keeps the filters


def test_past_the_count_cap_the_queue_says_more_than_and_still_pages(client, privacy_handler, monkeypatch):
    monkeypatch.setattr(staff_views.QueuePaginator, "cap", 4)
    for _number in range(7):
        submit()
    first = client.get("/en/staff/", {"per_page": "25"})
    assert "More than 4 cases: narrow them with the filters." in first.content.decode()
    assert len(references(first)) == 5  # the cap, and the one that shows it was passed
    assert "Page 1 of" not in first.content.decode()
    monkeypatch.setattr(staff_views.QueuePaginator, "cap", 7)
    exact = client.get("/en/staff/", {"per_page": "25"}).content.decode()
    assert "7 cases" in exact and "More than" not in exact


def test_the_case_page_labels_the_answers_with_the_questions_in_the_reader_s_language(
    client, privacy_handler
):
    case, _code = submit(
        case_type=CaseType.PRIVACY_DEVIATION, details={"data_involved": "Names", "ongoing": "yes"}
    )
    english = client.get(f"/en/staff/cases/{case.pk}/").content.decode()
    assert "What personal data is involved?" in english and "ongoing" not in english
    norwegian = client.get(f"/nb/staff/cases/{case.pk}/").content.decode()
    assert "Names" in norwegian and "What personal data is involved?" not in norwegian


def test_a_reply_reaches_the_reporter_and_an_internal_note_never_does(
    client, privacy_handler, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        case, code = submit(
            is_anonymous=False, reporter_name="Ola", reporter_email="ola@example.com", wants_notices=True
        )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/en/staff/cases/{case.pk}/reply/",
            {"reply-body": "We are looking into it.", "reply-attachments": [jpeg_upload()]},
        )
        client.post(f"/en/staff/cases/{case.pk}/note/", {"note-body": "Legal says wait."})
    assert [message.subject for message in mail.outbox] == ["There is news on your case in the Trust Center"]
    reporter = client.__class__()
    reporter.post("/en/follow-up/", {"receipt_code": code})
    followup = reporter.get("/en/follow-up/case/").content.decode()
    assert "We are looking into it." in followup and "Legal says wait." not in followup
    note = CaseMessage.objects.get(is_internal=True)
    assert note.staff_user == privacy_handler


def jpeg_upload():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("photo.jpg", jpeg_with_metadata(), content_type="image/jpeg")


def test_the_files_of_an_internal_note_are_not_the_reporter_s(client, privacy_handler):
    case, code = submit()
    services.add_internal_note(
        case=case,
        actor=privacy_handler,
        body="Screenshot of the log",
        uploads=_checked([jpeg_upload()]),
    )
    attachment = case.attachments.get()
    assert client.get(f"/en/staff/cases/{case.pk}/files/{attachment.pk}/").status_code == 200
    reporter = client.__class__()
    reporter.post("/en/follow-up/", {"receipt_code": code})
    assert reporter.get(f"/en/follow-up/case/files/{attachment.pk}/").status_code == 404


def _checked(files):
    from cases.uploads import check_files

    return check_files(files)


def test_each_action_is_one_line_in_the_history_with_who(client, privacy_handler):
    case, _code = submit()
    colleague = CaseHandlerFactory(teams=["privacy"])
    client.post(f"/en/staff/cases/{case.pk}/assign/", {"assign-assignee": colleague.pk})
    client.post(
        f"/en/staff/cases/{case.pk}/status/",
        {"status-status": "in_progress", "status-expected_status": "received"},
    )
    client.post(f"/en/staff/cases/{case.pk}/type/", {"reclassify-case_type": "complaint"})
    client.post(
        f"/en/staff/cases/{case.pk}/status/",
        {"status-status": "closed", "status-outcome": "resolved", "status-expected_status": "in_progress"},
    )
    staff_lines = list(
        CaseEvent.objects.filter(case=case, actor=privacy_handler)
        .exclude(kind__in=[CaseEventKind.CLOCK_STARTED, CaseEventKind.CLOCK_DROPPED])
        .values_list("kind", flat=True)
    )
    assert staff_lines == [
        CaseEventKind.ASSIGNED,
        CaseEventKind.STATUS_CHANGED,
        CaseEventKind.RECLASSIFIED,
        CaseEventKind.STATUS_CHANGED,
    ]
    case.refresh_from_db()
    assert (case.assignee, case.case_type, case.status, case.outcome) == (
        colleague,
        "complaint",
        "closed",
        "resolved",
    )
    page = client.get(f"/en/staff/cases/{case.pk}/")
    # Reclassified to a type of the same team: still visible, with its history.
    assert page.status_code == 200
    assert "Closed (Resolved: action taken)" in page.content.decode()


def test_a_form_that_fails_comes_back_with_what_was_typed(client, privacy_handler):
    case, _code = submit()
    response = client.post(
        f"/en/staff/cases/{case.pk}/status/",
        {"status-status": "closed", "status-outcome": "", "status-expected_status": "received"},
    )
    assert response.status_code == 400
    assert "Choose the outcome the case is closed with." in response.content.decode()
    long_reply = "x" * 20001
    response = client.post(f"/en/staff/cases/{case.pk}/reply/", {"reply-body": "Typed words " + long_reply})
    assert response.status_code == 400 and "Typed words" in response.content.decode()
    case.refresh_from_db()
    assert case.status == CaseStatus.RECEIVED


def test_a_stale_status_change_is_refused_and_said(client, privacy_handler):
    case, _code = submit()
    services.change_status(case=case, actor=privacy_handler, status="in_progress")
    response = client.post(
        f"/en/staff/cases/{case.pk}/status/",
        {"status-status": "waiting_for_reporter", "status-expected_status": "received"},
    )
    assert response.status_code == 400 and "at the same moment" in response.content.decode()


def test_only_the_team_lead_excludes_a_handler(client, privacy_handler):
    case, _code = submit()
    colleague = CaseHandlerFactory(teams=["privacy"])
    response = client.post(
        f"/en/staff/cases/{case.pk}/exclusions/",
        {"exclude-handler": colleague.pk, "exclude-reason": "Brother"},
    )
    assert response.status_code == 400 and not case.exclusions.exists()
    lead = CaseHandlerFactory(teams=[])
    services.add_to_teams(user=lead, team_slugs=["privacy"], is_lead=True)
    client.force_login(lead)
    assert "Exclude a handler" in client.get(f"/en/staff/cases/{case.pk}/").content.decode()
    response = client.post(
        f"/en/staff/cases/{case.pk}/exclusions/",
        {"exclude-handler": colleague.pk, "exclude-reason": "Brother"},
    )
    assert response.status_code == 302
    client.force_login(colleague)
    assert client.get(f"/en/staff/cases/{case.pk}/").status_code == 403


def test_an_extension_is_offered_once_within_the_first_period(
    client, privacy_handler, django_capture_on_commit_callbacks
):
    request, _code = submit_subject_request()
    assert "Extend the deadline" in client.get(f"/en/staff/cases/{request.pk}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/en/staff/cases/{request.pk}/extension/", {"extend-reason": "Three systems"})
    assert response.status_code == 302
    assert "Extend the deadline" not in client.get(f"/en/staff/cases/{request.pk}/").content.decode()
    response = client.post(f"/en/staff/cases/{request.pk}/extension/", {"extend-reason": "Again"})
    assert response.status_code == 400 and "only once" in response.content.decode()


def test_the_doors_of_the_workspace(client):
    case, _code = submit(case_type=CaseType.WHISTLEBLOWING)
    pages = [f"/en/staff/cases/{case.pk}/", "/en/staff/"]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(StaffFactory())  # staff without rights: an empty queue, no case
    assert case.reference not in client.get("/en/staff/").content.decode()
    assert client.get(pages[0]).status_code == 403
    client.force_login(CaseHandlerFactory(teams=["privacy"]))
    assert references(client.get("/en/staff/", {"q": case.reference})) == []
    assert client.get(pages[0]).status_code == 403
    response = client.post(f"/en/staff/cases/{case.pk}/reply/", {"reply-body": "Hello"})
    assert response.status_code == 403 and not CaseMessage.objects.filter(body="Hello").exists()
    client.force_login(CaseHandlerFactory(teams=["whistleblowing"]))
    assert client.get(pages[0]).status_code == 200


def test_every_time_is_shown_in_the_controller_s_time_zone(client, privacy_handler):
    with time_machine.travel(datetime(2026, 7, 1, 21, 30, tzinfo=UTC), tick=False):
        case, _code = submit()
    page = client.get(f"/en/staff/cases/{case.pk}/").content.decode()
    # 21:30 UTC is 23:30 in Oslo in summer.
    assert "1 Jul 2026 23:30" in page and "21:30" not in page
