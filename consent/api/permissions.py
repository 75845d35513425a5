"""What a client's token allows: reading a person's state and history, recording their gives and
withdrawals, or both (the scopes set in the admin)."""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from consent.models import ConsentApiClient


def _client(request) -> ConsentApiClient | None:
    return request.auth if isinstance(request.auth, ConsentApiClient) else None


class CanReadConsent(BasePermission):
    message = _("This system's token may not read consent.")

    def has_permission(self, request, view) -> bool:
        client = _client(request)
        return client is not None and client.can_read


class CanRecordConsent(BasePermission):
    message = _("This system's token may not record consent.")

    def has_permission(self, request, view) -> bool:
        client = _client(request)
        return client is not None and client.can_record
