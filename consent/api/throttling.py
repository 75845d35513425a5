"""The consent API's rate limit, per client, counted in the default cache (Redis in production):
settings.TRUSTCENTER_CONSENT_API_RATE, e.g. "1200/min". Over it, 429 with Retry-After."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from consent.models import ConsentApiClient


class ConsentClientRateThrottle(SimpleRateThrottle):
    scope = "consent_api"

    def get_rate(self) -> str:
        return settings.TRUSTCENTER_CONSENT_API_RATE

    def get_cache_key(self, request, view) -> str | None:
        if not isinstance(request.auth, ConsentApiClient):
            return None  # refused before this counts: only an authenticated client gets here
        return self.cache_format % {"scope": self.scope, "ident": f"client-{request.auth.pk}"}
