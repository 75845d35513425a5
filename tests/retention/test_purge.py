"""The purge engine (retention.services.run_purge and dry_run) on PostgreSQL, through its real
queries: what goes, what stays, holds, consent, cases, files, failures and the run log."""

import dataclasses
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.models import Breach, Case, CaseType
from consent.models import Purpose
from registers import registry
from registers.models import (
    AccountingRecord,
    CustomerContact,
    EventParticipant,
    JobApplication,
    Lead,
    RecruitmentEntry,
    SupplierContact,
)
from retention import queries, services
from retention.models import HoldScope, LegalHold, RetentionRule, RetentionRun, RunStatus, RunStep, Trigger
from tests.conftest import need
from tests.retention import records
from trustcenter.models import OutboxMessage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _postgresql():
    need(connection.vendor == "postgresql", "PostgreSQL")


@pytest.fixture
def today():
    return queries.local_today()


@pytest.fixture
def staff():
    return get_user_model().objects.create_user(username="privacy-officer", is_staff=True)


def purge(today, **kwargs) -> RetentionRun:
    kwargs.setdefault("trigger", Trigger.MANUAL)
    kwargs.setdefault("pause_seconds", 0)
    return services.run_purge(today=today, **kwargs)


def step_of(run: RetentionRun, category: str, register: str = "", country: str = "") -> RunStep:
    steps = run.steps.filter(category=category, country=country)
    if register:
        steps = steps.filter(register=register)
    return steps.get()


def pks(model) -> set:
    return set(model.objects.values_list("pk", flat=True))


# Category → the maker of its rows (tests/retention/records.py).
DELETED = {
    "event_participants": records.event_participant,
    "leads": records.lead,
    "inquiries": records.inquiry,
    "job_applications": records.job_application,
    "recruitment_database": records.recruitment_entry,
    "accounting_records": records.accounting_record,
    "visitors": records.visitor,
}


@pytest.mark.parametrize("category", sorted(DELETED))
def test_each_register_loses_exactly_the_rows_past_their_cutoff(category, today):
    make = DELETED[category]
    cutoff = records.cutoff(category, today)
    long_gone = make(cutoff - timedelta(days=400))
    # The last day the rule takes (its last moment, for a datetime clock) goes ...
    last_due = make(cutoff, late=True)
    # ... the next day (its first moment) is still inside the period and stays.
    first_kept = make(cutoff + timedelta(days=1), late=False)
    recent = make(today)
    model = type(last_due)

    run = purge(today)

    assert pks(model) == {first_kept.pk, recent.pk}
    assert run.status == RunStatus.FINISHED, run.error
    step = step_of(run, category, model._meta.label)
    assert (step.deleted, step.anonymised, step.held, step.failed) == (2, 0, 0, 0)
    assert step.cutoff == cutoff
    assert not model.objects.filter(pk__in=[long_gone.pk, last_due.pk]).exists()


def test_the_cutoff_follows_the_rule_an_admin_changed(today):
    RetentionRule.objects.filter(category="visitors").update(period_amount=10)
    cutoff = records.cutoff("visitors", today)
    assert cutoff == today - timedelta(days=11)
    due, kept = records.visitor(cutoff), records.visitor(cutoff + timedelta(days=1), late=False)
    purge(today)
    assert pks(type(due)) == {kept.pk}


def test_a_disabled_rule_deletes_nothing(today):
    RetentionRule.objects.filter(category="leads").update(enabled=False)
    old = records.lead(today - timedelta(days=3000))
    run = purge(today)
    assert Lead.objects.filter(pk=old.pk).exists()
    assert not run.steps.filter(category="leads").exists()


