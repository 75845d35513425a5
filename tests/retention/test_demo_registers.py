"""Issue 11, point 12: the demo fills every register on both sides of its cut-off, with a legal
hold and consents that keep or end records, so that a dry run on the demo shows real work."""

import io
from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.core.management import call_command

from consent.models import ConsentState
from registers import registry
from registers.models import (
    AccountingRecord,
    CustomerContact,
    Event,
    EventParticipant,
    JobApplication,
    Lead,
    LegalEntity,
    RecruitmentEntry,
    SupplierContact,
)
from retention import demo, queries, services
from retention.models import LegalHold, RetentionRun, Trigger
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

REGISTER_CATEGORIES = (
    "event_participants",
    "leads",
    "inquiries",
    "customer_contacts",
    "supplier_contacts",
    "job_applications",
    "recruitment_database",
    "accounting_records",
    "visitors",
)
HOLD_CATEGORY = "leads"


def load_demo_data() -> str:
    output = io.StringIO()
    call_command("load_demo_data", stdout=output)
    return output.getvalue()


def rows_of(category: str) -> set[tuple[str, object]]:
    return {
        (declaration.label, pk)
        for declaration, _retention in registry.retentions_in(category)
        for pk in declaration.model._default_manager.values_list("pk", flat=True)
    }


def due_of(category: str, today: date) -> set[tuple[str, object]]:
    """The rows a run today would find past their period (held ones included)."""
    return {
        (step.declaration.label, pk)
        for step in queries.plan(categories=[category])
        for pk in queries.due_rows(step, today).values_list("pk", flat=True)
    }


def dry_run_totals() -> tuple[Counter, Counter]:
    would_go: Counter = Counter()
    held: Counter = Counter()
    for line in queries.dry_run():
        would_go[line.category] += line.would_go
        held[line.category] += line.held
    return would_go, held


def test_a_dry_run_on_the_demo_has_work_in_every_register_and_a_hold():
    load_demo_data()
    would_go, held = dry_run_totals()
    for category in REGISTER_CATEGORIES:
        assert would_go[category] > 0, category
    assert held[HOLD_CATEGORY] > 0
    hold = LegalHold.objects.get()
    assert hold.scope == "subject" and hold.email == demo.HELD_EMAIL and hold.reason and hold.is_active
    assert Lead.objects.filter(email=demo.HELD_EMAIL).exists()


def test_every_register_also_holds_rows_inside_their_period():
    load_demo_data()
    today = queries.local_today()
    counted: Counter = Counter()
    for line in queries.dry_run():
        counted[line.category] += line.due
    for category in REGISTER_CATEGORIES:
        inside = rows_of(category) - due_of(category, today)
        assert inside, category
        assert len(rows_of(category)) > counted[category], category


OSLO = ZoneInfo("Europe/Oslo")


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2027, 1, 1, 0, 30, tzinfo=OSLO),
        datetime(2028, 2, 29, 12, 0, tzinfo=OSLO),
        datetime(2026, 6, 30, 12, 0, tzinfo=OSLO),
        datetime(2026, 12, 31, 23, 30, tzinfo=OSLO),
    ],
    ids=str,
)
def test_the_demo_counts_from_the_day_it_is_loaded_whatever_the_day(moment):
    with time_machine.travel(moment, tick=False):
        assert demo.load_register_demo(actor=StaffFactory()) is True
        today = queries.local_today()
        would_go, _held = dry_run_totals()
        for category in REGISTER_CATEGORIES:
            assert would_go[category] > 0, category
            assert rows_of(category) - due_of(category, today), category


def test_three_legal_entities_one_per_country():
    load_demo_data()
    assert sorted(LegalEntity.objects.values_list("country", flat=True)) == ["DK", "NO", "SE"]


def test_the_participant_with_followup_consent_is_not_due_though_the_event_is_past_its_year():
    load_demo_data()
    today = queries.local_today()
    kept = EventParticipant.objects.get(email=demo.FOLLOWUP_EMAIL)
    due = due_of("event_participants", today)
    assert (EventParticipant._meta.label, kept.pk) not in due
    # The others of the same event are due: the consent, not the date, keeps this one.
    others = EventParticipant.objects.filter(event=kept.event).exclude(pk=kept.pk)
    assert others and all((EventParticipant._meta.label, other.pk) in due for other in others)
    # Two events: one ended more than a year ago, one last month.
    assert Event.objects.count() == 2
    assert Event.objects.filter(ends_on__lt=today.replace(year=today.year - 1)).count() == 1


