"""Registers kept in other databases reached as the portal's own (issue 13, point 7): the collection
counts them, the access export holds their rows, the erasure erases them, retention purges them;
a database that cannot be reached marks the request or the run incomplete, tried again, never done.
Against a real MariaDB and a second PostgreSQL database (bin/test starts both)."""

import io
import json
import zipfile
from datetime import date, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from cases import fulfilment
from cases.models import AccessExport, ExportStatus
from registers.models import ExternalRegister, Lead, RegisterRecipient
from retention.models import HoldScope, LegalHold, RetentionRun, RunStatus, RunStep, Trigger
from retention.selectors import processing_activities
from retention.services import place_hold, run_purge
from tests.factories import confirmed_subject_request
from tests.registers.external_db import external_table, rows_of
from tests.registers.factories import LeadFactory

pytestmark = pytest.mark.django_db

KARI = "kari@example.com"
RECENT = date.today() - timedelta(days=30)  # inside the leads' year
ROWS = [
    {"name": "Kari Nordmann", "email": KARI, "signed_up_on": RECENT},
    {"name": "Ola", "email": "ola@example.com", "signed_up_on": date(2019, 3, 3)},
]
BROKEN = "TRUSTCENTER_EXTERNAL_BROKEN_URL"


def broken(register: ExternalRegister, monkeypatch) -> str:
    """Points the register at a port nothing listens on; returns the variable it used before."""
    monkeypatch.setenv(BROKEN, "mysql+pymysql://nobody:x@127.0.0.1:9/none")
    working = register.connection_variable
    register.connection_variable = BROKEN
    register.save()
    return working


@pytest.fixture
def request_case():
    case, _code = confirmed_subject_request()
    return case


def unreachable(name: str = "Old CRM") -> ExternalRegister:
    """A register whose database does not answer (a port nothing listens on)."""
    return ExternalRegister.objects.create(
        name=name,
        connection_variable="TRUSTCENTER_EXTERNAL_GONE_URL",
        table="contacts",
        email_column="email",
        clock_column="created_on",
        category="leads",
        exported_columns=["email"],
    )


@pytest.mark.parametrize("kind", ["mariadb", "postgres"])
def test_collected_exported_and_erased_like_the_portal_s_own(
    kind, handler, request_case, drop_external_tables, django_capture_on_commit_callbacks
):
    register, table = external_table(kind, ROWS)
    drop_external_tables.append((kind, table))

    collection = fulfilment.collect_subject_data(case=request_case, actor=handler)
    assert {entry["register"]: entry["found"] for entry in collection.results}[register.label] == 1

    with django_capture_on_commit_callbacks(execute=True):
        export = fulfilment.request_access_export(case=request_case, actor=handler)
    export.refresh_from_db()
    assert export.status == ExportStatus.REVIEW
    with export.file.open("rb") as stored:
        archive = zipfile.ZipFile(io.BytesIO(stored.read()))
    data = json.loads(archive.read("data.json"))
    [part] = [part for part in data["registers"] if part["register"] == register.label]
    assert part["name"] == register.name
    assert [(row["name"], row["email"], row["signed_up_on"]) for row in part["records"]] == [
        ("Kari Nordmann", KARI, RECENT.isoformat())
    ]
    assert f"csv/{register.label}.csv" in archive.namelist()

    RegisterRecipient.objects.create(register=register.label, name="CRM partner", email="dpo@partner.example")
    with django_capture_on_commit_callbacks(execute=True):
        erasure = fulfilment.erase_requester_data(case=request_case, actor=handler)
    assert erasure.complete
    assert [row["email"] for row in rows_of(kind, table)] == ["ola@example.com"]
    assert {entry["register"]: entry["erased"] for entry in erasure.results}[register.label] == 1
    [told] = [message for message in mail.outbox if message.to == ["dpo@partner.example"]]  # art. 19
    assert f'register "{register.name}"' in told.body and KARI in told.body


def test_an_unreachable_register_leaves_the_erasure_incomplete_until_it_is_erased_again(
    handler, request_case, drop_external_tables, monkeypatch
):
    register, table = external_table("mariadb", ROWS)
    drop_external_tables.append(("mariadb", table))
    lead = LeadFactory(email=KARI)
    working = broken(register, monkeypatch)

    first = fulfilment.erase_requester_data(case=request_case, actor=handler)

    assert not first.complete
    assert not Lead.objects.filter(pk=lead.pk).exists()  # the portal's own registers are done
    [failed] = [entry for entry in first.results if entry["register"] == register.label]
    assert failed["failed"] and failed["erased"] == 0
    assert first.run.status == RunStatus.FAILED
    assert RunStep.objects.get(run=first.run, register=register.label).failed == 1
    assert [
        line.failed for line in fulfilment.erasure_lines(erasure=first) if line.name == register.name
    ] == [True]
    assert len(rows_of("mariadb", table)) == 2  # nothing was taken for done

    register.connection_variable = working
    register.save()
    # The beat task tries again what was left, and the erasure is complete.
    assert fulfilment.retry_incomplete_erasures() == 1
    first.refresh_from_db()
    assert first.complete and [row["email"] for row in rows_of("mariadb", table)] == ["ola@example.com"]
    assert {entry["register"]: entry for entry in first.results}[register.label]["erased"] == 1
    assert fulfilment.retry_incomplete_erasures() == 0


