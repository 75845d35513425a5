"""The current state per subject and purpose (issue 12, point 2): kept in the transaction that
appends each event, replayed in the order things happened when an earlier event is imported,
rebuilt from the ledger by a command that reports each difference; and a withdrawal that ends a
recruitment-database consent deletes the entry at once (point 10)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from consent import selectors, services
from consent.defaults import ensure_default_purposes
from consent.models import Channel, ConsentAction, ConsentEvent, ConsentPurpose, ConsentState, Purpose
from registers.models import RecruitmentEntry
from retention.models import RetentionRun, Trigger

pytestmark = pytest.mark.django_db

GIVE, WITHDRAW = ConsentAction.GIVE, ConsentAction.WITHDRAW


def purpose(slug: str = Purpose.NEWSLETTER) -> ConsentPurpose:
    ensure_default_purposes()
    return ConsentPurpose.objects.get(slug=slug)


def record(email: str, action: str, *, slug: str = Purpose.NEWSLETTER, **kwargs) -> ConsentEvent:
    kwargs.setdefault("channel", Channel.WEB)
    return services.record_consent(email=email, purpose=purpose(slug), action=action, **kwargs)


def state_of(email: str, slug: str = Purpose.NEWSLETTER) -> ConsentState:
    return ConsentState.objects.get(subject__email=email, purpose__slug=slug)


def test_each_event_moves_the_state_in_its_own_transaction():
    given = record("kari@example.no", GIVE)
    state = state_of("kari@example.no")
    assert (state.given_at, state.withdrawn_at, state.last_event, state.standing) == (
        given.occurred_at,
        None,
        given,
        True,
    )
    withdrawn = record("Kari@Example.no ", WITHDRAW)
    state = state_of("kari@example.no")
    assert (state.given_at, state.withdrawn_at, state.last_event, state.standing) == (
        given.occurred_at,
        withdrawn.occurred_at,
        withdrawn,
        False,
    )
    renewed = record("kari@example.no", GIVE)
    state = state_of("kari@example.no")
    assert (state.given_at, state.withdrawn_at, state.standing) == (renewed.occurred_at, None, True)
    assert ConsentState.objects.count() == 1


def test_an_event_rolled_back_leaves_no_state():
    with pytest.raises(RuntimeError), transaction.atomic():
        record("ola@example.no", GIVE)
        raise RuntimeError("the caller's transaction fails after the append")
    assert not ConsentEvent.objects.exists()
    assert not ConsentState.objects.exists()


def test_an_imported_earlier_event_takes_its_place_in_time():
    now = timezone.now()
    latest = record("per@example.no", WITHDRAW, occurred_at=now)  # a withdrawal with no give before it
    assert state_of("per@example.no").given_at is None
    earlier = record("per@example.no", GIVE, channel=Channel.IMPORT, occurred_at=now - timedelta(days=30))
    state = state_of("per@example.no")
    # The give happened first: it was given a month ago and withdrawn now.
    assert (state.given_at, state.withdrawn_at, state.last_event) == (earlier.occurred_at, now, latest)


def test_the_state_shows_which_wording_a_standing_consent_agreed_to():
    marketing = purpose(Purpose.MARKETING_EMAIL)
    assert marketing.new_versions_need_fresh_consent
    record("eva@example.no", GIVE, slug=Purpose.MARKETING_EMAIL)
    services.publish_version(purpose=marketing, wordings={"en": ("Marketing", "New words.")})
    state = state_of("eva@example.no", Purpose.MARKETING_EMAIL)
    # The earlier consent keeps covering what it agreed to (version 1) until the person answers.
    assert state.standing and state.version.number == 1
    assert selectors.current_consent(email="eva@example.no", purpose=Purpose.MARKETING_EMAIL).standing
    record("eva@example.no", GIVE, slug=Purpose.MARKETING_EMAIL)
    assert state_of("eva@example.no", Purpose.MARKETING_EMAIL).version.number == 2


def test_the_rebuild_reports_and_repairs_every_difference():
    record("a@example.no", GIVE)
    record("b@example.no", GIVE)
    record("b@example.no", WITHDRAW)
    record("c@example.no", GIVE, slug=Purpose.EVENT_FOLLOWUP)
    expected = {
        row.pk: (row.subject_id, row.purpose_id, row.given_at, row.withdrawn_at)
        for row in ConsentState.objects.all()
    }
    state_of("a@example.no").delete()  # missing
    ConsentState.objects.filter(pk=state_of("b@example.no").pk).update(withdrawn_at=None)  # different
    c = state_of("c@example.no", Purpose.EVENT_FOLLOWUP)
    ConsentState.objects.create(  # extra: a state the ledger never said
        subject=c.subject,
        purpose=purpose(Purpose.LEAD_REGISTRATION),
        version=purpose(Purpose.LEAD_REGISTRATION).versions.get(),
        given_at=timezone.now(),
        last_event=c.last_event,
    )

    out = StringIO()
    with pytest.raises(CommandError, match="3 place"):
        call_command("rebuild_consent_state", "--dry-run", "--fail-on-difference", stdout=out)
    report = out.getvalue()
    assert f"missing from the state table: subject {state_of('b@example.no').subject_id}" not in report
    assert "missing from the state table: subject" in report and "newsletter" in report
    assert (
        f"different from the ledger: subject {state_of('b@example.no').subject_id}, purpose newsletter"
        in report
    )
    assert f"not in the ledger: subject {c.subject_id}, purpose lead_registration" in report
    assert "@" not in report  # subjects by their random identifier, never an address
    assert ConsentState.objects.count() == 3  # a dry run changes nothing

    call_command("rebuild_consent_state", stdout=StringIO())
    rebuilt = {
        (row.subject_id, row.purpose_id, row.given_at, row.withdrawn_at) for row in ConsentState.objects.all()
    }
    assert rebuilt == set(expected.values())
    again = StringIO()
    call_command("rebuild_consent_state", "--fail-on-difference", stdout=again)
    assert "matches the ledger" in again.getvalue()


def test_withdrawing_the_recruitment_database_deletes_the_entry_at_once(django_capture_on_commit_callbacks):
    entry = RecruitmentEntry.objects.create(full_name="Anne Applicant", email="anne@example.no")
    kept = RecruitmentEntry.objects.create(full_name="Bo Applicant", email="bo@example.no")
    for email in ("anne@example.no", "bo@example.no"):
        record(email, GIVE, slug=Purpose.RECRUITMENT_DATABASE)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        record("ANNE@example.no", WITHDRAW, slug=Purpose.RECRUITMENT_DATABASE)

    assert len(callbacks) == 1
    assert not RecruitmentEntry.objects.filter(pk=entry.pk).exists()
    assert RecruitmentEntry.objects.filter(pk=kept.pk).exists()
    run = RetentionRun.objects.get()
    assert run.trigger == Trigger.WITHDRAWAL and run.totals()["deleted"] == 1


def test_withdrawing_another_purpose_or_an_imported_old_withdrawal_deletes_nothing(
    django_capture_on_commit_callbacks,
):
    RecruitmentEntry.objects.create(full_name="Anne Applicant", email="anne@example.no")
    record("anne@example.no", GIVE, slug=Purpose.RECRUITMENT_DATABASE)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        record("anne@example.no", WITHDRAW, slug=Purpose.NEWSLETTER)
        # A withdrawal from before the standing give (an import) leaves the consent standing.
        record(
            "anne@example.no",
            WITHDRAW,
            slug=Purpose.RECRUITMENT_DATABASE,
            channel=Channel.IMPORT,
            occurred_at=timezone.now() - timedelta(days=400),
        )
    assert len(callbacks) == 1  # the newsletter's: it keeps no record, so it starts no run
    assert not RetentionRun.objects.exists()
    assert RecruitmentEntry.objects.filter(email="anne@example.no").exists()
    assert selectors.current_consent(email="anne@example.no", purpose=Purpose.RECRUITMENT_DATABASE).standing


def test_an_append_after_a_later_imported_event_is_replayed_into_its_place():
    later = timezone.now() + timedelta(hours=1)  # an import whose clock runs ahead of the database's
    imported = record("ida@example.no", WITHDRAW, channel=Channel.IMPORT, occurred_at=later)
    given = record("ida@example.no", GIVE)  # now: before the imported withdrawal
    assert ConsentEvent.objects.count() == 2  # the refused one-statement append left nothing behind
    state = state_of("ida@example.no")
    assert (state.given_at, state.withdrawn_at, state.last_event) == (given.occurred_at, later, imported)
    assert selectors.first_broken_link() is None


def test_a_refused_append_leaves_the_caller_s_transaction_usable():
    empty = ConsentPurpose.objects.create(slug="not_yet_worded")  # no version published yet
    with transaction.atomic():
        with pytest.raises(services.NoWording):
            services.record_consent(email="jo@example.no", purpose=empty, action=GIVE, channel=Channel.WEB)
        record("jo@example.no", GIVE)  # the same transaction goes on
    assert state_of("jo@example.no").standing
