"""Erasure (issue 13, point 4): the requester's records erased or anonymised as their declarations
say, with their files and the audit log's values about them; an accounting record (a legal duty)
and a record under a legal hold kept, restricted so that the registers' lists leave them out, and
said why; the request itself kept; the run log without personal data; the erasure log of keyed
hashes applied again after a restored backup."""

import datetime
import json
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from cases import fulfilment
from cases.models import Breach, Case, CaseEvent, CaseEventKind, CaseType, SubjectErasure
from cases.selectors import visible_cases
from consent.defaults import ensure_default_purposes
from consent.models import Channel, ConsentAction, ConsentEvent, ConsentPurpose, ConsentSubject
from consent.selectors import first_broken_link
from consent.services import record_consent, seal_ledger
from registers.marks import is_suppressed
from registers.models import (
    AccountingRecord,
    CustomerContact,
    ErasedIdentity,
    Lead,
    LegalEntity,
    RecruitmentEntry,
    Restriction,
    SuppressedAddress,
    VisitorRegistration,
)
from registers.registry import identity_digest
from retention.models import HoldScope, RetentionRun, RunStep, Trigger
from retention.queries import local_today
from retention.services import place_hold
from tests.factories import (
    CaseHandlerFactory,
    StaffFactory,
    confirmed_subject_request,
    submit,
)
from tests.registers.factories import (
    AccountingRecordFactory,
    LeadFactory,
    LegalEntityFactory,
    RecruitmentEntryFactory,
    staff_with,
)
from trustcenter.models import OutboxMessage
from trustcenter.services import enqueue_email

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("password_login_is_enough")]

KARI = "kari@example.com"


@pytest.fixture
def request_case():
    case, _code = confirmed_subject_request(subject_right="erasure")
    return case


def entity() -> LegalEntity:
    made: Any = LegalEntityFactory()  # a factory's instance, which type checkers take for the factory
    return made


def visitor(email: str) -> VisitorRegistration:
    return VisitorRegistration.objects.create(
        full_name="Kari Nordmann",
        email=email,
        legal_entity=entity(),
        company="Fjord Fisk AS",
        host_name="Ola",
        visited_at=timezone.now(),
    )


def contact(email: str) -> CustomerContact:
    return CustomerContact.objects.create(
        full_name="Kari Nordmann",
        email=email,
        phone="+4791234567",
        legal_entity=entity(),
        company="Fjord",
    )


