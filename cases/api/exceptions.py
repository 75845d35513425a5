"""What the services raise, as API answers: a rule broken is a 400 with the errors by field (in
the caller's language, as the services wrote them), a change that lost a race is a 409."""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from cases import services


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("Someone changed this case at the same moment: check it again.")
    default_code = "conflict"


def field_errors(error: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {
            (api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field): messages
            for field, messages in error.message_dict.items()
        }
    return {api_settings.NON_FIELD_ERRORS_KEY: error.messages}


def exception_handler(exc, context):
    # Django's PermissionDenied and Http404 are DRF's own concern: 403 and 404.
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(field_errors(exc))
    elif isinstance(exc, services.ExtensionRefused):
        exc = exceptions.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [exc.message]})
    elif isinstance(exc, services.StaleCase):
        exc = Conflict()
    return drf_exception_handler(exc, context)
