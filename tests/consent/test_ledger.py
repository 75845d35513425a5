"""The consent ledger (issue 12, points 2 and 3): append-only in the database itself, hash-chained,
tampering found at its first broken link, a subject erased without touching an event, and eight
clients appending at once on PostgreSQL keep one valid chain and lose no event."""

import threading
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction

from consent import selectors, services
from consent.defaults import ensure_default_purposes
from consent.models import Channel, ConsentAction, ConsentEvent, ConsentPurpose, ConsentSubject, Purpose
from tests.conftest import need
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _postgresql():
    need(connection.vendor == "postgresql", "PostgreSQL")


def newsletter() -> ConsentPurpose:
    ensure_default_purposes()  # a transactional test before this one emptied the database
    return ConsentPurpose.objects.get(slug=Purpose.NEWSLETTER)


def give(email: str, **kwargs) -> ConsentEvent:
    kwargs.setdefault("channel", Channel.WEB)
    return services.record_consent(email=email, purpose=newsletter(), action=ConsentAction.GIVE, **kwargs)


def test_events_carry_the_random_identifier_and_never_the_address():
    event = give(" Kari.Nordmann@Example.no ")
    subject = ConsentSubject.objects.get()
    assert subject.email == "kari.nordmann@example.no"
    assert event.subject_id == subject.id and event.version.number == 1
    row = ConsentEvent.objects.filter(pk=event.pk).values().get()
    assert "kari" not in str(row).lower()


def test_the_database_refuses_to_change_or_delete_an_event():
    event = give("kari@example.no")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ConsentEvent.objects.filter(pk=event.pk).update(action=ConsentAction.WITHDRAW)
    # The ORM refuses first (the state row protects its last event); the database refuses anyway.
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM consent_consentevent WHERE id = %s", [event.pk])
    assert ConsentEvent.objects.get(pk=event.pk).action == ConsentAction.GIVE


def test_a_tampered_event_is_named_as_the_first_broken_link():
    events = [give(f"person{number}@example.no") for number in range(5)]
    assert selectors.first_broken_link() is None
    with connection.cursor() as cursor:  # what only someone with the database's owner could do
        cursor.execute("SET session_replication_role = replica")  # triggers off, for a superuser
        cursor.execute("UPDATE consent_consentevent SET action = 'withdraw' WHERE id = %s", [events[2].pk])
        cursor.execute("SET session_replication_role = origin")
    assert selectors.first_broken_link() == events[2].pk
    with pytest.raises(CommandError, match=f"broken at event {events[2].pk}"):
        call_command("verify_consent_ledger")


def test_an_erased_subject_is_no_longer_findable_and_the_chain_still_holds():
    give("erase.me@example.no")
    give("stay@example.no")
    subject = ConsentSubject.objects.get(email="erase.me@example.no")
    services.erase_subject(subject=subject)
    assert not ConsentSubject.objects.filter(email="erase.me@example.no").exists()
    assert ConsentEvent.objects.filter(subject=subject).count() == 1
    out = StringIO()
    call_command("verify_consent_ledger", stdout=out)
    assert "holds (2 events)" in out.getvalue()


def test_the_admin_verifies_the_chain(client):
    staff: Any = StaffFactory(is_superuser=True)
    client.force_login(staff)
    give("kari@example.no")
    response = client.get("/admin/consent/consentevent/verify/", follow=True)
    assert "The chain holds" in response.content.decode()
    no_rights: Any = StaffFactory()
    client.force_login(no_rights)
    assert client.get("/admin/consent/consentevent/verify/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_eight_clients_appending_at_once_keep_one_chain_and_lose_no_event():
    purpose = newsletter()
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def client(number: int) -> None:
        try:
            start.wait()
            for event in range(10):
                services.record_consent(
                    email=f"client{number}-{event}@example.no",
                    purpose=purpose,
                    action=ConsentAction.GIVE,
                    channel=Channel.API,
                )
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=client, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert ConsentEvent.objects.count() == 80
    assert selectors.first_broken_link() is None
