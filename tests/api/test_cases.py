"""The cases under /api/v1/: each endpoint as a member of the case's team, of another team, as
staff without rights and as no one; each calls the workspace's services and selectors."""

import json

import pytest
from auditlog.models import LogEntry
from django.core import mail
from rest_framework.test import APIClient

from cases import selectors, services
from cases.models import BreachDecision, Case, CaseMessage, CaseStatus, CaseType, ClockKind
from cases.uploads import Upload, identify_upload
from tests.api.conftest import client_with_token, token_for
from tests.factories import CaseHandlerFactory, StaffFactory, submit, submit_subject_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def handler():
    return CaseHandlerFactory(teams=["privacy"], first_name="Pia", last_name="Privacy")


@pytest.fixture
def api(handler) -> APIClient:
    return client_with_token(token_for(handler))


def post(client, url, data):
    return client.post(url, data, format="json")


def test_the_queue_lists_the_team_s_cases_with_the_workspace_s_filters(api):
    inquiry, _code = submit(message="How long do you keep CVs?")
    request, _code = submit(case_type=CaseType.COMPLAINT)
    hidden, _code = submit(case_type=CaseType.WHISTLEBLOWING)
    response = api.get("/api/v1/cases/")
    assert response.status_code == 200
    references = [row["reference"] for row in response.json()["results"]]
    assert set(references) == {inquiry.reference, request.reference}
    assert hidden.reference not in response.content.decode()
    assert response.json()["results"][0]["team"] == "Privacy"

    only_requests = api.get("/api/v1/cases/", {"case_type": CaseType.COMPLAINT}).json()
    assert [row["reference"] for row in only_requests["results"]] == [request.reference]
    searched = api.get("/api/v1/cases/", {"q": inquiry.reference}).json()
    assert [row["reference"] for row in searched["results"]] == [inquiry.reference]
    assert api.get("/api/v1/cases/", {"q": hidden.reference}).json()["results"] == []
    assert api.get("/api/v1/cases/", {"team": "privacy", "assignee": "none"}).json()["count"] == 2
    assert api.get("/api/v1/cases/", {"status": CaseStatus.CLOSED}).json()["count"] == 0


def test_the_queue_refuses_a_filter_it_does_not_offer_by_field(api):
    response = api.get("/api/v1/cases/", {"per_page": "7", "clock": "late", "team": "whistleblowing"})
    assert response.status_code == 400
    assert set(response.json()) == {"per_page", "clock", "team"}


def test_the_queue_pages_as_the_workspace_does(api):
    for _ in range(3):
        submit()
    page = api.get("/api/v1/cases/", {"per_page": 25}).json()
    assert page["count"] == 3 and len(page["results"]) == 3 and page["next"] is None
    assert api.get("/api/v1/cases/", {"page": 9}).status_code == 404


def test_a_case_and_its_conversation_notes_included(api, handler):
    case, _code = submit(message="Report words")
    services.add_internal_note(case=case, actor=handler, body="Legal says wait.")
    response = api.get(f"/api/v1/cases/{case.pk}/")
    assert response.status_code == 200
    assert response.json()["reference"] == case.reference
    assert [clock["kind"] for clock in response.json()["clocks"]] == [ClockKind.ANSWER]
    assert LogEntry.objects.filter(object_pk=str(case.pk), actor=handler).exists()  # the view, audited
    messages = api.get(f"/api/v1/cases/{case.pk}/messages/").json()
    assert [(message["body"], message["is_internal"]) for message in messages] == [
        ("Report words", False),
        ("Legal says wait.", True),
    ]


