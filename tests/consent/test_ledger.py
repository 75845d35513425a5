"""The consent ledger (issue 12, points 2 and 3): append-only in the database itself, hash-chained
(each event sealed into the chain after it commits, in the order of the events' ids), tampering
found at its first broken link, a subject erased without touching an event, and eight clients
appending at once on PostgreSQL, with the sealer running beside them, keep one valid chain, lose
no event and leave every state as the ledger says."""

import threading
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction

from consent import selectors, services
from consent.defaults import ensure_default_purposes
from consent.models import (
    Channel,
    ConsentAction,
    ConsentEvent,
    ConsentPurpose,
    ConsentSeal,
    ConsentSubject,
    Purpose,
)
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


def test_the_database_refuses_to_change_or_delete_a_seal():
    event = give("kari@example.no")
    services.seal_ledger()
    for statement in (
        "UPDATE consent_consentseal SET digest = repeat('0', 64) WHERE event_id = %s",
        "DELETE FROM consent_consentseal WHERE event_id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [event.pk])
    assert ConsentSeal.objects.filter(event=event).count() == 1


def test_events_are_sealed_after_they_are_appended_in_the_order_of_their_ids():
    events = [give(f"person{number}@example.no") for number in range(3)]
    assert not ConsentSeal.objects.exists() and selectors.unsealed_events() == 3
    assert services.seal_ledger(batch=2) == 3  # two batches
    assert services.seal_ledger() == 0
    seals = list(ConsentSeal.objects.order_by("event"))
    assert [seal.event_id for seal in seals] == [event.pk for event in events]
    assert seals[0].previous_digest == "0" * 64
    assert [seal.previous_digest for seal in seals[1:]] == [seal.digest for seal in seals[:-1]]
    assert selectors.unsealed_events() == 0 and selectors.first_broken_link() is None
    later = give("later@example.no")
    assert selectors.unsealed_events() == 1
    assert services.seal_of(later).previous_digest == seals[-1].digest  # sealed when asked for


def test_the_python_sealer_and_the_database_function_make_one_chain():
    """SQLite seals in Python (consent/chain.py), PostgreSQL in one statement (consent_seal): a
    chain begun by one and continued by the other verifies, so both write the same canonical form."""
    first = [give(f"first{number}@example.no") for number in range(3)]
    assert services._seal_in_python(newest=first[-1].pk, batch=10) == 3
    give("second@example.no", actor=StaffFactory())
    assert services.seal_ledger() == 1
    more = give("third@example.no")
    assert services._seal_in_python(newest=more.pk, batch=10) == 1
    assert selectors.unsealed_events() == 0 and selectors.first_broken_link() is None


def test_the_beat_task_seals_every_minute():
    from django_celery_beat.models import PeriodicTask

    from consent import tasks

    give("kari@example.no")
    task = PeriodicTask.objects.get(task="consent.tasks.seal_ledger")
    assert task.enabled and (task.interval.every, task.interval.period) == (1, "minutes")
    assert tasks.seal_ledger() == 1 and selectors.unsealed_events() == 0


def test_a_tampered_event_is_named_as_the_first_broken_link():
    events = [give(f"person{number}@example.no") for number in range(5)]
    services.seal_ledger()
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
    services.seal_ledger()
    subject = ConsentSubject.objects.get(email="erase.me@example.no")
    services.erase_subject(subject=subject)
    assert not ConsentSubject.objects.filter(email="erase.me@example.no").exists()
    assert ConsentEvent.objects.filter(subject=subject).count() == 1
    out = StringIO()
    call_command("verify_consent_ledger", stdout=out)
    assert "holds (2 events sealed, 0 not yet)" in out.getvalue()


def test_the_admin_verifies_the_chain(client):
    staff: Any = StaffFactory(is_superuser=True)
    client.force_login(staff)
    event = give("kari@example.no")
    page = f"/admin/consent/consentevent/{event.pk}/change/"
    assert "Not yet sealed into the chain" in client.get(page).content.decode()
    response = client.get("/admin/consent/consentevent/verify/", follow=True)
    assert "The chain holds" in response.content.decode()
    assert "1 events are not yet sealed" in response.content.decode()
    services.seal_ledger()
    assert ConsentSeal.objects.get(event=event).digest in client.get(page).content.decode()
    no_rights: Any = StaffFactory()
    client.force_login(no_rights)
    assert client.get("/admin/consent/consentevent/verify/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_eight_clients_appending_at_once_keep_one_chain_and_lose_no_event():
    """Eight clients append at once, the same few people changing their minds, while the sealer
    runs beside them: every event is sealed once, in the order of its id, the chain holds, and
    every state is what the ledger says."""
    purpose = newsletter()
    start = threading.Barrier(9)
    done = threading.Event()
    errors: list[BaseException] = []

    def client(number: int) -> None:
        try:
            start.wait()
            for event in range(15):
                services.record_consent(
                    email=f"person{(number + event) % 4}@example.no",
                    purpose=purpose,
                    action=ConsentAction.GIVE if (number + event) % 3 else ConsentAction.WITHDRAW,
                    channel=Channel.API,
                )
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connections.close_all()

    def sealer() -> None:
        try:
            start.wait()
            while not done.is_set():
                services.seal_ledger(batch=7)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=client, args=(number,)) for number in range(8)]
    sealing = threading.Thread(target=sealer)
    for thread in [*threads, sealing]:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    sealing.join()
    assert not errors, errors
    services.seal_ledger()
    assert ConsentEvent.objects.count() == 120
    assert list(ConsentSeal.objects.order_by("event").values_list("event_id", flat=True)) == list(
        ConsentEvent.objects.order_by("id").values_list("id", flat=True)
    )
    assert selectors.first_broken_link() is None
    assert not services.rebuild_consent_state(dry_run=True)


@pytest.mark.django_db(transaction=True)
def test_the_sealer_waits_for_an_append_still_under_way():
    """An event whose transaction commits after a later one's is not skipped: the sealer seals
    nothing until no append is under way."""
    purpose = newsletter()
    slow = connections.create_connection("default")  # an append in a transaction left open
    try:
        slow.set_autocommit(False)
        with slow.cursor() as cursor:
            cursor.execute(
                "SELECT r_event FROM consent_append(%s, NULL, %s, 'give', 'web', NULL, '', NULL)",
                ["slow@example.no", purpose.pk],
            )
            slow_event = cursor.fetchone()[0]
        fast = give("fast@example.no")  # committed, with the greater id
        assert fast.pk > slow_event
        sealed: list[int] = []

        def seal() -> None:
            try:
                sealed.append(services.seal_ledger())
            finally:
                connections.close_all()

        sealing = threading.Thread(target=seal)
        sealing.start()
        sealing.join(timeout=1)  # given time to run ahead of the open append, if it could
        slow.commit()
        sealing.join()
    finally:
        slow.close()
    assert sealed == [2]
    assert list(ConsentSeal.objects.order_by("event").values_list("event_id", flat=True)) == [
        slow_event,
        fast.pk,
    ]
    assert selectors.unsealed_events() == 0 and selectors.first_broken_link() is None
