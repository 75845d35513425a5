from django.core.exceptions import PermissionDenied

from . import receipts
from .models import Attachment, Case
from .services import hash_code


def case_for_receipt_code(*, typed_code: str) -> Case | None:
    """The case a receipt code opens: one indexed lookup of its hash, or None."""
    code = receipts.normalise_code(typed_code)
    if code is None:
        return None
    return Case.objects.filter(receipt_hash=hash_code(code)).first()


def followup_case(*, case_id: int | None) -> Case | None:
    """The case a reporter's follow-up session opened (by its receipt code), if any."""
    return Case.objects.filter(pk=case_id).first() if case_id else None


def case_messages(*, case: Case):
    return case.messages.prefetch_related("attachments")


def access_case(*, user, case_id: int) -> Case:
    """The one door through which staff read a case; raises PermissionDenied otherwise.

    Team visibility arrives with the staff side; until then only active staff pass.
    """
    case = visible_cases(user=user).filter(pk=case_id).first()
    if case is None:
        raise PermissionDenied
    return case


def case_attachment(*, case: Case, attachment_id: int) -> Attachment | None:
    return case.attachments.filter(pk=attachment_id).first()


def visible_cases(*, user):
    """The cases a staff member may see: the one place visibility is decided."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return Case.objects.none()
    return Case.objects.all()
