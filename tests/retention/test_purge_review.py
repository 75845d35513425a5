"""What a review of the purge found: messages given up lose their recipient too, a purge writes
no audit entry per deleted row, lifting a hold is in the audit trail, and a postponement obeys
the rules of the categories its record is really in."""

from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection

from consent import selectors as consent_selectors
from registers.models import Lead, VisitorRegistration
from retention import queries, services
from retention.models import HoldScope, RetentionRule, Trigger
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


def test_a_message_given_up_loses_its_recipient_and_body_after_the_outbox_period(today):
    cutoff = records.cutoff("outbox", today)
    given_up = records.pending_email(failed_at=records.last_moment(cutoff))
    given_up_lately = records.pending_email(failed_at=records.first_moment(cutoff + timedelta(days=1)))
    services.run_purge(trigger=Trigger.MANUAL, today=today, pause_seconds=0, categories=["outbox"])
    given_up.refresh_from_db()
    given_up_lately.refresh_from_db()
    assert (given_up.recipient, given_up.body) == ("", "")
    assert given_up_lately.recipient and given_up_lately.body == "Hello"
    assert OutboxMessage.objects.filter(pk=given_up.pk).exists()


def test_a_purge_writes_its_run_log_and_no_audit_entry_per_deleted_row(today):
    expired = [records.lead(records.cutoff("leads", today)) for _ in range(5)]
    entries_before = LogEntry.objects.count()
    run = services.run_purge(trigger=Trigger.MANUAL, today=today, pause_seconds=0, categories=["leads"])
    assert not Lead.objects.filter(pk__in=[lead.pk for lead in expired]).exists()
    assert run.totals()["deleted"] == 5
    assert LogEntry.objects.count() == entries_before


def test_lifting_a_hold_is_in_the_audit_trail_and_happens_once(staff):
    hold = services.place_hold(actor=staff, scope=HoldScope.CATEGORY, category="leads", reason="Audit")
    lifted = services.lift_hold(hold=hold, actor=staff)
    first_lift = lifted.lifted_at
    again = services.lift_hold(hold=hold, actor=get_user_model().objects.create_user(username="other"))
    assert again.lifted_at == first_lift and again.lifted_by == staff
    changes = [entry.changes_dict for entry in LogEntry.objects.get_for_object(hold)]
    assert any("lifted_at" in change for change in changes)


def test_a_postponement_follows_the_rule_of_the_records_own_category(today, staff):
    lead = records.lead(today)
    RetentionRule.objects.filter(category="leads").update(max_postponement_days=10)
    RetentionRule.objects.filter(category="accounting_records").update(max_postponement_days=5000)
    with pytest.raises(ValidationError):
        services.postpone(record=lead, until=today + timedelta(days=11), reason="Claim", actor=staff)
    postponement = services.postpone(
        record=lead, until=today + timedelta(days=10), reason="Claim", actor=staff
    )
    assert postponement.until == today + timedelta(days=10)
    assert services.categories_of(lead) == ["leads"]


def test_a_row_the_database_refuses_to_delete_fails_alone_and_the_rest_still_go(today):
    """The common case deletes a batch in one statement; when the database refuses it (here a
    trigger refuses one row), the batch rolls back whole and goes again row by row."""
    expired = [records.visitor(records.cutoff("visitors", today)) for _ in range(6)]
    stuck = expired[2]
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_one_visitor() RETURNS trigger AS $$ BEGIN "
            f"IF OLD.id = {int(stuck.pk)} THEN RAISE EXCEPTION 'kept by the test'; END IF; RETURN OLD; "
            "END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE TRIGGER refuse_one_visitor BEFORE DELETE ON registers_visitorregistration "
            "FOR EACH ROW EXECUTE FUNCTION refuse_one_visitor()"
        )
    run = services.run_purge(
        trigger=Trigger.MANUAL, today=today, pause_seconds=0, batch_size=4, categories=["visitors"]
    )
    step = run.steps.get(category="visitors")
    assert (step.deleted, step.failed) == (5, 1)
    assert list(VisitorRegistration.objects.values_list("pk", flat=True)) == [stuck.pk]
    assert run.status == "failed"


def test_the_consent_selector_says_where_a_subjects_consent_stands():
    """What retention (and the ledger's callers) ask of consent: given, withdrawn, or never."""
    records.consent("given@example.com", "event_followup", given_at=records.at_local(queries.local_today()))
    assert consent_selectors.current_consent(email=" Given@Example.com", purpose="event_followup").standing
    assert not consent_selectors.current_consent(email="given@example.com", purpose="newsletter").standing
    assert (
        consent_selectors.current_consent(email="never@example.com", purpose="event_followup").given_at
        is None
    )
