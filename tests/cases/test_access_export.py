"""Access and portability (issue 13, points 2 and 3): the export built by a worker, checked field by
field against what was stored; staff review it and withhold an item with a reason the requester
is told; it is released through a link that a GET never spends, that needs the case's receipt
code, works once and for 7 days, after which the file is gone."""

import csv
import io
import json
import re
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.utils import timezone

from cases import fulfilment
from cases.models import AccessExport, CaseEvent, CaseEventKind, ExportStatus
from consent.defaults import ensure_default_purposes
from consent.models import Channel, ConsentAction, ConsentPurpose
from consent.services import record_consent
from tests.factories import (
    CaseHandlerFactory,
    StaffFactory,
    confirmed_subject_request,
    submit_subject_request,
)
from tests.registers.factories import (
    CV_BYTES,
    RECEIPT_BYTES,
    AccountingRecordFactory,
    LeadFactory,
    RecruitmentEntryFactory,
)
from trustcenter.models import OutboxMessage

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("password_login_is_enough")]

KARI = "kari@example.com"
LINK = re.compile(r"https?://\S+?/my-data/\?t=([\w-]+)")


@pytest.fixture
def request_and_code():
    case, code = confirmed_subject_request(language="nb")
    return case, code


def built_export(case, handler, django_capture_on_commit_callbacks) -> AccessExport:
    with django_capture_on_commit_callbacks(execute=True):
        export = fulfilment.request_access_export(case=case, actor=handler)
    export.refresh_from_db()
    assert export.status == ExportStatus.REVIEW, export.status
    return export


def package(export: AccessExport) -> zipfile.ZipFile:
    with export.file.open("rb") as stored:
        return zipfile.ZipFile(io.BytesIO(stored.read()))


def register_of(data: dict, label: str) -> list[dict]:
    return next(register["records"] for register in data["registers"] if register["register"] == label)


def test_the_export_holds_every_exported_field_as_stored(
    handler, request_and_code, django_capture_on_commit_callbacks
):
    case, _code = request_and_code
    lead = LeadFactory(
        email=KARI, full_name="Kari Nordmann", phone="+47 912 34 567", company="=Fjord Fisk AS"
    )
    voucher = AccountingRecordFactory(email=KARI, amount=Decimal("1250.50"), description="Course fee")
    entry = RecruitmentEntryFactory(email=KARI, skills="Python, GDPR")
    LeadFactory(email="ola@example.com")
    ensure_default_purposes()
    newsletter = ConsentPurpose.objects.get(slug="newsletter")
    record_consent(email=KARI, purpose=newsletter, action=ConsentAction.GIVE, channel=Channel.WEB)

    export = built_export(case, handler, django_capture_on_commit_callbacks)

    archive = package(export)
    data = json.loads(archive.read("data.json"))
    assert data["case"] == case.reference
    [exported_lead] = register_of(data, "registers.Lead")
    assert exported_lead == {
        "id": str(lead.pk),
        "full_name": "Kari Nordmann",
        "email": KARI,
        "phone": "+47 912 34 567",
        "company": "=Fjord Fisk AS",
        "job_title": lead.job_title,
        "source": lead.source,
        "created_at": lead.created_at.isoformat(),
    }
    [exported_voucher] = register_of(data, "registers.AccountingRecord")
    assert exported_voucher["amount"] == "1250.50"
    assert exported_voucher["description"] == "Course fee"
    assert exported_voucher["fiscal_year_end"] == voucher.fiscal_year_end.isoformat()
    assert archive.read(exported_voucher["receipt"]) == RECEIPT_BYTES
    [exported_entry] = register_of(data, "registers.RecruitmentEntry")
    assert exported_entry["skills"] == "Python, GDPR" and archive.read(exported_entry["cv"]) == CV_BYTES
    assert entry.pk == int(exported_entry["id"])
    [event] = register_of(data, "consent.ConsentEvent")
    assert (event["purpose__slug"], event["action"], event["channel"]) == ("newsletter", "give", "web")
    assert {record["id"] for record in register_of(data, "cases.Case")} == {str(case.pk)}
    assert "ola@example.com" not in archive.read("data.json").decode()

    # The CSV of a register: the same records, its cells safe to open in a spreadsheet.
    rows = list(csv.DictReader(io.StringIO(archive.read("csv/registers.Lead.csv").decode())))
    assert rows == [
        {
            "id": str(lead.pk),
            "full_name": "Kari Nordmann",
            "email": KARI,
            "phone": "'+47 912 34 567",  # a leading + too is a formula to a spreadsheet; data.json is exact
            "company": "'=Fjord Fisk AS",
            "job_title": lead.job_title,
            "source": lead.source,
            "created_at": lead.created_at.isoformat(),
        }
    ]
    assert export.records == sum(len(register["records"]) for register in data["registers"])
    assert CaseEvent.objects.filter(case=case, kind=CaseEventKind.EXPORT_BUILT).count() == 1


