"""One form sent is one message: a reload of the receipt page or a double click makes no second
case, and the second answer says that the message was already received."""

import threading

import pytest
from django.db import connection

from cases import services
from cases.models import Case, CaseMessage
from tests.cases.test_report import URL, anonymous_report, receipt_code
from tests.conftest import need
from tests.factories import submit

pytestmark = pytest.mark.django_db


def test_a_report_sent_twice_makes_one_case_and_says_so(client):
    form = client.get(URL).content.decode()
    token = form.split('name="submission_token" value="', 1)[1].split('"', 1)[0]
    first = client.post(URL, anonymous_report(submission_token=token))
    assert first.status_code == 200 and receipt_code(first)
    again = client.post(URL, anonymous_report(submission_token=token))  # the browser's reload
    assert again.status_code == 409
    page = again.content.decode()
    assert "already received" in page and "shown once" in page
    assert 'id="receipt-code"' not in page
    assert Case.objects.count() == 1


def test_each_form_has_its_own_token(client):
    tokens = {
        client.get(URL).content.decode().split('name="submission_token" value="', 1)[1].split('"', 1)[0]
        for _ in range(3)
    }
    assert len(tokens) == 3 and all(len(token) >= 32 for token in tokens)


def test_a_refused_form_keeps_its_token_so_the_corrected_one_is_still_one_message(client):
    refused = client.post(URL, anonymous_report(message="", submission_token="token-of-this-form-0123456789"))
    assert refused.status_code == 400
    assert 'value="token-of-this-form-0123456789"' in refused.content.decode()
    assert (
        client.post(URL, anonymous_report(submission_token="token-of-this-form-0123456789")).status_code
        == 200
    )
    assert Case.objects.count() == 1


def test_the_token_is_kept_only_as_a_hash():
    case, _code = submit(submission_token="a-token-seen-by-the-browser-only")
    stored = CaseMessage.objects.get(case=case).submission_token_hash
    assert stored and "a-token-seen-by-the-browser-only" not in stored and len(stored) == 64


def test_a_follow_up_message_sent_twice_is_added_once(client):
    _case, code = submit()
    client.post("/en/follow-up/", {"receipt_code": code})
    data = {"message": "The ramp is wet.", "submission_token": "follow-up-form-token-0123456789"}
    assert client.post("/en/follow-up/case/", data).status_code == 302
    again = client.post("/en/follow-up/case/", data, follow=True)
    assert "had already been added" in again.content.decode()
    assert CaseMessage.objects.filter(body="The ramp is wet.").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_double_click_sends_two_requests_at_once_and_makes_one_case():
    need(connection.vendor == "postgresql", "PostgreSQL (concurrent transactions)")
    start = threading.Barrier(2)
    outcomes = []

    def send():
        start.wait()
        try:
            submit(submission_token="double-click-token-0123456789")
            outcomes.append("saved")
        except services.AlreadySubmitted:
            outcomes.append("already")
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["already", "saved"]
    assert Case.objects.count() == 1