def test_an_erasure_keeps_the_accounting_record_and_the_held_record_and_says_why(
    handler, request_case, django_capture_on_commit_callbacks
):
    lead = LeadFactory(email=KARI, full_name="Kari Nordmann")
    lead.company = "Fjord Fisk AS"
    lead.save()  # an audit entry with values about her
    entry = RecruitmentEntryFactory(email=KARI)
    cv_name = entry.cv.name
    customer = contact(KARI)
    voucher = AccountingRecordFactory(email=KARI)
    held = visitor(KARI)
    place_hold(actor=handler, scope=HoldScope.RECORD, reason="A claim about the visit", record=held)
    ensure_default_purposes()
    record_consent(
        email=KARI,
        purpose=ConsentPurpose.objects.get(slug="newsletter"),
        action=ConsentAction.GIVE,
        channel=Channel.WEB,
    )
    complaint, _code = submit(
        case_type=CaseType.COMPLAINT, is_anonymous=False, reporter_email=KARI, reporter_name="Kari"
    )
    report, _code = submit(
        case_type=CaseType.WHISTLEBLOWING, is_anonymous=False, reporter_email=KARI, reporter_name="K"
    )
    others = LeadFactory(email="ola@example.com")
    assert any(audit_entry.changes for audit_entry in LogEntry.objects.get_for_object(lead))

    with django_capture_on_commit_callbacks(execute=True):  # files go once the erasure commits
        erasure = fulfilment.erase_requester_data(case=request_case, actor=handler)

    assert erasure.complete
    assert not Lead.objects.filter(pk=lead.pk).exists() and Lead.objects.filter(pk=others.pk).exists()
    assert not RecruitmentEntry.objects.filter(pk=entry.pk).exists()
    assert not default_storage.exists(cv_name)  # the CV went with its record
    customer.refresh_from_db()
    assert (customer.full_name, customer.email, customer.phone) == ("", "", "") and customer.anonymised_at
    subject = ConsentSubject.objects.get(events__isnull=False)
    assert subject.email is None and subject.erased_at is not None
    assert ConsentEvent.objects.filter(subject=subject).count() == 1  # the ledger keeps its events
    seal_ledger()
    assert first_broken_link() is None
    assert not Case.objects.filter(pk=complaint.pk).exists()
    assert Case.objects.filter(pk=request_case.pk).exists()  # the request is the proof of the answer
    assert Case.objects.filter(pk=report.pk).exists()  # the whistleblowing team answers for its own

    # Kept, restricted, and why.
    assert AccountingRecord.objects.filter(pk=voucher.pk, email=KARI).exists()
    assert VisitorRegistration.objects.filter(pk=held.pk, email=KARI).exists()
    restricted = set(Restriction.objects.values_list("record_type__model", "record_id"))
    assert restricted == {("accountingrecord", str(voucher.pk)), ("visitorregistration", str(held.pk))}
    results = {entry["register"]: entry for entry in erasure.results}
    assert results["registers.AccountingRecord"] == {
        "register": "registers.AccountingRecord",
        "action": "delete",
        "erased": 0,
        "kept": 1,
        "kept_because": ["legal_duty"],
        "failed": False,
    }
    assert results["registers.VisitorRegistration"]["kept_because"] == ["legal_hold"]
    assert (
        results["registers.Lead"]["erased"] == 1
        and results["registers.CustomerContact"]["action"] == "anonymise"
    )
    lines = {line.name: line for line in fulfilment.erasure_lines(erasure=erasure)}
    assert "Bookkeeping law" in " ".join(lines["accounting records"].kept_because)
    assert "legal hold" in " ".join(lines["visitor registrations"].kept_because)

    # The audit log keeps that something happened to the lead, not what it held.
    for audit_entry in LogEntry.objects.filter(content_type__model="lead", object_id=lead.pk):
        assert audit_entry.changes in ({}, None) and audit_entry.object_repr == ""

    # The run log: trigger "erasure", counts per register, nothing that names her.
    run = RetentionRun.objects.get(trigger=Trigger.ERASURE)
    assert erasure.run == run
    steps = {step.register: step for step in run.steps.all()}
    assert steps["registers.Lead"].deleted == 1 and steps["registers.AccountingRecord"].held == 1
    logged = json.dumps(list(RunStep.objects.values()), default=str) + json.dumps(
        list(RetentionRun.objects.values()), default=str
    )
    assert "kari" not in logged.lower() and "Nordmann" not in logged

    # The erasure log holds a keyed hash, never the address.
    assert ErasedIdentity.objects.filter(
        digest=identity_digest(KARI), case_reference=request_case.reference
    ).exists()
    assert not ErasedIdentity.objects.filter(digest__icontains="kari").exists()
    event = CaseEvent.objects.get(case=request_case, kind=CaseEventKind.SUBJECT_ERASED)
    erased = sum(entry["erased"] for entry in erasure.results)
    # The lead, the recruitment entry, the customer contact, the consent subject, the complaint.
    assert erased >= 5
    assert event.data == {"run": run.pk, "erased": erased, "kept": 2, "complete": True}


def test_the_legal_duty_keeps_an_accounting_record_only_while_its_country_s_period_runs(
    handler, request_case
):
    norway = entity()
    sweden = LegalEntityFactory(name="Amesto Sverige AB", country="SE", organisation_number="556000-0000")
    six_years_ago = datetime.date(local_today().year - 6, 12, 31)
    past_in_norway = AccountingRecordFactory(email=KARI, legal_entity=norway, fiscal_year_end=six_years_ago)
    running_in_sweden = AccountingRecordFactory(
        email=KARI, legal_entity=sweden, fiscal_year_end=six_years_ago
    )
    running_in_norway = AccountingRecordFactory(email=KARI, legal_entity=norway)  # fiscal year 2024

    erasure = fulfilment.erase_requester_data(case=request_case, actor=handler)

    # Five years in Norway have passed; seven in Sweden (from the calendar year's end) have not.
    assert not AccountingRecord.objects.filter(pk=past_in_norway.pk).exists()
    assert set(AccountingRecord.objects.values_list("pk", flat=True)) == {
        running_in_sweden.pk,
        running_in_norway.pk,
    }
    entry = next(entry for entry in erasure.results if entry["register"] == "registers.AccountingRecord")
    assert (entry["erased"], entry["kept"], entry["kept_because"]) == (1, 2, ["legal_duty"])
    assert set(Restriction.objects.values_list("record_id", flat=True)) == {
        str(running_in_sweden.pk),
        str(running_in_norway.pk),
    }


