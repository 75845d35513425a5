"""The consent API for the company's other systems, under /api/v1/consent/: record a give or a
withdrawal, read a person's state per purpose and their history. Thin views over
consent.services.record_consent and consent.selectors.

Each system has its own token (consent.ConsentApiClient, made in the admin) with its scopes; the
staff's sessions and personal tokens open none of this. The person is named by their e-mail
address in the JSON body, never in a URL: URLs end up in access logs, proxies' logs and browser
histories, which no address should (a read is therefore a POST, which changes nothing)."""

from auditlog.models import LogEntry
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.api.parsers import StrictJSONParser
from consent import selectors, services
from consent.models import Channel, ConsentApiClient, ConsentEvent

from . import serializers as shapes
from .authentication import ConsentClientAuthentication
from .permissions import CanReadConsent, CanRecordConsent
from .throttling import ConsentClientRateThrottle

# The longest body a call needs is well under 1 KiB; one past this is refused unread.
MAX_BODY_BYTES = 16 * 1024


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The body is too large: a call to the consent API needs less than 16 KiB.")
    default_code = "too_large"


ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="The errors, by field, in the caller's language."),
    401: OpenApiResponse(
        OpenApiTypes.OBJECT,
        description="A token that is not valid or was revoked, or credentials of another kind "
        "(a staff member's personal token).",
    ),
    403: OpenApiResponse(
        OpenApiTypes.OBJECT,
        description="No token, or a token whose scopes do not allow this (read or record).",
    ),
    413: OpenApiResponse(OpenApiTypes.OBJECT, description="A body of 16 KiB or more: refused unread."),
    429: OpenApiResponse(
        OpenApiTypes.OBJECT,
        description="Too many requests from this system: wait as long as Retry-After says, in seconds.",
    ),
}
ADDRESS_EXAMPLE = OpenApiExample("An address", value={"email": "kari@example.no"}, request_only=True)
EVENT_EXAMPLE = {
    "id": 1207,
    "subject": "6f1c2b9e-3d4a-4b8e-9f0a-2c1d3e4f5a6b",
    "purpose": "marketing_email",
    "version": 2,
    "action": "give",
    "channel": "api",
    "occurred_at": "2026-03-02T09:00:00Z",
    "digest": None,  # sealed into the chain within a minute
}
SEALED_DIGEST_EXAMPLE = "9b74c9897bac770ffc029102a200c5de5d7f6f5e1f2c4b7b0a9d3c2e1f0a9b8c"


def _valid(input_class, request) -> dict:
    given = input_class(data=request.data)
    given.is_valid(raise_exception=True)
    return dict(given.validated_data)


def _record(*, client: ConsentApiClient, data: dict) -> ConsentEvent:
    """Appends the event and, in the same transaction, an audit entry naming the system that sent
    it: the ledger's events have an actor (a staff member) but no field for a system."""
    with transaction.atomic():
        event = services.record_consent(
            email=data["email"],
            purpose=data["purpose"],
            action=data["action"],
            channel=Channel.API,
            occurred_at=data.get("occurred_at"),
        )
        LogEntry.objects.log_create(
            event,
            force_log=True,
            action=LogEntry.Action.CREATE,
            object_repr=f"{event} ({client.name})",
            additional_data={"consent_api_client": {"id": client.pk, "name": client.name}},
        )
    return event


class ConsentApiView(APIView):
    """A system's token, its own rate limit, JSON only. POST only: the address is in the body."""

    authentication_classes = [ConsentClientAuthentication]
    throttle_classes = [ConsentClientRateThrottle]
    parser_classes = [StrictJSONParser]
    http_method_names = ["post", "options"]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # the token, its scopes, its rate
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # as DRF reads it: no body
        if length >= MAX_BODY_BYTES:
            raise BodyTooLarge()


