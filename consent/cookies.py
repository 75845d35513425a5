"""Cookie consent (issue 12, point 8), for the portal's own banner (consent/cookie_views.py) and
for the banner the portal serves to the group's other web sites (consent/api/cookie_views.py,
static/consent/banner.js).

A site's banner offers only the categories its inventory (the Cookie table) really uses, each
under the current wording of its ledger purpose. A choice is recorded in the ledger under a
random subject, never an identity: only what changes is recorded (a give for a category newly
accepted, a withdrawal for one newly refused). On the portal the choice is kept in a signed,
first-party cookie that holds the subject's identifier and the answers, so that pages need no
database read to know it. A browser that sends Global Privacy Control has refused analytics and
marketing, whatever else it sends.
"""

import json
import logging
import re
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from . import selectors
from .models import (
    COOKIE_PURPOSES,
    ConsentAction,
    ConsentEvent,
    ConsentPurpose,
    ConsentState,
    ConsentSubject,
    Cookie,
    CookieCategory,
    CookieSite,
    PurposeWording,
)
from .services import NoWording, record_consent

logger = logging.getLogger(__name__)

# The categories that need consent, in the order a banner shows them.
CONSENTED: tuple[str, ...] = (
    CookieCategory.FUNCTIONAL.value,
    CookieCategory.ANALYTICS.value,
    CookieCategory.MARKETING.value,
)
# What a browser that sends Global Privacy Control has refused (DESIGN.md §1).
GPC_REFUSED: frozenset[str] = frozenset({CookieCategory.ANALYTICS.value, CookieCategory.MARKETING.value})
# When this portal last changed what it does with Global Privacy Control (/.well-known/gpc.json).
GPC_LAST_UPDATE = "2026-12-06"

ACCEPT_ALL = "accept_all"
REJECT_ALL = "reject_all"
SAVE = "save"

# The portal's choice cookie: necessary (it is what keeps the other cookies off), first-party,
# signed, HttpOnly. After six months the banner asks again.
CHOICE_COOKIE = "tc_consent"
CHOICE_COOKIE_SALT = "consent.cookies.choice"
CHOICE_MAX_AGE = 183 * 24 * 3600

# The portal's own inventory, made by migration 0011 (and by ensure_portal_site where a test
# emptied the database). Its texts are marked for translation: the settings page shows them in
# the visitor's language; what admins write later is shown as written.
PORTAL_SITE_NAME = "Trust Center"
PORTAL_COOKIES = (
    (
        settings.SESSION_COOKIE_NAME,
        CookieCategory.NECESSARY,
        gettext_noop(
            "Keeps a reporter's follow-up session open, and a staff member logged in. Set only when one begins."
        ),
        gettext_noop("30 minutes after the last page seen"),
    ),
    (
        settings.CSRF_COOKIE_NAME,
        CookieCategory.NECESSARY,
        gettext_noop("Protects the site's forms against requests forged by other sites."),
        gettext_noop("1 year"),
    ),
    (
        CHOICE_COOKIE,
        CookieCategory.NECESSARY,
        gettext_noop(
            "Remembers your cookie choice and the random identifier it is recorded under in the consent "
            "ledger: never your name or address."
        ),
        gettext_noop("6 months"),
    ),
    (
        settings.LANGUAGE_COOKIE_NAME,
        CookieCategory.FUNCTIONAL,
        gettext_noop("Remembers the language you read the site in, so that it opens in that language."),
        gettext_noop("1 year"),
    ),
)

# What every banner says, the portal's and the other sites' alike (the API sends these).
BANNER_TEXTS = {
    "title": _("Cookies"),
    "intro": _(
        "This site uses the cookies it needs to work. With your consent it would also use the kinds "
        "below; they stay off until you choose. You can change your choice at any time."
    ),
    "necessary": _("Necessary cookies are always on: without them the site does not work."),
    "legend": _("Choose which cookies to allow"),
    "accept_all": _("Accept all"),
    "reject_all": _("Reject all"),
    "save": _("Save my choices"),
    "gpc_note": _(
        "Your browser asks us not to track you or share your data (Global Privacy Control); analytics "
        "and marketing stay off."
    ),
    "gpc_off": _("Off: your browser sends Global Privacy Control."),
    "settings": _("Cookie settings"),
}