@pytest.mark.parametrize(
    ("category", "make", "model"),
    [
        ("customer_contacts", records.customer_contact, CustomerContact),
        ("supplier_contacts", records.supplier_contact, SupplierContact),
    ],
)
def test_business_contacts_are_anonymised_once(category, make, model, today):
    cutoff = records.cutoff(category, today)
    due = make(cutoff)
    kept = make(cutoff + timedelta(days=1))
    open_relationship = make(None)

    first = purge(today)

    assert pks(model) == {due.pk, kept.pk, open_relationship.pk}
    due.refresh_from_db()
    assert (due.full_name, due.email, due.phone, due.role) == ("", "", "", "")
    assert due.anonymised_at is not None
    assert due.company  # the company is not a person
    for untouched in (kept, open_relationship):
        before = {field: getattr(untouched, field) for field in ("full_name", "email", "phone", "role")}
        untouched.refresh_from_db()
        assert {field: getattr(untouched, field) for field in before} == before
        assert untouched.anonymised_at is None
    step = step_of(first, category)
    assert (step.deleted, step.anonymised, step.held, step.failed) == (0, 1, 0, 0)

    anonymised_at = due.anonymised_at
    second = purge(today)
    assert step_of(second, category).anonymised == 0
    due.refresh_from_db()
    assert due.anonymised_at == anonymised_at


def test_accounting_records_are_kept_by_the_law_of_their_legal_entitys_country(today):
    five_years = records.cutoff("accounting_records", today, "NO")
    assert five_years == records.cutoff("accounting_records", today, "DK")
    swedish = records.cutoff("accounting_records", today, "SE")
    assert (swedish.month, swedish.day) == (12, 31)
    kept, gone = [], []
    for country in ("NO", "DK"):
        gone.append(records.accounting_record(five_years, country=country))
        kept.append(records.accounting_record(five_years + timedelta(days=1), country=country))
    # Sweden: 7 years after the end of the calendar year in which the fiscal year ended.
    gone.append(records.accounting_record(swedish, country="SE"))
    gone.append(records.accounting_record(swedish.replace(month=6, day=30), country="SE"))
    kept.append(records.accounting_record(swedish + timedelta(days=1), country="SE"))
    # Old enough for Norway, not for Sweden.
    same_day_swedish = records.accounting_record(five_years, country="SE")
    kept.append(same_day_swedish)
    # No legal entity: the rule's own period (5 years from the fiscal year's end).
    gone.append(records.accounting_record(five_years))
    kept.append(records.accounting_record(five_years + timedelta(days=1)))

    run = purge(today)

    assert pks(AccountingRecord) == {record.pk for record in kept}
    assert step_of(run, "accounting_records", country="NO").deleted == 1
    assert step_of(run, "accounting_records", country="DK").deleted == 1
    assert step_of(run, "accounting_records", country="SE").deleted == 2
    assert step_of(run, "accounting_records", country="SE").cutoff == swedish
    assert step_of(run, "accounting_records", country="").deleted == 1


def test_the_files_of_deleted_rows_go_after_commit_and_the_kept_rows_keep_theirs(
    today, django_capture_on_commit_callbacks
):
    cutoff = records.cutoff("job_applications", today)
    gone = records.job_application(cutoff, cv=b"%PDF gone")
    kept = records.job_application(cutoff + timedelta(days=1), cv=b"%PDF kept")
    accounting_cutoff = records.cutoff("accounting_records", today, "NO")
    receipt = records.accounting_record(accounting_cutoff, country="NO", receipt=b"%PDF receipt")
    names = [gone.cv.name, kept.cv.name, receipt.receipt.name]
    assert all(default_storage.exists(name) for name in names)

    with django_capture_on_commit_callbacks() as callbacks:
        purge(today)
        # Deleted in the database, not yet from the storage: the transaction has not committed.
        assert not JobApplication.objects.filter(pk=gone.pk).exists()
        assert default_storage.exists(gone.cv.name)
    for callback in callbacks:
        callback()

    assert not default_storage.exists(gone.cv.name)
    assert not default_storage.exists(receipt.receipt.name)
    assert default_storage.exists(kept.cv.name)


def test_files_stay_when_the_deleting_transaction_rolls_back(today, django_capture_on_commit_callbacks):
    gone = records.job_application(records.cutoff("job_applications", today), cv=b"%PDF")

    class RolledBack(Exception):
        pass

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RolledBack), transaction.atomic():
            purge(today)
            assert not JobApplication.objects.filter(pk=gone.pk).exists()
            raise RolledBack

    assert callbacks == []
    assert JobApplication.objects.filter(pk=gone.pk).exists()
    assert default_storage.exists(gone.cv.name)


