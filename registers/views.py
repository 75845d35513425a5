"""A register's file (a CV, a receipt) for a staff member who may read that register: through the
staff door, with the register's view permission, only a field the registry declares a file, and
always as a download."""

from auditlog.models import LogEntry
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import FileResponse, Http404, HttpRequest
from django.urls import reverse
from django.views.decorators.cache import never_cache

from trustcenter.staff_access import staff_member_required_2fa as staff_required

from . import registry
from .marks import visible_records

# A file no one checked on its way in is claimed to be nothing but bytes.
UNCHECKED_CONTENT_TYPE = "application/octet-stream"


def file_url(record: Model, field_name: str) -> str:
    return reverse(
        "registers:file",
        kwargs={"model_name": record._meta.model_name, "record_id": record.pk, "field_name": field_name},
    )


def file_download_name(record: Model, field_name: str) -> str:
    """A name that says what the file is and names no one: `jobapplication-12-cv.pdf`."""
    stored = getattr(record, field_name).name
    extension = stored.rsplit(".", 1)[-1] if "." in stored.rsplit("/", 1)[-1] else "bin"
    return f"{record._meta.model_name}-{record.pk}-{field_name}.{extension}"


def record_file_download(*, record: Model, field_name: str, user) -> LogEntry:
    """Who downloaded which register's file, in the audit log, as cases.audit records a case's
    file: the record named by its kind and number, never by a person's name."""
    return LogEntry.objects.log_create(
        record,
        force_log=True,
        action=LogEntry.Action.ACCESS,
        changes=None,
        actor=user,
        actor_email=user.email or None,
        object_repr=f"{record}, {field_name}",
    )


@never_cache
@staff_required
def register_file(request: HttpRequest, model_name: str, record_id: int, field_name: str):
    try:
        model = apps.get_model("registers", model_name)
    except LookupError:
        raise Http404 from None
    declaration = registry.declaration_for(model)
    if declaration is None:
        raise Http404
    if not request.user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}"):
        raise PermissionDenied
    if field_name not in declaration.file_fields:
        raise Http404
    record = visible_records(model._default_manager.filter(pk=record_id), user=request.user).first()
    if record is None:
        raise Http404
    stored = getattr(record, field_name)
    if not stored or not stored.storage.exists(stored.name):
        raise Http404
    record_file_download(record=record, field_name=field_name, user=request.user)
    return FileResponse(
        stored.open("rb"),
        as_attachment=True,
        filename=file_download_name(record, field_name),
        content_type=UNCHECKED_CONTENT_TYPE,
    )