# --- Pure rules --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    """One category a site's banner asks about: the purpose it is recorded under, that purpose's
    current version, whether a new version needs fresh consent, and its wording (title, text) by
    language (a category is never offered in a language its current wording lacks)."""

    category: str
    purpose: str
    version: int
    fresh: bool
    wordings: Mapping[str, tuple[str, str]]


@dataclass(frozen=True)
class Choice:
    """What a visitor chose: the random subject it is recorded under, an answer per category, and
    the version of each category's wording the answer was given to."""

    subject: uuid.UUID
    answers: Mapping[str, bool]
    versions: Mapping[str, int] = field(default_factory=dict)

    def allows(self, category: str, *, gpc: bool = False) -> bool:
        return self.answers.get(category) is True and not (gpc and category in GPC_REFUSED)


def gpc_requested(headers: Mapping[str, str]) -> bool:
    """Whether the request carries Global Privacy Control (Sec-GPC: 1)."""
    return headers.get("Sec-GPC", "").strip() == "1"


def offered_in(offer: Sequence[Offer], language: str) -> list[Offer]:
    return [each for each in offer if language in each.wordings]


def needs_asking(choice: Choice | None, offer: Sequence[Offer]) -> bool:
    """Whether the banner asks: a category offered has no answer yet, or a consent was given to
    wording that a version needing fresh consent has since replaced."""
    if not offer:
        return False
    if choice is None:
        return True
    for each in offer:
        answer = choice.answers.get(each.category)
        if answer is None:
            return True
        if answer and each.fresh and choice.versions.get(each.category, 0) < each.version:
            return True
    return False


def answers_for(
    *, action: str, offered: Sequence[str], checked: Collection[str], gpc: bool
) -> dict[str, bool]:
    """The answer to each category offered after one of the banner's buttons: accept all (of
    what Global Privacy Control leaves), reject all, or save what was ticked."""
    if action == ACCEPT_ALL:
        wanted = set(offered)
    elif action == REJECT_ALL:
        wanted = set()
    elif action == SAVE:
        wanted = set(checked) & set(offered)
    else:
        raise ValueError(f"not a banner action: {action!r}")
    if gpc:
        wanted -= GPC_REFUSED
    return {category: category in wanted for category in offered}


def encode_choice(choice: Choice) -> str:
    return json.dumps(
        {"s": str(choice.subject), "a": dict(choice.answers), "v": dict(choice.versions)},
        separators=(",", ":"),
        sort_keys=True,
    )


def decode_choice(value: str) -> Choice | None:
    """The choice a cookie's value holds, or None for anything that is not exactly what
    encode_choice writes."""
    try:
        data = json.loads(value)
        subject = uuid.UUID(data["s"])
        answers, versions = data["a"], data["v"]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if not isinstance(answers, dict) or not isinstance(versions, dict):
        return None
    if not set(answers) <= set(CONSENTED) or not all(isinstance(value, bool) for value in answers.values()):
        return None
    if not set(versions) <= set(CONSENTED) or not all(
        isinstance(number, int) and not isinstance(number, bool) and number > 0
        for number in versions.values()
    ):
        return None
    return Choice(subject=subject, answers=answers, versions=versions)


# A host as browsers send it in Origin: lower case, international names in punycode.
HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")
IPV6_HOST = re.compile(r"[0-9a-f:.]+")


def is_origin(value: str) -> bool:
    """Whether `value` is an origin as a browser sends it: http(s), a host, perhaps a port, and
    nothing else (no path, query, user or trailing slash)."""
    if not isinstance(value, str) or len(value) > 200 or value != value.strip():
        return False
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return False
    host = parts.hostname or ""
    if not HOST.fullmatch(host) and not IPV6_HOST.fullmatch(host):
        return False
    shown = f"[{host}]" if ":" in host else host
    rebuilt = f"{parts.scheme}://{shown}" + (f":{port}" if port is not None else "")
    return parts.scheme in ("http", "https") and rebuilt == value


def banner_language(requested: str | None, offer: Sequence[Offer], known: Collection[str]) -> str:
    """The language of another site's banner: the page's own (its first subtag; Norwegian is
    Bokmål), where every category the site uses is written in it; English otherwise."""
    primary = (requested or "").split("-")[0].split("_")[0].lower()
    primary = {"no": "nb", "nn": "nb"}.get(primary, primary)
    if primary in known and all(primary in each.wordings for each in offer):
        return primary
    return "en"


# --- The choice cookie on the portal -------------------------------------------------------------


def read_choice(request: HttpRequest) -> Choice | None:
    """The portal visitor's choice, from the signed cookie: None without one, or with one that
    was forged, changed or is too old."""
    if CHOICE_COOKIE not in request.COOKIES:
        return None
    value = request.get_signed_cookie(
        CHOICE_COOKIE, default=None, salt=CHOICE_COOKIE_SALT, max_age=CHOICE_MAX_AGE
    )
    return decode_choice(value) if value is not None else None


