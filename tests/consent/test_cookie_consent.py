"""Cookie consent (issue 12, point 8): the portal's banner without JavaScript (only necessary
cookies before a choice; accept all, reject all and choose recorded in the ledger under a random
subject, only what changes), the settings page, the language cookie only with functional
consent, Global Privacy Control, /.well-known/gpc.json, and the API the other sites' banner
uses (CORS for the group's sites alone, strict validation, a rate limit, the OpenAPI schema).
The banner on another origin, in a browser: tests/browser/test_cookie_banner_other_site.py."""

import json
import re
import uuid
from html import escape

import pytest
import yaml
from django.conf import settings as django_settings
from django.core import signing
from django.core.management import call_command
from django.test import Client, RequestFactory

from consent import cookies, services
from consent.cookies_demo import DEMO_SITE_ORIGIN, add_demo_cookie_site
from consent.defaults import ensure_default_purposes
from consent.models import (
    Channel,
    ConsentAction,
    ConsentEvent,
    ConsentPurpose,
    ConsentSubject,
    Cookie,
    CookieCategory,
    CookieSite,
    Purpose,
)
from tests.factories import CaseHandlerFactory, StaffFactory

pytestmark = pytest.mark.django_db

CHOICE = "/en/cookies/choice/"
OTHER_SITE = "https://www.example.no"
CONFIG = "/api/v1/consent/cookies/config/"
API_CHOICE = "/api/v1/consent/cookies/choice/"
PUBLIC_PAGES = ["/en/", "/en/report/", "/en/follow-up/", "/en/privacy/", "/en/proof/", "/nb/", "/sv/report/"]
NECESSARY = {django_settings.SESSION_COOKIE_NAME, django_settings.CSRF_COOKIE_NAME, cookies.CHOICE_COOKIE}


@pytest.fixture(autouse=True)
def portal() -> CookieSite:
    """The portal's inventory as migration 0011 leaves it (made again where a transactional test
    emptied the database): necessary cookies and the functional language cookie."""
    ensure_default_purposes()
    cookies.ensure_portal_site()
    return CookieSite.objects.get(is_portal=True)


def add_cookie(site: CookieSite, name: str, category: str) -> None:
    Cookie.objects.create(
        site=site, name=name, category=category, purpose=f"{name} purpose", duration="1 day"
    )
    cookies.forget_portal_offer()


@pytest.fixture
def portal_with_everything(portal) -> CookieSite:
    add_cookie(portal, "visits", CookieCategory.ANALYTICS)
    add_cookie(portal, "ads", CookieCategory.MARKETING)
    return portal


@pytest.fixture
def other_site() -> CookieSite:
    site = CookieSite.objects.create(name="Example", origin=OTHER_SITE)
    add_cookie(site, cookies.CHOICE_COOKIE, CookieCategory.NECESSARY)
    add_cookie(site, "counter", CookieCategory.ANALYTICS)
    add_cookie(site, "adverts", CookieCategory.MARKETING)
    return site


def banner_of(response) -> str:
    found = re.search(r'<section id="cookie-banner".*?</section>', response.content.decode(), re.S)
    return found.group(0) if found else ""


def checkboxes(html: str) -> dict[str, str]:
    """The category boxes of a form: name -> the input's whole tag."""
    return {
        re.search(r'name="(\w+)"', tag).group(1): tag
        for tag in re.findall(r'<input class="form-check-input" type="checkbox"[^>]*>', html)
    }


def choose(client: Client, choice: str, *, next_page: str = "/en/report/", **extra):
    return client.post(CHOICE, {"choice": choice, "next": next_page, **extra})


def cookie_choice(client: Client) -> cookies.Choice:
    """The choice the client's cookie holds, read as the portal reads it (signature checked)."""
    request = RequestFactory().get("/")
    request.COOKIES[cookies.CHOICE_COOKIE] = client.cookies[cookies.CHOICE_COOKIE].value
    choice = cookies.read_choice(request)
    assert choice is not None
    return choice


def events() -> list[tuple[str, str, str]]:
    return [
        (event.purpose.slug, event.action, event.channel)
        for event in ConsentEvent.objects.select_related("purpose").order_by("id")
    ]


