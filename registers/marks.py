"""What erasures and objections leave on the registers (issue 13): records kept restricted, which
the registers' lists, exports and file downloads leave out but for the privacy team, and the
suppression list that imports and sign-ups check."""

from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Exists, OuterRef, QuerySet
from django.db.models.functions import Cast

from .models import Restriction, SuppressedAddress
from .registry import declaration_for, identity_digests, normalise_email
from .selectors import owner_of

VIEW_RESTRICTED = "registers.view_restricted_records"


def visible_records(queryset: QuerySet, *, user) -> QuerySet:
    """A register's rows as a staff member may list, export and open them: without the records
    kept restricted after an erasure, nor the parts of one (a kept consent subject's events),
    unless they may see those (the privacy team)."""
    if user.has_perm(VIEW_RESTRICTED):
        return queryset
    declaration = declaration_for(queryset.model)
    owner = owner_of(declaration) if declaration is not None else None
    prefix, owning = owner if owner is not None else ("", declaration)
    restricted = Restriction.objects.filter(
        record_type=ContentType.objects.get_for_model(owning.model if owning else queryset.model),
        record_id=Cast(OuterRef(f"{prefix}pk"), output_field=CharField()),
    )
    return queryset.exclude(Exists(restricted))


class HidesRestrictedRecords:
    """For a ModelAdmin of a declared register: its list, pages and exports leave out what
    visible_records leaves out."""

    def get_queryset(self, request):
        return visible_records(super().get_queryset(request), user=request.user)


def is_suppressed(email: str) -> bool:
    """Whether the address is on the suppression list (erased, or objected to direct marketing)."""
    return SuppressedAddress.objects.filter(digest__in=identity_digests(normalise_email(email))).exists()