def test_a_reply_reaches_the_reporter_with_the_notice_and_a_note_never_does(
    api, handler, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        case, code = submit(
            is_anonymous=False, reporter_name="Ola", reporter_email="ola@example.com", wants_notices=True
        )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        reply = post(api, f"/api/v1/cases/{case.pk}/reply/", {"body": "We are looking into it."})
        note = post(api, f"/api/v1/cases/{case.pk}/note/", {"body": "Legal says wait."})
    assert reply.status_code == 201 and reply.json()["is_internal"] is False
    assert note.status_code == 201 and note.json()["is_internal"] is True
    assert [message.subject for message in mail.outbox] == ["There is news on your case in the Trust Center"]
    client.post("/en/follow-up/", {"receipt_code": code})
    followup = client.get("/en/follow-up/case/").content.decode()
    assert "We are looking into it." in followup and "Legal says wait." not in followup
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_PROGRESS  # the first reply took it from received
    assert CaseMessage.objects.get(body="We are looking into it.").staff_user == handler


def test_status_changes_by_the_service_s_rules(api):
    case, _code = submit()
    refused = post(api, f"/api/v1/cases/{case.pk}/status/", {"status": CaseStatus.CLOSED})
    assert refused.status_code == 400 and "outcome" in refused.json()
    stale = post(
        api,
        f"/api/v1/cases/{case.pk}/status/",
        {"status": CaseStatus.IN_PROGRESS, "expected_status": CaseStatus.WAITING_FOR_REPORTER},
    )
    assert stale.status_code == 409
    closed = post(
        api,
        f"/api/v1/cases/{case.pk}/status/",
        {"status": CaseStatus.CLOSED, "outcome": "answered", "expected_status": CaseStatus.RECEIVED},
    )
    assert closed.status_code == 204
    case.refresh_from_db()
    assert (case.status, case.outcome) == (CaseStatus.CLOSED, "answered")


def test_assignment_to_a_handler_of_the_team_only(api, handler):
    case, _code = submit()
    outsider = CaseHandlerFactory(teams=["security"])
    refused = post(api, f"/api/v1/cases/{case.pk}/assign/", {"assignee": outsider.pk})
    assert refused.status_code == 400 and "assignee" in refused.json()
    assert post(api, f"/api/v1/cases/{case.pk}/assign/", {"assignee": handler.pk}).status_code == 204
    assert Case.objects.get(pk=case.pk).assignee == handler
    assert post(api, f"/api/v1/cases/{case.pk}/assign/", {"assignee": None}).status_code == 204
    assert Case.objects.get(pk=case.pk).assignee is None


def test_reclassification(api):
    case, _code = submit()
    refused = post(api, f"/api/v1/cases/{case.pk}/type/", {"case_type": "gossip"})
    assert refused.status_code == 400 and "case_type" in refused.json()
    assert post(api, f"/api/v1/cases/{case.pk}/type/", {"case_type": CaseType.COMPLAINT}).status_code == 204
    assert Case.objects.get(pk=case.pk).case_type == CaseType.COMPLAINT


def test_an_extension_once(api):
    case, _code = submit_subject_request()
    url = f"/api/v1/cases/{case.pk}/extension/"
    assert post(api, url, {"reason": " "}).status_code == 400
    extended = post(api, url, {"reason": "Ten years of records."})
    assert extended.status_code == 200 and extended.json()["extension_reason"] == "Ten years of records."
    again = post(api, url, {"reason": "Again"})
    assert again.status_code == 400 and "only once" in json.dumps(again.json())


def test_a_breach_decision(api):
    case, _code = submit(case_type=CaseType.PRIVACY_DEVIATION)
    url = f"/api/v1/cases/{case.pk}/breach/decision/"
    refused = post(api, url, {"decision": BreachDecision.NOT_NOTIFY})
    assert refused.status_code == 400 and "reasons_not_to_notify" in refused.json()
    decided = post(
        api, url, {"decision": BreachDecision.NOT_NOTIFY, "reasons_not_to_notify": "Encrypted laptop."}
    )
    assert decided.status_code == 200 and decided.json()["decision"] == BreachDecision.NOT_NOTIFY
    register = api.get("/api/v1/breaches/", {"decision": "not_notify"}).json()
    assert [row["reference"] for row in register["results"]] == [case.reference]
    assert api.get("/api/v1/breaches/", {"decision": "pending"}).json()["count"] == 0
    assert api.get("/api/v1/breaches/", {"year": "1"}).status_code == 400


def test_a_file_is_downloaded_and_the_download_audited(api, handler):
    data = b"file content"
    case, _code = submit(uploads=[Upload(name="notes.txt", data=data, kind=identify_upload(data))])
    attachment = case.attachments.get()
    response = api.get(f"/api/v1/cases/{case.pk}/attachments/{attachment.pk}/", HTTP_ACCEPT="*/*")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content) == data
    assert LogEntry.objects.filter(object_repr=f"{case}, attachment {attachment.pk}", actor=handler).exists()
    assert api.get(f"/api/v1/cases/{case.pk}/attachments/999999/").status_code == 404


def test_the_dashboard_s_figures(api):
    submit_subject_request()
    response = api.get("/api/v1/dashboard/", {"period": "year"})
    assert response.status_code == 200
    figures = response.json()
    requests = next(row for row in figures["by_type"] if row["case_type"] == CaseType.SUBJECT_REQUEST)
    assert requests["received"] == 1 and figures["rights"]["access"] == 1
    refused = api.get(
        "/api/v1/dashboard/", {"period": "custom", "date_from": "2020-12-31", "date_to": "2020-01-01"}
    )
    assert refused.status_code == 400 and "date_to" in refused.json()


