"""Retention in the admin: rules (with their periods per country), legal holds, postponements,
the run log, and the pages that read them: the overview, the dry run with its "Run the purge
now" button, the record of processing activities (art. 30) and the proof of deletion.

None of the pages shows a record: counts, dates and the registry's own texts only.
"""

import csv
import logging
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Now
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotAllowed,
    StreamingHttpResponse,
)
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from trustcenter.admin import ReadOnlyAdmin
from trustcenter.spreadsheets import Echo, spreadsheet_cell

from . import queries, selectors, services, tasks
from .forms import LegalHoldForm, ProofOfDeletionForm, RetentionRuleForm
from .models import (
    ACTIVE_HOLD,
    CountryPeriod,
    HoldScope,
    LegalHold,
    Postponement,
    RetentionRule,
    RetentionRun,
    RunStep,
)

logger = logging.getLogger(__name__)

VIEW_RULES = "retention.view_retentionrule"
CHANGE_RULES = "retention.change_retentionrule"


# --- rules ---------------------------------------------------------------------------------


class CountryPeriodInline(admin.TabularInline):
    model = CountryPeriod
    extra = 0
    fields = ["country", "period_amount", "period_unit", "counts_from", "basis"]


def csv_download(
    *, filename: str, header: Iterable[Any], rows: Iterable[Iterable[Any]]
) -> StreamingHttpResponse:
    """A CSV whose every cell a spreadsheet shows as text, never runs (trustcenter.spreadsheets)."""
    writer = csv.writer(Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff"  # so that spreadsheets read the file as UTF-8
        yield writer.writerow([spreadsheet_cell(cell) for cell in header])
        for row in rows:
            yield writer.writerow([spreadsheet_cell(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def publish_purge(*, requested_by_id: int | None) -> bool:
    """Asks a worker to run the purge now; False if the broker could not be reached (nothing was
    started then, and nothing is left half-done: the run is created by the task)."""
    try:
        tasks.purge_now.delay(requested_by_id)
    except Exception:  # the broker is unreachable
        logger.warning("Retention purge not queued (broker unavailable)")
        return False
    return True


@admin.register(RetentionRule)
class RetentionRuleAdmin(admin.ModelAdmin):
    form = RetentionRuleForm
    list_display = ["category", "period", "action", "enabled", "basis"]
    list_filter = ["enabled", "action"]
    search_fields = ["category", "basis"]
    inlines = [CountryPeriodInline]
    change_list_template = "admin/retention/retentionrule/change_list.html"

    @admin.display(description=_("kept for"), ordering="period_amount")
    def period(self, rule: RetentionRule) -> str:
        return selectors.period_text(rule.period_amount, rule.period_unit)

    def get_urls(self) -> list[Any]:
        def page(route: str, view: Any, name: str) -> Any:
            return path(route, self.admin_site.admin_view(view), name=f"retention_{name}")

        return [
            page("overview/", self.overview_view, "overview"),
            page("dry-run/", self.dry_run_view, "dry_run"),
            page("run-now/", self.run_now_view, "run_now"),
            page("processing-activities/", self.processing_activities_view, "processing_activities"),
            page(
                "processing-activities.csv", self.processing_activities_csv_view, "processing_activities_csv"
            ),
            page("proof-of-deletion/", self.proof_of_deletion_view, "proof_of_deletion"),
        ] + super().get_urls()

    def _page(self, request: HttpRequest, template: str, title: str, **context: Any) -> TemplateResponse:
        return TemplateResponse(
            request,
            f"admin/retention/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": title,
                "can_run": request.user.has_perm(CHANGE_RULES),
                **context,
            },
        )

    @staticmethod
    def _require(request: HttpRequest, permission: str) -> None:
        if not request.user.has_perm(permission):
            raise PermissionDenied

    def overview_view(self, request: HttpRequest) -> HttpResponse:
        self._require(request, VIEW_RULES)
        return self._page(
            request,
            "overview.html",
            gettext("Retention overview"),
            lines=selectors.overview(),
            today=queries.local_today(),
        )

    def dry_run_view(self, request: HttpRequest) -> HttpResponse:
        self._require(request, VIEW_RULES)
        rows = selectors.dry_run()
        return self._page(
            request,
            "dry_run.html",
            gettext("Dry run"),
            rows=rows,
            total_due=sum(row.line.due for row in rows),
            total_held=sum(row.line.held for row in rows),
            total_would_go=sum(row.line.would_go for row in rows),
            today=queries.local_today(),
        )

    def run_now_view(self, request: HttpRequest) -> HttpResponse:
        self._require(request, CHANGE_RULES)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        outcome: dict[str, bool] = {}

        def publish() -> None:
            outcome["queued"] = publish_purge(requested_by_id=request.user.pk)

        # After the request's transaction (if any) commits; at once where there is none.
        transaction.on_commit(publish)
        if outcome.get("queued") is False:
            messages.error(
                request,
                gettext(
                    "The purge could not be started: the task queue is unreachable. Nothing was "
                    "deleted and nothing was started. Try again when the queue is back; the daily "
                    "schedule runs the purge too."
                ),
            )
            return redirect("admin:retention_dry_run")
        messages.success(
            request,
            gettext("The purge was started. Its run is at the top of the run log once a worker takes it."),
        )
        return redirect("admin:retention_retentionrun_changelist")

    def processing_activities_view(self, request: HttpRequest) -> HttpResponse:
        self._require(request, VIEW_RULES)
        return self._page(
            request,
            "processing_activities.html",
            gettext("Record of processing activities"),
            activities=selectors.processing_activities(),
            controller=selectors.controller(),
        )

    def processing_activities_csv_view(self, request: HttpRequest) -> HttpResponseBase:
        self._require(request, VIEW_RULES)
        controller = selectors.controller()
        header = [
            gettext("Controller"),
            gettext("Controller's contact"),
            gettext("Register"),
            gettext("Purpose"),
            gettext("Legal basis"),
            gettext("Data subjects"),
            gettext("Categories of personal data"),
            gettext("Source"),
            gettext("Recipients"),
            gettext("Transfers outside the EEA"),
            gettext("Retention"),
            gettext("Records that belong to it"),
        ]
        rows = (
            [
                controller.name,
                f"{controller.email}; {controller.postal_address}",
                activity.register,
                activity.purpose,
                activity.legal_basis,
                activity.data_subjects,
                "; ".join(activity.data_categories),
                activity.source,
                activity.recipients,
                activity.transfers,
                activity.retention_text,
                "; ".join(activity.parts),
            ]
            for activity in selectors.processing_activities()
        )
        filename = f"record-of-processing-activities-{queries.local_today().isoformat()}.csv"
        return csv_download(filename=filename, header=header, rows=rows)

    def proof_of_deletion_view(self, request: HttpRequest) -> HttpResponseBase:
        self._require(request, VIEW_RULES)
        form = ProofOfDeletionForm(request.GET if request.GET else None)
        if form.is_valid():
            first_day: date = form.cleaned_data["first_day"]
            last_day: date = form.cleaned_data["last_day"]
            return csv_download(
                filename=f"proof-of-deletion-{first_day.isoformat()}-{last_day.isoformat()}.csv",
                header=selectors.PROOF_COLUMNS,
                rows=selectors.proof_of_deletion_rows(first_day=first_day, last_day=last_day),
            )
        return self._page(
            request,
            "proof_of_deletion.html",
            gettext("Proof of deletion"),
            form=form,
        )


# --- legal holds and postponements --------------------------------------------------------------


class HoldStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("active", _("active")), ("lifted", _("lifted")), ("expired", _("expired"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "active":
            return queryset.filter(ACTIVE_HOLD)
        if self.value() == "lifted":
            return queryset.filter(lifted_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(Q(lifted_at__isnull=True) & Q(until__lte=Now()))
        return queryset


@admin.register(LegalHold)
class LegalHoldAdmin(admin.ModelAdmin):
    form = LegalHoldForm
    list_display = ["__str__", "covers", "until", "created_by", "created_at", "state"]
    list_filter = [HoldStateFilter, "scope"]
    search_fields = ["email", "category", "record_id"]
    actions = ["lift_selected"]
    ADD_FIELDS = ("scope", "email", "category", "record_type", "record_id", "reason", "until")
    SET_ONCE = ("scope", "email", "category", "record_type", "record_id", "created_by", "created_at")
    LIFTED = ("lifted_at", "lifted_by")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return self.ADD_FIELDS
        return (*self.SET_ONCE, "reason", "until", *self.LIFTED)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        if obj.lifted_at is not None:
            return (*self.SET_ONCE, "reason", "until", *self.LIFTED)  # a lifted hold is history
        return (*self.SET_ONCE, *self.LIFTED)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("created_by", "record_type")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # lifted, never deleted: the hold explains why data was kept

    def save_model(self, request: HttpRequest, obj: LegalHold, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    @admin.display(description=_("covers"))
    def covers(self, hold: LegalHold) -> str:
        if hold.scope == HoldScope.SUBJECT:
            return hold.email
        if hold.scope == HoldScope.CATEGORY:
            return hold.category
        return f"{hold.record_type.name if hold.record_type else '?'} {hold.record_id}"

    @admin.display(description=_("state"))
    def state(self, hold: LegalHold) -> str:
        if hold.lifted_at is not None:
            return gettext("lifted")
        return gettext("active") if hold.is_active else gettext("expired")

    @admin.action(description=_("Lift the selected holds"), permissions=["change"])
    def lift_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        lifted = 0
        for hold in queryset.filter(lifted_at__isnull=True):
            services.lift_hold(hold=hold, actor=request.user)
            lifted += 1
        self.message_user(
            request,
            ngettext(
                "%(count)d hold lifted: the next run takes what it kept, if due.",
                "%(count)d holds lifted: the next run takes what they kept, if due.",
                lifted,
            )
            % {"count": lifted},
        )


@admin.register(Postponement)
class PostponementAdmin(ReadOnlyAdmin):
    list_display = ["record_type", "record_id", "until", "created_by", "created_at"]
    list_filter = ["record_type"]
    fields = ["record_type", "record_id", "until", "reason", "created_by", "created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("record_type", "created_by")


# --- the run log -----------------------------------------------------------------------------


class RunStepInline(admin.TabularInline):
    model = RunStep
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "category",
        "register",
        "country",
        "cutoff",
        "deleted",
        "anonymised",
        "held",
        "failed",
    )

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The steps are part of the run: whoever may see the run sees them.
        return request.user.has_perm("retention.view_retentionrun")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RetentionRun)
class RetentionRunAdmin(ReadOnlyAdmin):
    list_display = [
        "started_at",
        "trigger",
        "status",
        "requested_by",
        "deleted",
        "anonymised",
        "held",
        "failed",
    ]
    list_filter = ["status", "trigger"]
    date_hierarchy = "started_at"
    fields = ["trigger", "status", "started_at", "finished_at", "heartbeat_at", "requested_by", "error"]
    inlines = [RunStepInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .select_related("requested_by")
            .annotate(
                deleted_total=Sum("steps__deleted", default=0),
                anonymised_total=Sum("steps__anonymised", default=0),
                held_total=Sum("steps__held", default=0),
                failed_total=Sum("steps__failed", default=0),
            )
        )

    @admin.display(description=_("deleted"), ordering="deleted_total")
    def deleted(self, run: Any) -> int:
        return run.deleted_total

    @admin.display(description=_("anonymised"), ordering="anonymised_total")
    def anonymised(self, run: Any) -> int:
        return run.anonymised_total

    @admin.display(description=_("held"), ordering="held_total")
    def held(self, run: Any) -> int:
        return run.held_total

    @admin.display(description=_("failed"), ordering="failed_total")
    def failed(self, run: Any) -> int:
        return run.failed_total
