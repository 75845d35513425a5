"""Hostile input to every endpoint of /api/v1/ (issue 10, point 5): wrong JSON types, unknown
fields, other content types, huge bodies, ids that do not exist, absurd query parameters, dates
out of range and credentials that are not even text. Each is refused with a 4xx; nothing is a 500."""

import json

import pytest
from rest_framework.test import APIClient

from cases.models import CaseMessage, CaseType
from cases.uploads import Upload, identify_upload
from tests.api.conftest import client_with_token, token_for
from tests.factories import CaseHandlerFactory, submit

pytestmark = pytest.mark.django_db

ACTIONS = ["reply", "note", "status", "assign", "type", "extension", "breach/decision"]
BIGGEST = 2**63  # one past PostgreSQL's bigint


@pytest.fixture
def handler():
    return CaseHandlerFactory(teams=["privacy"])


@pytest.fixture
def api(handler) -> APIClient:
    client = client_with_token(token_for(handler))
    client.raise_request_exception = False  # a 500 is then an answer this test sees, not an error
    return client


@pytest.fixture
def case():
    data = b"file content"
    case, _code = submit(
        case_type=CaseType.PRIVACY_DEVIATION,
        uploads=[Upload(name="notes.txt", data=data, kind=identify_upload(data))],
    )
    return case


def refused(response, *codes: int) -> bool:
    return response.status_code in (codes or (400,))


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(
    "body",
    [
        [],
        [1, 2],
        "text",
        42,
        None,
        True,
        {"body": 5, "status": 5, "assignee": "x", "case_type": [], "reason": {}, "decision": 1},
        {"body": None, "status": None, "case_type": None, "reason": None, "decision": None},
        {"body": {"a": 1}, "status": {"a": 1}, "assignee": {"a": 1}, "reason": [], "decision": []},
        {"assignee": 1.5},
        {"assignee": True},
        {"assignee": "1e999"},
        {"body": "\ud800", "reason": "\ud800", "reasons_not_to_notify": "\ud800", "decision": "\ud800"},
        {"body": "nul \x00 byte", "reason": "nul \x00", "decision": "notify\x00"},
        {"is_answer": "maybe", "is_feedback": [], "body": ""},
        {"status": "closed", "outcome": "sort of"},
        {"status": "closed", "outcome": "answered", "expected_status": "nowhere"},
        {"decision": "pending"},
    ],
    ids=lambda value: json.dumps(value)[:40],
)
def test_wrong_json_is_a_400_by_field_at_every_action(api, case, action, body):
    # json.dumps escapes what the test client's own encoder cannot (a lone surrogate: \\ud800).
    response = api.post(
        f"/api/v1/cases/{case.pk}/{action}/", json.dumps(body), content_type="application/json"
    )
    assert refused(response), (response.status_code, response.content[:300])
    assert isinstance(response.json(), dict)
    assert not CaseMessage.objects.filter(case=case, staff_user__isnull=False).exists()


@pytest.mark.parametrize("action", ACTIONS)
def test_unknown_fields_are_ignored_and_the_known_ones_checked(api, case, action):
    response = api.post(
        f"/api/v1/cases/{case.pk}/{action}/", {"owner": "me", "is_admin": True, "id": 1}, format="json"
    )
    assert refused(response)
    assert "owner" not in response.json() and "is_admin" not in response.json()


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(
    ("content", "content_type", "codes"),
    [
        ("body=x", "application/x-www-form-urlencoded", (415,)),
        ("body=x", "multipart/form-data; boundary=x", (415,)),
        ("<body>x</body>", "application/xml", (415,)),
        ("body", "text/plain", (415,)),
        ("", "application/json", (400,)),
        ("{", "application/json", (400,)),
        ('{"body": NaN}', "application/json", (400,)),
        ('{"body": "x"', "application/json", (400,)),
        (b"\xff\xfe\x00garbage", "application/json", (400,)),
        ('{"body": "x"}', "application/json; charset=no-such-charset", (201, 204, 400)),
        ('{"body": "x"}', "application/json; charset=utf-16", (400,)),
        ('{"body": "x"}', "", (415,)),
        ('{"a":' * 100_000, "application/json", (400,)),
    ],
    ids=lambda value: str(value)[:30],
)
def test_other_content_types_and_broken_bodies_are_refused(api, case, action, content, content_type, codes):
    response = api.generic("POST", f"/api/v1/cases/{case.pk}/{action}/", content, content_type=content_type)
    assert refused(response, *codes), (response.status_code, response.content[:300])


