import re

import pytest
from django.test import RequestFactory
from django.utils import translation

from trustcenter import views

pytestmark = pytest.mark.django_db

PUBLIC_PAGES = [
    "/en/",
    "/en/report/",
    "/en/follow-up/",
    "/en/privacy/",
    "/en/proof/",
    "/en/authorities/norway/",
    "/en/authorities/sweden/",
    "/en/authorities/denmark/",
]


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_load_nothing_from_other_hosts(client, path):
    response = client.get(path)
    assert response.status_code == 200
    page = response.content.decode()
    loaded = re.findall(
        r'<(?:script|link|img|iframe|source|video|audio)\b[^>]*\b(?:src|href)="([^"]+)"', page
    )
    assert loaded, "the page loads its own assets"
    # Paths on this site, or inline data (the empty favicon): never another host.
    assert all(
        (url.startswith("/") and not url.startswith("//")) or url.startswith("data:") for url in loaded
    ), loaded
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "http" not in policy


def test_the_front_page_picks_the_browser_language_without_a_cookie(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="sv-SE,sv;q=0.9,en;q=0.5")
    assert response.status_code == 302 and response["Location"] == "/sv/"
    assert not response.cookies
    page = client.get("/sv/")
    assert 'lang="sv"' in page.content.decode()
    assert "django_language" not in page.cookies


def test_the_language_switcher_links_to_the_same_page_in_each_language(client):
    page = client.get("/en/follow-up/").content.decode()
    for code in ("nb", "sv", "da", "en"):
        assert f'href="/{code}/follow-up/" hreflang="{code}"' in page


def test_the_footer_names_the_controller_and_its_privacy_contact(client, settings):
    settings.TRUSTCENTER_CONTROLLER_NAME = "Nordisk Konsern AS"
    settings.TRUSTCENTER_PRIVACY_EMAIL = "personvern@konsern.example"
    settings.TRUSTCENTER_POSTAL_ADDRESS = "Storgata 1, 0155 Oslo"
    page = client.get("/en/").content.decode()
    assert "Nordisk Konsern AS" in page
    assert "mailto:personvern@konsern.example" in page
    assert "Storgata 1, 0155 Oslo" in page


def test_each_country_page_names_its_authority_and_links_without_loading(client):
    for country, name, site in [
        ("norway", "Datatilsynet", "https://www.datatilsynet.no/"),
        ("sweden", "Integritetsskyddsmyndigheten (IMY)", "https://www.imy.se/"),
        ("denmark", "Datatilsynet", "https://www.datatilsynet.dk/"),
    ]:
        page = client.get(f"/en/authorities/{country}/").content.decode()
        assert name in page
        assert f'<a href="{site}" rel="noopener noreferrer">' in page
    assert client.get("/en/authorities/finland/").status_code == 404


def test_the_privacy_notice_says_what_is_stored_why_how_long_and_what_anonymous_means(client, settings):
    settings.TRUSTCENTER_CONTROLLER_NAME = "Nordisk Konsern AS"
    settings.SESSION_COOKIE_AGE = 45 * 60
    settings.TRUSTCENTER_FOLLOWUP_WINDOW_SECONDS = 90 * 60
    page = client.get("/en/privacy/").content.decode()
    headings = re.findall(r"<h2[^>]*>([^<]+)</h2>", page)
    assert headings[:4] == ["What we store", "What anonymous means here", "Why", "How long"]
    assert "Nordisk Konsern AS is the controller" in page
    # What: the receipt code only as its hash; the abuse counters only under a hash, and for how long.
    assert "hash of your receipt code, never the code itself" in page
    assert "for at most 180 minutes and in memory only" in page  # two windows of the longest limit
    assert "never the address itself" in page
    # Anonymous: no address, no browser data, no logs; what pictures and documents keep.
    assert "no IP address and no information about your browser or device" in page
    assert "not in any log" in page
    assert "may carry the author's name" in page
    # Sessions as configured, and the retention of each kind of case.
    assert "until 45 minutes after your last visit" in page
    for period in ("3 years", "5 years", "2 years", "90 days"):
        assert period in page


