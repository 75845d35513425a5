"""Renewal (issue 12, point 10): thirty days before a recruitment-database entry's 360 days end,
the person is asked by e-mail, through the outbox and in their language, to renew through
self-service; once per consent, and a renewal restarts the period."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from consent import services, tasks
from consent.defaults import ensure_default_purposes
from consent.models import Channel, ConsentAction, ConsentPurpose, RenewalRequest
from registers.models import RecruitmentEntry
from trustcenter.models import OutboxMessage

pytestmark = pytest.mark.django_db


def applicant(email: str, *, consent_days_ago: int, language: str = "en") -> RecruitmentEntry:
    ensure_default_purposes()
    entry = RecruitmentEntry.objects.create(full_name="Applicant", email=email)
    services.record_consent(
        email=email,
        purpose=ConsentPurpose.objects.get(slug="recruitment_database"),
        action=ConsentAction.GIVE,
        channel=Channel.WEB,
        occurred_at=timezone.now() - timedelta(days=consent_days_ago),
        language=language,
    )
    return entry


def test_only_consents_whose_period_ends_within_thirty_days_are_asked_once_in_their_language():
    applicant("soon@example.se", consent_days_ago=340, language="sv")  # ends in 20 days
    applicant("edge@example.no", consent_days_ago=331, language="nb")  # ends in 29 days
    applicant("later@example.no", consent_days_ago=300)  # ends in 60 days
    applicant("past@example.no", consent_days_ago=400)  # already due: the purge takes it

    assert tasks.ask_for_renewals() == 2

    mails = {mail.recipient: mail for mail in OutboxMessage.objects.all()}
    assert set(mails) == {"soon@example.se", "edge@example.no"}
    swedish = mails["soon@example.se"]
    assert swedish.subject == "Förnya ditt samtycke: Rekryteringsdatabas"  # the purpose's Swedish title
    assert swedish.body.startswith("Du lämnade ditt samtycke till ”Rekryteringsdatabas”")
    assert "/sv/consent/" in mails["soon@example.se"].body
    assert "/nb/consent/" in mails["edge@example.no"].body
    assert RenewalRequest.objects.count() == 2

    # The next day's run asks no one again.
    assert services.ask_for_renewals() == 0
    assert OutboxMessage.objects.count() == 2


def test_a_renewal_restarts_the_period_and_is_asked_about_in_its_own_time():
    applicant("anne@example.no", consent_days_ago=340)
    assert services.ask_for_renewals() == 1
    purpose = ConsentPurpose.objects.get(slug="recruitment_database")
    # She renews: her 360 days start again, and nothing is asked now.
    services.record_consent(
        email="anne@example.no", purpose=purpose, action=ConsentAction.GIVE, channel=Channel.WEB
    )
    assert services.ask_for_renewals() == 0

    # Someone who was asked about a consent long ago and renewed it 340 days ago is asked about
    # the renewal: once per consent given, not once per person.
    applicant("bo@example.no", consent_days_ago=700)
    assert services.ask_for_renewals() == 0  # past its period: the purge takes it, no one asks
    services.record_consent(
        email="bo@example.no",
        purpose=purpose,
        action=ConsentAction.GIVE,
        channel=Channel.WEB,
        occurred_at=timezone.now() - timedelta(days=340),
    )
    assert services.ask_for_renewals() == 1
    assert RenewalRequest.objects.filter(subject__email="bo@example.no").count() == 1


def test_a_withdrawn_consent_is_not_asked_to_renew():
    applicant("gone@example.no", consent_days_ago=340)
    services.record_consent(
        email="gone@example.no",
        purpose=ConsentPurpose.objects.get(slug="recruitment_database"),
        action=ConsentAction.WITHDRAW,
        channel=Channel.WEB,
    )
    assert services.ask_for_renewals() == 0


def test_the_request_runs_daily_from_beat():
    task = PeriodicTask.objects.get(task="consent.tasks.ask_for_renewals")
    assert task.enabled and task.crontab.hour == "9" and str(task.crontab.timezone) == "Europe/Oslo"
