"""The API's Swagger UI in Chromium: it draws the schema, from this site alone, within the CSP."""

import pytest
from django.conf import settings as django_settings
from django.test import Client
from playwright.sync_api import expect

from tests.factories import CaseHandlerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_swagger_ui_draws_the_schema_within_the_csp(new_visit, live_server, settings):
    settings.TRUSTCENTER_REQUIRE_2FA = False  # the two-factor login has browser tests of its own
    logged_in = Client()
    logged_in.force_login(CaseHandlerFactory(teams=["privacy"]))
    visit = new_visit()
    cookie = logged_in.cookies[django_settings.SESSION_COOKIE_NAME]
    visit.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    visit.page.goto("/api/v1/docs/")
    expect(visit.page.locator(".swagger-ui .info .title")).to_contain_text("Trust Center API")
    expect(visit.page.get_by_text("/api/v1/cases/{case_id}/reply/", exact=True)).to_be_visible()
    assert visit.csp_violations() == []
    assert visit.foreign_requests(live_server.url) == []