def test_accounting_keeps_one_and_lets_one_go_in_each_country():
    load_demo_data()
    today = queries.local_today()
    due = {pk for _label, pk in due_of("accounting_records", today)}
    for country in ("NO", "SE", "DK"):
        records = AccountingRecord.objects.filter(legal_entity__country=country)
        assert sum(record.pk in due for record in records) == 1, country
        assert sum(record.pk not in due for record in records) >= 1, country
    # Sweden counts seven years from the end of the calendar year: its record whose fiscal year
    # ended more than six years ago is kept, where five years from the fiscal year would not.
    swedish_kept = AccountingRecord.objects.filter(legal_entity__country="SE").exclude(pk__in=due).get()
    assert swedish_kept.fiscal_year_end < today.replace(year=today.year - 6)


def test_the_recruitment_database_follows_consent(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        load_demo_data()
    today = queries.local_today()
    due = {pk for _label, pk in due_of("recruitment_database", today)}
    states = {
        state.subject.email: state
        for state in ConsentState.objects.filter(purpose__slug="recruitment_database").select_related(
            "subject"
        )
    }
    entries = list(RecruitmentEntry.objects.all())
    assert all(entry.email in states for entry in entries)
    # A withdrawal deleted its entry once the demo was committed, as it does in use.
    withdrawn = [email for email, state in states.items() if state.withdrawn_at]
    assert withdrawn and not RecruitmentEntry.objects.filter(email__in=withdrawn).exists()
    runs = RetentionRun.objects.filter(trigger=Trigger.WITHDRAWAL, steps__category="recruitment_database")
    assert sum(run.steps.get(category="recruitment_database").deleted for run in runs) == len(withdrawn)
    renewed = [entry for entry in entries if (states[entry.email].given_at - entry.created_at).days > 300]
    old_consent = [
        entry
        for entry in entries
        if not states[entry.email].withdrawn_at and (today - states[entry.email].given_at.date()).days >= 400
    ]
    assert renewed and all(entry.pk not in due for entry in renewed)
    assert old_consent and all(entry.pk in due for entry in old_consent)


def test_loading_twice_creates_nothing_new():
    load_demo_data()
    models = [
        declaration.model
        for category in REGISTER_CATEGORIES
        for declaration, _ in registry.retentions_in(category)
    ]
    models += [LegalEntity, Event, ConsentState, LegalHold]

    def counts():
        return {model._meta.label: model._default_manager.count() for model in models}

    first = counts()
    load_demo_data()
    assert counts() == first


def test_a_purge_leaves_what_is_inside_its_period_held_or_kept_by_consent(django_capture_on_commit_callbacks):
    load_demo_data()
    today = queries.local_today()
    inside = {category: rows_of(category) - due_of(category, today) for category in REGISTER_CATEGORIES}
    held_lead = Lead.objects.get(email=demo.HELD_EMAIL)
    kept_participant = EventParticipant.objects.get(email=demo.FOLLOWUP_EMAIL)
    expired_cv = JobApplication.objects.exclude(cv="").get()
    kept_cv = RecruitmentEntry.objects.exclude(cv="").get()
    assert expired_cv.pk in {pk for _label, pk in due_of("job_applications", today)}
    assert default_storage.exists(expired_cv.cv.name) and default_storage.exists(kept_cv.cv.name)

    with django_capture_on_commit_callbacks(execute=True):
        run = services.run_purge(trigger=Trigger.MANUAL, pause_seconds=0)

    assert run.status == "finished", run.error
    totals = run.totals()
    assert totals["deleted"] > 0 and totals["anonymised"] > 0 and totals["held"] > 0
    for category, rows in inside.items():
        assert rows <= rows_of(category), category
    # Rows inside their period keep their contents (anonymising registers included).
    for model, category in ((CustomerContact, "customer_contacts"), (SupplierContact, "supplier_contacts")):
        inside_pks = [pk for _label, pk in inside[category]]
        assert (
            inside_pks and not model.objects.filter(pk__in=inside_pks, anonymised_at__isnull=False).exists()
        )
        assert model.objects.filter(anonymised_at__isnull=False, full_name="").exists(), category
    assert Lead.objects.filter(pk=held_lead.pk).exists()
    assert EventParticipant.objects.filter(pk=kept_participant.pk).exists()
    assert not default_storage.exists(expired_cv.cv.name) and default_storage.exists(kept_cv.cv.name)
    # Only the held lead is left past its period.
    would_go, held = dry_run_totals()
    assert {category: would_go[category] for category in REGISTER_CATEGORIES} == dict.fromkeys(
        REGISTER_CATEGORIES, 0
    )
    assert held[HOLD_CATEGORY] == 1
