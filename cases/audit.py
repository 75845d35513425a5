"""The audit trail (issue 9, point 11): who viewed or changed a case, its clocks, its assignment
and the configuration, and when. Changes are recorded by django-auditlog from the models'
signals; views and downloads by the two `record_*` functions the workspace calls.

The log outlives the cases it is about (a case is deleted when its retention ends, its log
entries are not), so nothing a reporter wrote or typed, and no free text staff wrote about a
case, lands in it: those fields are recorded as changed, with their values masked.
"""

import copy
from collections.abc import Iterable, Iterator
from zoneinfo import ZoneInfo

from auditlog.diff import model_instance_diff
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from trustcenter.models import Team, TeamMembership
from trustcenter.spreadsheets import spreadsheet_cell

from . import selectors
from .models import (
    Attachment,
    Breach,
    BreachNotification,
    Case,
    CaseClock,
    CaseExclusion,
    CaseMessage,
    CaseTypeRouting,
    ClockPolicy,
)

MASKED = "***"

# The parts of a case that the log has entries about, each with the path from it to its case:
# an entry about one of them is seen by those who may see that case, and by nobody else.
CASE_PARTS: dict[type[Model], str] = {
    Case: "pk",
    CaseClock: "case",
    CaseMessage: "case",
    Attachment: "case",
    Breach: "case",
    BreachNotification: "breach__case",
    CaseExclusion: "case",
}
# Entries about these are seen by every admin who may read the log: they concern no case.
CONFIGURATION: tuple[type[Model], ...] = (Team, TeamMembership, CaseTypeRouting, ClockPolicy)
# A model registered later and added to neither shows to nobody, rather than to everybody.


def mask(value: str) -> str:
    """Replaces a value whole: auditlog's default mask keeps half of it in clear."""
    return MASKED


def register_models() -> None:
    """Called once from `CasesConfig.ready()`."""

    def register(model: type[Model], *, mask_fields: Iterable[str] = (), exclude_fields: Iterable[str] = ()):
        # auditlog appends the site-wide settings' fields to these lists: each call gets its own.
        auditlog.register(
            model,
            exclude_fields=list(exclude_fields),
            mask_fields=list(mask_fields),
            mask_callable="cases.audit.mask",
        )

    register(
        Case,
        # What the reporter wrote and who they are; the receipt code's hash; derived columns.
        mask_fields=["reporter_name", "reporter_email", "details", "receipt_hash", "content_digest"],
        exclude_fields=["search_document", "next_due_at"],
    )
    register(CaseClock, mask_fields=["late_reasons", "extension_reason"])
    register(CaseMessage, exclude_fields=["body", "submission_token_hash"])
    register(
        Breach,
        mask_fields=[
            "nature",
            "data_categories",
            "effects",
            "remedial_action",
            "reasons_not_to_notify",
            "subjects_not_informed_reason",
        ],
    )
    register(BreachNotification, mask_fields=["summary", "delay_reasons"])
    register(CaseExclusion, mask_fields=["reason"])
    for model in CONFIGURATION:
        register(model)


def _record_access(instance: Model, *, user, object_repr: str) -> LogEntry:
    return LogEntry.objects.log_create(
        instance,
        force_log=True,
        action=LogEntry.Action.ACCESS,
        changes=None,
        actor=user,
        actor_email=user.email or None,
        object_repr=object_repr,
    )


def record_case_view(*, case: Case, user) -> LogEntry:
    """A staff member opened the case's page (the case came through `selectors.access_case`)."""
    return _record_access(case, user=user, object_repr=str(case))


def record_attachment_download(*, attachment: Attachment, user) -> LogEntry:
    """A staff member downloaded one of the case's files."""
    # Named by its case and number, not by its file name: the reporter chose that, and it may
    # name someone.
    return _record_access(attachment, user=user, object_repr=f"{attachment.case}, attachment {attachment.pk}")


