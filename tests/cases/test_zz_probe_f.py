import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from cases.models import CaseType
from cases.services import add_reporter_message
from cases.uploads import Upload, identify_upload
from tests.factories import StaffFactory, reply_as_staff, submit

pytestmark = pytest.mark.django_db


def upload(n):
    data = f"notes {n}".encode()
    return Upload(name=f"n{n}.txt", data=data, kind=identify_upload(data))


def measure(client, url):
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
    assert r.status_code == 200
    return ctx.captured_queries


def test_probe(client):
    print("ENGINE", settings.SESSION_ENGINE)
    case, code = submit()
    client.post("/en/follow-up/", {"receipt_code": code})
    small = measure(client, "/en/follow-up/case/")
    big, code2 = submit(uploads=[upload(1), upload(2)])
    for i in range(9):
        add_reporter_message(
            case=big, client_key="k", message=f"m{i}", uploads=[upload(3 + 2 * i), upload(4 + 2 * i)]
        )
    for i in range(3):
        reply_as_staff(case=big, message=f"reply {i}")
    client.post("/en/follow-up/", {"receipt_code": code2})
    bigq = measure(client, "/en/follow-up/case/")
    print("FOLLOWUP", len(small), len(bigq))
    for q in bigq:
        print("   ", q["sql"][:150])
    client.force_login(StaffFactory(is_superuser=True))
    one = measure(client, "/admin/cases/case/")
    for i in range(28):
        submit(case_type=CaseType.WHISTLEBLOWING)
    many = measure(client, "/admin/cases/case/")
    print("ADMIN", len(one), len(many))
    for q in many:
        print("   ", q["sql"][:150])