# --- Legal holds ------------------------------------------------------------------------------


def test_a_hold_on_a_subject_keeps_their_rows_whatever_the_case_of_the_address(today, staff):
    cutoff = records.cutoff("leads", today)
    held = records.lead(cutoff, email="Kari.Nordmann@Example.COM")
    other = records.lead(cutoff)
    services.place_hold(
        actor=staff, scope=HoldScope.SUBJECT, email="kari.nordmann@example.com ", reason="Claim"
    )

    assert [line.held for line in queries.dry_run(today=today) if line.category == "leads"] == [1]
    run = purge(today)

    assert pks(Lead) == {held.pk}
    assert not Lead.objects.filter(pk=other.pk).exists()
    step = step_of(run, "leads")
    assert (step.deleted, step.held) == (1, 1)


def test_a_subject_hold_matches_the_address_whatever_its_case_and_none_is_stored_otherwise(today, staff):
    """Addresses are compared lower-case on both sides; the database refuses a hold stored any
    other way (an import, the shell), so that no hold silently holds nothing."""
    held = records.lead(records.cutoff("leads", today), email="Per.Hansen@example.com")
    services.place_hold(
        actor=staff, scope=HoldScope.SUBJECT, email=" per.hansen@EXAMPLE.com ", reason="Claim"
    )
    run = purge(today)
    assert Lead.objects.filter(pk=held.pk).exists()
    assert step_of(run, "leads").held == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        LegalHold.objects.create(
            scope=HoldScope.SUBJECT, email="Per.Hansen@Example.com", reason="Claim", created_by=staff
        )


def test_a_hold_on_a_record_keeps_that_record(today, staff):
    cutoff = records.cutoff("visitors", today)
    held, other = records.visitor(cutoff), records.visitor(cutoff)
    services.place_hold(actor=staff, scope=HoldScope.RECORD, record=held, reason="Incident at reception")
    run = purge(today)
    assert pks(type(held)) == {held.pk}
    assert not type(other).objects.filter(pk=other.pk).exists()
    assert (step_of(run, "visitors").deleted, step_of(run, "visitors").held) == (1, 1)


def test_a_hold_on_a_category_keeps_it_whole_and_leaves_the_others(today, staff):
    leads = [records.lead(records.cutoff("leads", today)) for _ in range(3)]
    visitor = records.visitor(records.cutoff("visitors", today))
    services.place_hold(actor=staff, scope=HoldScope.CATEGORY, category="leads", reason="Audit")
    run = purge(today)
    assert pks(Lead) == {lead.pk for lead in leads}
    assert not type(visitor).objects.filter(pk=visitor.pk).exists()
    assert (step_of(run, "leads").deleted, step_of(run, "leads").held) == (0, 3)


def test_a_lifted_hold_lets_the_next_run_take_the_rows(today, staff):
    row = records.lead(records.cutoff("leads", today))
    hold = services.place_hold(actor=staff, scope=HoldScope.RECORD, record=row, reason="Claim")
    purge(today)
    assert Lead.objects.filter(pk=row.pk).exists()

    services.lift_hold(hold=hold, actor=staff)
    run = purge(today)
    assert not Lead.objects.filter(pk=row.pk).exists()
    assert (step_of(run, "leads").deleted, step_of(run, "leads").held) == (1, 0)


def test_an_expired_hold_lets_the_next_run_take_the_rows(today, staff):
    row = records.lead(records.cutoff("leads", today), email="ola@example.com")
    hold = services.place_hold(
        actor=staff,
        scope=HoldScope.SUBJECT,
        email="ola@example.com",
        reason="Claim",
        until=timezone.now() + timedelta(days=1),
    )
    purge(today)
    assert Lead.objects.filter(pk=row.pk).exists()

    # The hold's end passes (the database's clock decides, so the row is moved, not the clock).
    type(hold).objects.filter(pk=hold.pk).update(until=timezone.now() - timedelta(seconds=1))
    purge(today)
    assert not Lead.objects.filter(pk=row.pk).exists()


