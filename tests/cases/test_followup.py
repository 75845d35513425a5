import logging
import re

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from cases import receipts, selectors
from cases.models import Case, CaseStatus, CaseType, MessageAuthor
from tests import images
from tests.conftest import need
from tests.factories import reply_as_staff, submit
from tests.services import redis_contents

pytestmark = pytest.mark.django_db

LOGIN = "/en/follow-up/"
CASE_PAGE = "/en/follow-up/case/"


def open_case(client, code, **extra):
    return client.post(LOGIN, {"receipt_code": code}, **extra)


def test_the_code_alone_opens_the_case_with_status_and_staff_replies(client):
    case, code = submit(message="Is my CV kept?")
    reply_as_staff(case=case, message="We keep CVs for 360 days.", status=CaseStatus.WAITING_FOR_REPORTER)
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


def _text(value) -> str:
    if isinstance(value, memoryview | bytes | bytearray):
        return bytes(value).decode("latin-1")
    return str(value)


def everything_in_the_database() -> str:
    """Every row of every table, with session data decoded (the DB backend signs and encodes it)."""
    parts: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - a listed table
            parts.extend(" | ".join(_text(value) for value in row) for row in cursor.fetchall())
    for session in Session.objects.all():
        parts.append(str(session.get_decoded()))
    return "\n".join(parts)


def everything_in_the_cache() -> tuple[list[str], bytes]:
    """Every key and value the cache holds: the Redis database of CACHE_URL, or the local memory."""
    backend = settings.CACHES["default"]["BACKEND"]
    if "redis" in backend.lower():
        location = settings.CACHES["default"]["LOCATION"]
        return redis_contents(location[0] if isinstance(location, list | tuple) else location)
    assert backend == "django.core.cache.backends.locmem.LocMemCache", backend
    return list(cache._cache), b"".join(cache._cache.values())  # type: ignore[attr-defined]


def forms_of(code: str) -> list[str]:
    return [code, receipts.group_code(code), "-".join(code[i : i + 4] for i in range(0, 20, 4))]


def test_the_code_is_kept_nowhere_but_as_its_hash(client, caplog, django_capture_on_commit_callbacks):
    caplog.set_level(logging.DEBUG)
    visited, redirected_to = [], []

    def post(path, data):
        visited.append(path)
        response = client.post(path, data)
        if response.status_code in (301, 302, 303, 307, 308):
            redirected_to.append(response["Location"])
        return response

    with django_capture_on_commit_callbacks(execute=True):
        receipt_page = post(
            "/en/report/",
            {
                "case_type": CaseType.GENERAL_INQUIRY,
                "identity": "identified",
                "reporter_name": "Kari Nordmann",
                "reporter_email": "kari@example.com",
                "wants_notices": "on",
                "message": "How long do you keep CVs?",
                "website": "",
            },
        )
    assert receipt_page.status_code == 200
    grouped = re.search(r'id="receipt-code">([\d ]+)<', receipt_page.content.decode()).group(1)
    code = receipts.normalise_code(grouped)
    case = Case.objects.get()
    # Every way the flow offers to go on with the code: the receipt page's forms, follow-up, a
    # message and a file on the case page, the proof of submission, leaving, and coming back.
    assert post("/en/report/receipt/", {"receipt_code": code, "saved": "on"}).status_code == 302
    visited.append(CASE_PAGE)
    assert case.reference in client.get(CASE_PAGE).content.decode()
    added = post(
        CASE_PAGE, {"message": "One more thing.", "attachments": [SimpleUploadedFile("n.txt", b"x")]}
    )
    assert added.status_code == 302
    assert post("/en/report/proof/", {"receipt_code": code}).status_code == 200
    assert post("/en/follow-up/leave/", {}).status_code == 302
    assert post(LOGIN, {"receipt_code": grouped}).status_code == 302

    # Stored as the hash the service computes, and as nothing else.
    case.refresh_from_db()
    assert case.receipt_hash == selectors.receipt_hash(code)
    database = everything_in_the_database()
    assert case.reference in database and "One more thing." in database  # the dump holds the flow
    assert database.count(case.receipt_hash) == 1
    keys, values = everything_in_the_cache()
    assert any(":ratelimit:submit:" in key for key in keys), keys  # the dump is of the cache in use
    pages = [*visited, *redirected_to]
    links = re.findall(r'(?:href|action|src)="([^"]*)"', receipt_page.content.decode())
    for typed in forms_of(code):
        assert typed not in database, f"the database holds the receipt code as {typed!r}"
        assert not [key for key in keys if typed in key], f"a cache key holds the code as {typed!r}"
        assert typed.encode() not in values, f"a cache value holds the code as {typed!r}"
        assert not [url for url in pages + links if typed in url], f"a URL holds the code as {typed!r}"
        assert typed not in caplog.text, f"a log holds the code as {typed!r}"
    assert client.session["followup_case_id"] == case.pk


def test_follow_up_finds_the_case_with_one_query(django_assert_num_queries):
    case, code = submit()
    _other, _other_code = submit()
    with django_assert_num_queries(1) as captured:
        assert selectors.case_for_receipt_code(typed_code=receipts.group_code(code)) == case
    assert case.receipt_hash in captured.captured_queries[0]["sql"]
    with django_assert_num_queries(1):
        assert selectors.case_for_receipt_code(typed_code="1" * 20) is None


def test_the_receipt_hash_is_indexed_and_unique():
    field = Case._meta.get_field("receipt_hash")
    assert field.unique
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Case._meta.db_table)
    on_the_hash = [c for c in constraints.values() if c["columns"] == ["receipt_hash"]]
    # A unique constraint is kept by a unique index (PostgreSQL and SQLite alike).
    assert any(c["unique"] for c in on_the_hash), constraints


def test_postgresql_looks_the_hash_up_through_its_index():
    need(connection.vendor == "postgresql", "PostgreSQL")
    case, code = submit()
    lookup = Case.objects.filter(receipt_hash=selectors.receipt_hash(code))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = lookup.explain()
    # With sequential scans priced out, a lookup the index can serve is an index scan.
    assert re.search(r"Index (Only )?Scan using \S+ on cases_case", plan), plan


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


def test_the_honeypot_stops_robots_on_the_case_page(client):
    case, code = submit()
    open_case(client, code)
    response = client.post(CASE_PAGE, {"message": "Buy cheap watches", "website": "http://spam.example"})
    assert response.status_code == 400
    assert case.messages.count() == 1


def test_follow_up_messages_count_against_the_same_hourly_limit_as_reports(client, settings):
    settings.TRUSTCENTER_SUBMISSIONS_PER_HOUR = 4
    case, code = submit()
    open_case(client, code, REMOTE_ADDR="198.51.100.8")
    # Refused by the form, but checking it cost the server work: it counts too.
    client.post("/en/report/", {}, REMOTE_ADDR="198.51.100.8")
    statuses = [
        client.post(CASE_PAGE, {"message": f"Message {n}"}, REMOTE_ADDR="198.51.100.8").status_code
        for n in range(3)
    ]
    refused = client.post(CASE_PAGE, {"message": "One too many, kept."}, REMOTE_ADDR="198.51.100.8")
    assert statuses == [302, 302, 302]
    assert refused.status_code == 429
    page = refused.content.decode()
    assert "Too many messages have been sent from your connection" in page


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