def record_update(*, instance: Model, previous: dict, actor=None) -> LogEntry | None:
    """Records a change made with a queryset's `update()`, which sends no signal for auditlog to
    hear (the services change a case with a conditional update, so that two staff members cannot
    both change it). `previous` holds the fields' values before, `instance` has them after:

        audit.record_update(instance=case, previous={"status": expected_status}, actor=actor)

    The model's registration applies (masked and excluded fields). Nothing is recorded if nothing
    changed. Without `actor`, the request's user is taken (auditlog's middleware or `set_actor`).
    """
    before = copy.copy(instance)
    for name, value in previous.items():
        setattr(before, name, value)
    changes = model_instance_diff(before, instance, fields_to_check=list(previous))
    if not changes:
        return None
    extra = {"actor": actor, "actor_email": actor.email or None} if actor is not None else {}
    return LogEntry.objects.log_create(instance, action=LogEntry.Action.UPDATE, changes=changes, **extra)


def _content_type_ids(models: Iterable[type[Model]]) -> dict[type[Model], int]:
    # Cached by ContentType's manager: no query after the first call in a process.
    return {
        model: content_type.pk for model, content_type in ContentType.objects.get_for_models(*models).items()
    }


def _about_cases(cases: QuerySet[Case]) -> Q:
    """The entries about these cases and their parts, as subqueries: one query in all.

    Entries about a part that has since been deleted (or about a deleted case) match no longer:
    what it belonged to cannot be told any more, so nobody sees them here.
    """
    content_types = _content_type_ids(CASE_PARTS)
    about = Q(pk__in=[])
    for model, path in CASE_PARTS.items():
        parts = cases if model is Case else model._default_manager.filter(**{f"{path}__in": cases})
        about |= Q(content_type_id=content_types[model], object_id__in=parts.values("pk"))
    return about


def case_audit_trail(*, case: Case) -> QuerySet[LogEntry]:
    """The entries about the case and its parts, newest first, with their actors: one query.
    Only for a case that came through `selectors.access_case`."""
    return (
        LogEntry.objects.filter(_about_cases(Case.objects.filter(pk=case.pk)))
        .select_related("actor", "content_type")
        .order_by("-timestamp", "-pk")
    )


def visible_entries(*, user) -> QuerySet[LogEntry]:
    """The log entries a staff member may read, whatever else allows them to read the log: those
    about the cases `selectors.visible_cases` gives them, and those about the configuration. A
    superuser outside the whistleblowing team sees nothing about a whistleblowing case here
    either."""
    configuration = Q(content_type_id__in=_content_type_ids(CONFIGURATION).values())
    # The registers, consent and the retention configuration: for those who may view that model
    # (entries written by hand too, e.g. which system's API call appended a consent event).
    others = [
        model
        for label in ("registers", "retention", "consent")
        for model in apps.get_app_config(label).get_models()
        if model not in CASE_PARTS
        and model not in CONFIGURATION
        and user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}")
    ]
    permitted = Q(content_type_id__in=_content_type_ids(others).values())
    return LogEntry.objects.filter(
        _about_cases(selectors.visible_cases(user=user)) | configuration | permitted
    )


def describe_changes(entry: LogEntry) -> str:
    """The entry's changes as one line of text: "status: received → closed; ..."."""
    parts = []
    for field, values in entry.changes_dict.items():
        if isinstance(values, list | tuple) and len(values) == 2:
            parts.append(f"{field}: {values[0]} → {values[1]}")
        else:
            parts.append(f"{field}: {values}")
    return "; ".join(parts)


def csv_header() -> list[str]:
    return [
        _("time"),
        _("staff member"),
        _("action"),
        _("object type"),
        _("object id"),
        _("object"),
        _("changes"),
    ]


def csv_rows(entries: QuerySet[LogEntry]) -> Iterator[list[str]]:
    """The entries as rows for `csv_header()`; times in the controller's time zone (TIME_ZONE),
    whatever the reader's."""
    zone = ZoneInfo(settings.TIME_ZONE)
    for entry in entries.select_related("actor", "content_type").iterator(chunk_size=2000):
        actor = entry.actor.get_username() if entry.actor else (entry.actor_email or "")
        row = [
            timezone.localtime(entry.timestamp, zone).isoformat(sep=" ", timespec="seconds"),
            actor,
            str(entry.get_action_display()),
            f"{entry.content_type.app_label}.{entry.content_type.model}",
            entry.object_pk,
            entry.object_repr,
            describe_changes(entry),
        ]
        yield [spreadsheet_cell(value) for value in row]
