import time

from django.conf import settings
from django.contrib.auth import logout
from django.utils import translation

from .ratelimit import ClientKey

# Request headers that identify a client. They are removed before any view, log or error
# report can see them. The address survives only inside request.client_key, an object that prints
# nothing, for rate limits (see ratelimit.py for how the cache keeps it unlinkable).
IDENTIFYING_META_KEYS = (
    "REMOTE_ADDR",
    "REMOTE_HOST",
    "REMOTE_PORT",
    "HTTP_USER_AGENT",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
    "HTTP_X_FORWARDED_PORT",  # the client's source port, which a proxy's log ties to its address
    "HTTP_CLIENT_IP",
    "HTTP_TRUE_CLIENT_IP",
    "HTTP_CF_CONNECTING_IP",
    "HTTP_SEC_CH_UA",
    "HTTP_SEC_CH_UA_PLATFORM",
    "HTTP_SEC_CH_UA_MOBILE",
)


def request_client_key(request, *, header: str) -> ClientKey:
    """The client as rate limits count it.

    Behind a proxy that appends to X-Forwarded-For, only the last entry was written by the proxy;
    earlier ones are whatever the client sent, so they cannot key a rate limit. A request that
    reached us without the proxy's header is keyed by its own peer, so that clients never fall
    together into one shared bucket keyed by an empty address.
    """
    address = request.META.get(header, "").split(",")[-1].strip() or request.META.get("REMOTE_ADDR", "")
    return ClientKey.from_address(address)


def ClientPrivacyMiddleware(get_response):
    header = settings.TRUSTCENTER_CLIENT_ADDRESS_HEADER

    def middleware(request):
        # Read in a function of its own: this frame stays on the stack while the view runs, and
        # an error report shows its local variables, so it must not hold the address as text.
        request.client_key = request_client_key(request, header=header)
        for key in (*IDENTIFYING_META_KEYS, header):
            request.META.pop(key, None)
        return get_response(request)

    return middleware


STAFF_LAST_SEEN_KEY = "staff_last_seen"


def StaffIdleTimeoutMiddleware(get_response):
    """Logs a staff member out after settings.TRUSTCENTER_STAFF_IDLE_SECONDS without a request.

    The time is checked here, not left to the session's expiry alone, because the session store
    (Redis) would end it only by its own clock, and a staff session must not outlive the setting
    whatever the store. The session's expiry follows too, so the cookie and the stored session go
    at the same time; a reporter's session keeps SESSION_COOKIE_AGE.
    """

    def middleware(request):
        # Without a session cookie no one is logged in, and the session is left unread.
        if settings.SESSION_COOKIE_NAME in request.COOKIES and request.user.is_staff:
            idle_seconds = settings.TRUSTCENTER_STAFF_IDLE_SECONDS
            now = time.time()
            if now - request.session.get(STAFF_LAST_SEEN_KEY, now) > idle_seconds:
                logout(request)
            else:
                request.session[STAFF_LAST_SEEN_KEY] = now
                request.session.set_expiry(idle_seconds)
        return get_response(request)

    return middleware


def LanguageCookieMiddleware(get_response):
    """Keeps the URL's language in Django's language cookie, which is a functional cookie, only
    while the visitor's cookie choice accepts functional cookies; deletes it when they do not (a
    refusal, a withdrawal, or no choice at all). The choice view leaves the new choice on the
    request, so that its own answer already follows it."""
    from consent.cookies import read_choice  # consent's models load after this module

    name = settings.LANGUAGE_COOKIE_NAME

    def middleware(request):
        response = get_response(request)
        choice = getattr(request, "cookie_choice", None) or read_choice(request)
        if choice is not None and choice.allows("functional"):
            language = translation.get_language_from_path(request.path_info)
            if language and request.COOKIES.get(name) != language:
                response.set_cookie(
                    name,
                    language,
                    max_age=settings.LANGUAGE_COOKIE_AGE,
                    path=settings.LANGUAGE_COOKIE_PATH,
                    domain=settings.LANGUAGE_COOKIE_DOMAIN,
                    secure=settings.LANGUAGE_COOKIE_SECURE or request.is_secure(),
                    httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                    samesite=settings.LANGUAGE_COOKIE_SAMESITE,
                )
        elif name in request.COOKIES:
            response.delete_cookie(
                name,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response

    return middleware
