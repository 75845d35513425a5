"""The cookie banner of the group's other web sites (static/consent/banner.js), under
/api/v1/consent/cookies/: the banner's configuration for a site, and the visitor's choice,
recorded in the ledger (channel "api") under a random subject, never an identity.

Anyone's browser calls these from a page of one of the sites in the CookieSite table, so they
take no credentials (no cookie, no token) and answer CORS for those origins alone: the exact
origin echoed, `Vary: Origin`, and a preflight for the JSON POST. Counted per connection with
trustcenter.ratelimit, whose keys stop naming a client when their window ends: no address is
kept."""

from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from consent import cookies
from consent.models import Channel, CookieSite
from trustcenter import ratelimit

WINDOW_SECONDS = 60
# A choice is well under 300 bytes; a body past this is refused unread.
MAX_BODY_BYTES = 4096
# What a cross-origin request may send besides the CORS-safelisted headers.
ALLOWED_REQUEST_HEADERS = {"content-type", "sec-gpc"}
PREFLIGHT_MAX_AGE_SECONDS = 600
# Browsers keep a site's configuration this long (per origin, language and GPC).
CONFIG_MAX_AGE_SECONDS = 300


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The body is too large: a cookie choice needs less than 4 KiB.")
    default_code = "too_large"


class CookieBannerThrottle(BaseThrottle):
    """Per connection, counted in the cache under keys that stop naming it when their window
    ends (trustcenter.ratelimit). Preflights are not counted: the browser sends them itself."""

    def allow_request(self, request, view) -> bool:
        if request.method == "OPTIONS":
            return True
        client_key = request._request.client_key  # set by ClientPrivacyMiddleware
        limit = getattr(settings, view.rate_setting)
        attempt = ratelimit.take_attempt(
            scope=view.rate_scope, client_key=client_key, window_seconds=WINDOW_SECONDS, limit=limit
        )
        if attempt.allowed:
            return True
        self.seconds = ratelimit.seconds_until_allowed(
            scope=view.rate_scope, client_key=client_key, window_seconds=WINDOW_SECONDS, limit=limit
        )
        return False

    def wait(self) -> float | None:
        return getattr(self, "seconds", None)


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, rather than ignoring them."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: [_("Not a field of this request.")] for name in unknown}
                )
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false, nothing else ("yes", 1 and "true" are refused)."""

    default_error_messages = {"invalid": _("Must be true or false.")}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class OriginField(serializers.CharField):
    default_error_messages = {
        "not_origin": _("Must be an origin: scheme, host and port, such as https://www.example.no."),
    }

    def __init__(self, **kwargs):
        super().__init__(max_length=200, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not cookies.is_origin(value):
            self.fail("not_origin")
        return value


class ConfigQuery(StrictSerializer):
    site = OriginField(help_text="The origin of the site whose banner is shown, e.g. https://www.example.no.")
    lang = serializers.RegexField(
        r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$",
        max_length=35,
        required=False,
        help_text="The page's language (its <html lang>); en where the banner has no wording in it.",
    )


class CookieOut(serializers.Serializer):
    name = serializers.CharField()
    purpose = serializers.CharField()
    duration = serializers.CharField()


class CategoryOut(serializers.Serializer):
    category = serializers.ChoiceField(choices=[str(category) for category in cookies.CONSENTED])
    title = serializers.CharField()
    description = serializers.CharField()
    version = serializers.IntegerField(help_text="The purpose's current wording version.")
    fresh = serializers.BooleanField(help_text="Whether a consent to an earlier version must be asked again.")
    refused_by_gpc = serializers.BooleanField(
        help_text="Off and not offered: the browser sends Global Privacy Control."
    )
    cookies = CookieOut(many=True)


class TextsOut(serializers.Serializer):
    title = serializers.CharField()
    intro = serializers.CharField()
    necessary = serializers.CharField()
    legend = serializers.CharField()
    accept_all = serializers.CharField()
    reject_all = serializers.CharField()
    save = serializers.CharField()
    gpc_note = serializers.CharField()
    gpc_off = serializers.CharField()
    settings = serializers.CharField()


class ConfigOut(serializers.Serializer):
    site = serializers.CharField()
    language = serializers.CharField()
    gpc = serializers.BooleanField(help_text="Whether this request carried Sec-GPC: 1.")
    categories = CategoryOut(many=True, help_text="Only the categories the site's inventory uses.")
    necessary = CookieOut(many=True)
    texts = TextsOut()


class ChoicesIn(StrictSerializer):
    functional = StrictBooleanField()
    analytics = StrictBooleanField()
    marketing = StrictBooleanField()


class ChoiceIn(StrictSerializer):
    site = OriginField(help_text="The origin of the page the choice was made on.")
    subject = serializers.UUIDField(
        allow_null=True, help_text="The identifier an earlier choice on this site got back, or null."
    )
    choices = ChoicesIn()


class ChoicesOut(serializers.Serializer):
    functional = serializers.BooleanField()
    analytics = serializers.BooleanField()
    marketing = serializers.BooleanField()


class ChoiceOut(serializers.Serializer):
    subject = serializers.UUIDField(help_text="Keep it with the choice and send it with the next one.")
    choices = ChoicesOut(help_text="What the site may now use (Global Privacy Control applied).")
    versions = serializers.DictField(
        child=serializers.IntegerField(), help_text="The wording version per category answered."
    )
    recorded = serializers.IntegerField(help_text="How many events the ledger got: only what changed.")


ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="The errors, by field, in the caller's language."),
    403: OpenApiResponse(
        OpenApiTypes.OBJECT,
        description="The request's Origin is not the site's, or not one of the group's sites.",
    ),
    429: OpenApiResponse(
        OpenApiTypes.OBJECT,
        description="Too many requests from this connection: wait as long as Retry-After says.",
    ),
}


class CookieBannerView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [CookieBannerThrottle]
    cors_methods: tuple[str, ...] = ()
    rate_scope = ""
    rate_setting = ""

    def allowed_origin(self, request) -> str | None:
        """The request's Origin where it is one of the group's sites, else None (asked once)."""
        if not hasattr(self, "_allowed_origin"):
            origin = request.headers.get("Origin", "")
            self._allowed_origin = origin if cookies.site_by_origin(origin) is not None else None
        return self._allowed_origin

    def options(self, request, *args, **kwargs):
        """The CORS preflight: allowed for the group's sites, this endpoint's method, and the
        Content-Type (and Sec-GPC) headers alone."""
        method = request.headers.get("Access-Control-Request-Method", "")
        asked = {
            header.strip().lower()
            for header in request.headers.get("Access-Control-Request-Headers", "").split(",")
            if header.strip()
        }
        if (
            self.allowed_origin(request) is None
            or method not in self.cors_methods
            or not asked <= ALLOWED_REQUEST_HEADERS
        ):
            raise exceptions.PermissionDenied(
                _("Cross-origin requests are answered only for the group's own sites.")
            )
        response = Response(status=status.HTTP_204_NO_CONTENT)
        response["Access-Control-Allow-Methods"] = ", ".join(self.cors_methods)
        response["Access-Control-Allow-Headers"] = "Content-Type, Sec-GPC"
        response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_SECONDS)
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        patch_vary_headers(response, ["Origin"])
        origin = self.allowed_origin(request)
        if origin is not None:
            response["Access-Control-Allow-Origin"] = origin
        return response

    def site_for(self, request, origin: str) -> CookieSite:
        """The site named in the request, which must be the page's own where the browser says
        which page that is (Origin)."""
        site = cookies.site_by_origin(origin)
        if site is None:
            raise exceptions.ValidationError(
                {"site": [_("Not one of the group's sites whose banner this portal serves.")]}
            )
        sent_from = request.headers.get("Origin")
        if sent_from is not None and sent_from != site.origin:
            raise exceptions.PermissionDenied(_("Sent from another site than the one named."))
        return site


class CookieBannerConfig(CookieBannerView):
    http_method_names = ["get", "options"]
    cors_methods = ("GET",)
    rate_scope = "cookie-config"
    rate_setting = "TRUSTCENTER_COOKIE_CONFIGS_PER_MINUTE"

    @extend_schema(
        operation_id="cookie_banner_config",
        tags=["cookie consent"],
        summary="A site's cookie banner",
        description=(
            "What the banner of one of the group's sites shows: the categories its inventory uses "
            "(each with its purpose's current wording in the page's language, or English), its "
            "cookies, the banner's texts, and whether the browser sent Global Privacy Control. "
            "No credentials; CORS for the group's sites."
        ),
        parameters=[ConfigQuery],
        responses={200: ConfigOut, 400: ERRORS[400], 403: ERRORS[403], 429: ERRORS[429]},
    )
    def get(self, request):
        query = ConfigQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        site = self.site_for(request, query.validated_data["site"])
        gpc = cookies.gpc_requested(request.headers)
        offer = cookies.site_offer(site_id=site.pk)
        known = [code for code, _name in settings.LANGUAGES]
        language = cookies.banner_language(query.validated_data.get("lang"), offer, known)
        with translation.override(language):
            categories = cookies.banner_categories(offer=offer, language=language, site_id=site.pk)
            by_category = {each.category: each for each in offer}
            body = {
                "site": site.origin,
                "language": language,
                "gpc": gpc,
                "categories": [
                    {
                        "category": each.category,
                        "title": each.title,
                        "description": each.description,
                        "version": by_category[each.category].version,
                        "fresh": by_category[each.category].fresh,
                        "refused_by_gpc": gpc and each.category in cookies.GPC_REFUSED,
                        "cookies": _cookies(each.cookies),
                    }
                    for each in categories
                ],
                "necessary": _cookies(
                    cookie for cookie in cookies.inventory(site_id=site.pk) if cookie.category == "necessary"
                ),
                "texts": {key: str(text) for key, text in cookies.BANNER_TEXTS.items()},
            }
        response = Response(ConfigOut(body).data)
        patch_cache_control(response, max_age=CONFIG_MAX_AGE_SECONDS)
        patch_vary_headers(response, ["Sec-GPC"])
        return response


def _cookies(found) -> list[dict]:
    return [{"name": cookie.name, "purpose": cookie.purpose, "duration": cookie.duration} for cookie in found]


class CookieChoice(CookieBannerView):
    http_method_names = ["post", "options"]
    cors_methods = ("POST",)
    rate_scope = "cookie-choice"  # the portal's own banner counts under the same name
    rate_setting = "TRUSTCENTER_COOKIE_CHOICES_PER_MINUTE"

    @extend_schema(
        operation_id="cookie_banner_choice",
        tags=["cookie consent"],
        summary="Record a visitor's cookie choice",
        description=(
            "Records a choice made in the banner of one of the group's sites, in the ledger "
            "(channel api) under a random subject: a give for each category newly accepted, a "
            "withdrawal for each newly refused, nothing for what stays the same. A browser that "
            "sends Global Privacy Control refuses analytics and marketing whatever it chose. "
            "Only the categories the site's inventory uses may be accepted. Send it from the "
            "site's own page (its Origin)."
        ),
        request=ChoiceIn,
        responses={
            200: ChoiceOut,
            400: ERRORS[400],
            403: ERRORS[403],
            413: OpenApiTypes.OBJECT,
            429: ERRORS[429],
        },
        examples=[
            OpenApiExample(
                "A first choice: analytics only",
                value={
                    "site": "https://www.example.no",
                    "subject": None,
                    "choices": {"functional": False, "analytics": True, "marketing": False},
                },
                request_only=True,
            )
        ],
    )
    def post(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length >= MAX_BODY_BYTES:
            raise BodyTooLarge()
        given = ChoiceIn(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        site = self.site_for(request, data["site"])
        if request.headers.get("Origin") is None:
            raise exceptions.PermissionDenied(_("Send the choice from the site's own page."))
        offered = [each.category for each in cookies.site_offer(site_id=site.pk)]
        unused = [
            category for category, accepted in data["choices"].items() if accepted and category not in offered
        ]
        if unused:
            raise exceptions.ValidationError(
                {
                    "choices": [
                        _("This site uses no cookies of these kinds: %(kinds)s.")
                        % {"kinds": ", ".join(unused)}
                    ]
                }
            )
        if not offered:
            raise exceptions.ValidationError({"site": [_("This site uses no cookies that need consent.")]})
        answers = {category: data["choices"][category] for category in offered}
        if cookies.gpc_requested(request.headers):
            answers = {
                category: accepted and category not in cookies.GPC_REFUSED
                for category, accepted in answers.items()
            }
        recorded = cookies.record_cookie_choice(
            subject_id=data["subject"], answers=answers, channel=Channel.API
        )
        body = {
            "subject": recorded.subject.pk,
            "choices": {str(category): answers.get(category, False) for category in cookies.CONSENTED},
            "versions": recorded.versions,
            "recorded": len(recorded.events),
        }
        return Response(ChoiceOut(body).data)
