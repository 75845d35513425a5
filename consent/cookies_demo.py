"""The demo's other web site (issue 12, point 8): docs/demo-site/index.html served at
http://localhost:8001 (`python -m http.server 8001 --directory docs/demo-site`), with the banner
script of the portal at http://127.0.0.1:8000. Its inventory uses every category, so that its
banner offers all three. Loaded by `load_demo_data` through add_demo_cookie_site()."""

from django.db import transaction

from .cookies import CHOICE_COOKIE, ensure_portal_site, forget_portal_offer
from .models import Cookie, CookieCategory, CookieSite

DEMO_SITE_ORIGIN = "http://localhost:8001"
DEMO_SITE_NAME = "Demo site (another origin)"
DEMO_COOKIES = (
    (CHOICE_COOKIE, CookieCategory.NECESSARY, "Remembers the visitor's cookie choice.", "6 months"),
    ("demo_preferences", CookieCategory.FUNCTIONAL, "Remembers the visitor's chosen layout.", "1 year"),
    ("demo_analytics", CookieCategory.ANALYTICS, "Counts visits to the demo site's pages.", "1 year"),
    ("demo_marketing", CookieCategory.MARKETING, "Shows the group's advertising on other sites.", "3 months"),
)


def add_demo_cookie_site(*, origin: str = DEMO_SITE_ORIGIN) -> CookieSite:
    """The demo site and its inventory, where missing (and the portal's own, where a test emptied
    the database); what an admin changed stays. Safe to call twice."""
    ensure_portal_site()
    with transaction.atomic():
        site, _created = CookieSite.objects.get_or_create(
            origin=origin, defaults={"name": DEMO_SITE_NAME, "is_portal": False}
        )
        for name, category, purpose, duration in DEMO_COOKIES:
            Cookie.objects.get_or_create(
                site=site,
                name=name,
                defaults={"category": category, "purpose": purpose, "duration": duration},
            )
    forget_portal_offer()
    return site