# --- Before a choice ------------------------------------------------------------------------------


def test_a_fresh_visitor_gets_only_necessary_cookies_and_the_banner_on_every_public_page(client):
    for page in PUBLIC_PAGES:
        response = client.get(page)
        assert response.status_code == 200, page
        assert banner_of(response), f"no banner on {page}"
    assert set(client.cookies) <= NECESSARY, set(client.cookies)
    assert django_settings.LANGUAGE_COOKIE_NAME not in client.cookies
    assert ConsentEvent.objects.count() == 0 and ConsentSubject.objects.count() == 0


def test_every_page_links_to_the_cookie_settings(client):
    for page in [*PUBLIC_PAGES, "/en/cookies/", "/en/staff/account/login/"]:
        assert 'href="/{}/cookies/">'.format(page.split("/")[1]) in client.get(page).content.decode(), page


def test_the_banner_offers_only_what_the_inventory_uses_all_off(client, portal):
    html = banner_of(client.get("/en/"))
    assert set(checkboxes(html)) == {"functional"}  # the language cookie; no analytics, no marketing
    assert "checked" not in checkboxes(html)["functional"]

    add_cookie(portal, "visits", CookieCategory.ANALYTICS)
    html = banner_of(client.get("/en/"))
    assert set(checkboxes(html)) == {"functional", "analytics"}
    assert all(" checked" not in tag for tag in checkboxes(html).values())


def test_the_banner_says_what_each_category_is_in_the_page_language(client):
    html = banner_of(client.get("/nb/"))
    assert "Funksjonelle informasjonskapsler" in html


def test_accept_reject_and_choose_are_buttons_of_the_same_size_and_style(client):
    html = banner_of(client.get("/en/"))
    buttons = re.findall(
        r'<div class="col"><button type="submit" name="choice" value="(\w+)" class="([^"]+)">', html
    )
    assert [value for value, _style in buttons] == ["accept_all", "reject_all", "save"]
    assert len({style for _value, style in buttons}) == 1


def test_the_banner_works_without_javascript_a_plain_form_back_to_the_page(client):
    html = banner_of(client.get("/en/report/?type=hse"))
    assert '<form method="post" action="/en/cookies/choice/"' in html
    assert 'name="next" value="/en/report/?type=hse"' in html
    assert "<script" not in html


def test_the_settings_page_shows_no_second_banner(client):
    response = client.get("/en/cookies/")
    assert response.status_code == 200 and not banner_of(response)
    assert "cookie-settings-functional" in response.content.decode()


def test_staff_pages_and_the_admin_show_no_banner(client):
    assert not banner_of(client.get("/en/staff/account/login/"))
    client.force_login(CaseHandlerFactory(teams=["privacy"]))
    assert not banner_of(client.get("/en/staff/"))
    assert "cookie-banner" not in client.get("/admin/login/").content.decode()


# --- The choice -------------------------------------------------------------------------------------


def test_accept_all_records_a_give_per_category_under_a_random_subject(client, portal_with_everything):
    response = choose(client, "accept_all")
    assert response.status_code == 302 and response["Location"] == "/en/report/"
    assert events() == [
        ("cookies_functional", "give", "web"),
        ("cookies_analytics", "give", "web"),
        ("cookies_marketing", "give", "web"),
    ]
    subject = ConsentSubject.objects.get()
    assert subject.email is None
    morsel = response.cookies[cookies.CHOICE_COOKIE]
    assert morsel["httponly"] and morsel["samesite"] == "Lax" and not morsel["secure"]
    assert int(morsel["max-age"]) == cookies.CHOICE_MAX_AGE
    choice = cookie_choice(client)
    assert choice.subject == subject.pk
    assert choice.answers == {"functional": True, "analytics": True, "marketing": True}
    assert not banner_of(client.get("/en/report/"))


def test_the_choice_cookie_is_secure_on_a_secure_connection(client):
    response = client.post(CHOICE, {"choice": "reject_all", "next": "/en/"}, secure=True)
    assert response.cookies[cookies.CHOICE_COOKIE]["secure"]


