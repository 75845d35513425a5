import pytest
from django.core import mail
from django.utils import translation
from django.utils.translation import gettext

from cases import services
from cases.models import CaseStatus
from tests.factories import CaseHandlerFactory, reply_as_staff, submit

pytestmark = pytest.mark.django_db

SECRET_CONTENT = "The finance director takes bribes"
# The English sources of the notices, as the templates give them to the catalogues.
RECEIVED_SUBJECT = "Your message to the Trust Center has been received"
RECEIVED_BODY = (
    "Hello,\n\nWe have received your message. You can follow your case with your receipt code here:\n"
    "%(followup_url)s\n\nThis e-mail says nothing more, to protect your privacy."
)
NEWS_SUBJECT = "There is news on your case in the Trust Center"
NEWS_BODY = (
    "Hello,\n\nThere is news on your case. Read it with your receipt code here:\n"
    "%(followup_url)s\n\nThis e-mail says nothing more, to protect your privacy."
)


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
        reply_as_staff(case=case, message="We are looking into the bribes.")
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
        services.update_case(case=case, actor=CaseHandlerFactory(), status=CaseStatus.CLOSED)
        services.update_case(case=case, actor=CaseHandlerFactory(), status=CaseStatus.CLOSED)  # no change
    assert len(mail.outbox) == 2


def test_no_notices_unless_asked_for(django_capture_on_commit_callbacks):
    case, _ = identified(django_capture_on_commit_callbacks, wants_notices=False)
    with django_capture_on_commit_callbacks(execute=True):
        reply_as_staff(case=case, message="Reply")
    assert mail.outbox == []


@pytest.mark.parametrize("language", ["nb", "sv", "da"])
def test_notices_come_in_the_reporters_language(django_capture_on_commit_callbacks, settings, language):
    case, _ = identified(django_capture_on_commit_callbacks, language=language)
    with django_capture_on_commit_callbacks(execute=True):
        reply_as_staff(case=case, message="Reply")
    received, news = mail.outbox
    followup_url = f"{settings.TRUSTCENTER_SITE_URL}/{language}/follow-up/"
    for sent, subject, body in ((received, RECEIVED_SUBJECT, RECEIVED_BODY), (news, NEWS_SUBJECT, NEWS_BODY)):
        with translation.override(language):
            translated_subject, translated_body = gettext(subject), gettext(body)
        # The catalogue translates both (else the comparisons below would pass on English)...
        assert translated_subject != subject and translated_body != body
        # ...and the notice is that translation.
        assert sent.subject == translated_subject
        assert sent.body.strip() == translated_body % {"followup_url": followup_url}
