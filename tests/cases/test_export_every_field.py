"""An access export (issue 13, points 2 and 3) checked field by field against the database, for every
register in its data.json: a requester found in the portal's registers (by address, a second proven
address and a proven phone number), the consent ledger, sign-ups, legal holds, an earlier case
with its file and the outbox. Every exported path of every record (relations followed, as
"event__title") is read again from the database and compared as registers.exports.json_value
converts it; each register's CSV holds the same keys and values as text, spreadsheet-safe; every
register that holds something about the requester is in the export, and nothing of anyone else."""

import csv
import io
import json
import posixpath
import zipfile
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from cases import fulfilment
from cases.models import AccessExport, CaseType, ExportStatus, IdentityKind
from cases.uploads import Upload, identify_upload
from consent import services as consent_services
from consent.defaults import ensure_default_purposes
from consent.models import Channel, ConsentAction, ConsentPurpose, SignUpKind
from consent.services import record_consent
from registers.exports import json_value
from registers.models import CustomerContact, Inquiry, SupplierContact, VisitorRegistration
from registers.registry import Declaration, declarations
from registers.selectors import subject_records
from retention.models import HoldScope
from retention.services import place_hold
from tests import images
from tests.factories import confirmed_subject_request, submit
from tests.registers.factories import (
    AccountingRecordFactory,
    EventFactory,
    EventParticipantFactory,
    JobApplicationFactory,
    LeadFactory,
    LegalEntityFactory,
    RecruitmentEntryFactory,
)

pytestmark = pytest.mark.django_db

KARI = "kari@example.com"
WORK = "kari.nordmann@work.example"  # a second address she proved to staff
PHONE = "+47 912 34 567"  # a number she proved to staff
OLA = "ola@example.com"  # someone else, in the same registers
ATTACHMENT = b"Kari's own notes about the newsletter she never asked for\n"

# Every register that exports something and holds something about the requester below.
EXPECTED_REGISTERS = {
    "cases.Attachment",
    "cases.Case",
    "cases.CaseMessage",
    "cases.ProvenIdentity",
    "consent.ConsentEvent",
    "consent.ConsentState",
    "consent.ConsentSubject",
    "consent.RenewalRequest",
    "consent.SelfServiceLink",
    "consent.SignUp",
    "registers.AccountingRecord",
    "registers.CustomerContact",
    "registers.EventParticipant",
    "registers.Inquiry",
    "registers.JobApplication",
    "registers.Lead",
    "registers.RecruitmentEntry",
    "registers.SupplierContact",
    "registers.VisitorRegistration",
    "retention.LegalHold",
    "trustcenter.OutboxMessage",
}