# --- Cases ------------------------------------------------------------------------------------


def test_a_case_goes_from_its_closing_or_its_last_message_whichever_is_later(today):
    cutoff = records.cutoff("cases.general_inquiry", today)
    gone = records.case(cutoff)
    kept = records.case(cutoff + timedelta(days=1), late=False)
    # Closed long ago, but the reporter wrote after the closing: the clock runs from that message.
    written_after = records.case(
        cutoff - timedelta(days=300), last_message=records.first_moment(cutoff + timedelta(days=1))
    )
    written_after_but_due = records.case(
        cutoff - timedelta(days=300), last_message=records.last_moment(cutoff)
    )
    never_closed = records.case(None)
    Case.objects.filter(pk=never_closed.pk).update(received_at=timezone.now() - timedelta(days=3000))

    run = purge(today)

    assert pks(Case) == {kept.pk, written_after.pk, never_closed.pk}
    assert not Case.objects.filter(pk__in=[gone.pk, written_after_but_due.pk]).exists()
    assert step_of(run, "cases.general_inquiry").deleted == 2


def test_each_case_type_has_its_own_rule(today):
    cutoff = records.cutoff("cases.hse", today)
    hse = records.case(cutoff, case_type=CaseType.HSE)
    # Closed the same day: past whistleblowing's 2 years too, inside a breach's 5 years.
    whistleblowing = records.case(cutoff, case_type=CaseType.WHISTLEBLOWING)
    breach_case = records.case(cutoff, case_type=CaseType.PRIVACY_DEVIATION)
    purge(today)
    assert pks(Case) == {breach_case.pk}
    assert not Case.objects.filter(pk__in=[hse.pk, whistleblowing.pk]).exists()


def test_a_case_with_a_breach_row_is_deleted_with_it(today):
    cutoff = records.cutoff("cases.privacy_deviation", today)
    gone = records.case(cutoff, case_type=CaseType.PRIVACY_DEVIATION)
    # A breach report opens the breach register's row with the case.
    assert Breach.objects.filter(case=gone).update(nature="Lost laptop") == 1
    kept = records.case(cutoff + timedelta(days=1), case_type=CaseType.PRIVACY_DEVIATION, late=False)
    assert Breach.objects.filter(case=kept).exists()
    # The breach register protects its cases from any other deletion.
    with pytest.raises(ProtectedError), transaction.atomic():
        Case.objects.filter(pk=gone.pk).delete()

    run = purge(today)

    assert pks(Case) == {kept.pk}
    assert list(Breach.objects.values_list("case_id", flat=True)) == [kept.pk]
    step = step_of(run, "cases.privacy_deviation")
    assert (step.deleted, step.failed) == (1, 0)


def test_holds_on_a_case_and_on_its_reporter_keep_them(today, staff):
    cutoff = records.cutoff("cases.complaint", today)
    held_case = records.case(cutoff, case_type=CaseType.COMPLAINT)
    reporters_case = records.case(
        cutoff,
        case_type=CaseType.COMPLAINT,
        is_anonymous=False,
        reporter_name="Siri Svensson",
        reporter_email="Siri.Svensson@example.se",
    )
    other = records.case(cutoff, case_type=CaseType.COMPLAINT)
    services.place_hold(actor=staff, scope=HoldScope.RECORD, record=held_case, reason="Proceedings")
    services.place_hold(
        actor=staff, scope=HoldScope.SUBJECT, email="siri.svensson@example.se", reason="Claim"
    )

    run = purge(today)

    assert pks(Case) == {held_case.pk, reporters_case.pk}
    assert not Case.objects.filter(pk=other.pk).exists()
    step = step_of(run, "cases.complaint")
    assert (step.deleted, step.held) == (1, 2)