def set_choice_cookie(response: HttpResponse, *, choice: Choice, secure: bool) -> None:
    response.set_signed_cookie(
        CHOICE_COOKIE,
        encode_choice(choice),
        salt=CHOICE_COOKIE_SALT,
        max_age=CHOICE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=secure,
    )


# --- Reads ------------------------------------------------------------------------------------------

PORTAL_OFFER_CACHE_KEY = "consent:cookies:portal-offer"
# Pages read the portal's offer from the cache: an admin's change of the inventory shows within
# this time (the inventory's admin forgets it at once).
PORTAL_OFFER_SECONDS = 60


def site_offer(*, site_id: int) -> list[Offer]:
    """What a site's banner asks about, from its inventory and the purposes' current wording."""
    used = set(
        Cookie.objects.filter(site_id=site_id)
        .exclude(category=CookieCategory.NECESSARY)
        .values_list("category", flat=True)
        .distinct()
    )
    by_purpose = {str(COOKIE_PURPOSES[CookieCategory(category)]): category for category in used}
    purposes = list(
        ConsentPurpose.objects.filter(slug__in=by_purpose)
        .annotate(current=Max("versions__number"))
        .filter(current__isnull=False)
    )
    wordings: dict[str, dict[str, tuple[str, str]]] = {}
    if purposes:
        current = Q()
        for purpose in purposes:
            current |= Q(version__purpose=purpose, version__number=purpose.current)
        for slug, language, title, text in PurposeWording.objects.filter(current).values_list(
            "version__purpose__slug", "language", "title", "text"
        ):
            wordings.setdefault(slug, {})[language] = (title, text)
    offer = [
        Offer(
            category=str(by_purpose[purpose.slug]),
            purpose=purpose.slug,
            version=purpose.current,
            fresh=purpose.new_versions_need_fresh_consent,
            wordings=wordings.get(purpose.slug, {}),
        )
        for purpose in purposes
    ]
    return sorted(offer, key=lambda each: CONSENTED.index(each.category))


def portal_offer() -> list[Offer]:
    """What the portal's banner asks about, from the cache (the database once a minute)."""
    offer = cache.get(PORTAL_OFFER_CACHE_KEY)
    if offer is None:
        site_id = CookieSite.objects.filter(is_portal=True).values_list("pk", flat=True).first()
        offer = site_offer(site_id=site_id) if site_id is not None else []
        cache.set(PORTAL_OFFER_CACHE_KEY, offer, PORTAL_OFFER_SECONDS)
    return offer


def forget_portal_offer() -> None:
    """After a change of the inventory or of a site: the next page reads it again."""
    cache.delete(PORTAL_OFFER_CACHE_KEY)


@dataclass(frozen=True)
class BannerCategory:
    category: str
    title: str
    description: str
    cookies: list[Cookie]


def banner_categories(
    *, offer: Sequence[Offer], language: str, site_id: int | None = None
) -> list[BannerCategory]:
    """The categories a banner shows in `language`, each with its purpose's current wording
    (and, given a site, the cookies of that site in it: a read of the database; the wording is
    the offer's own)."""
    shown = offered_in(offer, language)
    cookies: dict[str, list[Cookie]] = {}
    if site_id is not None and shown:
        for cookie in Cookie.objects.filter(site_id=site_id).order_by("name"):
            cookies.setdefault(cookie.category, []).append(cookie)
    return [
        BannerCategory(
            category=each.category,
            title=each.wordings[language][0],
            description=each.wordings[language][1],
            cookies=cookies.get(each.category, []),
        )
        for each in shown
    ]


def form_categories(
    *, offer: Sequence[Offer], language: str, checked: Mapping[str, bool], gpc: bool
) -> list[dict]:
    """The categories as the portal's form shows them: ticked as `checked` says, and those that
    Global Privacy Control refuses unticked and disabled."""
    return [
        {
            "category": each.category,
            "title": each.title,
            "description": each.description,
            "checked": checked.get(each.category, False) and not (gpc and each.category in GPC_REFUSED),
            "disabled": gpc and each.category in GPC_REFUSED,
        }
        for each in banner_categories(offer=offer, language=language)
    ]


def inventory(*, site_id: int) -> list[Cookie]:
    """A site's cookies, necessary first, then in the banner's order, by name."""
    order = [CookieCategory.NECESSARY.value, *CONSENTED]
    return sorted(
        Cookie.objects.filter(site_id=site_id), key=lambda cookie: (order.index(cookie.category), cookie.name)
    )


