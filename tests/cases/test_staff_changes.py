"""Staff change a case through one service: one save, one notice, a history entry per change."""

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from cases import services
from cases.models import CaseEvent, CaseEventKind, CaseMessage, CaseStatus, MessageAuthor
from tests.factories import CaseHandlerFactory, StaffFactory, submit

pytestmark = pytest.mark.django_db


def staff_events():
    """The history's lines written by staff changes (not the clocks started with the case)."""
    return CaseEvent.objects.exclude(kind=CaseEventKind.CLOCK_STARTED)


def identified_case(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case, _code = submit(
            is_anonymous=False, reporter_name="Ola", reporter_email="ola@example.com", wants_notices=True
        )
    mail.outbox.clear()
    return case


def admin_change(client, case, **fields):
    data = {
        "status": case.status,
        "status_read": case.status,
        "reply": "",
        "messages-TOTAL_FORMS": "0",
        "messages-INITIAL_FORMS": "0",
        "messages-MIN_NUM_FORMS": "0",
        "messages-MAX_NUM_FORMS": "1000",
        "events-TOTAL_FORMS": "0",
        "events-INITIAL_FORMS": "0",
        "events-MIN_NUM_FORMS": "0",
        "events-MAX_NUM_FORMS": "1000",
    }
    data.update(fields)
    return client.post(f"/admin/cases/case/{case.pk}/change/", data)


def test_a_status_change_and_a_reply_saved_together_send_one_notice(
    client, django_capture_on_commit_callbacks
):
    case = identified_case(django_capture_on_commit_callbacks)
    handler = CaseHandlerFactory()
    client.force_login(handler)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_change(client, case, status=CaseStatus.IN_PROGRESS, reply="We are on it.")
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    events = list(staff_events().filter(case=case).values_list("kind", "actor", "data"))
    reply = CaseMessage.objects.get(case=case, author=MessageAuthor.STAFF)
    assert events == [
        (CaseEventKind.STATUS_CHANGED, handler.pk, {"from": "received", "to": "in_progress"}),
        (CaseEventKind.REPLIED, handler.pk, {"message": reply.pk}),
    ]
    assert reply.staff_user == handler


def test_the_history_names_no_message_text(django_capture_on_commit_callbacks):
    case = identified_case(django_capture_on_commit_callbacks)
    services.update_case(case=case, actor=CaseHandlerFactory(), reply="Secret words")
    assert "Secret words" not in str(list(CaseEvent.objects.values()))


def test_closing_sets_closed_at_and_reopening_clears_it(time_machine):
    case, _code = submit()
    handler = CaseHandlerFactory()
    time_machine.move_to("2026-03-02 10:00:00+00:00", tick=False)
    services.update_case(case=case, actor=handler, status=CaseStatus.CLOSED)
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    assert case.closed_at.isoformat() == "2026-03-02T10:00:00+00:00"
    services.update_case(case=case, actor=handler, status=CaseStatus.IN_PROGRESS)
    case.refresh_from_db()
    assert case.closed_at is None


def test_nothing_changed_is_no_news_and_no_history(django_capture_on_commit_callbacks):
    case = identified_case(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.update_case(case=case, actor=CaseHandlerFactory(), status=case.status, reply="   ")
    assert mail.outbox == []
    assert not staff_events().exists()


def test_the_service_refuses_a_status_that_does_not_exist():
    case, _code = submit()
    with pytest.raises(ValidationError) as refused:
        services.update_case(case=case, actor=CaseHandlerFactory(), status="deleted")
    assert "status" in refused.value.message_dict
    case.refresh_from_db()
    assert case.status == CaseStatus.RECEIVED


def test_the_service_refuses_staff_without_rights_and_strangers():
    case, _code = submit()
    for actor in (StaffFactory(), StaffFactory(is_active=False, is_superuser=True)):
        with pytest.raises(PermissionDenied):
            services.update_case(case=case, actor=actor, status=CaseStatus.CLOSED, reply="x")
    assert not staff_events().exists()
    assert case.messages.count() == 1


def test_a_status_changed_by_someone_else_meanwhile_is_not_overwritten():
    case, _code = submit()
    seen_by_first = type(case).objects.get(pk=case.pk)
    services.update_case(case=case, actor=CaseHandlerFactory(), status=CaseStatus.CLOSED)
    with pytest.raises(services.StaleCase):
        services.update_case(
            case=seen_by_first,
            actor=CaseHandlerFactory(),
            expected_status=CaseStatus.RECEIVED,
            status=CaseStatus.WAITING_FOR_REPORTER,
        )
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    assert staff_events().count() == 1


def test_the_admin_refuses_a_status_change_made_on_a_stale_page(client):
    case, _code = submit()
    client.force_login(CaseHandlerFactory())
    page_status = case.status  # the page was opened while the case was received
    services.update_case(case=case, actor=CaseHandlerFactory(), status=CaseStatus.CLOSED)
    case.refresh_from_db()
    response = admin_change(client, case, status=CaseStatus.IN_PROGRESS, status_read=page_status)
    assert response.status_code == 200
    assert "after you opened it" in response.content.decode()
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED


def test_the_case_page_shows_the_history_in_words_and_local_time(client, settings, time_machine):
    time_machine.move_to("2026-06-01 08:30:00+00:00", tick=False)  # 10:30 in Oslo (summer time)
    case, _code = submit()
    handler = CaseHandlerFactory(username="kari")
    services.update_case(case=case, actor=handler, status=CaseStatus.CLOSED)
    client.force_login(handler)
    page = client.get(f"/admin/cases/case/{case.pk}/change/").content.decode()
    assert "Received → Closed" in page
    assert f"{case.reference} Status changed 2026-06-01 10:30" in page
    assert "2026-06-01 08:30" not in page
