"""The registry knows the ledger (issue 12, point 5): a subject's consent history is part of what
is found for them, through the declarations alone; once erased, nothing of it is found while the
chain still verifies (point 3)."""

import pytest

from consent import selectors, services
from consent.defaults import ensure_default_purposes
from consent.models import Channel, ConsentAction, ConsentEvent, ConsentPurpose, ConsentState, ConsentSubject
from registers.models import Lead
from registers.selectors import Identities, subject_records

pytestmark = pytest.mark.django_db


def found_for(email: str) -> dict[str, set]:
    return {
        found.declaration.label: set(found.rows.values_list("pk", flat=True))
        for found in subject_records(identities=Identities.of(emails=[email]))
        if found.rows.exists()
    }


def test_a_subject_s_consent_history_is_found_with_their_other_records():
    ensure_default_purposes()
    newsletter = ConsentPurpose.objects.get(slug="newsletter")
    followup = ConsentPurpose.objects.get(slug="event_followup")
    events = [
        services.record_consent(
            email="Kari@Example.no", purpose=newsletter, action=ConsentAction.GIVE, channel=Channel.WEB
        ),
        services.record_consent(
            email="kari@example.no", purpose=newsletter, action=ConsentAction.WITHDRAW, channel=Channel.API
        ),
        services.record_consent(
            email="kari@example.no", purpose=followup, action=ConsentAction.GIVE, channel=Channel.STAFF
        ),
    ]
    services.record_consent(
        email="ola@example.no", purpose=newsletter, action=ConsentAction.GIVE, channel=Channel.WEB
    )
    lead = Lead.objects.create(full_name="Kari Nordmann", email="kari@example.no")
    subject = ConsentSubject.objects.get(email="kari@example.no")

    found = found_for(" KARI@example.no")

    assert found["consent.ConsentSubject"] == {subject.pk}
    assert found["consent.ConsentEvent"] == {event.pk for event in events}
    assert found["consent.ConsentState"] == set(
        ConsentState.objects.filter(subject=subject).values_list("pk", flat=True)
    )
    assert found["registers.Lead"] == {lead.pk}

    services.erase_subject(subject=subject)

    after = found_for("kari@example.no")
    assert not any(label.startswith("consent.") for label in after)
    assert after["registers.Lead"] == {lead.pk}  # erasing the consent subject erases only that
    assert ConsentEvent.objects.filter(subject=subject).count() == 3  # the events stay, nameless
    assert selectors.first_broken_link() is None