def test_reject_all_records_a_withdrawal_per_category(client, portal_with_everything):
    choose(client, "reject_all")
    assert events() == [
        ("cookies_functional", "withdraw", "web"),
        ("cookies_analytics", "withdraw", "web"),
        ("cookies_marketing", "withdraw", "web"),
    ]
    assert cookie_choice(client).answers == {"functional": False, "analytics": False, "marketing": False}
    assert not banner_of(client.get("/en/"))


def test_choose_records_what_was_ticked(client, portal_with_everything):
    choose(client, "save", analytics="on")
    assert events() == [
        ("cookies_functional", "withdraw", "web"),
        ("cookies_analytics", "give", "web"),
        ("cookies_marketing", "withdraw", "web"),
    ]
    assert cookie_choice(client).answers == {"functional": False, "analytics": True, "marketing": False}


def test_only_what_changes_is_recorded_under_the_same_subject(client, portal_with_everything):
    choose(client, "accept_all")
    subject = cookie_choice(client).subject
    choose(client, "accept_all")
    assert len(events()) == 3
    choose(client, "save", functional="on")
    assert events()[3:] == [
        ("cookies_analytics", "withdraw", "web"),
        ("cookies_marketing", "withdraw", "web"),
    ]
    choose(client, "reject_all")
    assert events()[5:] == [("cookies_functional", "withdraw", "web")]
    choose(client, "reject_all")
    assert len(events()) == 6
    assert set(ConsentEvent.objects.values_list("subject_id", flat=True)) == {subject}
    assert ConsentSubject.objects.count() == 1


def test_pages_read_the_choice_and_the_inventory_without_the_database(client, django_assert_num_queries):
    cookies.portal_offer()  # the inventory, in the cache from here on (from the database once a minute)
    with django_assert_num_queries(0):
        assert banner_of(client.get("/en/privacy/"))
    choose(client, "accept_all")
    with django_assert_num_queries(0):
        response = client.get("/en/privacy/")
    assert response.status_code == 200 and not banner_of(response)


def test_a_box_ticked_for_a_category_not_offered_is_ignored(client):
    choose(client, "save", functional="on", analytics="on", marketing="on")
    assert events() == [("cookies_functional", "give", "web")]
    assert cookie_choice(client).answers == {"functional": True}


def test_the_settings_page_lists_the_inventory_and_changes_the_choice(client, portal):
    page = client.get("/en/cookies/").content.decode()
    for cookie in portal.cookies.all():
        assert f"<code>{cookie.name}</code>" in page
        assert escape(cookie.purpose) in page and escape(cookie.duration) in page
    assert "Necessary" in page and "Functional" in page
    assert "You have not chosen yet" in page

    choose(client, "accept_all")
    page = client.get("/en/cookies/").content.decode()
    assert " checked" in checkboxes(page)["functional"]
    response = client.post(CHOICE, {"choice": "reject_all", "next": "/en/cookies/?saved=1"})
    assert response["Location"] == "/en/cookies/?saved=1"
    page = client.get(response["Location"]).content.decode()
    assert "Your choice is saved" in page and " checked" not in checkboxes(page)["functional"]
    assert events() == [("cookies_functional", "give", "web"), ("cookies_functional", "withdraw", "web")]


def test_the_settings_page_shows_the_inventory_in_the_visitor_language(client):
    page = client.get("/nb/cookies/").content.decode()
    assert 'lang="nb"' in page and "<code>tc_consent</code>" in page


def test_the_choice_needs_the_csrf_token():
    client = Client(enforce_csrf_checks=True)
    response = client.post(CHOICE, {"choice": "accept_all", "next": "/en/"})
    assert response.status_code == 403 and not events()


def test_the_choice_is_a_post(client):
    assert client.get(CHOICE).status_code == 405


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "http://testserver.evil.example/",
        "javascript:alert(1)",
        "\\\\evil.example",
    ],
)
def test_next_never_leads_to_another_host(client, target):
    response = choose(client, "reject_all", next_page=target)
    assert response.status_code == 302 and response["Location"] == "/en/cookies/"


