import pytest
from tests.factories import StaffFactory, CaseHandlerFactory, submit
pytestmark = pytest.mark.django_db
def test_probe(client):
    case, _ = submit()
    client.force_login(StaffFactory())
    r = client.get(f"/admin/cases/case/{case.pk}/history/")
    print("NO RIGHTS", r.status_code, r.get("Location"))
    r = client.get(f"/admin/cases/case/{case.pk+99}/history/")
    print("NO RIGHTS missing", r.status_code, r.get("Location"))
    client.force_login(CaseHandlerFactory())
    r = client.get(f"/admin/cases/case/{case.pk}/change/")
    print("HANDLER inlines", b"How long do you keep CVs" in r.content, b"messages-TOTAL_FORMS" in r.content)
