"""Writes made on a state read earlier do not undo what happened since."""

import re

import pytest
from django.core import mail

from cases import services
from cases.models import CaseStatus
from tests.factories import CaseHandlerFactory, submit, submit_subject_request

pytestmark = pytest.mark.django_db


def test_a_reporter_message_loaded_before_staff_closed_the_case_reopens_it():
    case, _code = submit()
    services.update_case(case=case, actor=CaseHandlerFactory(), status=CaseStatus.WAITING_FOR_REPORTER)
    loaded_by_reporter = type(case).objects.get(pk=case.pk)
    services.update_case(case=case, actor=CaseHandlerFactory(), status=CaseStatus.CLOSED)
    services.add_reporter_message(
        case=loaded_by_reporter, client_key="reporter", message="One more thing", uploads=[]
    )
    case.refresh_from_db()
    # Closed meanwhile: the message puts the case back in the queue rather than waiting unseen.
    assert case.status == CaseStatus.RECEIVED and case.closed_at is None
    assert case.messages.filter(body="One more thing").exists()


def test_a_reporter_message_on_a_case_waiting_for_them_returns_it_to_staff():
    case, _code = submit()
    services.update_case(case=case, actor=CaseHandlerFactory(), status=CaseStatus.WAITING_FOR_REPORTER)
    services.add_reporter_message(case=case, client_key="reporter", message="Here it is", uploads=[])
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_PROGRESS


def test_a_code_entered_just_after_the_link_confirmed_the_address_says_confirmed(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        case, _code = submit_subject_request()
    body = mail.outbox[-1].body
    code = re.search(r"^(\d{6})$", body, re.MULTILINE).group(1)
    token = re.search(r"\?t=(\S+)", body).group(1)
    from urllib.parse import unquote

    loaded_by_the_code_page = type(case).objects.get(pk=case.pk)  # before the link is pressed
    assert services.confirm_email_with_link(token=unquote(token)) is not None
    result = services.confirm_email_with_code(case=loaded_by_the_code_page, code=code)
    assert result == services.ConfirmationResult.CONFIRMED
    assert loaded_by_the_code_page.email_confirmed_at is not None


def test_a_second_confirmation_keeps_the_time_of_the_first(django_capture_on_commit_callbacks, time_machine):
    time_machine.move_to("2026-05-04 09:00:00+00:00", tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        case, _code = submit_subject_request()
    code = re.search(r"^(\d{6})$", mail.outbox[-1].body, re.MULTILINE).group(1)
    assert services.confirm_email_with_code(case=case, code=code) == services.ConfirmationResult.CONFIRMED
    time_machine.move_to("2026-05-04 09:05:00+00:00", tick=False)
    assert services.confirm_email_with_code(case=case, code=code) == services.ConfirmationResult.CONFIRMED
    case.refresh_from_db()
    assert case.email_confirmed_at.isoformat() == "2026-05-04T09:00:00+00:00"