ENDPOINTS = [
    ("get", "/api/v1/cases/{case}/", None),
    ("get", "/api/v1/cases/{case}/messages/", None),
    ("get", "/api/v1/cases/{case}/attachments/{attachment}/", None),
    ("post", "/api/v1/cases/{case}/reply/", {"body": "Hello"}),
    ("post", "/api/v1/cases/{case}/note/", {"body": "Hello"}),
    ("post", "/api/v1/cases/{case}/status/", {"status": "closed", "outcome": "resolved"}),
    ("post", "/api/v1/cases/{case}/assign/", {"assignee": None}),
    ("post", "/api/v1/cases/{case}/type/", {"case_type": "hse"}),
    ("post", "/api/v1/cases/{case}/extension/", {"reason": "More time"}),
    ("post", "/api/v1/cases/{case}/breach/decision/", {"decision": "notify"}),
    ("delete", "/api/v1/cases/{case}/", None),
]


def whistleblowing_case() -> Case:
    data = b"secret file"
    case, _code = submit(
        case_type=CaseType.WHISTLEBLOWING,
        message="Secret words",
        uploads=[Upload(name="secret.txt", data=data, kind=identify_upload(data))],
    )
    return case


@pytest.mark.parametrize(
    ("who", "status"),
    [("member of another team", 403), ("staff without rights", 403), ("no one", 403), ("a bad token", 401)],
)
def test_a_case_of_another_team_is_refused_at_every_endpoint_and_named_nowhere(who, status):
    case = whistleblowing_case()
    before = (case.status, case.case_type, case.messages.count())
    client = {
        "member of another team": lambda: client_with_token(token_for(CaseHandlerFactory(teams=["privacy"]))),
        "staff without rights": lambda: client_with_token(token_for(StaffFactory())),
        "no one": APIClient,
        "a bad token": lambda: client_with_token("0" * 64),
    }[who]()
    for method, pattern, data in ENDPOINTS:
        url = pattern.format(case=case.pk, attachment=case.attachments.get().pk)
        response = getattr(client, method)(url, data, format="json")
        body = response.content
        assert response.status_code == status, f"{who}: {method} {url} gave {response.status_code}"
        assert case.reference.encode() not in body and b"Secret" not in body
    for url in ("/api/v1/cases/", "/api/v1/breaches/", "/api/v1/dashboard/"):
        response = client.get(url)
        assert response.status_code in (200, 401, 403)
        assert case.reference.encode() not in response.content
    case.refresh_from_db()
    assert (case.status, case.case_type, case.messages.count()) == before


def test_staff_who_may_only_view_cases_read_but_do_not_change(api):
    from django.contrib.auth.models import Permission

    reader = StaffFactory()
    reader.user_permissions.add(Permission.objects.get(codename="view_case", content_type__app_label="cases"))
    services.add_to_teams(user=reader, team_slugs=["privacy"])
    case, _code = submit()
    client = client_with_token(token_for(reader))
    assert client.get(f"/api/v1/cases/{case.pk}/").status_code == 200
    assert post(client, f"/api/v1/cases/{case.pk}/note/", {"body": "Hello"}).status_code == 403
    assert not selectors.staff_case_messages(case=case).filter(body="Hello").exists()


def test_field_errors_in_the_requester_s_language(api):
    case, _code = submit()
    english = api.post(f"/api/v1/cases/{case.pk}/reply/", {}, format="json")
    assert english.status_code == 400 and english.json() == {"body": ["This field is required."]}
    norwegian = api.post(f"/api/v1/cases/{case.pk}/reply/", {}, format="json", HTTP_ACCEPT_LANGUAGE="nb")
    assert norwegian.status_code == 400 and norwegian.json() == {"body": ["Dette feltet er påkrevd."]}
    # And the service's own words, in Norwegian too.
    closed = post_nb(api, f"/api/v1/cases/{case.pk}/status/", {"status": "closed"})
    assert closed.status_code == 400 and closed.json()["outcome"] != [
        "Choose the outcome the case is closed with."
    ]
    swedish = api.get("/api/v1/cases/", {"per_page": "7"}, HTTP_ACCEPT_LANGUAGE="sv")
    assert swedish.status_code == 400 and "per_page" in swedish.json()


def post_nb(client, url, data):
    return client.post(url, data, format="json", HTTP_ACCEPT_LANGUAGE="nb")


def test_nothing_but_json_is_taken_and_bad_json_is_a_400(api):
    case, _code = submit()
    url = f"/api/v1/cases/{case.pk}/note/"
    assert api.post(url, "{not json", content_type="application/json").status_code == 400
    assert api.post(url, {"body": "x"}).status_code == 415  # a form post
    assert api.post(url, {"body": ["a", "list"]}, format="json").status_code == 400
