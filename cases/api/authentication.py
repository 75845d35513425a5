"""How the API knows its caller: a personal token (knox's TokenAuthentication, in settings), or
the site's own session, which counts only when it passed the same door as the workspace."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from knox.settings import knox_settings
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication, get_authorization_header

from trustcenter.staff_access import lacks_second_factor


class PersonalTokenAuthentication(TokenAuthentication):
    """knox's token (`Authorization: Token <token>`). A token sent and refused is answered 401
    with its challenge; a request with no credentials at all, 403, as the workspace's door
    answers whoever it does not let in (tests/test_every_url.py holds every URL to that)."""

    def authenticate(self, request):
        if not get_authorization_header(request):
            return None
        return super().authenticate(request)

    def authenticate_header(self, request):
        if not get_authorization_header(request):
            return None
        return super().authenticate_header(request)

    def authenticate_credentials(self, token: bytes):
        # knox decodes the header as UTF-8 unchecked: a header of other bytes would be a 500.
        try:
            token.decode("utf-8")
        except UnicodeDecodeError as error:
            raise exceptions.AuthenticationFailed() from error  # DRF's words, translated
        return super().authenticate_credentials(token)


class StaffSessionAuthentication(SessionAuthentication):
    """Django's session (with its CSRF check), refused while it lacks the second factor that
    settings.TRUSTCENTER_REQUIRE_2FA asks for: a password alone opens neither the pages nor the API."""

    def authenticate(self, request):
        found = super().authenticate(request)
        if found is None:
            return None
        user, _auth = found
        if lacks_second_factor(user):
            raise exceptions.NotAuthenticated(_("Log in with your second factor to use the API."))
        return found


class StaffSessionScheme(SessionScheme):
    """The session, as the OpenAPI schema names it (drf-spectacular's cookie scheme)."""

    target_class = "cases.api.authentication.StaffSessionAuthentication"


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    """The personal token, as the OpenAPI schema names it."""

    target_class = "cases.api.authentication.PersonalTokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=knox_settings.AUTH_HEADER_PREFIX
        )