class Events(ConsentApiView):
    permission_classes = [CanRecordConsent]

    @extend_schema(
        summary="Record a give or a withdrawal",
        description="Appends an event to the ledger under the purpose's current wording, with the "
        "channel `api`, and updates the person's state in the same transaction; the audit log names "
        "the system that sent it. The person is made known to the ledger by their first event. "
        "Withdrawing is as easy as giving: the same call with `withdraw`. A withdrawal of the "
        "recruitment database deletes the person's entry at once. Needs the `record` scope.",
        request=shapes.ConsentEventInput,
        responses={
            201: OpenApiResponse(
                shapes.ConsentEventSerializer, description="The event, as the ledger holds it."
            ),
            **ERRORS,
        },
        examples=[
            OpenApiExample(
                "Give marketing e-mail",
                value={"email": "kari@example.no", "purpose": "marketing_email", "action": "give"},
                request_only=True,
            ),
            OpenApiExample(
                "Import an earlier withdrawal",
                value={
                    "email": "kari@example.no",
                    "purpose": "newsletter",
                    "action": "withdraw",
                    "occurred_at": "2026-03-01T12:30:00+01:00",
                },
                request_only=True,
            ),
            OpenApiExample(
                "The event recorded", value=EVENT_EXAMPLE, response_only=True, status_codes=["201"]
            ),
            OpenApiExample(
                "A field refused",
                value={"purpose": ['"cookies" is not a valid choice.']},
                response_only=True,
                status_codes=["400"],
            ),
            OpenApiExample(
                "A give for an address on the suppression list",
                value={"email": [str(shapes.SUPPRESSED)]},
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def post(self, request):
        data = _valid(shapes.ConsentEventInput, request)
        try:
            event = _record(client=request.auth, data=data)
        except services.NoWording as error:  # a version withdrawn since the input was checked
            raise ValidationError({"purpose": [shapes.NO_WORDING]}) from error
        except services.Suppressed as error:
            raise ValidationError({"email": [shapes.SUPPRESSED]}) from error
        return Response(shapes.ConsentEventSerializer(event).data, status=status.HTTP_201_CREATED)


class State(ConsentApiView):
    permission_classes = [CanReadConsent]

    @extend_schema(
        summary="A person's consent per purpose",
        description="Every purpose with the person's answer as it stands. This is how a system asks "
        '"may I send marketing e-mail (or the newsletter) to this address?": the answer is yes '
        "exactly when `standing` is true for `marketing_email` (or `newsletter`). An address the "
        "ledger does not know gets the same shape, every purpose `never_answered`, and is not "
        "recorded. `needs_fresh_answer` marks a consent to an earlier wording that still stands "
        "until the person answers the current one. A POST, so that the address stays out of URLs "
        "and access logs; it changes nothing. Needs the `read` scope.",
        request=shapes.ConsentAddressInput,
        responses={
            200: OpenApiResponse(
                shapes.ConsentStateSerializer, description="Every purpose, in order of its name."
            ),
            **ERRORS,
        },
        examples=[
            ADDRESS_EXAMPLE,
            OpenApiExample(
                "Marketing e-mail given, the newsletter never answered",
                value={
                    "purposes": [
                        {
                            "purpose": "marketing_email",
                            "standing": True,
                            "answer": "given",
                            "given_at": "2026-03-02T09:00:00Z",
                            "withdrawn_at": None,
                            "version": 2,
                            "current_version": 2,
                            "needs_fresh_answer": False,
                        },
                        {
                            "purpose": "newsletter",
                            "standing": False,
                            "answer": "never_answered",
                            "given_at": None,
                            "withdrawn_at": None,
                            "version": None,
                            "current_version": 1,
                            "needs_fresh_answer": False,
                        },
                    ]
                },
                response_only=True,
                status_codes=["200"],
            ),
        ],
    )
    def post(self, request):
        data = _valid(shapes.ConsentAddressInput, request)
        states = selectors.purpose_states(email=data["email"])
        return Response(shapes.ConsentStateSerializer({"purposes": states}).data)


class History(ConsentApiView):
    permission_classes = [CanReadConsent]

    @extend_schema(
        summary="A person's consent history",
        description="Every give and withdrawal of the person, for every purpose, in the order they "
        "happened, with the wording version each answered and the channel it came by. Empty for an "
        "address the ledger does not know (or no longer knows: erased). A POST, so that the address "
        "stays out of URLs and access logs; it changes nothing. Needs the `read` scope.",
        request=shapes.ConsentAddressInput,
        responses={
            200: OpenApiResponse(shapes.ConsentHistorySerializer, description="The events, oldest first."),
            **ERRORS,
        },
        examples=[
            ADDRESS_EXAMPLE,
            OpenApiExample(
                "One give",
                value={"events": [{**EVENT_EXAMPLE, "digest": SEALED_DIGEST_EXAMPLE}]},
                response_only=True,
                status_codes=["200"],
            ),
        ],
    )
    def post(self, request):
        data = _valid(shapes.ConsentAddressInput, request)
        events = selectors.consent_history(email=data["email"])
        return Response(shapes.ConsentHistorySerializer({"events": events}).data)