def test_staff_postpone_a_cases_deletion_up_to_the_rules_maximum(today, staff):
    cutoff = records.cutoff("cases.general_inquiry", today)
    postponed, other = records.case(cutoff), records.case(cutoff)
    rule = RetentionRule.objects.get(category="cases.general_inquiry")
    rule.max_postponement_days = 60
    rule.save()

    with pytest.raises(ValidationError):
        services.postpone(
            record=postponed,
            until=today + timedelta(days=61),
            reason="Claim",
            actor=staff,
        )
    with pytest.raises(ValidationError):
        services.postpone(
            record=postponed,
            until=today + timedelta(days=30),
            reason=" ",
            actor=staff,
        )
    services.postpone(
        record=postponed,
        until=today + timedelta(days=60),
        reason="Claim",
        actor=staff,
    )

    run = purge(today)
    assert pks(Case) == {postponed.pk}
    assert not Case.objects.filter(pk=other.pk).exists()
    assert (step_of(run, rule.category).deleted, step_of(run, rule.category).held) == (1, 1)
    # Once the postponement has run out, the next run takes it.
    purge(today + timedelta(days=61))
    assert not Case.objects.filter(pk=postponed.pk).exists()


def test_unconfirmed_subject_requests_go_30_days_after_receipt(today):
    cutoff = records.cutoff("cases.unconfirmed_subject_request", today)
    assert cutoff == today - timedelta(days=31)
    made = []
    for received in (records.last_moment(cutoff), records.first_moment(cutoff + timedelta(days=1))):
        case = records.case(
            None,
            case_type=CaseType.SUBJECT_REQUEST,
            is_anonymous=False,
            subject_right="access",
            reporter_name="Kari",
            reporter_email=records.person()["email"],
        )
        Case.objects.filter(pk=case.pk).update(received_at=received)
        made.append(case)
    gone, kept = made
    confirmed = records.case(
        None,
        case_type=CaseType.SUBJECT_REQUEST,
        is_anonymous=False,
        subject_right="access",
        reporter_name="Ola",
        reporter_email=records.person()["email"],
    )
    Case.objects.filter(pk=confirmed.pk).update(
        received_at=records.last_moment(cutoff - timedelta(days=10)), email_confirmed_at=timezone.now()
    )
    assert Case.objects.get(pk=gone.pk).email_confirmed_at is None

    run = purge(today)

    assert pks(Case) == {kept.pk, confirmed.pk}
    assert step_of(run, "cases.unconfirmed_subject_request").deleted == 1


# --- The outbox and orphan files ------------------------------------------------------------


def test_delivered_emails_lose_their_recipient_after_30_days_and_pending_ones_keep_it(today):
    cutoff = records.cutoff("outbox", today)
    delivered_long_ago = records.delivered_email(cutoff)
    delivered_lately = records.delivered_email(cutoff + timedelta(days=1), late=False)
    pending = records.pending_email()
    OutboxMessage.objects.filter(pk=pending.pk).update(created_at=timezone.now() - timedelta(days=90))
    recipients = {message.pk: message.recipient for message in (delivered_lately, pending)}

    run = purge(today)

    assert pks(OutboxMessage) >= {delivered_long_ago.pk, delivered_lately.pk, pending.pk}
    delivered_long_ago.refresh_from_db()
    assert (delivered_long_ago.recipient, delivered_long_ago.body) == ("", "")
    assert delivered_long_ago.subject  # what was sent, not to whom
    for pk, recipient in recipients.items():
        assert OutboxMessage.objects.get(pk=pk).recipient == recipient
    assert (step_of(run, "outbox").anonymised, step_of(run, "outbox").deleted) == (1, 0)
    assert step_of(purge(today), "outbox").anonymised == 0


