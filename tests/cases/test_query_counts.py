"""The reporter's follow-up page and the staff's case list make a fixed number of queries, however
many messages, files, replies or cases there are: a count that grows with the data is an N+1."""

import pytest
from django.conf import settings

from cases.models import CaseType
from cases.services import add_reporter_message
from cases.uploads import Upload, identify_upload
from consent import cookies
from tests.factories import CaseHandlerFactory, reply_as_staff, submit, submit_subject_request

pytestmark = pytest.mark.django_db

# The case from the session, its messages, their attachments (one prefetch), and an extension.
FOLLOWUP_PAGE_QUERIES = 4
# The user and the handler's permissions (theirs and their groups'); the page's count and the
# full count; the page of cases; the first and last dates and the days with cases, for the date
# hierarchy.
ADMIN_CASE_LIST_QUERIES = 8


@pytest.fixture(autouse=True)
def _cookie_inventory_cached():
    """The cookie banner reads the portal's inventory from the cache (from the database once a
    minute, consent.cookies.portal_offer): read here, so that the counts are the pages' own."""
    cookies.portal_offer()


def session_queries() -> int:
    """What reading and saving the session costs on each page (SESSION_SAVE_EVERY_REQUEST):
    nothing where sessions live in the shared cache (Redis, as in bin/test and production); on
    the database, a SELECT, and an UPDATE in a savepoint of the test's transaction."""
    return 0 if settings.SESSION_ENGINE == "django.contrib.sessions.backends.cache" else 4


def text_upload(name: str) -> Upload:
    data = f"notes in {name}".encode()
    return Upload(name=name, data=data, kind=identify_upload(data))


def open_followup_session(client, code: str) -> None:
    response = client.post("/en/follow-up/", {"receipt_code": code})
    assert response.status_code == 302 and response["Location"] == "/en/follow-up/case/"


def test_the_followup_page_makes_the_same_queries_for_one_message_as_for_many(
    client, django_assert_num_queries
):
    expected = FOLLOWUP_PAGE_QUERIES + session_queries()

    small, small_code = submit(message="Only message")
    open_followup_session(client, small_code)
    with django_assert_num_queries(expected):
        response = client.get("/en/follow-up/case/")
    assert response.status_code == 200
    assert "Only message" in response.content.decode()

    large, large_code = submit(
        message="Message 0", uploads=[text_upload("file-0-a.txt"), text_upload("file-0-b.txt")]
    )
    for number in range(1, 10):
        add_reporter_message(
            case=large,
            client_key="query-count-reporter",
            message=f"Message {number}",
            uploads=[text_upload(f"file-{number}-a.txt"), text_upload(f"file-{number}-b.txt")],
        )
        if number % 3 == 0:
            reply_as_staff(case=large, message=f"Staff reply {number}")
    assert large.messages.count() == 13 and large.attachments.count() == 20
    open_followup_session(client, large_code)
    with django_assert_num_queries(expected):
        response = client.get("/en/follow-up/case/")
    assert response.status_code == 200
    page = response.content.decode()
    for number in range(10):
        assert f"Message {number}" in page
        assert f"file-{number}-a.txt" in page and f"file-{number}-b.txt" in page
    for number in (3, 6, 9):
        assert f"Staff reply {number}" in page


def test_the_admin_case_list_makes_the_same_queries_for_one_case_as_for_thirty(
    client, django_assert_num_queries
):
    expected = ADMIN_CASE_LIST_QUERIES + session_queries()
    client.force_login(CaseHandlerFactory())

    first, _code = submit()
    with django_assert_num_queries(expected):
        response = client.get("/admin/cases/case/")
    assert response.status_code == 200
    assert first.reference in response.content.decode()

    others = []
    for number in range(29):
        if number % 3 == 0:  # data-subject requests show whether their e-mail is confirmed
            case, _code = submit_subject_request()
        else:
            case, _code = submit(
                case_type=CaseType.WHISTLEBLOWING if number % 3 == 1 else CaseType.GENERAL_INQUIRY
            )
        others.append(case)
    with django_assert_num_queries(expected):
        response = client.get("/admin/cases/case/")
    assert response.status_code == 200
    page = response.content.decode()
    for case in [first, *others]:
        assert case.reference in page


def test_the_admin_case_page_makes_the_same_queries_for_one_message_as_for_many(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(CaseHandlerFactory())

    def queries_for(case) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/admin/cases/case/{case.pk}/change/")
        assert response.status_code == 200
        return len(captured)

    short, _code = submit()
    long, _code = submit()
    for number in range(9):
        add_reporter_message(
            case=long,
            client_key=f"reporter-{number}",
            message=f"Message {number}",
            uploads=[text_upload(f"a{number}.txt"), text_upload(f"b{number}.txt")],
        )
        reply_as_staff(case=long, message=f"Reply {number}")
    assert queries_for(long) == queries_for(short)