def test_a_button_that_is_not_one_is_refused_and_the_ticks_kept(client, portal_with_everything):
    response = client.post(CHOICE, {"choice": "accept_everything_forever", "analytics": "on", "next": "/en/"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose one of the buttons" in page
    assert " checked" in checkboxes(page)["analytics"] and " checked" not in checkboxes(page)["marketing"]
    assert not events() and cookies.CHOICE_COOKIE not in response.cookies


def test_too_many_choices_from_one_connection_are_refused(client, settings):
    settings.TRUSTCENTER_COOKIE_CHOICES_PER_MINUTE = 2
    assert choose(client, "accept_all").status_code == 302
    assert choose(client, "reject_all").status_code == 302
    response = choose(client, "accept_all")
    assert response.status_code == 429 and "Too many choices" in response.content.decode()
    assert len(events()) == 2


# --- A forged or changed cookie -------------------------------------------------------------------------


def test_a_tampered_choice_cookie_is_ignored(client):
    choose(client, "accept_all")
    original = cookie_choice(client)
    value = client.cookies[cookies.CHOICE_COOKIE].value
    client.cookies[cookies.CHOICE_COOKIE] = value.replace('"functional":true', '"functional":false')
    assert client.cookies[cookies.CHOICE_COOKIE].value != value
    assert banner_of(client.get("/en/")), "a changed cookie counts as no choice"
    choose(client, "reject_all")
    assert cookie_choice(client).subject != original.subject


def test_a_forged_cookie_cannot_record_under_a_person(client):
    person = services.record_consent(
        email="kari@example.no",
        purpose=ConsentPurpose.objects.get(slug=Purpose.NEWSLETTER),
        action=ConsentAction.GIVE,
        channel=Channel.WEB,
    ).subject
    forged = cookies.encode_choice(cookies.Choice(subject=person.pk, answers={"functional": True}))
    client.cookies[cookies.CHOICE_COOKIE] = forged  # unsigned
    assert banner_of(client.get("/en/"))
    choose(client, "accept_all")
    assert not ConsentEvent.objects.filter(subject=person, purpose__slug=Purpose.COOKIES_FUNCTIONAL).exists()


def test_a_cookie_signed_for_another_purpose_is_ignored(client):
    value = cookies.encode_choice(cookies.Choice(subject=uuid.uuid4(), answers={"functional": True}))
    client.cookies[cookies.CHOICE_COOKIE] = signing.get_cookie_signer(salt="another").sign(value)
    assert banner_of(client.get("/en/"))


@pytest.mark.parametrize(
    "value",
    [
        "not json",
        "[]",
        '{"s": "not-a-uuid", "a": {}, "v": {}}',
        '{"s": "6f1c2b9e-3d4a-4b8e-9f0a-2c1d3e4f5a6b", "a": {"everything": true}, "v": {}}',
        '{"s": "6f1c2b9e-3d4a-4b8e-9f0a-2c1d3e4f5a6b", "a": {"functional": "yes"}, "v": {}}',
        '{"s": "6f1c2b9e-3d4a-4b8e-9f0a-2c1d3e4f5a6b", "a": {}, "v": {"functional": true}}',
        '{"s": "6f1c2b9e-3d4a-4b8e-9f0a-2c1d3e4f5a6b", "a": {}}',
    ],
)
def test_a_cookie_value_that_is_not_a_choice_is_no_choice(value):
    assert cookies.decode_choice(value) is None


# --- The language cookie ------------------------------------------------------------------------------------


def test_without_functional_consent_the_language_stays_in_the_url(client):
    assert django_settings.LANGUAGE_COOKIE_NAME not in client.get("/nb/").cookies
    choose(client, "reject_all", next_page="/nb/")
    response = client.get("/nb/")
    assert django_settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert client.get("/", HTTP_ACCEPT_LANGUAGE="en")["Location"] == "/en/"


def test_with_functional_consent_the_language_is_also_kept_in_a_cookie(client):
    response = client.post("/sv/cookies/choice/", {"choice": "accept_all", "next": "/sv/"})
    language_cookie = response.cookies[django_settings.LANGUAGE_COOKIE_NAME]
    assert (
        language_cookie.value == "sv" and language_cookie["httponly"] and language_cookie["samesite"] == "Lax"
    )
    assert client.get("/", HTTP_ACCEPT_LANGUAGE="en")["Location"] == "/sv/"
    response = client.get("/da/report/")
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "da"
    assert client.get("/", HTTP_ACCEPT_LANGUAGE="en")["Location"] == "/da/"
    assert django_settings.LANGUAGE_COOKIE_NAME not in client.get("/da/").cookies  # set once, not every page


def test_withdrawing_functional_consent_deletes_the_language_cookie(client):
    client.post("/nb/cookies/choice/", {"choice": "accept_all", "next": "/nb/"})
    assert client.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "nb"
    response = client.post("/nb/cookies/choice/", {"choice": "reject_all", "next": "/nb/"})
    deleted = response.cookies[django_settings.LANGUAGE_COOKIE_NAME]
    assert deleted.value == "" and deleted["max-age"] == 0
    assert client.get("/", HTTP_ACCEPT_LANGUAGE="en")["Location"] == "/en/"


def test_a_language_cookie_without_consent_is_deleted(client):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "da"
    response = client.get("/en/")
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME]["max-age"] == 0


# --- Global Privacy Control ------------------------------------------------------------------------------------


def test_a_gpc_browser_is_told_and_cannot_tick_analytics_or_marketing(client, portal_with_everything):
    html = banner_of(client.get("/en/", HTTP_SEC_GPC="1"))
    assert "Global Privacy Control" in html and "analytics and marketing stay off" in html
    boxes = checkboxes(html)
    assert " disabled" in boxes["analytics"] and " disabled" in boxes["marketing"]
    assert " disabled" not in boxes["functional"]
    assert "Global Privacy Control" not in banner_of(client.get("/en/"))


def test_accept_all_under_gpc_accepts_only_what_gpc_allows_and_records_the_refusal(
    client, portal_with_everything
):
    client.post(CHOICE, {"choice": "accept_all", "next": "/en/"}, HTTP_SEC_GPC="1")
    assert events() == [
        ("cookies_functional", "give", "web"),
        ("cookies_analytics", "withdraw", "web"),
        ("cookies_marketing", "withdraw", "web"),
    ]
    assert cookie_choice(client).answers == {"functional": True, "analytics": False, "marketing": False}


def test_a_box_ticked_past_gpc_is_not_accepted(client, portal_with_everything):
    choose(client, "accept_all")
    client.post(
        CHOICE, {"choice": "save", "analytics": "on", "marketing": "on", "next": "/en/"}, HTTP_SEC_GPC="1"
    )
    assert events()[3:] == [
        ("cookies_functional", "withdraw", "web"),
        ("cookies_analytics", "withdraw", "web"),
        ("cookies_marketing", "withdraw", "web"),
    ]


def test_gpc_json_declares_support(client):
    response = client.get("/.well-known/gpc.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert body["gpc"] is True and re.fullmatch(r"\d{4}-\d{2}-\d{2}", body["lastUpdate"])
    assert set(body) == {"gpc", "lastUpdate"}


# --- Fresh consent for new wording --------------------------------------------------------------------------------


def test_new_wording_that_needs_fresh_consent_brings_the_banner_back(client):
    choose(client, "accept_all")
    assert not banner_of(client.get("/en/"))
    purpose = ConsentPurpose.objects.get(slug=Purpose.COOKIES_FUNCTIONAL)
    purpose.new_versions_need_fresh_consent = True
    purpose.save()
    services.publish_version(
        purpose=purpose,
        wordings={lang: ("Functional v2", "Remember my language, v2.") for lang in ("en", "nb", "sv", "da")},
    )
    cookies.forget_portal_offer()
    html = banner_of(client.get("/en/"))
    assert "Functional v2" in html
    choose(client, "accept_all")
    assert events() == [("cookies_functional", "give", "web"), ("cookies_functional", "give", "web")]
    assert ConsentEvent.objects.order_by("id").last().version.number == 2
    assert not banner_of(client.get("/en/"))


def test_a_category_not_worded_in_the_page_language_is_not_offered_in_it(client, portal):
    purpose = ConsentPurpose.objects.get(slug=Purpose.COOKIES_ANALYTICS)
    services.publish_version(purpose=purpose, wordings={"en": ("Analytics", "Count my visits.")})
    add_cookie(portal, "visits", CookieCategory.ANALYTICS)
    assert set(checkboxes(banner_of(client.get("/en/")))) == {"functional", "analytics"}
    assert set(checkboxes(banner_of(client.get("/nb/")))) == {"functional"}


# --- The API of the other sites' banner ---------------------------------------------------------------------------


def api_choice(client: Client, body, *, origin: str | None = OTHER_SITE, **headers):
    if origin is not None:
        headers["HTTP_ORIGIN"] = origin
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(API_CHOICE, raw, content_type="application/json", **headers)


def a_choice(**choices) -> dict:
    return {
        "site": OTHER_SITE,
        "subject": None,
        "choices": {"functional": False, "analytics": False, "marketing": False, **choices},
    }


def test_the_config_offers_the_site_categories_in_the_page_language(client, other_site):
    response = client.get(CONFIG, {"site": OTHER_SITE, "lang": "nb-NO"}, HTTP_ORIGIN=OTHER_SITE)
    assert response.status_code == 200
    body = response.json()
    assert body["language"] == "nb" and body["gpc"] is False and body["site"] == OTHER_SITE
    assert [category["category"] for category in body["categories"]] == ["analytics", "marketing"]
    assert body["categories"][0]["title"] == "Analyseinformasjonskapsler"
    assert [cookie["name"] for cookie in body["categories"][0]["cookies"]] == ["counter"]
    assert [cookie["name"] for cookie in body["necessary"]] == [cookies.CHOICE_COOKIE]
    assert body["texts"]["accept_all"] and body["texts"]["gpc_note"]
    assert response["Access-Control-Allow-Origin"] == OTHER_SITE
    assert "Origin" in response["Vary"] and "Sec-GPC" in response["Vary"]
    assert "max-age=300" in response["Cache-Control"]


def test_the_config_falls_back_to_english(client, other_site):
    body = client.get(CONFIG, {"site": OTHER_SITE, "lang": "fr"}).json()
    assert body["language"] == "en" and body["texts"]["accept_all"] == "Accept all"


def test_the_config_says_gpc_where_the_browser_sends_it(client, other_site):
    body = client.get(CONFIG, {"site": OTHER_SITE}, HTTP_SEC_GPC="1").json()
    assert body["gpc"] is True
    assert [category["refused_by_gpc"] for category in body["categories"]] == [True, True]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({}, 400),
        ({"site": "https://unknown.example"}, 400),
        ({"site": "https://www.example.no/"}, 400),
        ({"site": "https://www.example.no/path"}, 400),
        ({"site": "ftp://www.example.no"}, 400),
        ({"site": OTHER_SITE, "lang": "<script>"}, 400),
        ({"site": OTHER_SITE, "extra": "1"}, 400),
    ],
)
def test_the_config_refuses_what_is_not_a_known_site(client, other_site, query, status):
    response = client.get(CONFIG, query)
    assert response.status_code == status, response.content


