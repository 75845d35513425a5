"""The API's rate limit, counted in the default cache (Redis in production): per personal token,
or per user for a session. settings.TRUSTCENTER_API_RATE, e.g. "600/min"."""

from django.conf import settings
from knox.models import get_token_model
from rest_framework.throttling import SimpleRateThrottle


class ApiRateThrottle(SimpleRateThrottle):
    scope = "api"

    def get_rate(self) -> str:
        return settings.TRUSTCENTER_API_RATE

    def get_cache_key(self, request, view) -> str | None:
        if isinstance(request.auth, get_token_model()):
            # The token's id is the hash knox keeps, never the token (whose first characters are
            # knox's token_key), so no cache key holds any part of a secret.
            ident = f"token-{request.auth.pk}"
        elif request.user is not None and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}