def test_a_collection_says_which_register_did_not_answer(handler, request_case, monkeypatch):
    register = unreachable()
    monkeypatch.setenv(register.connection_variable, "mysql+pymysql://nobody:x@127.0.0.1:9/none")
    collection = fulfilment.collect_subject_data(case=request_case, actor=handler)
    [entry] = [entry for entry in collection.results if entry["register"] == register.label]
    assert entry["unreachable"] and entry["found"] == 0
    [line] = [line for line in fulfilment.collection_lines(collection=collection) if line.name == "Old CRM"]
    assert line.unreachable


def test_an_export_waits_for_an_unreachable_register_and_is_built_once_it_answers(
    handler, request_case, drop_external_tables, monkeypatch, django_capture_on_commit_callbacks
):
    register, table = external_table("postgres", ROWS)
    drop_external_tables.append(("postgres", table))
    working = broken(register, monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        export = fulfilment.request_access_export(case=request_case, actor=handler)
    export.refresh_from_db()
    assert (export.status, export.waiting_for, export.file.name) == (ExportStatus.QUEUED, register.name, "")

    register.connection_variable = working
    register.save()
    AccessExport.objects.filter(pk=export.pk).update(requested_at=timezone.now() - timedelta(minutes=2))
    assert fulfilment.sweep_access_exports()["requeued"] == 1  # eager here: built at once
    export.refresh_from_db()
    assert export.status == ExportStatus.REVIEW and export.waiting_for == "" and export.file


def test_retention_purges_an_external_register_and_an_unreachable_one_fails_the_run(
    drop_external_tables, monkeypatch
):
    register, table = external_table("postgres", ROWS)  # category "leads": one year from signing up
    drop_external_tables.append(("postgres", table))
    gone = unreachable()
    monkeypatch.setenv(gone.connection_variable, "mysql+pymysql://nobody:x@127.0.0.1:9/none")

    run = run_purge(trigger=Trigger.MANUAL, pause_seconds=0, categories=["leads"])

    assert [row["name"] for row in rows_of("postgres", table)] == ["Kari Nordmann"]  # 2019 went, 2025 stays
    steps = {step.register: step for step in run.steps.all()}
    assert steps[register.label].deleted == 1 and steps[gone.label].failed == 1
    assert run.status == RunStatus.FAILED  # tried again by the next run, never taken for done
    assert RetentionRun.objects.filter(pk=run.pk, status=RunStatus.FAILED).exists()


@pytest.mark.parametrize("kind", ["mariadb", "postgres"])
def test_a_legal_hold_keeps_rows_in_another_database_from_the_erasure_and_the_purge(
    kind, handler, request_case, drop_external_tables
):
    register, table = external_table(
        kind, [*ROWS, {"name": "Per", "email": None, "signed_up_on": date(2019, 1, 1)}]
    )
    drop_external_tables.append((kind, table))
    place_hold(actor=handler, scope=HoldScope.SUBJECT, reason="A claim", email=KARI.upper())
    place_hold(actor=handler, scope=HoldScope.SUBJECT, reason="A complaint", email="ola@example.com")

    erasure = fulfilment.erase_requester_data(case=request_case, actor=handler)

    assert erasure.complete
    entry = {entry["register"]: entry for entry in erasure.results}[register.label]
    assert (entry["erased"], entry["kept"], entry["kept_because"]) == (0, 1, ["legal_hold"])
    [line] = [line for line in fulfilment.erasure_lines(erasure=erasure) if line.name == register.name]
    assert "legal hold" in " ".join(line.kept_because)
    run = run_purge(trigger=Trigger.MANUAL, pause_seconds=0, categories=["leads"])
    # Ola's row of 2019 is past its year but held; the row without an address is not.
    assert [row["name"] for row in rows_of(kind, table)] == ["Kari Nordmann", "Ola"]
    step = run.steps.get(register=register.label)
    assert (step.deleted, step.held) == (1, 1)

    place_hold(actor=handler, scope=HoldScope.CATEGORY, reason="An inquiry", category="leads")
    LegalHold.objects.filter(scope=HoldScope.SUBJECT).update(lifted_at=timezone.now())
    held_run = run_purge(trigger=Trigger.MANUAL, pause_seconds=0, categories=["leads"])
    assert [row["name"] for row in rows_of(kind, table)] == ["Kari Nordmann", "Ola"]
    assert (
        held_run.steps.get(register=register.label).deleted,
        held_run.steps.get(register=register.label).held,
    ) == (0, 1)


def test_the_summary_and_the_record_of_processing_tell_what_art_15_asks_of_a_register_elsewhere(
    handler, request_case, drop_external_tables, django_capture_on_commit_callbacks
):
    register, table = external_table("postgres", ROWS)
    drop_external_tables.append(("postgres", table))
    register.purpose = "To follow up the customers the sales team meets."
    register.legal_basis = "Legitimate interest (art. 6(1)(f))."
    register.source = "The person, at a meeting."
    register.recipients = "The CRM provider as processor."
    register.save()

    with django_capture_on_commit_callbacks(execute=True):
        export = fulfilment.request_access_export(case=request_case, actor=handler)
    export.refresh_from_db()
    with export.file.open("rb") as stored:
        summary = zipfile.ZipFile(io.BytesIO(stored.read())).read("summary.html").decode()

    section = summary[summary.index(register.name) :]
    for told in (
        register.purpose,
        "art. 6(1)(f)",
        register.source,
        register.recipients,
        "1 year after signed_up_on",
    ):
        assert told in section[:3000], told
    [activity] = [activity for activity in processing_activities() if activity.label == register.label]
    assert (activity.purpose, activity.data_categories) == (
        register.purpose,
        ["name", "email", "signed_up_on"],
    )
    assert str(activity.retention[0]) == "leads: 1 year after signed_up_on, then delete"