def test_a_case_with_a_breach_is_kept_by_the_duty_to_document_breaches(handler, request_case):
    deviation, _code = submit(
        case_type=CaseType.PRIVACY_DEVIATION, is_anonymous=False, reporter_email=KARI, reporter_name="Kari"
    )
    assert Breach.objects.filter(case=deviation).exists()  # the breach register's entry
    complaint, _code = submit(
        case_type=CaseType.COMPLAINT, is_anonymous=False, reporter_email=KARI, reporter_name="Kari"
    )

    erasure = fulfilment.erase_requester_data(case=request_case, actor=handler)

    assert Case.objects.filter(pk=deviation.pk).exists() and Breach.objects.filter(case=deviation).exists()
    assert not Case.objects.filter(pk=complaint.pk).exists()
    entry = next(entry for entry in erasure.results if entry["register"] == "cases.Case")
    assert (entry["erased"], entry["kept"], entry["kept_because"]) == (1, 1, ["legal_duty"])
    [line] = [line for line in fulfilment.erasure_lines(erasure=erasure) if line.kept]
    assert "art. 33(5)" in " ".join(line.kept_because)
    assert Restriction.objects.filter(record_id=str(deviation.pk), record_type__model="case").exists()


def test_a_case_kept_by_a_legal_hold_leaves_the_queues_but_for_those_who_may_see_restricted_records(
    client, handler, request_case
):
    complaint, _code = submit(
        case_type=CaseType.COMPLAINT, is_anonymous=False, reporter_email=KARI, reporter_name="Kari"
    )
    place_hold(actor=handler, scope=HoldScope.RECORD, reason="A claim about the complaint", record=complaint)
    colleague = CaseHandlerFactory()  # in every team, without the right to see restricted records
    privacy_lead = CaseHandlerFactory()
    privacy_lead.user_permissions.add(Permission.objects.get(codename="view_restricted_records"))

    fulfilment.erase_requester_data(case=request_case, actor=handler)

    assert Case.objects.filter(pk=complaint.pk).exists()  # kept: the hold
    assert complaint.pk not in visible_cases(user=colleague).values_list("pk", flat=True)
    assert request_case.pk in visible_cases(user=colleague).values_list("pk", flat=True)
    client.force_login(colleague)
    assert client.get(reverse("staff:case", args=[complaint.pk])).status_code in (403, 404)
    assert complaint.reference not in client.get(reverse("staff:queue")).content.decode()
    assert complaint.pk in visible_cases(user=privacy_lead).values_list("pk", flat=True)
    client.force_login(privacy_lead)
    assert client.get(reverse("staff:case", args=[complaint.pk])).status_code == 200


def test_restricted_records_are_left_out_of_the_register_lists_but_for_the_privacy_team(
    client, handler, request_case
):
    voucher = AccountingRecordFactory(email=KARI, voucher_number="2024-KARI")
    AccountingRecordFactory(email="ola@example.com", voucher_number="2024-OLA")
    fulfilment.erase_requester_data(case=request_case, actor=handler)

    bookkeeper = staff_with("view_accountingrecord")
    client.force_login(bookkeeper)
    page = client.get("/admin/registers/accountingrecord/").content.decode()
    assert "2024-OLA" in page and "2024-KARI" not in page
    assert client.get(f"/admin/registers/accountingrecord/{voucher.pk}/change/").status_code in (302, 404)

    privacy = staff_with("view_accountingrecord")
    privacy.user_permissions.add(Permission.objects.get(codename="view_restricted_records"))
    client.force_login(privacy)
    assert "2024-KARI" in client.get("/admin/registers/accountingrecord/").content.decode()