def test_the_summary_says_what_art_15_asks_in_the_requester_s_language(
    handler, request_and_code, django_capture_on_commit_callbacks
):
    case, _code = request_and_code  # written in Norwegian
    LeadFactory(email=KARI)
    summary = (
        package(built_export(case, handler, django_capture_on_commit_callbacks)).read("summary.html").decode()
    )
    assert '<html lang="nb">' in summary
    for expected in (
        "Hvorfor vi har dem",  # purpose
        "Hvem som mottar dem",  # recipients
        "Hvor lenge vi beholder dem",  # retention
        "Hvor de kommer fra",  # source
        "Datatilsynet",
        "imy.se",
        "automatisert",  # automated decisions
        "art. 16",
        "art. 21",
    ):
        assert expected in summary, expected
    assert "<script" not in summary and "http" not in summary.split("</style>")[0]


def test_a_withheld_item_leaves_the_export_and_its_reason_is_told(
    handler, request_and_code, django_capture_on_commit_callbacks
):
    case, _code = request_and_code
    kept, withheld = LeadFactory(email=KARI), LeadFactory(email=KARI)
    export = built_export(case, handler, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.withhold_item(
            export=export,
            actor=handler,
            register="registers.Lead",
            record_key=str(withheld.pk),
            reason="It names another person's complaint about you.",
        )
    export.refresh_from_db()
    assert export.status == ExportStatus.REVIEW
    archive = package(export)
    data = json.loads(archive.read("data.json"))
    assert [record["id"] for record in register_of(data, "registers.Lead")] == [str(kept.pk)]
    assert data["withheld"] == [
        {"register": "registers.Lead", "reason": "It names another person's complaint about you."}
    ]
    assert "It names another person&#x27;s complaint about you." in archive.read("summary.html").decode()

    with pytest.raises(ValidationError):
        fulfilment.withhold_item(
            export=export, actor=handler, register="registers.Lead", record_key="1", reason=" "
        )


def test_the_link_is_spent_only_by_the_post_with_the_receipt_code(
    client, handler, request_and_code, django_capture_on_commit_callbacks
):
    case, code = request_and_code
    LeadFactory(email=KARI)
    export = built_export(case, handler, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.release_access_export(export=export, actor=handler)
    [sent] = [message for message in mail.outbox if message.subject == "Kopien av opplysningene dine er klar"]
    assert sent.to == [KARI]
    token = LINK.search(sent.body).group(1)
    # The token is in the query string, which no access log keeps; the form sends it back.
    url, link = "/nb/my-data/", f"/nb/my-data/?t={token}"

    # A mail scanner follows the link: it gets the form, the file stays.
    for _ in range(2):
        page = client.get(link)
        assert page.status_code == 200 and "kvitteringskode" in page.content.decode()
        assert f'name="token" value="{token}"' in page.content.decode()
    assert client.get(url).status_code == 410  # no token, nothing to show
    export.refresh_from_db()
    assert export.status == ExportStatus.RELEASED and export.file

    # Another code is refused and spends nothing.
    _other_case, other_code = submit_subject_request(reporter_email="ola@example.com")
    for wrong in ("1234 5678 9012 3456 7890", other_code):
        response = client.post(url, {"receipt_code": wrong, "token": token})
        assert response.status_code == 400
    export.refresh_from_db()
    assert export.status == ExportStatus.RELEASED

    stored_name = export.file.name
    assert client.post(url, {"receipt_code": code, "token": token[:-1]}).status_code == 410
    response = client.post(url, {"receipt_code": code, "token": token})
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    body = b"".join(response.streaming_content)
    assert "data.json" in zipfile.ZipFile(io.BytesIO(body)).namelist()
    export.refresh_from_db()
    assert export.status == ExportStatus.DOWNLOADED and export.downloaded_at is not None
    assert not export.file and not default_storage.exists(stored_name)
    assert CaseEvent.objects.filter(case=case, kind=CaseEventKind.EXPORT_DOWNLOADED).count() == 1

    # Once used, the link is gone, with the code or without.
    assert client.get(link).status_code == 410
    assert client.post(url, {"receipt_code": code, "token": token}).status_code == 410


def test_an_unused_link_expires_after_7_days_and_its_file_is_deleted(
    client, handler, request_and_code, django_capture_on_commit_callbacks
):
    case, code = request_and_code
    export = built_export(case, handler, django_capture_on_commit_callbacks)
    link = fulfilment.release_access_export(export=export, actor=handler)
    stored_name = AccessExport.objects.get(pk=export.pk).file.name
    token = LINK.search(link).group(1)
    path = f"/en/my-data/?t={token}"

    with time_machine.travel(timezone.now() + timedelta(days=6, hours=23)):
        assert fulfilment.sweep_access_exports()["expired"] == 0
        assert client.get(path).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        assert client.get(path).status_code == 410
        assert client.post("/en/my-data/", {"receipt_code": code, "token": token}).status_code == 410
        counts = fulfilment.sweep_access_exports()
    assert counts["expired"] == 1 and counts["files_deleted"] == 1
    export.refresh_from_db()
    assert export.status == ExportStatus.EXPIRED and not export.file and export.file_deleted_at
    assert not default_storage.exists(stored_name)
    assert CaseEvent.objects.filter(case=case, kind=CaseEventKind.EXPORT_EXPIRED).count() == 1


def test_a_build_whose_worker_died_is_taken_again_and_a_live_one_is_not(handler, request_and_code):
    case, _code = request_and_code
    export = AccessExport.objects.create(
        case=case,
        requested_by=handler,
        status=ExportStatus.BUILDING,
        claimed_until=timezone.now() + timedelta(minutes=5),
    )
    assert fulfilment.build_access_export(export_id=export.pk) is None  # another worker is on it
    AccessExport.objects.filter(pk=export.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert fulfilment.sweep_access_exports()["requeued"] == 1  # eager here: the task runs at once
    export.refresh_from_db()
    assert export.status == ExportStatus.REVIEW and export.file
    assert fulfilment.build_access_export(export_id=export.pk) is None  # done: nothing to take


def test_one_export_is_built_at_a_time_per_case(handler, request_and_code):
    case, _code = request_and_code
    fulfilment.request_access_export(case=case, actor=handler)  # queued: no commit, no worker
    with pytest.raises(ValidationError):
        fulfilment.request_access_export(case=case, actor=handler)
    assert case.access_exports.count() == 1


def test_the_services_check_the_door(handler, request_and_code, django_capture_on_commit_callbacks):
    case, _code = request_and_code
    export = built_export(case, handler, django_capture_on_commit_callbacks)
    for outsider in (StaffFactory(), CaseHandlerFactory(teams=["hse"])):
        with pytest.raises(PermissionDenied):
            fulfilment.request_access_export(case=case, actor=outsider)
        with pytest.raises(PermissionDenied):
            fulfilment.withhold_item(export=export, actor=outsider, register="x", record_key="1", reason="r")
        with pytest.raises(PermissionDenied):
            fulfilment.release_access_export(export=export, actor=outsider)
    export.refresh_from_db()
    assert export.status == ExportStatus.REVIEW and not export.withheld_items.exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "exports/"),
        ("get", "exports/{export}/"),
        ("post", "exports/{export}/withhold/"),
        ("post", "exports/{export}/release/"),
    ],
)
def test_every_door_is_shut_to_staff_without_rights_another_team_and_strangers(
    client, handler, request_and_code, django_capture_on_commit_callbacks, method, path
):
    case, _code = request_and_code
    LeadFactory(email=KARI)
    export = built_export(case, handler, django_capture_on_commit_callbacks)
    url = f"/en/staff/cases/{case.pk}/" + path.format(export=export.pk)
    posted = {"withhold-register": "registers.Lead", "withhold-record_key": "1", "withhold-reason": "x"}
    for outsider in (StaffFactory(), CaseHandlerFactory(teams=["hse"])):
        client.force_login(outsider)
        response = getattr(client, method)(url, posted)
        assert response.status_code == 403
        assert "Kari" not in response.content.decode()
    client.logout()
    response = getattr(client, method)(url, posted)
    assert response.status_code == 302 and "/login/" in response["Location"]
    export.refresh_from_db()
    assert export.status == ExportStatus.REVIEW and case.access_exports.count() == 1
    assert (
        not export.withheld_items.exists()
        and not OutboxMessage.objects.filter(subject__icontains="klar").exists()
    )


