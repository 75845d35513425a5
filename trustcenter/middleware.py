import hashlib
import hmac
import ipaddress

from django.conf import settings

# Request headers that identify a client. They are removed before any view, log or error
# report can see them; only a keyed hash of the address survives, for rate limits in the cache.
IDENTIFYING_META_KEYS = (
    "REMOTE_ADDR",
    "REMOTE_HOST",
    "HTTP_USER_AGENT",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
    "HTTP_CLIENT_IP",
    "HTTP_TRUE_CLIENT_IP",
    "HTTP_CF_CONNECTING_IP",
    "HTTP_SEC_CH_UA",
    "HTTP_SEC_CH_UA_PLATFORM",
    "HTTP_SEC_CH_UA_MOBILE",
)


def client_key(address: str, *, secret: str) -> str:
    """A keyed hash of a client address: stable for rate limits, useless without the secret.

    An IPv6 client usually holds a whole /64 and can pick a new address in it at will, so the
    /64 is what is counted.
    """
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        parsed = None
    if parsed is not None and parsed.version == 6 and parsed.ipv4_mapped is None:
        address = str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return hmac.new(secret.encode(), f"client:{address}".encode(), hashlib.sha256).hexdigest()[:32]


def ClientPrivacyMiddleware(get_response):
    header = settings.TRUSTCENTER_CLIENT_ADDRESS_HEADER

    def middleware(request):
        # Behind a proxy that appends to X-Forwarded-For, only the last entry was written by the
        # proxy; earlier ones are whatever the client sent, so they cannot key a rate limit.
        # A request that reached us without the proxy's header is keyed by its own peer, so that
        # clients never fall together into one shared bucket keyed by an empty address.
        address = request.META.get(header, "").split(",")[-1].strip() or request.META.get("REMOTE_ADDR", "")
        request.client_key = client_key(address, secret=settings.SECRET_KEY)
        for key in (*IDENTIFYING_META_KEYS, header):
            request.META.pop(key, None)
        return get_response(request)

    return middleware
