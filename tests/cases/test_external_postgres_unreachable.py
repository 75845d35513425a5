"""A register kept in another PostgreSQL database that does not answer (issue 13, point 7): the
collection says so, never "0 found"; an erasure is left incomplete and completed by the beat's
retry once the database answers again; an access export waits for it rather than being built
without it. The outage is a closed port; the database that answers again is the real second
PostgreSQL database that bin/test starts (TRUSTCENTER_EXTERNAL_TEST_POSTGRES_URL)."""

import io
import json
import os
import re
import zipfile
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from django.core.files.storage import default_storage
from django.utils import timezone

from cases import fulfilment
from cases.models import AccessExport, CaseEvent, CaseEventKind, ExportStatus, SubjectErasure
from registers import external
from registers.models import ExternalRegister, Lead
from retention.models import RunStatus, RunStep
from retention.services import stored_files
from tests.factories import confirmed_subject_request
from tests.registers.external_db import KINDS, external_table, rows_of
from tests.registers.factories import LeadFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("password_login_is_enough")]

KARI = "kari@example.com"
RECENT = date.today() - timedelta(days=30)
ROWS = [
    {"name": "Kari Nordmann", "email": KARI, "signed_up_on": RECENT},
    {"name": "Kari N.", "email": " KARI@example.com", "signed_up_on": RECENT},
    {"name": "Ola", "email": "ola@example.com", "signed_up_on": date(2019, 3, 3)},
]
# The register's own variable, pointed at a port nothing listens on, then at the real database.
VARIABLE = "TRUSTCENTER_EXTERNAL_CRM_PG_URL"
CLOSED_PORT = "postgresql+psycopg2://crm:secret@127.0.0.1:9/crm"


@pytest.fixture
def request_case():
    case, _code = confirmed_subject_request()
    return case


@pytest.fixture
def crm(drop_external_tables, monkeypatch) -> tuple[ExternalRegister, sa.Table]:
    """Kari's and Ola's rows in a table of the second PostgreSQL database, its register reached
    through VARIABLE, which points at a closed port for now."""
    register, table = external_table("postgres", ROWS)
    drop_external_tables.append(("postgres", table))
    register.connection_variable = VARIABLE
    register.save()
    monkeypatch.setenv(VARIABLE, CLOSED_PORT)
    return register, table


def answers_again(monkeypatch) -> None:
    """The register's variable now holds the real second PostgreSQL database's URL."""
    monkeypatch.setenv(VARIABLE, os.environ[KINDS["postgres"]])


def test_the_closed_port_really_does_not_answer(crm):
    register, _table = crm
    with pytest.raises(external.Unavailable):
        external.count_for(register, (KARI,))


# --- (a) At collection --------------------------------------------------------------------------


def test_the_collection_says_the_register_could_not_be_reached_never_that_it_holds_nothing(
    client, handler, request_case, crm, monkeypatch
):
    register, _table = crm
    collection = fulfilment.collect_subject_data(case=request_case, actor=handler)

    [entry] = [entry for entry in collection.results if entry["register"] == register.label]
    assert entry.get("unreachable") is True
    [line] = [
        line for line in fulfilment.collection_lines(collection=collection) if line.register == register.label
    ]
    assert line.unreachable and line.name == register.name

    client.force_login(handler)
    page = client.get(f"/en/staff/cases/{request_case.pk}/").content.decode()
    [row] = [row for row in re.findall(r"<tr>.*?</tr>", page, re.DOTALL) if register.name in row]
    assert "could not be reached: collect again later" in row
    assert not re.search(r'<td class="text-end">\s*0\s*</td>', row), row

    # Once it answers, a new collection counts Kari's two rows (the address in any case and spacing).
    answers_again(monkeypatch)
    again = fulfilment.collect_subject_data(case=request_case, actor=handler)
    [entry] = [entry for entry in again.results if entry["register"] == register.label]
    assert (entry["found"], entry.get("unreachable", False)) == (2, False)

    # Nor, while it did not answer, was it among the registers the page said hold nothing.
    empty = re.search(
        r"registers? holds? nothing about the requester</summary>(.*?)</details>", page, re.DOTALL
    )
    assert empty is None or register.name not in empty.group(1), (
        f"the page lists {register.name!r}, which did not answer, among the registers that hold nothing"
    )


# --- (b) At erasure -----------------------------------------------------------------------------


def test_an_erasure_is_left_incomplete_and_completed_by_the_retry_once_the_database_answers(
    handler, request_case, crm, monkeypatch
):
    register, table = crm
    lead = LeadFactory(email=KARI)

    erasure = fulfilment.erase_requester_data(case=request_case, actor=handler)

    assert not erasure.complete
    assert not Lead.objects.filter(pk=lead.pk).exists()  # the portal's own registers are done
    [failed] = [entry for entry in erasure.results if entry["register"] == register.label]
    assert failed["failed"] and failed["erased"] == 0
    assert erasure.run.status == RunStatus.FAILED
    assert RunStep.objects.get(run=erasure.run, register=register.label).failed == 1
    assert len(rows_of("postgres", table)) == 3  # nothing there was taken for done
    event = CaseEvent.objects.filter(case=request_case, kind=CaseEventKind.SUBJECT_ERASED).latest("pk")
    assert event.data["complete"] is False

    # The beat's retry while the database is still away: still incomplete, nothing lost.
    assert fulfilment.retry_incomplete_erasures() == 0
    erasure.refresh_from_db()
    assert not erasure.complete and len(rows_of("postgres", table)) == 3

    answers_again(monkeypatch)
    assert fulfilment.retry_incomplete_erasures() == 1

    erasure.refresh_from_db()
    assert erasure.complete
    assert [row["name"] for row in rows_of("postgres", table)] == ["Ola"]
    retried = {entry["register"]: entry for entry in erasure.results}[register.label]
    assert (retried["erased"], retried.get("failed", False)) == (2, False)
    assert SubjectErasure.objects.filter(case=request_case, complete=False).count() == 0
    last = CaseEvent.objects.filter(case=request_case, kind=CaseEventKind.SUBJECT_ERASED).latest("pk")
    assert last.data["complete"] is True
    assert fulfilment.retry_incomplete_erasures() == 0  # nothing left to try