def test_upload_files_no_record_names_are_removed_after_a_day(today):
    import os

    def stored(name: str, content: bytes, age: timedelta) -> str:
        name = default_storage.save(name, ContentFile(content))
        moment = (timezone.now() - age).timestamp()
        os.utime(default_storage.path(name), (moment, moment))
        return name

    old_orphan = stored("registers/jobapplication/old-orphan.pdf", b"old", timedelta(hours=25))
    old_case_orphan = stored("cases/2020/old-orphan.png", b"old", timedelta(days=10))
    young_orphan = stored("registers/jobapplication/young-orphan.pdf", b"young", timedelta(hours=23))
    referenced = records.job_application(today, cv=b"%PDF")
    os.utime(default_storage.path(referenced.cv.name), (0, 0))
    elsewhere = stored("elsewhere/old.txt", b"not an upload folder", timedelta(days=10))

    run = purge(today)

    assert not default_storage.exists(old_orphan)
    assert not default_storage.exists(old_case_orphan)
    assert default_storage.exists(young_orphan)
    assert default_storage.exists(referenced.cv.name)
    assert default_storage.exists(elsewhere)
    step = step_of(run, services.ORPHAN_FILES)
    assert (step.deleted, step.failed) == (2, 0)


def test_an_orphan_file_that_another_run_removed_meanwhile_is_no_failure(today, monkeypatch):
    """Two runs at once both list the upload folders; one removes a file while the other is
    still looking at it."""
    import os

    present = default_storage.save("registers/jobapplication/orphan.pdf", ContentFile(b"old"))
    os.utime(default_storage.path(present), (0, 0))
    listed = services.stored_files

    def listing_with_a_vanished_file(storage, folder=""):
        yield from listed(storage, folder)
        if folder == "registers":
            yield "registers/jobapplication/removed-by-the-other-run.pdf"

    monkeypatch.setattr(services, "stored_files", listing_with_a_vanished_file)
    run = purge(today)

    assert run.status == RunStatus.FINISHED, run.error
    assert not default_storage.exists(present)
    step = step_of(run, services.ORPHAN_FILES)
    assert (step.deleted, step.failed) == (1, 0)


# --- Consent ----------------------------------------------------------------------------------


def test_event_participants_with_standing_followup_consent_are_kept(today):
    cutoff = records.cutoff("event_participants", today)
    consenting = records.event_participant(cutoff, email="Keep.Me@example.com")
    records.consent(
        "keep.me@example.com", Purpose.EVENT_FOLLOWUP, given_at=timezone.now() - timedelta(days=500)
    )
    withdrawn = records.event_participant(cutoff)
    records.consent(
        withdrawn.email,
        Purpose.EVENT_FOLLOWUP,
        given_at=timezone.now() - timedelta(days=500),
        withdrawn_at=timezone.now() - timedelta(days=2),
    )
    other_purpose = records.event_participant(cutoff)
    records.consent(other_purpose.email, Purpose.NEWSLETTER, given_at=timezone.now())
    without = records.event_participant(cutoff)

    purge(today)

    assert pks(EventParticipant) == {consenting.pk}
    assert not EventParticipant.objects.filter(pk__in=[withdrawn.pk, other_purpose.pk, without.pk]).exists()


def test_leads_with_standing_registration_consent_are_kept(today):
    cutoff = records.cutoff("leads", today)
    consenting, without = records.lead(cutoff), records.lead(cutoff)
    records.consent(consenting.email, Purpose.LEAD_REGISTRATION, given_at=timezone.now())
    purge(today)
    assert pks(Lead) == {consenting.pk}
    assert not Lead.objects.filter(pk=without.pk).exists()


def test_a_recruitment_entry_goes_360_days_after_its_consent_and_a_renewal_restarts_it(today):
    cutoff = records.cutoff("recruitment_database", today)
    assert cutoff == today - timedelta(days=361)
    long_ago = today - timedelta(days=2000)
    due = records.recruitment_entry(long_ago)
    records.consent(due.email, Purpose.RECRUITMENT_DATABASE, given_at=records.last_moment(cutoff))
    renewed = records.recruitment_entry(long_ago)
    records.consent(renewed.email, Purpose.RECRUITMENT_DATABASE, given_at=records.last_moment(cutoff))
    # Made recently but consented long before (an import): the consent's date counts.
    recent = records.recruitment_entry(today)
    records.consent(
        recent.email, Purpose.RECRUITMENT_DATABASE, given_at=records.first_moment(cutoff + timedelta(days=1))
    )

    # A renewal is a new give: the 360 days start again.
    records.consent(
        renewed.email, Purpose.RECRUITMENT_DATABASE, given_at=records.first_moment(today - timedelta(days=5))
    )

    run = purge(today)

    assert pks(RecruitmentEntry) == {renewed.pk, recent.pk}
    assert step_of(run, "recruitment_database").deleted == 1


