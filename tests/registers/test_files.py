"""A register's file (a CV, a receipt) reaches only staff who may read that register, through
registers.views, as a download; the admin links there, not to the storage."""

from typing import Any

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from registers.models import JobApplication
from tests.factories import StaffFactory
from tests.registers.factories import (
    CV_BYTES,
    RECEIPT_BYTES,
    AccountingRecordFactory,
    JobApplicationFactory,
    staff_with,
)

pytestmark = pytest.mark.django_db


def url_of(record, field_name: str, model_name: str | None = None) -> str:
    return reverse(
        "registers:file",
        kwargs={
            "model_name": model_name or record._meta.model_name,
            "record_id": record.pk,
            "field_name": field_name,
        },
    )


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def application():
    return JobApplicationFactory()


def test_a_stranger_is_sent_to_log_in_and_gets_no_bytes(client, application):
    response = client.get(url_of(application, "cv"))

    assert response.status_code == 302 and "/staff/account/login/" in response["Location"]
    assert CV_BYTES not in body_of(response)


def test_someone_who_is_not_staff_is_refused_even_with_the_permission(client, application):
    user: Any = staff_with("view_jobapplication", is_staff=False)
    client.force_login(user)

    response = client.get(url_of(application, "cv"))

    assert response.status_code == 403 and CV_BYTES not in body_of(response)


def test_staff_without_rights_are_refused(client, application):
    user: Any = StaffFactory()
    client.force_login(user)

    response = client.get(url_of(application, "cv"))

    assert response.status_code == 403 and CV_BYTES not in body_of(response)


def test_staff_who_may_read_another_register_are_refused(client, application):
    user: Any = staff_with("view_recruitmententry", "view_accountingrecord")
    client.force_login(user)

    response = client.get(url_of(application, "cv"))

    assert response.status_code == 403 and CV_BYTES not in body_of(response)


def test_staff_who_may_read_the_register_get_the_file_as_a_download(client, application):
    user: Any = staff_with("view_jobapplication")
    client.force_login(user)

    response = client.get(url_of(application, "cv"))

    assert response.status_code == 200
    assert body_of(response) == CV_BYTES
    assert response["Content-Disposition"] == f'attachment; filename="jobapplication-{application.pk}-cv.pdf"'
    assert response["Content-Type"] == "application/octet-stream"
    assert "no-store" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_download_is_in_the_audit_log_without_the_persons_name(client, application):
    user: Any = staff_with("view_jobapplication")
    client.force_login(user)

    client.get(url_of(application, "cv"))

    entry = LogEntry.objects.get_for_object(application).latest("timestamp")
    assert entry.actor == user and entry.action == entry.Action.ACCESS
    assert application.full_name not in entry.object_repr


def test_a_receipt_reaches_staff_who_may_read_the_accounting_records(client):
    record = AccountingRecordFactory()
    user: Any = staff_with("view_accountingrecord")
    client.force_login(user)

    response = client.get(url_of(record, "receipt"))

    assert response.status_code == 200 and body_of(response) == RECEIPT_BYTES


@pytest.mark.parametrize("field_name", ["cover_letter", "email", "receipt", "position"])
def test_a_field_the_registry_does_not_declare_a_file_is_not_found(client, application, field_name):
    user: Any = staff_with("view_jobapplication")
    client.force_login(user)

    response = client.get(url_of(application, field_name))

    assert response.status_code == 404


def test_a_model_that_is_no_register_is_not_found(client, application):
    user: Any = StaffFactory(is_superuser=True)
    client.force_login(user)

    assert client.get(url_of(application, "cv", model_name="legalentity")).status_code == 404
    assert client.get(url_of(application, "cv", model_name="nosuchregister")).status_code == 404


def test_a_missing_record_or_file_is_not_found(client, application):
    user: Any = staff_with("view_jobapplication")
    client.force_login(user)
    without_cv = JobApplicationFactory(cv="")
    file_gone = JobApplicationFactory()
    file_gone.cv.storage.delete(file_gone.cv.name)

    assert client.get(url_of(without_cv, "cv")).status_code == 404
    assert client.get(url_of(file_gone, "cv")).status_code == 404
    missing = reverse(
        "registers:file", kwargs={"model_name": "jobapplication", "record_id": 999999, "field_name": "cv"}
    )
    assert client.get(missing).status_code == 404


def test_staff_who_owe_their_second_factor_are_not_let_through(client, settings, application):
    settings.TRUSTCENTER_REQUIRE_2FA = True
    user: Any = staff_with("view_jobapplication")
    client.force_login(user)

    response = client.get(url_of(application, "cv"))

    assert response.status_code == 302 and CV_BYTES not in body_of(response)


def test_the_admin_links_a_file_to_the_download_not_to_the_storage(client, application):
    user: Any = StaffFactory(is_superuser=True)
    client.force_login(user)
    download = url_of(application, "cv")

    change_page = client.get(f"/admin/registers/jobapplication/{application.pk}/change/").content.decode()
    list_page = client.get("/admin/registers/jobapplication/").content.decode()

    assert f'href="{download}"' in change_page and f'href="{download}"' in list_page
    assert application.cv.name not in change_page and application.cv.name not in list_page
    assert JobApplication.objects.get(pk=application.pk).cv.name.startswith("registers/jobapplication/")