# What a spreadsheet runs as a formula when a cell starts with it (trustcenter.spreadsheets).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def kari_everywhere(handler) -> Any:
    """A confirmed access request from Kari, who is in every kind of register; Ola beside her."""
    case, _code = confirmed_subject_request(reporter_name="Kari Nordmann", reporter_email=KARI)
    fulfilment.add_proven_identity(
        case=case, actor=handler, kind=IdentityKind.EMAIL, value=WORK, how_proven="A code sent there"
    )
    fulfilment.add_proven_identity(
        case=case, actor=handler, kind=IdentityKind.PHONE, value=PHONE, how_proven="A code sent by SMS"
    )
    entity: Any = LegalEntityFactory()  # a factory's instance, which type checkers take for the factory

    # The registers, found by her address in any case, her second address, or her number alone;
    # values that a spreadsheet would run, and every kind of field (dates, amounts, null).
    LeadFactory(
        email="Kari@Example.com",
        full_name="Kari Nordmann",
        phone=PHONE,
        company='=HYPERLINK("http://evil.example")',
        job_title="-Head of privacy",
        source="@fjord-conference",
    )
    Inquiry.objects.create(
        full_name="Kari Nordmann",
        email=KARI,
        phone="",
        company="Fjord Fisk AS",
        question="+ What do you keep about me?\r\nAnd for how long?",
        answered_at=None,
        legal_entity=entity,
    )
    CustomerContact.objects.create(
        full_name="Kari Nordmann",
        email=WORK,
        company="Fjord Fisk AS",
        role="Buyer",
        relationship_ended_on=date(2024, 6, 30),
        legal_entity=entity,
    )
    SupplierContact.objects.create(
        full_name="K. Nordmann",
        email="",
        phone="+4791234567",
        company="Nordic Widgets AB",
        role="\tAccount manager",
        legal_entity=entity,
    )
    EventParticipantFactory(
        email=KARI,
        full_name="Kari Nordmann",
        organisation="Fjord Fisk AS",
        event=EventFactory(title="Privacy breakfast: æøå", starts_on=date(2025, 3, 4)),
    )
    JobApplicationFactory(
        email=KARI, full_name="Kari Nordmann", cover_letter="Dear team,\nI apply.", process_closed_on=None
    )
    RecruitmentEntryFactory(email=KARI, full_name="Kari Nordmann", skills="Python, GDPR")
    AccountingRecordFactory(
        email=KARI, full_name="Kari Nordmann", amount=Decimal("-1250.50"), description="Refund of a course"
    )
    VisitorRegistration.objects.create(
        full_name="Kari N.", email="", phone="(+47) 912-34-567", host_name="Pia", legal_entity=entity
    )
    LeadFactory(email=OLA, full_name="Ola Nordmann", phone="+47 400 00 000")
    AccountingRecordFactory(email=OLA, full_name="Ola Nordmann")

    # The consent ledger: a newsletter given and withdrawn, the recruitment database given 340
    # days ago (asked to renew), a self-service link, and an open application not yet confirmed.
    ensure_default_purposes()
    newsletter = ConsentPurpose.objects.get(slug="newsletter")
    for action in (ConsentAction.GIVE, ConsentAction.WITHDRAW):
        record_consent(email=KARI, purpose=newsletter, action=action, channel=Channel.WEB)
    record_consent(
        email=KARI,
        purpose=ConsentPurpose.objects.get(slug="recruitment_database"),
        action=ConsentAction.GIVE,
        channel=Channel.WEB,
        occurred_at=timezone.now() - timedelta(days=340),
    )
    assert consent_services.ask_for_renewals() == 1
    record_consent(email=OLA, purpose=newsletter, action=ConsentAction.GIVE, channel=Channel.WEB)
    consent_services.send_self_service_link(email=KARI, language="en")
    consent_services.sign_up(
        kind=SignUpKind.RECRUITMENT,
        email=KARI,
        language="en",
        client_key="export-every-field",
        full_name="Kari Nordmann",
        phone=PHONE,
        skills="-Django, =SQL",
        cv=Upload(name="cv.pdf", data=images.PDF, kind=identify_upload(images.PDF)),
    )
    place_hold(actor=handler, scope=HoldScope.SUBJECT, email=KARI, reason="A dispute over invoice 2024-117")

    # An earlier complaint under her name, with a file; an anonymous report naming her is never hers.
    submit(
        case_type=CaseType.COMPLAINT,
        is_anonymous=False,
        reporter_name="Kari Nordmann",
        reporter_email=KARI,
        message="=1+1 You keep sending me the newsletter",
        uploads=[Upload(name="my notes.txt", data=ATTACHMENT, kind=identify_upload(ATTACHMENT))],
    )
    submit(case_type=CaseType.COMPLAINT, message=f"Kari Nordmann ({KARI}) had her data leaked")
    return case


def built(case, handler) -> AccessExport:
    """The export built by the worker's function itself (requested without a worker to run it)."""
    export = fulfilment.request_access_export(case=case, actor=handler)
    fulfilment.build_access_export(export_id=export.pk)
    export.refresh_from_db()
    assert export.status == ExportStatus.REVIEW, export.status
    return export


def package(export: AccessExport) -> zipfile.ZipFile:
    with export.file.open("rb") as stored:
        return zipfile.ZipFile(io.BytesIO(stored.read()))


def stored_rows(declaration: Declaration, keys: list[str]) -> dict[str, dict]:
    """The rows with these keys as the database holds them: the exported paths (relations
    followed) and the file fields, by key as text."""
    rows = declaration.model._default_manager.filter(pk__in=keys).values(
        "pk", *declaration.exported, *declaration.file_fields
    )
    by_key: dict[str, dict] = {}
    for row in rows:
        assert str(row["pk"]) not in by_key, f"{declaration.label} {row['pk']}: a path gives two values"
        by_key[str(row["pk"])] = row
    return by_key


def cell_text(value: Any) -> str:
    """How a CSV cell writes a data.json value: text, a structured value as JSON, nothing for null;
    a value a spreadsheet would run starts with an apostrophe."""
    if value is None:
        text = ""
    elif isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def registers_holding(case) -> dict[str, set[str]]:
    """Per register that exports something, the keys of the rows the registry finds for the
    requester (an ORM query of its own, not the export's compiled statement)."""
    found = subject_records(identities=fulfilment.requester_identities(case=case))
    keys = {
        records.declaration.label: {str(pk) for pk in records.rows.values_list("pk", flat=True)}
        for records in found
        if records.declaration.exported
    }
    return {label: rows for label, rows in keys.items() if rows}