def test_a_withdrawal_deletes_the_subjects_recruitment_entry_at_once(today):
    entry = records.recruitment_entry(today, email="Anne.Applicant@example.com")
    records.consent("anne.applicant@example.com", Purpose.RECRUITMENT_DATABASE, given_at=timezone.now())
    other = records.recruitment_entry(today)
    records.consent(other.email, Purpose.RECRUITMENT_DATABASE, given_at=timezone.now())
    # Another person's lead past its period: a withdrawal purges only the subject's rows.
    old_lead = records.lead(records.cutoff("leads", today))
    purge(today, categories=[])  # nothing: the entries are fresh and consented
    assert pks(RecruitmentEntry) == {entry.pk, other.pk}

    records.consent(
        "anne.applicant@example.com",
        Purpose.RECRUITMENT_DATABASE,
        given_at=timezone.now() - timedelta(days=1),
        withdrawn_at=timezone.now(),
    )
    run = services.consent_withdrawn(email="ANNE.applicant@example.com", purpose=Purpose.RECRUITMENT_DATABASE)

    assert run is not None
    assert run.trigger == Trigger.WITHDRAWAL
    assert run.status == RunStatus.FINISHED
    assert pks(RecruitmentEntry) == {other.pk}
    assert Lead.objects.filter(pk=old_lead.pk).exists()
    assert run.totals()["deleted"] == 1


# --- Failures and the run log ----------------------------------------------------------------


def fail_deleting(monkeypatch, model, failing_pk):
    """Makes the registry's delete hook of a model raise whenever it is given one pk."""
    declaration = registry.declaration_for(model)

    def delete(ids):
        if failing_pk in ids:
            raise DatabaseError("simulated failure")
        return model._default_manager.filter(pk__in=ids).delete()[1].get(model._meta.label, 0)

    monkeypatch.setitem(
        registry._declarations, model._meta.label, dataclasses.replace(declaration, delete=delete)
    )


def test_a_failing_row_is_counted_the_rest_still_go_and_the_privacy_team_is_alerted(
    today, monkeypatch, settings
):
    settings.TRUSTCENTER_ALERT_EMAIL = "privacy-team@example.com"
    cutoff = records.cutoff("event_participants", today)
    participants = [records.event_participant(cutoff) for _ in range(7)]
    failing = participants[3]
    kept = records.event_participant(today)
    fail_deleting(monkeypatch, EventParticipant, failing.pk)

    run = purge(today, batch_size=3)

    assert pks(EventParticipant) == {failing.pk, kept.pk}
    assert run.status == RunStatus.FAILED
    step = step_of(run, "event_participants")
    assert (step.deleted, step.failed) == (6, 1)
    alert = OutboxMessage.objects.get(recipient="privacy-team@example.com")
    assert str(run.pk) in alert.subject
    text = alert.subject + alert.body
    assert "Failed: 1" in text
    for participant in participants:
        assert participant.full_name not in text
        assert participant.email not in text
        assert participant.phone not in text

    # The next run tries the failed row again (and succeeds, once whatever failed is fixed).
    monkeypatch.undo()
    again = purge(today)
    assert pks(EventParticipant) == {kept.pk}
    assert again.status == RunStatus.FINISHED


def test_an_unexpected_error_fails_the_run_by_its_class_only_and_alerts(today, monkeypatch):
    row = records.lead(records.cutoff("leads", today), email="quoted.in.error@example.com")

    def broken(rows, step, today):
        raise ValueError(f"cannot handle {row.email}")

    monkeypatch.setattr(services, "not_held", broken)
    run = purge(today)

    assert run.status == RunStatus.FAILED
    assert run.error == "ValueError"
    assert Lead.objects.filter(pk=row.pk).exists()
    [alert] = OutboxMessage.objects.filter(subject__contains=str(run.pk))
    assert "ValueError" in alert.body
    assert row.email not in alert.body + alert.subject
    assert row.email not in str(list(RetentionRun.objects.values()))