def test_the_config_refuses_a_page_of_another_site(client, other_site):
    response = client.get(CONFIG, {"site": OTHER_SITE}, HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response and "Origin" in response["Vary"]


def test_cors_is_answered_only_for_the_group_sites(client, other_site):
    preflight = {
        "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST",
        "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "content-type",
    }
    refused = client.options(API_CHOICE, HTTP_ORIGIN="https://evil.example", **preflight)
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused

    allowed = client.options(API_CHOICE, HTTP_ORIGIN=OTHER_SITE, **preflight)
    assert allowed.status_code == 204
    assert allowed["Access-Control-Allow-Origin"] == OTHER_SITE
    assert allowed["Access-Control-Allow-Methods"] == "POST"
    assert "Content-Type" in allowed["Access-Control-Allow-Headers"]
    assert "Origin" in allowed["Vary"] and "Access-Control-Allow-Credentials" not in allowed

    other_method = {**preflight, "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "DELETE"}
    assert client.options(API_CHOICE, HTTP_ORIGIN=OTHER_SITE, **other_method).status_code == 403
    other_header = {**preflight, "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "content-type, authorization"}
    assert client.options(API_CHOICE, HTTP_ORIGIN=OTHER_SITE, **other_header).status_code == 403

    refused_post = api_choice(client, a_choice(analytics=True), origin="https://evil.example")
    assert refused_post.status_code == 403 and "Access-Control-Allow-Origin" not in refused_post
    assert not events()


def test_a_choice_from_another_site_is_recorded_through_the_api(client, other_site):
    response = api_choice(client, a_choice(analytics=True))
    assert response.status_code == 200, response.content
    body = response.json()
    assert response["Access-Control-Allow-Origin"] == OTHER_SITE
    assert body["choices"] == {"functional": False, "analytics": True, "marketing": False}
    assert body["recorded"] == 2
    assert events() == [("cookies_analytics", "give", "api"), ("cookies_marketing", "withdraw", "api")]
    subject = ConsentSubject.objects.get()
    assert body["subject"] == str(subject.pk) and subject.email is None

    again = api_choice(client, {**a_choice(analytics=True, marketing=True), "subject": body["subject"]})
    assert again.json()["subject"] == body["subject"] and again.json()["recorded"] == 1
    assert events()[2:] == [("cookies_marketing", "give", "api")]
    same = api_choice(client, {**a_choice(analytics=True, marketing=True), "subject": body["subject"]})
    assert same.json()["recorded"] == 0 and len(events()) == 3


def test_an_api_choice_under_gpc_refuses_analytics_and_marketing(client, other_site):
    body = api_choice(client, a_choice(analytics=True, marketing=True), HTTP_SEC_GPC="1").json()
    assert body["choices"] == {"functional": False, "analytics": False, "marketing": False}
    assert events() == [("cookies_analytics", "withdraw", "api"), ("cookies_marketing", "withdraw", "api")]


def test_an_api_choice_cannot_name_a_person_as_its_subject(client, other_site):
    person = services.record_consent(
        email="kari@example.no",
        purpose=ConsentPurpose.objects.get(slug=Purpose.NEWSLETTER),
        action=ConsentAction.GIVE,
        channel=Channel.WEB,
    ).subject
    body = api_choice(client, {**a_choice(analytics=True), "subject": str(person.pk)}).json()
    assert body["subject"] != str(person.pk)
    assert not ConsentEvent.objects.filter(subject=person, purpose__slug__startswith="cookies_").exists()
    unknown = api_choice(client, {**a_choice(), "subject": str(uuid.uuid4())}).json()
    assert ConsentSubject.objects.filter(pk=unknown["subject"], email__isnull=True).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"site": OTHER_SITE, "subject": None}, "choices"),
        ({**a_choice(), "choices": {"functional": False, "analytics": "yes", "marketing": False}}, "choices"),
        ({**a_choice(), "choices": {"functional": 0, "analytics": False, "marketing": False}}, "choices"),
        ({**a_choice(), "choices": {"analytics": True}}, "choices"),
        ({**a_choice(), "choices": {**a_choice()["choices"], "necessary": True}}, "choices"),
        ({**a_choice(), "choices": {**a_choice()["choices"], "cookies_analytics": True}}, "choices"),
        ({**a_choice(), "subject": "not-a-uuid"}, "subject"),
        ({**a_choice(), "purpose": "newsletter"}, "purpose"),
        ({**a_choice(), "site": "https://unknown.example"}, "site"),
        ({**a_choice(), "site": "not an origin"}, "site"),
        (a_choice(functional=True), "choices"),  # the site uses no functional cookie
        ([], "non_field_errors"),
        ("null", "non_field_errors"),
    ],
)
def test_the_api_refuses_what_is_not_exactly_a_choice(client, other_site, body, field):
    response = api_choice(client, body)
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not events()


