"""Issue 12, point 13: a person gives and withdraws through self-service in Chromium, sees the
receipt, and another system of the company finds the state changed through the consent API (a
real client token, over HTTP against the live server)."""

import json
import re
import urllib.request

import pytest
from playwright.sync_api import expect

from consent.api.authentication import new_client_token
from consent.defaults import ensure_default_purposes
from consent.models import ConsentApiClient, ConsentEvent, ConsentSeal
from tests.browser.test_consent_self_service import open_consents

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PERSON = "sigrid.lie@example.org"


def api_state(base_url: str, token: str, email: str) -> dict[str, dict]:
    request = urllib.request.Request(
        f"{base_url}/api/v1/consent/state/",
        data=json.dumps({"email": email}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        return {row["purpose"]: row for row in json.load(response)["purposes"]}


def test_give_and_withdraw_through_self_service_then_the_api_sees_it(new_visit, live_server):
    ensure_default_purposes()
    token, prefix, digest = new_client_token()
    ConsentApiClient.objects.create(name="CRM", token_prefix=prefix, token_digest=digest, can_read=True)
    assert api_state(live_server.url, token, PERSON)["newsletter"]["standing"] is False

    page = new_visit().page
    open_consents(page, PERSON)
    newsletter = page.get_by_role("region", name="Newsletter")
    newsletter.get_by_role("button", name="Give consent").click()
    expect(page.get_by_role("status")).to_contain_text("is recorded")

    given = api_state(live_server.url, token, PERSON)["newsletter"]
    assert given["standing"] is True and given["version"] == 1
    event = ConsentEvent.objects.get()
    assert given["given_at"] is not None and event.channel == "web"

    page.get_by_role("region", name="Newsletter").get_by_role("button", name="Withdraw consent").click()
    expect(page.get_by_role("status")).to_contain_text("is withdrawn")
    page.get_by_role("table", name="History").get_by_role(
        "link", name=re.compile(r"^Receipt for Newsletter")
    ).first.click()
    expect(page.get_by_role("heading", name="Consent receipt", level=1)).to_be_visible()
    withdrawn = ConsentEvent.objects.latest("id")
    expect(
        page.get_by_text(ConsentSeal.objects.get(event=withdrawn).digest)
    ).to_be_visible()  # sealed by the receipt

    state = api_state(live_server.url, token, PERSON)["newsletter"]
    assert state["standing"] is False and state["withdrawn_at"] is not None
