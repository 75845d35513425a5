import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.utils import translation
from django.utils.translation import gettext

from cases import services
from cases.models import CaseType
from tests.factories import submit

pytestmark = pytest.mark.django_db


# The English sources of the confirmation e-mail, as the templates give them to the catalogues.
CONFIRM_SUBJECT = "Confirm your e-mail address for the Trust Center"
CONFIRM_BODY = (
    "Hello,\n\nTo confirm your e-mail address for your data-subject request, enter this code on your "
    "case page within %(minutes)s minutes:\n\n%(code)s\n\nOr open this link and press the button:\n"
    "%(link)s\n\nIf you did not send a request, ignore this e-mail."
)


def subject_request(django_capture_on_commit_callbacks, language="en"):
    with django_capture_on_commit_callbacks(execute=True):
        case, code = submit(
            case_type=CaseType.SUBJECT_REQUEST,
            language=language,
            is_anonymous=False,
            subject_right="access",
            reporter_name="Kari Nordmann",
            reporter_email="kari@example.com",
        )
    return case, code


@pytest.mark.parametrize("language", ["nb", "sv", "da"])
def test_the_confirmation_email_comes_in_the_requesters_language(
    django_capture_on_commit_callbacks, settings, language
):
    subject_request(django_capture_on_commit_callbacks, language=language)
    sent = mail.outbox[-1]
    link = re.search(r"https?://\S+/confirm/\S+", sent.body).group(0)
    assert link.startswith(f"{settings.TRUSTCENTER_SITE_URL}/{language}/confirm/?t=")
    with translation.override(language):
        subject, body = gettext(CONFIRM_SUBJECT), gettext(CONFIRM_BODY)
    # The catalogue translates both (else the comparisons below would pass on English)...
    assert subject != CONFIRM_SUBJECT and body != CONFIRM_BODY
    # ...and the e-mail is that translation.
    assert sent.subject == subject
    assert sent.body.strip() == body % {"minutes": 10, "code": sent_code(), "link": link}


def sent_code() -> str:
    return re.search(r"^(\d{6})$", str(mail.outbox[-1].body), re.MULTILINE).group(1)


def test_the_requester_gets_a_code_and_a_link(django_capture_on_commit_callbacks):
    case, _ = subject_request(django_capture_on_commit_callbacks)
    assert case.needs_email_confirmation
    assert mail.outbox[-1].to == ["kari@example.com"]
    assert re.search(r"/en/confirm/\?t=[^\s]+", mail.outbox[-1].body)
    assert "Kari" not in mail.outbox[-1].body


def test_the_right_code_confirms(client, django_capture_on_commit_callbacks):
    case, code = subject_request(django_capture_on_commit_callbacks)
    client.post("/en/follow-up/", {"receipt_code": code})
    client.post("/en/follow-up/case/confirm-email/", {"code": sent_code()})
    case.refresh_from_db()
    assert case.email_confirmed_at is not None
    assert "Confirm your e-mail address" not in client.get("/en/follow-up/case/").content.decode()


def test_three_wrong_codes_use_up_the_code(django_capture_on_commit_callbacks):
    case, _ = subject_request(django_capture_on_commit_callbacks)
    right = sent_code()
    wrong = "000000" if right != "000000" else "111111"
    results = [services.confirm_email_with_code(case=case, code=wrong) for _ in range(3)]
    assert results == [services.ConfirmationResult.WRONG] * 2 + [services.ConfirmationResult.TOO_MANY_TRIES]
    assert (
        services.confirm_email_with_code(case=case, code=right) == services.ConfirmationResult.TOO_MANY_TRIES
    )
    case.refresh_from_db()
    assert case.email_confirmed_at is None


def test_a_code_expires_after_ten_minutes(django_capture_on_commit_callbacks, time_machine):
    time_machine.move_to("2026-05-04 09:00:00+00:00", tick=False)
    case, _ = subject_request(django_capture_on_commit_callbacks)
    code = sent_code()
    time_machine.move_to("2026-05-04 09:10:01+00:00", tick=False)
    assert services.confirm_email_with_code(case=case, code=code) == services.ConfirmationResult.EXPIRED


def test_a_new_code_replaces_the_old_one(django_capture_on_commit_callbacks):
    case, _ = subject_request(django_capture_on_commit_callbacks)
    old = sent_code()
    with django_capture_on_commit_callbacks(execute=True):
        services.resend_email_confirmation(case=case)
    new = sent_code()
    if new != old:
        assert services.confirm_email_with_code(case=case, code=old) == services.ConfirmationResult.WRONG
    assert services.confirm_email_with_code(case=case, code=new) == services.ConfirmationResult.CONFIRMED


def test_the_link_confirms_only_when_the_button_is_pressed(client, django_capture_on_commit_callbacks):
    case, _ = subject_request(django_capture_on_commit_callbacks)
    link = urlsplit(re.search(r"https?://\S+/en/confirm/\S+", mail.outbox[-1].body).group(0))
    assert link.path == "/en/confirm/"  # the token is in the query string, which no access log keeps
    [token] = parse_qs(link.query)["t"]
    page = client.get(f"{link.path}?{link.query}")
    assert page.status_code == 200
    assert f'name="token" value="{token}"' in page.content.decode()
    case.refresh_from_db()
    assert case.email_confirmed_at is None  # a mail scanner opening the link confirms nothing
    assert "is confirmed" in client.post(link.path, {"token": token}).content.decode()
    case.refresh_from_db()
    assert case.email_confirmed_at is not None
    assert "does not work" in client.post(link.path, {"token": token}).content.decode()  # used up


def test_a_link_without_its_token_says_it_does_not_work(client):
    assert "does not work" in client.get("/en/confirm/").content.decode()


def test_a_forged_link_confirms_nothing(client, django_capture_on_commit_callbacks):
    case, _ = subject_request(django_capture_on_commit_callbacks)
    assert "does not work" in client.post("/en/confirm/", {"token": "forged-token"}).content.decode()
    case.refresh_from_db()
    assert case.email_confirmed_at is None


def test_a_wrong_code_is_refused_next_to_the_code_field(client, django_capture_on_commit_callbacks):
    _case, code = subject_request(django_capture_on_commit_callbacks)
    client.post("/en/follow-up/", {"receipt_code": code})
    right = sent_code()
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    response = client.post("/en/follow-up/case/confirm-email/", {"code": wrong})
    page = response.content.decode()
    assert response.status_code == 400
    error = re.search(r'<div id="(id_code_error)"[^>]*>(.*?)</div>', page, re.DOTALL)
    assert error and "That code is not right" in error.group(2)
    assert re.search(
        r'<input [^>]*aria-describedby="[^"]*id_code_error[^"]*"[^>]*name="code"|'
        r'<input [^>]*name="code"[^>]*aria-describedby="[^"]*id_code_error',
        page,
    )


def test_new_codes_are_capped_so_tries_cannot_be_renewed_for_ever(client, django_capture_on_commit_callbacks):
    _case, code = subject_request(django_capture_on_commit_callbacks)
    client.post("/en/follow-up/", {"receipt_code": code})
    sent_before = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        pages = [client.post("/en/follow-up/case/new-code/", follow=True).content.decode() for _ in range(4)]
    assert len(mail.outbox) == sent_before + 3
    assert "We have sent you a new code" in pages[2]
    assert "You have asked for many new codes" in pages[3]