def test_a_restricted_record_is_left_out_of_the_register_s_export_too(client, handler, request_case):
    AccountingRecordFactory(email=KARI, voucher_number="2024-KARI")
    AccountingRecordFactory(email="ola@example.com", voucher_number="2024-OLA")
    fulfilment.erase_requester_data(case=request_case, actor=handler)
    client.force_login(staff_with("view_accountingrecord"))
    form = client.get("/admin/registers/accountingrecord/export/").context["form"]
    chosen = {
        name: "on" for name, field in form.fields.items() if getattr(field, "is_selectable_field", False)
    }

    exported = client.post(
        "/admin/registers/accountingrecord/export/", {"format": "0", "resource": "0", **chosen}
    )

    assert exported.status_code == 200
    assert "2024-OLA" in exported.content.decode("utf-8-sig")
    assert "2024-KARI" not in exported.content.decode("utf-8-sig")


def test_held_consent_and_outbox_records_leave_their_admin_lists_but_for_the_privacy_team(
    client, handler, request_case
):
    ensure_default_purposes()
    for email in (KARI, "ola@example.com"):
        record_consent(
            email=email,
            purpose=ConsentPurpose.objects.get(slug="newsletter"),
            action=ConsentAction.GIVE,
            channel=Channel.WEB,
        )
    enqueue_email(recipient="ola@example.com", subject="Your newsletter", body="Hello Ola")
    OutboxMessage.objects.filter(recipient__iexact=KARI).update(sent_at=timezone.now())
    place_hold(actor=handler, scope=HoldScope.SUBJECT, reason="A claim", email=KARI)
    fulfilment.erase_requester_data(case=request_case, actor=handler)
    kari, ola = ConsentSubject.objects.get(email=KARI), ConsentSubject.objects.get(email="ola@example.com")
    mail_to_kari = set(OutboxMessage.objects.filter(recipient__iexact=KARI).values_list("pk", flat=True))
    assert mail_to_kari  # her request's confirmation, sent, kept by the hold

    def listed(url: str, permission: str, *, restricted_too: bool = False) -> list:
        staff: Any = StaffFactory()  # a factory's instance, which type checkers take for the factory
        staff.user_permissions.add(Permission.objects.get(codename=permission))
        if restricted_too:
            staff.user_permissions.add(Permission.objects.get(codename="view_restricted_records"))
        client.force_login(staff)
        page = client.get(url)
        assert page.status_code == 200
        return list(page.context["cl"].result_list)

    for url, permission in (
        ("/admin/consent/consentevent/", "view_consentevent"),  # a part of the consent subject
        ("/admin/consent/consentstate/", "view_consentstate"),
    ):
        subjects = {row.subject_id for row in listed(url, permission)}
        assert ola.pk in subjects and kari.pk not in subjects, url
        assert kari.pk in {row.subject_id for row in listed(url, permission, restricted_too=True)}, url
    mail = {row.pk for row in listed("/admin/trustcenter/outboxmessage/", "view_outboxmessage")}
    assert mail and not mail & mail_to_kari
    everyone = listed("/admin/trustcenter/outboxmessage/", "view_outboxmessage", restricted_too=True)
    assert mail_to_kari <= {row.pk for row in everyone}


def test_a_restored_backup_is_erased_again_from_the_log(handler, request_case):
    fulfilment.erase_requester_data(case=request_case, actor=handler)
    # The backup from before the erasure comes back: her lead is there again.
    restored = LeadFactory(email="KARI@example.com")
    stranger = LeadFactory(email="ola@example.com")

    call_command("reapply_erasures", stdout=open("/dev/null", "w"))

    assert not Lead.objects.filter(pk=restored.pk).exists()
    assert Lead.objects.filter(pk=stranger.pk).exists()
    assert Case.objects.filter(pk=request_case.pk).exists()  # the request stays
    assert RetentionRun.objects.filter(trigger=Trigger.ERASURE).count() == 2


def test_a_restore_that_rolled_the_log_back_too_is_erased_again_from_the_log_s_file(
    settings, handler, request_case, django_capture_on_commit_callbacks
):
    LeadFactory(email=KARI)
    with django_capture_on_commit_callbacks(execute=True):  # the file is written once it commits
        fulfilment.erase_requester_data(case=request_case, actor=handler)
    written = settings.TRUSTCENTER_ERASURE_LOG.read_text()
    assert identity_digest(KARI) in written and KARI not in written  # hashes, never the address
    # The backup from before the erasure comes back: her lead, and a log and a list without her.
    ErasedIdentity.objects.all().delete()
    SuppressedAddress.objects.all().delete()
    restored = LeadFactory(email=KARI)
    assert not is_suppressed(KARI)

    call_command("reapply_erasures", stdout=open("/dev/null", "w"))

    assert not Lead.objects.filter(pk=restored.pk).exists()
    assert ErasedIdentity.objects.get().case_reference == request_case.reference
    assert is_suppressed(KARI)