def test_the_api_refuses_a_choice_sent_from_elsewhere(client, other_site):
    assert api_choice(client, a_choice(), origin=None).status_code == 403
    portal_origin = CookieSite.objects.get(is_portal=True).origin
    assert api_choice(client, a_choice(), origin=portal_origin).status_code == 403
    assert not events()


def test_the_api_refuses_what_is_not_json_and_what_is_too_large(client, other_site):
    form = client.post(API_CHOICE, {"site": OTHER_SITE}, HTTP_ORIGIN=OTHER_SITE)
    assert form.status_code == 415
    assert api_choice(client, "{not json").status_code == 400
    large = json.dumps({**a_choice(), "padding": "x" * 5000})
    assert api_choice(client, large).status_code == 413
    assert not events()


def test_the_api_takes_no_credentials_and_ignores_a_session(client, other_site):
    client.force_login(StaffFactory())
    response = api_choice(client, a_choice(analytics=True))
    assert response.status_code == 200  # no CSRF asked: no session is read
    assert ConsentEvent.objects.filter(actor__isnull=False).count() == 0


def test_the_api_counts_choices_per_connection(client, other_site, settings):
    settings.TRUSTCENTER_COOKIE_CHOICES_PER_MINUTE = 2
    assert api_choice(client, a_choice()).status_code == 200
    assert api_choice(client, a_choice()).status_code == 200
    refused = api_choice(client, a_choice())
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert refused["Access-Control-Allow-Origin"] == OTHER_SITE


