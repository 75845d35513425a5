"""How the consent API knows its caller: one of the company's other systems, with the token made
for it in the admin (consent.ConsentApiClient), sent as `Authorization: Bearer <token>`. The
staff's personal tokens (`Token`) and sessions open none of these endpoints, and a client's token
opens nothing else: it is a scheme of its own, in the views of consent/api/views.py alone."""

import hmac
from datetime import timedelta

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from consent.models import ConsentApiClient
from trustcenter.tokens import new_token, token_digest

SCHEME = "Bearer"
PREFIX_LENGTH = 8
# secrets.token_urlsafe(32) makes 43 characters; anything much longer is not a token of ours.
LONGEST_TOKEN = 100
# How stale `last_used_at` may be: a busy client writes it once a minute, not on every request.
LAST_USED_PRECISION = timedelta(minutes=1)


def new_client_token() -> tuple[str, str, str]:
    """A new token: (its text, to show once; its first characters, to tell it apart; its digest)."""
    text = new_token()
    return text, text[:PREFIX_LENGTH], token_digest(text)


class ConsentClientAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>`: the client whose token's digest it is, unless revoked. A
    request without an Authorization header gets 403, as everywhere under /api/v1/; one that
    sends a header of another scheme, or a token that is wrong or revoked, 401."""

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != SCHEME.lower().encode():
            return None
        if len(header) != 2 or len(header[1]) > LONGEST_TOKEN:
            raise exceptions.AuthenticationFailed(_("Send the token as: Authorization: Bearer <token>."))
        try:
            text = header[1].decode("ascii")
        except UnicodeDecodeError as error:
            raise exceptions.AuthenticationFailed() from error  # DRF's words, translated
        return self.authenticate_token(text)

    def authenticate_token(self, text: str):
        digest = token_digest(text)
        # The digest of what was sent is looked up, not the token: how long the lookup takes
        # says nothing about how much of a real token was guessed.
        client = ConsentApiClient.objects.filter(token_digest=digest).first()
        if client is None or not hmac.compare_digest(client.token_digest, digest):
            raise exceptions.AuthenticationFailed(_("This token is not valid."))
        if client.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("This token was revoked."))
        now = timezone.now()
        if client.last_used_at is None or client.last_used_at < now - LAST_USED_PRECISION:
            # A conditional update: of two requests at once, one writes.
            ConsentApiClient.objects.filter(pk=client.pk).filter(
                Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_PRECISION)
            ).update(last_used_at=now)
            client.last_used_at = now
        return AnonymousUser(), client

    def authenticate_header(self, request):
        if not get_authorization_header(request):
            return None  # no credentials at all: 403, as the rest of the API answers
        return f'{SCHEME} realm="consent"'


class ConsentClientScheme(OpenApiAuthenticationExtension):
    """The client's token, as the OpenAPI schema names it."""

    target_class = "consent.api.authentication.ConsentClientAuthentication"
    name = "consentClientToken"

    def get_security_definition(self, auto_schema):
        return {
            **build_bearer_security_scheme_object(header_name="Authorization", token_prefix=SCHEME),
            "description": str(
                _(
                    "A token made for one system in the admin (Consent API clients), sent as "
                    "`Authorization: Bearer <token>`. Staff tokens and sessions do not open the consent API."
                )
            ),
        }