@pytest.mark.parametrize("action", ["reply", "note", "extension"])
def test_a_huge_body_is_refused(api, case, action):
    huge = "x" * (3 * 1024 * 1024)
    response = api.post(f"/api/v1/cases/{case.pk}/{action}/", {"body": huge, "reason": huge}, format="json")
    assert refused(response, 400, 413), (response.status_code, response.content[:300])
    assert not CaseMessage.objects.filter(case=case, staff_user__isnull=False).exists()


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/cases/{missing}/",
        "/api/v1/cases/{missing}/messages/",
        "/api/v1/cases/{biggest}/",
        "/api/v1/cases/{biggest}/messages/",
        "/api/v1/cases/{case}/attachments/{missing}/",
        "/api/v1/cases/{case}/attachments/{biggest}/",
        "/api/v1/cases/{biggest}/attachments/{biggest}/",
        "/api/v1/cases/0/",
    ],
)
def test_ids_that_do_not_exist(api, case, url):
    url = url.format(case=case.pk, missing=case.pk + 1000, biggest=BIGGEST)
    response = api.get(url, HTTP_ACCEPT="*/*")
    assert refused(response, 403, 404), (response.status_code, response.content[:300])


@pytest.mark.parametrize("action", ACTIONS)
def test_an_action_on_a_case_that_does_not_exist(api, action):
    response = api.post(f"/api/v1/cases/{BIGGEST}/{action}/", {"body": "x"}, format="json")
    assert refused(response, 403, 404)


@pytest.mark.parametrize("assignee", [0, -1, 999_999, BIGGEST, -BIGGEST, 10**40])
def test_an_assignee_that_does_not_exist(api, case, assignee):
    response = api.post(f"/api/v1/cases/{case.pk}/assign/", {"assignee": assignee}, format="json")
    assert refused(response) and "assignee" in response.json()


@pytest.mark.parametrize(
    "query",
    [
        {"page": "abc"},
        {"page": "0"},
        {"page": "-1"},
        {"page": str(BIGGEST)},
        {"page": "1e9"},
        {"per_page": "1000000"},
        {"per_page": "-5"},
        {"per_page": "abc"},
        {"per_page": "0"},
        {"q": "x" * 10_000},
        {"q": "nul \x00 byte"},
        {"q": "'; DROP TABLE cases_case; --"},
        {"q": "& | ! ( ) : * <-> \\"},
        {"q": "\u200b\ufeff" * 50},
        {"case_type": "gossip"},
        {"status": "nowhere"},
        {"team": "whistleblowing"},
        {"team": "x" * 10_000},
        {"assignee": "-1"},
        {"assignee": str(BIGGEST)},
        {"assignee": "abc"},
        {"clock": "late"},
        {"waiting": "maybe"},
        {"format": "api"},
        {"format": "xml"},
    ],
    ids=lambda value: str(value)[:40],
)
def test_the_queue_with_absurd_parameters(api, case, query):
    response = api.get("/api/v1/cases/", query)
    assert refused(response, 200, 400, 404), (response.status_code, response.content[:300])


@pytest.mark.parametrize(
    "query",
    [
        {"page": "abc"},
        {"page": "-1"},
        {"page": str(BIGGEST)},
        {"year": "1"},
        {"year": "9999"},
        {"year": "2000"},
        {"year": str(BIGGEST)},
        {"year": "abc"},
        {"text": "x" * 10_000},
        {"text": "nul \x00"},
        {"decision": "maybe"},
        {"notified": "perhaps"},
        {"subjects_informed": "x"},
    ],
    ids=lambda value: str(value)[:40],
)
def test_the_breach_register_with_absurd_parameters(api, case, query):
    response = api.get("/api/v1/breaches/", query)
    assert refused(response, 200, 400, 404), (response.status_code, response.content[:300])