def test_a_failing_batch_keeps_its_files_and_the_rest_lose_theirs(
    today, monkeypatch, django_capture_on_commit_callbacks
):
    cutoff = records.cutoff("job_applications", today)
    applications = [records.job_application(cutoff, cv=b"%PDF") for _ in range(4)]
    failing = applications[1]
    fail_deleting(monkeypatch, JobApplication, failing.pk)

    # The delete hook replaces the default delete, files included: give it the files back.
    declaration = registry.declaration_for(JobApplication)
    inner = declaration.delete

    def delete_with_files(ids):
        names = list(JobApplication.objects.filter(pk__in=ids).values_list("cv", flat=True))
        done = inner(ids)
        from trustcenter.files import remove_files_on_commit

        remove_files_on_commit(names=names)
        return done

    monkeypatch.setitem(
        registry._declarations,
        JobApplication._meta.label,
        dataclasses.replace(declaration, delete=delete_with_files),
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = purge(today, batch_size=4)

    assert pks(JobApplication) == {failing.pk}
    assert default_storage.exists(failing.cv.name)
    for application in applications:
        if application.pk != failing.pk:
            assert not default_storage.exists(application.cv.name)
    assert (step_of(run, "job_applications").deleted, step_of(run, "job_applications").failed) == (3, 1)


def test_the_run_log_holds_no_personal_data(today, staff):
    made = []
    for category, make in DELETED.items():
        cutoff = records.cutoff(category, today)
        made += [make(cutoff), make(cutoff), make(today)]
    made.append(records.customer_contact(records.cutoff("customer_contacts", today)))
    made.append(records.lead(records.cutoff("leads", today), email="held.person@example.com"))
    services.place_hold(actor=staff, scope=HoldScope.SUBJECT, email="held.person@example.com", reason="Claim")
    secrets = {value for row in made for value in (row.full_name, row.email, row.phone) if value}
    assert len(secrets) >= 3 * len(made) - 1

    run = purge(today)
    lines = queries.dry_run(today=today)

    logged = " ".join(
        str(value)
        for model in (RetentionRun, RunStep)
        for row in model.objects.values()
        for value in row.values()
    )
    logged += " ".join(str(dataclasses.astuple(line)) for line in lines)
    logged += str(run) + " ".join(str(step) for step in run.steps.all())
    for secret in secrets:
        assert secret not in logged
        assert secret.split("@")[0] not in logged
    assert run.totals()["deleted"] > 0 and run.totals()["held"] == 1


def test_a_dry_run_counts_without_deleting(today, staff):
    cutoff = records.cutoff("leads", today)
    due = [records.lead(cutoff) for _ in range(3)]
    records.lead(cutoff + timedelta(days=1), late=False)
    services.place_hold(actor=staff, scope=HoldScope.RECORD, record=due[0], reason="Claim")

    [line] = [line for line in queries.dry_run(today=today) if line.category == "leads"]

    assert (line.due, line.held, line.would_go, line.cutoff) == (3, 1, 2, cutoff)
    assert Lead.objects.count() == 4
    assert not RetentionRun.objects.exists()


def queries_of_a_purge(today, rows: int, batch_size: int) -> int:
    EventParticipant.objects.all().delete()
    cutoff = records.cutoff("event_participants", today)
    for _ in range(rows):
        records.event_participant(cutoff)
    with CaptureQueriesContext(connection) as queries:
        purge(today, categories=["event_participants"], batch_size=batch_size)
    assert not EventParticipant.objects.exists()
    return len(queries)


def test_the_queries_per_batch_do_not_grow_with_the_number_of_batches(today):
    two, four, eight = (queries_of_a_purge(today, batches * 3, 3) for batches in (2, 4, 8))
    per_batch = (four - two) / 2
    assert (eight - four) / 4 == per_batch
