"""The outbox in the admin: what staff see of each message, and trying a given-up one again."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import StaffFactory, submit
from trustcenter import services
from trustcenter.models import OutboxMessage

pytestmark = pytest.mark.django_db

LIST_URL = "/admin/trustcenter/outboxmessage/"


@pytest.fixture
def staff_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


def row_of(page: str, message: OutboxMessage) -> str:
    match = re.search(rf'<tr>(?:(?!</tr>).)*?value="{message.pk}"(?:(?!</tr>).)*</tr>', page, re.S)
    assert match, f"no row for message {message.pk}"
    return match.group(0)


def test_the_list_shows_state_attempts_and_what_a_message_concerns_but_no_body(staff_client):
    case, _receipt = submit()
    pending = services.enqueue_email(
        recipient="kari@example.com", subject="News", body="Secret body text", concerns=case
    )
    sent = OutboxMessage.objects.create(
        recipient="a@example.com", subject="Old news", body="", attempts=1, sent_at=timezone.now()
    )
    given_up = OutboxMessage.objects.create(
        recipient="b@example.com",
        subject="Lost news",
        body="Another secret",
        attempts=12,
        failed_at=timezone.now(),
        last_error="ConnectionRefusedError: [Errno 111] Connection refused",
    )

    page = staff_client.get(LIST_URL).content.decode()

    assert "Secret body text" not in page and "Another secret" not in page
    assert f"case {case.pk}" in row_of(page, pending)
    assert case.reference not in page  # the outbox is no door to cases: no reference in it
    assert '<td class="field-state">pending</td>' in row_of(page, pending)
    assert '<td class="field-state">sent</td>' in row_of(page, sent)
    assert '<td class="field-state">given up</td>' in row_of(page, given_up)
    assert '<td class="field-attempts">12</td>' in row_of(page, given_up)
    assert "Connection refused" in row_of(page, given_up)
    assert "Try again now" in page

    detail = staff_client.get(f"{LIST_URL}{pending.pk}/change/").content.decode()
    assert f"case {case.pk}" in detail and case.reference not in detail and "Secret body text" not in detail


def test_the_list_filters_by_state(staff_client):
    OutboxMessage.objects.create(recipient="a@example.com", subject="Waiting news", body="x")
    OutboxMessage.objects.create(
        recipient="b@example.com", subject="Lost news", body="x", failed_at=timezone.now()
    )

    page = staff_client.get(LIST_URL, {"state": "given up"}).content.decode()

    assert "Lost news" in page and "Waiting news" not in page


def test_try_again_now_makes_a_given_up_message_due_and_sends_it(
    staff_client, django_capture_on_commit_callbacks, mailoutbox
):
    given_up = OutboxMessage.objects.create(
        recipient="b@example.com",
        subject="Lost news",
        body="Here it is.",
        attempts=12,
        failed_at=timezone.now(),
        next_attempt_at=timezone.now() + timedelta(hours=6),
    )
    sent = OutboxMessage.objects.create(
        recipient="a@example.com", subject="Old news", body="", attempts=1, sent_at=timezone.now()
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            LIST_URL, {"action": "try_again_now", "_selected_action": [given_up.pk, sent.pk]}, follow=True
        )

    assert "1 message will be tried again now." in response.content.decode()
    assert [mail.to for mail in mailoutbox] == [["b@example.com"]]
    given_up.refresh_from_db()
    assert given_up.sent_at is not None and given_up.failed_at is None
    assert given_up.attempts == 13
    sent.refresh_from_db()
    assert sent.attempts == 1


def test_staff_without_permission_cannot_try_again(client):
    client.force_login(StaffFactory())
    given_up = OutboxMessage.objects.create(
        recipient="b@example.com", subject="Lost news", body="x", failed_at=timezone.now()
    )

    response = client.post(LIST_URL, {"action": "try_again_now", "_selected_action": [given_up.pk]})

    assert response.status_code == 403
    given_up.refresh_from_db()
    assert given_up.failed_at is not None
