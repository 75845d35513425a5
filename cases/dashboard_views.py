"""The staff dashboard (issue 10): a thin view over cases.dashboard, its page and its CSV.

The page and the CSV show the same tables, built once here (`dashboard_tables`); the charts are
drawn by static/js/dashboard.js from the same numbers, given with `json_script`.
"""

import csv
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from trustcenter.spreadsheets import spreadsheet_cell
from trustcenter.staff_access import staff_member_required_2fa as staff_required

from . import dashboard
from .models import CaseType, SubjectRight
from .staff_forms import DashboardFilterForm

# The colours of the charts' series (Bootstrap's, at a contrast of at least 3:1 on white).
GREEN, AMBER, RED, BLUE, GREY = "#198754", "#b35c00", "#dc3545", "#0d6efd", "#6c757d"


# The types whose answer clock the dashboard times (DESIGN.md §1: an answer within 30 days).
ANSWERED_TYPES = (CaseType.SUBJECT_REQUEST, CaseType.COMPLAINT, CaseType.GENERAL_INQUIRY)


@dataclass
class Table:
    """One table of figures: a row per type (or right), a column per figure. `chart` names the
    chart drawn from it, if any; its series are the columns."""

    key: str
    caption: str
    row_header: str
    columns: list[str]
    rows: list[tuple[str, list]]
    chart: str = ""
    colours: tuple[str, ...] = ()
    stacked: bool = False

    def chart_data(self) -> dict:
        return {
            "id": f"chart-{self.key}",
            "labels": [label for label, _values in self.rows],
            "stacked": self.stacked,
            "datasets": [
                {"label": column, "data": [values[index] for _label, values in self.rows], "colour": colour}
                for index, (column, colour) in enumerate(zip(self.columns, self.colours, strict=True))
            ],
        }


def _days(duration: timedelta | None) -> float | None:
    return None if duration is None else round(duration.total_seconds() / 86400, 1)


def dashboard_tables(figures: dashboard.Figures) -> list[Table]:
    type_names = {value: str(label) for value, label in CaseType.choices}
    rows = figures.by_type
    state_names = {
        "breached": _("Breached"),
        "at_risk": _("At risk"),
        "open": _("Running, on time"),
        "none": _("No running clock"),
    }
    tables = [
        Table(
            key="cases",
            caption=_("Cases received and closed in the period"),
            row_header=_("Type"),
            columns=[_("Received"), _("Closed")],
            rows=[(type_names[row.case_type], [row.received, row.closed]) for row in rows],
            chart=_("Chart of the cases received and closed in the period, by type"),
            colours=(BLUE, GREY),
        ),
        Table(
            key="clocks",
            caption=_("Deadlines due in the period"),
            row_header=_("Type"),
            columns=[_("Met on time"), _("Met late"), _("Breached")],
            rows=[(type_names[row.case_type], [row.met_on_time, row.met_late, row.breached]) for row in rows],
            chart=_("Chart of the deadlines due in the period, by type"),
            colours=(GREEN, AMBER, RED),
            stacked=True,
        ),
        Table(
            key="answer-times",
            caption=_("Time from receipt to the answer, in days, for answers given in the period"),
            row_header=_("Type"),
            columns=[_("Answers"), _("Median"), _("90th percentile")],
            rows=[
                (type_names[row.case_type], [row.answers, _days(row.median), _days(row.p90)])
                for row in rows
                if row.case_type in ANSWERED_TYPES
            ],
        ),
        Table(
            key="open",
            caption=_("Open cases now, by the worst of their running deadlines"),
            row_header=_("Type"),
            columns=[state_names[state] for state in dashboard.OPEN_STATES],
            rows=[
                (type_names[row.case_type], [row.open_states[state] for state in dashboard.OPEN_STATES])
                for row in rows
            ],
            chart=_("Chart of the open cases by the state of their deadlines, by type"),
            colours=(RED, AMBER, GREEN, GREY),
            stacked=True,
        ),
    ]
    if figures.rights is not None:
        right_names = {value: str(label) for value, label in SubjectRight.choices}
        tables.append(
            Table(
                key="rights",
                caption=_("Data-subject requests received in the period, by right"),
                row_header=_("Right"),
                columns=[_("Requests")],
                rows=[(right_names[right], [count]) for right, count in figures.rights.items()],
                chart=_("Chart of the data-subject requests received in the period, by right"),
                colours=(BLUE,),
            )
        )
    return [table for table in tables if table.rows]


def filtered_dashboard(request):
    """The filter form and, if it is valid, its period and the figures (the page's, the CSV's and
    the API's)."""
    zone = ZoneInfo(settings.TIME_ZONE)
    now = timezone.now()
    data = request.GET.copy()
    data.setdefault("period", "month")
    form = DashboardFilterForm(data, user=request.user, today=timezone.localdate(now, zone))
    if not form.is_valid():
        return form, None, None
    period = form.cleaned_data["report_period"]
    start, end = period.bounds(zone=zone)
    team = form.cleaned_data["team"]
    figures = dashboard.figures(user=request.user, start=start, end=end, now=now, team=team)
    return form, period, figures


def _team_name(form) -> str:
    return str(dict(form.fields["team"].choices)[form.cleaned_data["team"]])


@never_cache
@staff_required
def dashboard_page(request):
    form, period, figures = filtered_dashboard(request)
    if figures is None:
        return render(request, "cases/staff/dashboard.html", {"form": form}, status=400)
    tables = dashboard_tables(figures)
    return render(
        request,
        "cases/staff/dashboard.html",
        {
            "form": form,
            "period": period,
            "team_name": _team_name(form),
            "figures": figures,
            "tables": tables,
            "charts": [table.chart_data() for table in tables if table.chart],
            "csv_query": request.GET.urlencode(),
        },
    )


@never_cache
@staff_required
def dashboard_csv(request):
    form, period, figures = filtered_dashboard(request)
    if figures is None:
        errors = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in form.errors.items())
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"dashboard-{period.first_day:%Y-%m-%d}-{period.last_day:%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")  # so that spreadsheets read the file as UTF-8, not as Latin-1
    writer = csv.writer(response)
    writer.writerow(
        [spreadsheet_cell(_("Period")), period.first_day.isoformat(), period.last_day.isoformat()]
    )
    writer.writerow([spreadsheet_cell(_("Team")), spreadsheet_cell(_team_name(form))])
    writer.writerow([spreadsheet_cell(value) for value in (_("Table"), _("Row"), _("Figure"), _("Value"))])
    for table in dashboard_tables(figures):
        for label, values in table.rows:
            for column, value in zip(table.columns, values, strict=True):
                writer.writerow(
                    [
                        spreadsheet_cell(table.caption),
                        spreadsheet_cell(label),
                        spreadsheet_cell(column),
                        spreadsheet_cell(value),
                    ]
                )
    return response