DASHBOARD_QUERIES = [
    {"period": "month", "day": "9999-12-31"},
    {"period": "month", "day": "9999-12-01"},
    {"period": "quarter", "day": "9999-11-15"},
    {"period": "year", "day": "9999-06-01"},
    {"period": "month", "day": "0001-01-01"},
    {"period": "year", "day": "0001-06-01"},
    {"period": "custom", "date_from": "0001-01-01", "date_to": "0001-12-31"},
    {"period": "custom", "date_from": "9999-01-01", "date_to": "9999-12-31"},
    {"period": "custom", "date_from": "0001-01-01", "date_to": "9999-12-31"},
    {"period": "custom", "date_from": "2026-01-01", "date_to": "2020-01-01"},
    {"period": "custom", "date_from": "2026-01-01"},
    {"period": "custom", "date_from": "2026-02-30", "date_to": "2026-03-01"},
    {"period": "custom", "date_from": "-2026-01-01", "date_to": "2026-03-01"},
    {"period": "month", "day": "10000-01-01"},
    {"period": "month", "day": "abc"},
    {"period": "month", "day": "2026-01-01\x00"},
    {"period": "week"},
    {"period": ""},
    {"team": "whistleblowing"},
    {"team": "x" * 10_000},
]


@pytest.mark.parametrize("query", DASHBOARD_QUERIES, ids=lambda value: str(value)[:60])
def test_the_dashboard_with_dates_out_of_range(api, query):
    response = api.get("/api/v1/dashboard/", query)
    assert refused(response), (response.status_code, response.content[:300])
    assert set(response.json()) <= {"period", "day", "date_from", "date_to", "team"}


def test_a_day_out_of_range_is_refused_in_the_requester_s_language(api):
    response = api.get("/api/v1/dashboard/", {"day": "9999-12-31"}, HTTP_ACCEPT_LANGUAGE="nb")
    assert response.status_code == 400
    assert response.json() == {"day": ["Verdien må være mindre enn eller lik 9998-12-31."]}


@pytest.mark.parametrize(
    "query",
    [
        {"period": "year", "day": "2000-01-01"},
        {"period": "year", "day": "9998-12-31"},
        {"period": "custom", "date_from": "2000-01-01", "date_to": "2004-12-31"},
        {"period": "custom", "date_from": "9994-01-01", "date_to": "9998-12-31"},
    ],
    ids=str,
)
def test_the_first_and_last_days_a_period_may_have(api, query):
    assert api.get("/api/v1/dashboard/", query).status_code == 200


@pytest.mark.parametrize("query", DASHBOARD_QUERIES, ids=lambda value: str(value)[:60])
@pytest.mark.parametrize("page", ["/en/staff/dashboard/", "/en/staff/dashboard/export.csv"])
def test_the_dashboard_page_and_csv_with_dates_out_of_range(client, handler, settings, query, page):
    settings.TRUSTCENTER_REQUIRE_2FA = False
    client.raise_request_exception = False
    client.force_login(handler)
    response = client.get(page, query)
    assert refused(response), (response.status_code, response.content[:300])


@pytest.mark.parametrize(
    "header",
    [
        "Token é",
        "Token \u00ff" * 3,
        "Token " + "é" * 64,
        "Token",
        "Token a b",
        "Token " + "0" * 10_000,
        "Token ../../etc/passwd",
        "Token %00",
        "token " + "0" * 64,
        "Bearer " + "0" * 64,
        "Basic dXNlcjpwYXNz",
    ],
    ids=lambda value: value[:20],
)
def test_credentials_that_are_not_a_token_are_refused(case, header):
    client = APIClient(raise_request_exception=False)
    response = client.get("/api/v1/cases/", HTTP_AUTHORIZATION=header)
    assert refused(response, 401, 403), (response.status_code, response.content[:300])
    assert case.reference.encode() not in response.content