def test_a_database_that_goes_away_between_two_batches_leaves_the_erasure_incomplete_until_retried(
    handler, request_case, drop_external_tables, monkeypatch
):
    """More of Kari's rows than one batch takes: the database answers the first batch and is gone
    for the second. What was erased stays erased; the rest is erased by the retry."""
    many = [{"name": f"Kari {n}", "email": KARI, "signed_up_on": RECENT} for n in range(external.BATCH + 1)]
    register, table = external_table("postgres", [*many, ROWS[2]])
    drop_external_tables.append(("postgres", table))
    register.connection_variable = VARIABLE
    register.save()
    answers_again(monkeypatch)
    batches = []
    real_batch = external._batch

    def batch_then_outage(*args, **kwargs):
        done = real_batch(*args, **kwargs)
        batches.append(len(done[0]))
        monkeypatch.setenv(VARIABLE, CLOSED_PORT)  # gone before the next batch
        return done

    monkeypatch.setattr(external, "_batch", batch_then_outage)

    erasure = fulfilment.erase_requester_data(case=request_case, actor=handler)

    assert batches == [external.BATCH]  # one batch went through, the second met the closed port
    assert not erasure.complete
    assert [row["name"] for row in rows_of("postgres", table)] == [f"Kari {external.BATCH}", "Ola"]
    [failed] = [entry for entry in erasure.results if entry["register"] == register.label]
    assert failed["failed"]

    answers_again(monkeypatch)
    assert fulfilment.retry_incomplete_erasures() == 1
    erasure.refresh_from_db()
    assert erasure.complete
    assert [row["name"] for row in rows_of("postgres", table)] == ["Ola"]
    # The erasure's record counts every row erased for her there, the first batch's too.
    erased = {entry["register"]: entry for entry in erasure.results}[register.label]["erased"]
    assert erased == external.BATCH + 1, (
        f"the erasure records {erased} rows erased in {register.name}; {external.BATCH + 1} were"
    )


def test_the_case_page_says_the_erasure_is_incomplete_until_the_retry_completes_it(
    client, handler, request_case, crm, monkeypatch
):
    register, _table = crm
    fulfilment.erase_requester_data(case=request_case, actor=handler)
    client.force_login(handler)
    page = client.get(f"/en/staff/cases/{request_case.pk}/").content.decode()
    assert "incomplete: a register failed; erase again" in page
    [row] = [row for row in re.findall(r"<tr>.*?</tr>", page, re.DOTALL) if register.name in row]
    assert "could not be reached: nothing was erased there yet" in row

    answers_again(monkeypatch)
    assert fulfilment.retry_incomplete_erasures() == 1
    page = client.get(f"/en/staff/cases/{request_case.pk}/").content.decode()
    assert "incomplete: a register failed" not in page
    [row] = [row for row in re.findall(r"<tr>.*?</tr>", page, re.DOTALL) if register.name in row]
    assert "could not be reached" not in row
    assert re.search(r'<td class="text-end">\s*2\s*</td>', row), row


# --- (c) At an access export's build ------------------------------------------------------------


def test_an_export_waits_for_the_register_instead_of_being_built_without_it(
    client, handler, request_case, crm, monkeypatch
):
    register, _table = crm
    LeadFactory(email=KARI, company="Fjord Fisk AS")
    files_before = set(stored_files(default_storage, "access-exports"))
    export = fulfilment.request_access_export(case=request_case, actor=handler)

    assert fulfilment.build_access_export(export_id=export.pk) is None

    export.refresh_from_db()
    assert (export.status, export.waiting_for, export.file.name) == (ExportStatus.QUEUED, register.name, "")
    assert export.claimed_until is None and export.built_at is None
    assert set(stored_files(default_storage, "access-exports")) == files_before  # no zip without it
    assert not CaseEvent.objects.filter(case=request_case, kind=CaseEventKind.EXPORT_BUILT).exists()
    client.force_login(handler)
    page = client.get(f"/en/staff/cases/{request_case.pk}/").content.decode()
    assert f"{register.name} could not be reached; the export is tried again every few minutes." in page
    assert "Review it and send it" not in page

    # The sweep asks again while it is still away: it waits again.
    AccessExport.objects.filter(pk=export.pk).update(requested_at=timezone.now() - timedelta(minutes=2))
    assert fulfilment.sweep_access_exports()["requeued"] == 1  # eager here: the build runs at once
    export.refresh_from_db()
    assert (export.status, export.waiting_for, export.file.name) == (ExportStatus.QUEUED, register.name, "")

    answers_again(monkeypatch)
    assert fulfilment.sweep_access_exports()["requeued"] == 1
    export.refresh_from_db()
    assert export.status == ExportStatus.REVIEW and export.waiting_for == "" and export.file
    with export.file.open("rb") as stored:
        data = json.loads(zipfile.ZipFile(io.BytesIO(stored.read())).read("data.json"))
    parts = {part["register"]: part for part in data["registers"]}
    assert [row["name"] for row in parts[register.label]["records"]] == ["Kari Nordmann", "Kari N."]
    assert "registers.Lead" in parts
    page = client.get(f"/en/staff/cases/{request_case.pk}/").content.decode()
    assert "could not be reached; the export is tried again" not in page
    assert "Review it and send it" in page