def portal_site() -> CookieSite | None:
    return CookieSite.objects.filter(is_portal=True).first()


def site_by_origin(origin: str) -> CookieSite | None:
    """The group's web site at `origin` (exactly as a browser sends it), or None."""
    if not is_origin(origin):
        return None
    return CookieSite.objects.filter(origin=origin).first()


def _cookie_subject(subject_id: uuid.UUID) -> ConsentSubject | None:
    """The subject a cookie choice was recorded under, locked until the transaction ends: one
    without an address, not erased, that nothing but cookie choices was recorded for. Any other
    identifier (unknown, or a person's) gets a new subject instead."""
    cookie_purposes = [str(slug) for slug in COOKIE_PURPOSES.values()]
    other_events = ConsentEvent.objects.filter(subject=OuterRef("pk")).exclude(
        purpose__slug__in=cookie_purposes
    )
    return (
        ConsentSubject.objects.select_for_update()
        .filter(pk=subject_id, email__isnull=True, erased_at__isnull=True)
        .exclude(Exists(other_events))
        .first()
    )


@dataclass(frozen=True)
class RecordedChoice:
    subject: ConsentSubject
    versions: dict[str, int]
    events: list[ConsentEvent]


def record_cookie_choice(
    *, subject_id: uuid.UUID | None, answers: Mapping[str, bool], channel: str
) -> RecordedChoice:
    """Records a banner's answers (category: accepted) in the ledger under the choice's random
    subject (a new one where `subject_id` names none that a cookie choice made): a give for each
    category newly accepted (or accepted again where a new wording needs fresh consent), a
    withdrawal for each newly refused, nothing for what stays as it was."""
    if not set(answers) <= set(CONSENTED):
        raise ValueError(f"not cookie categories that need consent: {sorted(set(answers) - set(CONSENTED))}")
    with transaction.atomic():
        subject = _cookie_subject(subject_id) if subject_id is not None else None
        if subject is None:
            subject = ConsentSubject.objects.create()
        slugs = {category: str(COOKIE_PURPOSES[CookieCategory(category)]) for category in answers}
        purposes = {
            purpose.slug: purpose for purpose in ConsentPurpose.objects.filter(slug__in=slugs.values())
        }
        states = {
            state.purpose_id: state
            for state in ConsentState.objects.filter(subject=subject, purpose__in=purposes.values())
        }
        versions: dict[str, int] = {}
        events: list[ConsentEvent] = []
        for category, accepted in answers.items():
            purpose = purposes.get(slugs[category])
            version = selectors.current_version(purpose=purpose) if purpose is not None else None
            if purpose is None or version is None:
                raise NoWording(slugs[category])
            versions[category] = version.number
            state = states.get(purpose.pk)
            standing = state is not None and state.standing
            if accepted:
                covered = standing and (
                    not purpose.new_versions_need_fresh_consent or state.version_id == version.pk  # type: ignore[union-attr]
                )
                action = None if covered else ConsentAction.GIVE
            else:
                action = ConsentAction.WITHDRAW if state is None or standing else None
            if action is not None:
                events.append(
                    record_consent(purpose=purpose, action=action, channel=channel, subject=subject)
                )
    return RecordedChoice(subject=subject, versions=versions, events=events)


# --- The portal's own inventory ---------------------------------------------------------------------


def make_portal_site(*, site_model, cookie_model, origin: str) -> None:
    """The portal's site and its inventory, where missing (what admins changed stays); with the
    models given, so that migration 0011 uses its historical ones."""
    site = site_model.objects.filter(is_portal=True).first()
    if site is None:
        if site_model.objects.filter(origin=origin).exists():
            return  # another site at the portal's address: an admin's to sort out, not a guess's
        site = site_model.objects.create(name=PORTAL_SITE_NAME, origin=origin, is_portal=True)
    for name, category, purpose, duration in PORTAL_COOKIES:
        cookie_model.objects.get_or_create(
            site=site,
            name=name,
            defaults={"category": str(category), "purpose": purpose, "duration": duration},
        )


def portal_origin(site_url: str) -> str:
    parts = urlsplit(site_url)
    return f"{parts.scheme}://{parts.netloc}"


def ensure_portal_site() -> None:
    """As migration 0011 leaves it, where a test emptied the database (transactional tests)."""
    with transaction.atomic():
        make_portal_site(
            site_model=CookieSite, cookie_model=Cookie, origin=portal_origin(settings.TRUSTCENTER_SITE_URL)
        )
    forget_portal_offer()
