"""The consent demo (issue 12, point 11): histories of gives and withdrawals across wording
versions and channels, a consent waiting for its answer to new wording, a cookie choice under a
random identifier; the chain holds, the state matches the ledger, and loading twice adds nothing."""

import pytest

from consent import demo, selectors, services
from consent.models import Channel, ConsentEvent, ConsentState, ConsentSubject, Purpose
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def test_the_demo_holds_histories_across_versions_and_channels():
    staff = StaffFactory()
    assert demo.load_consent_demo(actor=staff)

    events = ConsentEvent.objects.all()
    assert {event.channel for event in events} == set(Channel.values)
    assert {event.version.number for event in events.filter(purpose__slug=Purpose.MARKETING_EMAIL)} == {1, 2}
    assert events.filter(action="withdraw").exists() and events.filter(action="give").exists()
    assert all(event.actor == staff for event in events.filter(channel=Channel.STAFF))
    assert not events.exclude(channel=Channel.STAFF).filter(actor__isnull=False).exists()

    # Astri agreed to the marketing wording's first version; the second waits for her answer.
    astri = ConsentState.objects.get(
        subject__email="astri.berge@example.no", purpose__slug=Purpose.MARKETING_EMAIL
    )
    assert astri.standing and astri.version.number == 1
    sven = ConsentState.objects.get(
        subject__email="sven.lindqvist@example.se", purpose__slug=Purpose.MARKETING_EMAIL
    )
    assert sven.standing and sven.version.number == 2
    assert not selectors.current_consent(
        email="sven.lindqvist@example.se", purpose=Purpose.NEWSLETTER
    ).standing
    # Withdrawn and given again: the state follows the last event.
    assert selectors.current_consent(
        email="mette.holm@example.dk", purpose=Purpose.LEAD_REGISTRATION
    ).standing

    cookie_subject = ConsentSubject.objects.get(email__isnull=True)
    assert cookie_subject.erased_at is None
    assert set(
        ConsentState.objects.filter(subject=cookie_subject).values_list("purpose__slug", flat=True)
    ) == {
        Purpose.COOKIES_FUNCTIONAL,
        Purpose.COOKIES_ANALYTICS,
        Purpose.COOKIES_MARKETING,
    }

    assert selectors.unsealed_events() == 0 and selectors.first_broken_link() is None
    assert not services.rebuild_consent_state(dry_run=True)

    count = events.count()
    assert not demo.load_consent_demo(actor=staff)
    assert ConsentEvent.objects.count() == count