def test_a_suppression_lifted_in_the_admin_is_not_put_back_by_a_restore(
    client, settings, handler, request_case, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.erase_requester_data(case=request_case, actor=handler)
    entry = SuppressedAddress.objects.get()
    admin = StaffFactory(is_superuser=True)
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:registers_suppressedaddress_delete", args=[entry.pk]), {"post": "yes"}
        )
    assert response.status_code == 302 and not is_suppressed(KARI)
    SuppressedAddress.objects.create(digest=entry.digest, why=entry.why)  # a backup from before the lift

    call_command("reapply_erasures", stdout=open("/dev/null", "w"))

    assert not is_suppressed(KARI)
    assert ErasedIdentity.objects.filter(digest=identity_digest(KARI)).exists()  # the erasure stands


def test_hashes_made_under_a_rotated_secret_key_are_still_recognised(settings, handler, request_case):
    fulfilment.erase_requester_data(case=request_case, actor=handler)
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-new-secret-key-" + "x" * 40, []
    restored = LeadFactory(email=KARI)
    assert not is_suppressed(KARI)  # without the old key, nothing recognises her

    settings.SECRET_KEY_FALLBACKS = [old_key]

    assert is_suppressed(KARI)
    call_command("reapply_erasures", stdout=open("/dev/null", "w"))
    assert not Lead.objects.filter(pk=restored.pk).exists()


def test_the_request_s_access_exports_go_with_the_erasure(
    client, handler, request_case, django_capture_on_commit_callbacks
):
    LeadFactory(email=KARI)
    with django_capture_on_commit_callbacks(execute=True):
        export = fulfilment.request_access_export(case=request_case, actor=handler)
    export.refresh_from_db()
    stored = export.file.name
    assert default_storage.exists(stored)
    link = fulfilment.release_access_export(export=export, actor=handler)  # sent, not yet downloaded
    fulfilment.erase_requester_data(case=request_case, actor=handler)
    export.refresh_from_db()
    assert not export.file and not default_storage.exists(stored)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    assert client.get(path).status_code == 410  # the link says it no longer works
    assert client.post(path, {"receipt_code": "1234"}).status_code == 410


def test_the_erasure_asks_for_confirmation_and_checks_the_door(client, handler, request_case):
    lead = LeadFactory(email=KARI)
    url = f"/en/staff/cases/{request_case.pk}/erasure/"
    for outsider in (StaffFactory(), CaseHandlerFactory(teams=["hse"])):
        client.force_login(outsider)
        assert client.post(url, {"erase-confirmed": "on"}).status_code == 403
        with pytest.raises(PermissionDenied):
            fulfilment.erase_requester_data(case=request_case, actor=outsider)
    client.logout()
    assert client.post(url, {"erase-confirmed": "on"}).status_code == 302
    client.force_login(handler)
    assert client.post(url, {}).status_code == 400  # not confirmed
    assert Lead.objects.filter(pk=lead.pk).exists() and not SubjectErasure.objects.exists()

    response = client.post(url, {"erase-confirmed": "on"}, follow=True)
    assert "The requester&#x27;s data was erased" in response.content.decode()
    assert not Lead.objects.filter(pk=lead.pk).exists()
    assert "Erased by Pia Privacy" in response.content.decode()
    assert LegalEntity.objects.exists()  # what is about no one stays


def test_a_message_to_the_requester_not_yet_sent_is_delivered_first(handler, request_case):
    sent = enqueue_email(recipient=KARI, subject="Sent", body="Sent body")
    OutboxMessage.objects.filter(pk=sent.pk).update(sent_at=timezone.now())
    pending = enqueue_email(recipient=KARI, subject="Your answer", body="We have erased")  # no worker yet
    fulfilment.erase_requester_data(case=request_case, actor=handler)
    assert OutboxMessage.objects.get(pk=sent.pk).recipient == ""
    assert OutboxMessage.objects.get(pk=pending.pk).recipient == KARI  # the retention rule takes it once sent