def test_staff_review_withhold_and_send_from_the_pages(
    client, handler, request_and_code, django_capture_on_commit_callbacks
):
    case, _code = request_and_code
    lead = LeadFactory(email=KARI, company="Fjord Fisk AS")
    client.force_login(handler)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/en/staff/cases/{case.pk}/exports/", follow=True)
    assert "The access export is being built" in response.content.decode()
    export = case.access_exports.get()
    assert "Ready for review" in client.get(f"/en/staff/cases/{case.pk}/").content.decode()

    review = client.get(f"/en/staff/cases/{case.pk}/exports/{export.pk}/").content.decode()
    assert "Fjord Fisk AS" in review

    refused = client.post(
        f"/en/staff/cases/{case.pk}/exports/{export.pk}/withhold/",
        {"withhold-register": "registers.Lead", "withhold-record_key": str(lead.pk), "withhold-reason": ""},
    )
    assert refused.status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/en/staff/cases/{case.pk}/exports/{export.pk}/withhold/",
            {
                "withhold-register": "registers.Lead",
                "withhold-record_key": str(lead.pk),
                "withhold-reason": "Others' rights",
            },
        )
    assert (
        "Fjord Fisk AS" not in client.get(f"/en/staff/cases/{case.pk}/exports/{export.pk}/").content.decode()
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/en/staff/cases/{case.pk}/exports/{export.pk}/release/", follow=True)
    assert "The requester is sent a link" in response.content.decode()
    export.refresh_from_db()
    assert export.status == ExportStatus.RELEASED
    assert OutboxMessage.objects.filter(
        recipient=KARI, subject="Kopien av opplysningene dine er klar"
    ).exists()
    # Sent once: a second press finds nothing to send.
    assert client.post(f"/en/staff/cases/{case.pk}/exports/{export.pk}/release/").status_code == 400