def test_every_exported_field_of_every_register_is_as_stored(handler):
    case = kari_everywhere(handler)
    export = built(case, handler)
    archive = package(export)
    data = json.loads(archive.read("data.json"))
    by_label = {declaration.label: declaration for declaration in declarations()}

    parts = {part["register"]: part for part in data["registers"]}
    assert len(parts) == len(data["registers"]), "a register appears twice"
    holding = registers_holding(case)
    assert set(holding) == EXPECTED_REGISTERS, "the requester is not where this test put her"
    assert set(parts) == EXPECTED_REGISTERS

    checked_fields = 0
    for label, part in parts.items():
        declaration = by_label[label]
        assert part["name"] == declaration.verbose_name_plural
        keys = [record["id"] for record in part["records"]]
        assert len(set(keys)) == len(keys), f"{label}: a record appears twice"
        assert set(keys) == holding[label], f"{label}: other records than the registry finds"
        stored = stored_rows(declaration, keys)
        assert set(stored) == set(keys), f"{label}: exported keys that are not stored"
        for record in part["records"]:
            row = stored[record["id"]]
            expected = {"id": record["id"]}
            for path in declaration.exported:
                expected[path] = json_value(row[path])
                checked_fields += 1
            for name in declaration.file_fields:
                if not row[name]:
                    continue
                extension = posixpath.splitext(row[name])[1].lower()
                expected[name] = f"files/{label}/{record['id']}-{name}{extension}"
                with default_storage.open(row[name], "rb") as original:
                    assert archive.read(expected[name]) == original.read(), f"{label}.{name}"
            assert record == expected, label

    assert checked_fields >= 150  # the comparison really ran over many fields
    assert export.records == sum(len(part["records"]) for part in parts.values())
    whole = archive.read("data.json").decode()
    for other in (OLA, "Ola Nordmann", "+47 400 00 000", "had her data leaked"):
        assert other not in whole, other


def test_each_register_s_csv_holds_the_same_records_as_text_safe_for_a_spreadsheet(handler):
    case = kari_everywhere(handler)
    archive = package(built(case, handler))
    data = json.loads(archive.read("data.json"))
    by_label = {declaration.label: declaration for declaration in declarations()}
    names = set(archive.namelist())

    for part in data["registers"]:
        label = part["register"]
        declaration = by_label[label]
        assert f"csv/{label}.csv" in names, label
        reader = csv.reader(io.StringIO(archive.read(f"csv/{label}.csv").decode(), newline=""))
        header, *rows = list(reader)
        assert header == ["id", *declaration.exported], label
        assert [row[0] for row in rows] == [cell_text(record["id"]) for record in part["records"]], label
        for row, record in zip(rows, part["records"], strict=True):
            for path, cell in zip(declaration.exported, row[1:], strict=True):
                if isinstance(record[path], dict | list):
                    continue  # structured values: the next test
                assert cell == cell_text(record[path]), f"{label} {record['id']} {path}: {cell!r}"
    assert {name for name in names if name.startswith("csv/")} == {
        f"csv/{part['register']}.csv" for part in data["registers"]
    }

    # The values that would run as formulas are there, and are text.
    lead = list(csv.DictReader(io.StringIO(archive.read("csv/registers.Lead.csv").decode(), newline="")))
    assert (lead[0]["company"], lead[0]["job_title"], lead[0]["source"], lead[0]["phone"]) == (
        '\'=HYPERLINK("http://evil.example")',
        "'-Head of privacy",
        "'@fjord-conference",
        "'" + PHONE,
    )
    [supplier] = csv.DictReader(io.StringIO(archive.read("csv/registers.SupplierContact.csv").decode()))
    assert supplier["role"] == "'\tAccount manager"
    [voucher] = csv.DictReader(io.StringIO(archive.read("csv/registers.AccountingRecord.csv").decode()))
    assert voucher["amount"] == "'-1250.50"


def test_a_structured_value_is_written_to_the_csv_as_json(handler):
    """A case's answers (a JSON field) are JSON in data.json; in the CSV, a program reading it
    (art. 20) needs them as JSON too, not as Python writes a dict."""
    case, _code = confirmed_subject_request()
    submit(
        case_type=CaseType.COMPLAINT,
        is_anonymous=False,
        reporter_name="Kari",
        reporter_email=KARI,
        details={"processing_concerned": "Newsletters, and the = sign's handling"},
    )
    archive = package(built(case, handler))
    data = json.loads(archive.read("data.json"))
    [cases_part] = [part for part in data["registers"] if part["register"] == "cases.Case"]
    details = {record["id"]: record["details"] for record in cases_part["records"]}
    assert any(details.values()), "no case with answers to write"
    rows = csv.DictReader(io.StringIO(archive.read("csv/cases.Case.csv").decode(), newline=""))
    for row in rows:
        cell = row["details"]
        try:
            parsed = json.loads(cell)
        except json.JSONDecodeError:
            pytest.fail(
                f"the CSV writes case {row['id']}'s answers {details[row['id']]!r} as {cell!r}: not JSON"
            )
        assert parsed == details[row["id"]]
