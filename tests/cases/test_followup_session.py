"""Follow-up after the session ended, with an expired form token, and the code's error pages."""

import pytest
from django.test import Client

from cases.models import CaseMessage
from tests.factories import submit

pytestmark = pytest.mark.django_db

CASE_PAGE = "/en/follow-up/case/"


def test_a_message_sent_after_the_session_ended_is_kept_until_the_code_is_entered(client):
    _case, code = submit()
    response = client.post(CASE_PAGE, {"message": "Written slowly, over an hour."})
    page = response.content.decode()
    assert response.status_code == 403
    assert "Your time on the case page ran out" in page
    assert "Written slowly, over an hour." in page
    assert not CaseMessage.objects.filter(body__startswith="Written slowly").exists()

    response = client.post("/en/follow-up/", {"receipt_code": code, "draft": "Written slowly, over an hour."})
    assert response.status_code == 302
    page = client.get(CASE_PAGE).content.decode()
    assert "Written slowly, over an hour.</textarea>" in page
    # Once given back, the draft is gone from the session: a reload shows an empty form.
    assert "Written slowly, over an hour.</textarea>" not in client.get(CASE_PAGE).content.decode()


def test_a_wrong_code_keeps_the_draft_too(client):
    submit()
    response = client.post("/en/follow-up/", {"receipt_code": "1" * 20, "draft": "Still here."})
    assert response.status_code == 400
    assert "Still here.</textarea>" in response.content.decode()


def test_a_post_without_a_message_and_without_a_session_goes_to_the_code_page(client):
    response = client.post(CASE_PAGE, {"message": " "})
    assert response.status_code == 302 and response["Location"] == "/en/follow-up/"


def test_the_session_lasts_from_the_last_page_seen(client, settings, time_machine):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    time_machine.move_to("2026-03-02 10:00:00+00:00", tick=False)
    _case, code = submit()
    client.post("/en/follow-up/", {"receipt_code": code})
    for minutes in (20, 40, 60):  # each visit inside 30 minutes of the one before
        time_machine.move_to(f"2026-03-02 {10 + minutes // 60}:{minutes % 60:02d}:00+00:00", tick=False)
        assert client.get(CASE_PAGE).status_code == 200
    time_machine.move_to("2026-03-02 11:31:00+00:00", tick=False)
    assert client.get(CASE_PAGE).status_code == 302


def test_an_expired_form_token_on_the_case_page_keeps_the_message(db):
    _case, code = submit()
    client = Client(enforce_csrf_checks=True)
    token_page = client.get("/en/follow-up/")
    token = token_page.cookies["csrftoken"].value
    client.post("/en/follow-up/", {"receipt_code": code, "csrfmiddlewaretoken": token})
    client.cookies.pop("csrftoken")  # the token cookie is gone, as after a browser clean-up
    response = client.post(CASE_PAGE, {"message": "Typed before the token went."})
    page = response.content.decode()
    assert response.status_code == 403
    assert "the page had been open too long" in page
    assert "Typed before the token went.</textarea>" in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert not CaseMessage.objects.filter(body="Typed before the token went.").exists()


def test_code_doors_hide_the_code_from_error_reports(client):
    _case, code = submit()
    for door, field in (("/en/follow-up/", "receipt_code"), ("/en/report/receipt/", "receipt_code")):
        response = client.post(door, {field: code})
        assert list(response.wsgi_request.sensitive_post_parameters) == [field]


@pytest.mark.parametrize(
    ("minute_of_window", "minutes_left"),
    [(1, 19), (9, 11)],  # the refusal lasts to the end of the next window: the one failure is in this one
)
def test_too_many_wrong_codes_says_how_long_to_wait(
    client, settings, time_machine, minute_of_window, minutes_left
):
    settings.TRUSTCENTER_FOLLOWUP_WINDOW_SECONDS = 10 * 60
    settings.TRUSTCENTER_FOLLOWUP_FAILURES = 1
    window_start = 1_800_000_000 - 1_800_000_000 % 600
    time_machine.move_to(window_start + minute_of_window * 60, tick=False)
    client.post("/en/follow-up/", {"receipt_code": "1" * 20})
    refused = client.post("/en/follow-up/", {"receipt_code": "2" * 20})
    assert refused.status_code == 429
    assert f"Please try again in {minutes_left} minutes" in refused.content.decode()