def test_the_form_links_to_the_country_pages(client):
    page = client.get("/en/report/").content.decode()
    for country in ("norway", "sweden", "denmark"):
        assert f'href="/en/authorities/{country}/"' in page


@pytest.mark.parametrize("language", ["en", "nb", "sv", "da"])
def test_error_pages_speak_the_language_of_the_address(client, language):
    response = client.get(f"/{language}/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert f'lang="{language}"' in page
    with translation.override(language):
        title = translation.gettext("Page not found")
    assert title in page
    assert (title == "Page not found") == (language == "en")


@pytest.mark.parametrize(
    ("handler", "status", "title"),
    [
        (views.bad_request, 400, "Bad request"),
        (views.permission_denied, 403, "Access denied"),
        (views.server_error, 500, "Something went wrong"),
    ],
)
@pytest.mark.parametrize("language", ["en", "nb", "sv", "da"])
def test_every_error_page_exists_in_every_language(rf: RequestFactory, handler, status, title, language):
    request = rf.get(f"/{language}/")
    with translation.override(language):
        response = handler(request) if handler is views.server_error else handler(request, None)
        assert response.status_code == status
        translated = translation.gettext(title)
    assert translated in response.content.decode()
    assert (translated == title) == (language == "en")


def test_the_health_check_answers(client):
    assert client.get("/health/").content == b"ok"


def test_only_the_address_the_proxy_wrote_keys_the_rate_limit(rf, settings):
    from trustcenter.middleware import ClientPrivacyMiddleware

    settings.TRUSTCENTER_CLIENT_ADDRESS_HEADER = "HTTP_X_FORWARDED_FOR"
    seen = []
    middleware = ClientPrivacyMiddleware(lambda request: seen.append(request) or None)
    middleware(rf.get("/", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.5", HTTP_USER_AGENT="Probe/1"))
    middleware(rf.get("/", HTTP_X_FORWARDED_FOR="2.2.2.2, 203.0.113.5"))
    middleware(rf.get("/", HTTP_X_FORWARDED_FOR="203.0.113.6"))
    first, spoofed, other = seen
    assert first.client_key == spoofed.client_key != other.client_key
    for request in seen:
        assert "HTTP_X_FORWARDED_FOR" not in request.META
        assert "REMOTE_ADDR" not in request.META and "HTTP_USER_AGENT" not in request.META


def test_without_the_proxy_header_clients_are_kept_apart_and_the_header_removed(rf, settings):
    """A missing header must not put every client into one bucket keyed by an empty address."""
    from trustcenter.middleware import ClientPrivacyMiddleware

    settings.TRUSTCENTER_CLIENT_ADDRESS_HEADER = "HTTP_X_CLIENT_ADDRESS"  # not in the fixed list
    seen = []
    middleware = ClientPrivacyMiddleware(lambda request: seen.append(request) or None)
    middleware(rf.get("/", REMOTE_ADDR="198.51.100.1"))
    middleware(rf.get("/", REMOTE_ADDR="198.51.100.2"))
    middleware(rf.get("/", REMOTE_ADDR="198.51.100.3", HTTP_X_CLIENT_ADDRESS="203.0.113.9"))
    first, second, proxied = seen
    assert first.client_key != second.client_key
    assert "HTTP_X_CLIENT_ADDRESS" not in proxied.META


def test_an_ipv6_client_is_counted_by_its_64_block():
    from trustcenter.ratelimit import ClientKey

    same_block = [ClientKey.from_address(a) for a in ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9")]
    assert same_block[0] == same_block[1]
    assert ClientKey.from_address("2001:db8:1:3::1") != same_block[0]
    assert ClientKey.from_address("198.51.100.1") != ClientKey.from_address("198.51.100.2")
