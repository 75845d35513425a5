"""What erasures and objections leave on the registers (issue 13): records kept restricted, which
the registers' lists, exports and file downloads leave out but for the privacy team, and the
suppression list that imports and sign-ups check."""

from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Exists, OuterRef, QuerySet
from django.db.models.functions import Cast

from .models import Restriction, SuppressedAddress
from .registry import identity_digests, normalise_email

VIEW_RESTRICTED = "registers.view_restricted_records"


def visible_records(queryset: QuerySet, *, user) -> QuerySet:
    """A register's rows as a staff member may list, export and open them: without the records
    kept restricted after an erasure, unless they may see those (the privacy team)."""
    if user.has_perm(VIEW_RESTRICTED):
        return queryset
    restricted = Restriction.objects.filter(
        record_type=ContentType.objects.get_for_model(queryset.model),
        record_id=Cast(OuterRef("pk"), output_field=CharField()),
    )
    return queryset.exclude(Exists(restricted))


def is_suppressed(email: str) -> bool:
    """Whether the address is on the suppression list (erased, or objected to direct marketing)."""
    return SuppressedAddress.objects.filter(digest__in=identity_digests(normalise_email(email))).exists()
