"""Demo consents (issue 12, point 11): subjects whose histories run across wording versions and
every channel, a purpose whose new wording waits for its answer, and a cookie choice under a
random identifier. Loaded by `load_demo_data`, once: the demo subjects' addresses are the mark.

Dates count back from the day the demo is loaded; the names and addresses are made up.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from . import services
from .defaults import ensure_default_purposes
from .models import Channel, ConsentAction, ConsentPurpose, ConsentSubject, Purpose

GIVE, WITHDRAW = ConsentAction.GIVE, ConsentAction.WITHDRAW

# (address, purpose, action, channel, days ago), recorded in this order. The marketing wording's
# second version is published after these, 60 days ago.
BEFORE_NEW_WORDING = [
    ("astri.berge@example.no", Purpose.NEWSLETTER, GIVE, Channel.WEB, 420),
    ("astri.berge@example.no", Purpose.MARKETING_EMAIL, GIVE, Channel.WEB, 400),
    ("astri.berge@example.no", Purpose.EVENT_FOLLOWUP, GIVE, Channel.STAFF, 300),
    ("sven.lindqvist@example.se", Purpose.NEWSLETTER, GIVE, Channel.IMPORT, 900),
    ("sven.lindqvist@example.se", Purpose.MARKETING_EMAIL, GIVE, Channel.API, 380),
    ("sven.lindqvist@example.se", Purpose.NEWSLETTER, WITHDRAW, Channel.WEB, 200),
    ("mette.holm@example.dk", Purpose.LEAD_REGISTRATION, GIVE, Channel.API, 250),
    ("mette.holm@example.dk", Purpose.LEAD_REGISTRATION, WITHDRAW, Channel.API, 120),
]
AFTER_NEW_WORDING = [
    # Sven answered the new marketing wording; Astri has not yet: hers still covers version 1.
    ("sven.lindqvist@example.se", Purpose.MARKETING_EMAIL, GIVE, Channel.WEB, 30),
    ("mette.holm@example.dk", Purpose.LEAD_REGISTRATION, GIVE, Channel.STAFF, 20),
    ("mette.holm@example.dk", Purpose.NEWSLETTER, GIVE, Channel.WEB, 10),
]
NEW_MARKETING_WORDING = {
    "en": (
        "Marketing e-mail",
        "Send me offers and news about the group's services and events by e-mail, at most twice a month.",
    ),
    "nb": (
        "Markedsføring på e-post",
        "Send meg tilbud og nyheter om konsernets tjenester og arrangementer på e-post, høyst to ganger i måneden.",
    ),
    "sv": (
        "Marknadsföring via e-post",
        "Skicka erbjudanden och nyheter om koncernens tjänster och evenemang till mig via e-post, högst två gånger i månaden.",
    ),
    "da": (
        "Markedsføring på e-mail",
        "Send mig tilbud og nyheder om koncernens tjenester og arrangementer på e-mail, højst to gange om måneden.",
    ),
}
COOKIE_CHOICE = [
    (Purpose.COOKIES_FUNCTIONAL, GIVE),
    (Purpose.COOKIES_ANALYTICS, WITHDRAW),
    (Purpose.COOKIES_MARKETING, WITHDRAW),
]


def load_consent_demo(*, actor) -> bool:
    """Records the demo histories once; returns whether it recorded anything."""
    addresses = {address for address, *_rest in BEFORE_NEW_WORDING}
    if ConsentSubject.objects.filter(email__in=addresses).exists():
        return False
    ensure_default_purposes()
    purposes = {purpose.slug: purpose for purpose in ConsentPurpose.objects.all()}
    now = timezone.now()
    with transaction.atomic():
        for address, slug, action, channel, days in BEFORE_NEW_WORDING:
            _record(address, purposes[slug], action, channel, now - timedelta(days=days), actor)
        marketing = purposes[Purpose.MARKETING_EMAIL]
        version = services.publish_version(purpose=marketing, wordings=NEW_MARKETING_WORDING)
        version.published_at = now - timedelta(days=60)
        version.save(update_fields=["published_at"])
        for address, slug, action, channel, days in AFTER_NEW_WORDING:
            _record(address, purposes[slug], action, channel, now - timedelta(days=days), actor)
        visitor = ConsentSubject.objects.create()  # a cookie choice: a random identifier, no address
        for slug, action in COOKIE_CHOICE:
            services.record_consent(
                subject=visitor,
                purpose=purposes[slug],
                action=action,
                channel=Channel.WEB,
                occurred_at=now - timedelta(days=3),
            )
    services.seal_ledger()  # the demo's receipts and the chain's check need no wait for the beat
    return True


def _record(address, purpose, action, channel, occurred_at, actor) -> None:
    services.record_consent(
        email=address,
        purpose=purpose,
        action=action,
        channel=channel,
        actor=actor if channel == Channel.STAFF else None,
        occurred_at=occurred_at,
    )