def test_the_api_is_in_the_openapi_schema(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    schema = yaml.safe_load((tmp_path / "schema.yml").read_text())
    assert "/api/v1/consent/cookies/config/" in schema["paths"]
    choice = schema["paths"]["/api/v1/consent/cookies/choice/"]["post"]
    assert choice["security"] == [{}] or not choice.get("security")


# --- The inventory in the admin, and the demo site ----------------------------------------------------------------------


def test_the_admin_lists_sites_with_their_cookies(client, other_site):
    admin = StaffFactory(is_superuser=True)
    client.force_login(admin)
    portal = CookieSite.objects.get(is_portal=True)
    listed = client.get("/admin/consent/cookiesite/", {"q": "counter"}).content.decode()
    assert (
        f"/cookiesite/{other_site.pk}/change/" in listed and f"/cookiesite/{portal.pk}/change/" not in listed
    )
    offered = client.get(
        "/admin/consent/cookiesite/", {"cookies__category__exact": "functional"}
    ).content.decode()
    assert (
        f"/cookiesite/{portal.pk}/change/" in offered
        and f"/cookiesite/{other_site.pk}/change/" not in offered
    )
    filtered = client.get("/admin/consent/cookie/", {"category__exact": "analytics"}).content.decode()
    assert "counter" in filtered and "adverts" not in filtered
    page = client.get(f"/admin/consent/cookiesite/{other_site.pk}/change/").content.decode()
    assert 'value="counter"' in page and 'value="adverts"' in page


def test_the_admin_refuses_an_origin_with_a_path(client):
    client.force_login(StaffFactory(is_superuser=True))
    response = client.post(
        "/admin/consent/cookiesite/add/",
        {
            "name": "Shop",
            "origin": "https://shop.example/path",
            "cookies-TOTAL_FORMS": "0",
            "cookies-INITIAL_FORMS": "0",
        },
    )
    assert (
        response.status_code == 200 and "Write the origin as a browser sends it" in response.content.decode()
    )
    assert not CookieSite.objects.filter(name="Shop").exists()


def test_the_admin_change_shows_on_the_portal_banner_at_once(client, portal):
    assert set(checkboxes(banner_of(client.get("/en/")))) == {"functional"}
    staff = Client()
    staff.force_login(StaffFactory(is_superuser=True))
    response = staff.post(
        "/admin/consent/cookie/add/",
        {
            "site": portal.pk,
            "name": "visits",
            "category": "analytics",
            "purpose": "Counts",
            "duration": "1 day",
        },
    )
    assert response.status_code == 302
    assert set(checkboxes(banner_of(client.get("/en/")))) == {"functional", "analytics"}


def test_the_demo_site_is_added_once_with_every_category():
    first = add_demo_cookie_site()
    second = add_demo_cookie_site()
    assert first == second and first.origin == DEMO_SITE_ORIGIN
    assert set(first.cookies.values_list("category", flat=True)) == {c.value for c in CookieCategory}


def test_cookies_of_the_portal_inventory_are_set_only_as_declared(client):
    """What the portal's pages set is in its inventory: no undeclared cookie."""
    declared = set(CookieSite.objects.get(is_portal=True).cookies.values_list("name", flat=True))
    for page in PUBLIC_PAGES:
        client.get(page)
    choose(client, "accept_all", next_page="/nb/")
    client.get("/nb/")
    assert set(client.cookies) <= declared, set(client.cookies) - declared
