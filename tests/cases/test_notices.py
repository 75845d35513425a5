import pytest
from django.core import mail

from cases import services
from cases.models import CaseStatus
from tests.factories import StaffFactory, submit

pytestmark = pytest.mark.django_db

SECRET_CONTENT = "The finance director takes bribes"


def identified(django_capture_on_commit_callbacks, **overrides):
    arguments = {
        "is_anonymous": False,
        "reporter_name": "Ola",
        "reporter_email": "ola@example.com",
        "wants_notices": True,
        "message": SECRET_CONTENT,
    }
    arguments.update(overrides)
    with django_capture_on_commit_callbacks(execute=True):
        return submit(**arguments)


def test_a_notice_says_only_that_there_is_news(django_capture_on_commit_callbacks):
    case, code = identified(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.reply_as_staff(
            case=case, staff_user=StaffFactory(), message="We are looking into the bribes."
        )
    received, news = mail.outbox
    assert received.to == news.to == ["ola@example.com"]
    assert "news on your case" in news.subject
    assert "http://127.0.0.1:8000/en/follow-up/" in news.body
    for sent in (received, news):
        text = sent.subject + sent.body
        assert SECRET_CONTENT not in text and "bribes" not in text
        assert case.reference not in text and code not in text


def test_a_status_change_is_news_too(django_capture_on_commit_callbacks):
    case, _ = identified(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.change_status(case=case, status=CaseStatus.CLOSED)
        services.change_status(case=case, status=CaseStatus.CLOSED)  # no change, no notice
    assert len(mail.outbox) == 2


def test_no_notices_unless_asked_for(django_capture_on_commit_callbacks):
    case, _ = identified(django_capture_on_commit_callbacks, wants_notices=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.reply_as_staff(case=case, staff_user=None, message="Reply")
    assert mail.outbox == []


def test_notices_come_in_the_reporters_language(django_capture_on_commit_callbacks):
    identified(django_capture_on_commit_callbacks, language="nb")
    assert "/nb/follow-up/" in mail.outbox[0].body
