"""The audit log in the admin: auditlog's own page, showing each admin only the entries about what
they may see (`audit.visible_entries`), with an export as CSV of the same."""

import csv
import itertools

import auditlog.admin  # registers auditlog's page first, so that it can be replaced here
from auditlog.models import LogEntry
from django.contrib import admin
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trustcenter.spreadsheets import Echo

from . import audit

admin.site.unregister(LogEntry)


@admin.register(LogEntry)
class LogEntryAdmin(auditlog.admin.LogEntryAdmin):
    actions = ["export_as_csv"]

    def get_queryset(self, request):
        # Every page of this admin (the list, its filters and counts, an entry's page, the
        # export) starts from here.
        return super().get_queryset(request) & audit.visible_entries(user=request.user)

    @admin.action(description=_("Export as CSV"), permissions=["view"])
    def export_as_csv(self, request, queryset):
        writer = csv.writer(Echo())
        rows = (
            writer.writerow(row) for row in itertools.chain([audit.csv_header()], audit.csv_rows(queryset))
        )
        response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
        name = f"audit-log-{timezone.localdate():%Y-%m-%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
