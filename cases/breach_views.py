"""The breach register (art. 33(5)) and the case page's breach forms: thin views over
cases.services and cases.selectors."""

import csv
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from trustcenter.spreadsheets import spreadsheet_cell
from trustcenter.staff_access import staff_member_required_2fa as staff_required

from . import selectors, services
from .breach_forms import (
    BreachDecisionForm,
    BreachFactsForm,
    BreachNotificationForm,
    BreachRegisterFilterForm,
    BreachSubjectsForm,
)
from .models import Authority, Breach, BreachDecision, CaseType, SubjectsInformed
from .views import _add_service_errors

REGISTER_PAGE_SIZE = 50

PANEL_FORMS = {
    "facts": BreachFactsForm,
    "decision": BreachDecisionForm,
    "notification": BreachNotificationForm,
    "subjects": BreachSubjectsForm,
}


def _initial(breach: Breach | None) -> dict[str, dict]:
    if breach is None:
        return {name: {} for name in PANEL_FORMS}
    return {
        "facts": {
            "nature": breach.nature,
            "data_categories": breach.data_categories,
            "subjects_affected": breach.subjects_affected,
            "effects": breach.effects,
            "remedial_action": breach.remedial_action,
        },
        "decision": {"decision": breach.decision, "reasons_not_to_notify": breach.reasons_not_to_notify},
        # The authority of the controller's own country, which is the one usually notified.
        "notification": {"authority": settings.TRUSTCENTER_CONTROLLER_COUNTRY},
        "subjects": {"informed": breach.subjects_informed, "reason": breach.subjects_not_informed_reason},
    }


def breach_context(*, case, bound: dict | None = None) -> dict:
    """What the case page needs to include "cases/staff/_breach_panel.html": the case's breach
    (None if it has none), its 72-hour clock, and the panel's four forms, unbound and filled
    with what is recorded, except those given `bound` (a form sent back with its errors)."""
    breach = selectors.case_breach(case=case)
    initial = _initial(breach)
    forms = {name: form_class(initial=initial[name]) for name, form_class in PANEL_FORMS.items()}
    forms.update(bound or {})
    return {
        "case": case,
        "breach": breach,
        "breach_clock": selectors.breach_clock(case=case) if breach else None,
        "breach_forms": forms,
    }


def _breach_action(request, case_id: int, *, form_name: str, action, done: str):
    # The door before the method: a case the user may not see is refused whatever they send.
    case = selectors.access_case(user=request.user, case_id=case_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = PANEL_FORMS[form_name](request.POST)
    if form.is_valid():
        try:
            action(case=case, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(request, done)
            return redirect("staff:case", case_id=case.pk)
    context = breach_context(case=case, bound={form_name: form})
    return render(request, "cases/staff/breach_form.html", context, status=400)


@staff_required
def breach_facts(request, case_id: int):
    return _breach_action(
        request,
        case_id,
        form_name="facts",
        action=services.update_breach_facts,
        done=_("The facts of the breach were saved."),
    )


@staff_required
def breach_decision(request, case_id: int):
    return _breach_action(
        request,
        case_id,
        form_name="decision",
        action=services.decide_breach,
        done=_("The decision was recorded."),
    )


@staff_required
def breach_notification(request, case_id: int):
    return _breach_action(
        request,
        case_id,
        form_name="notification",
        action=services.record_breach_notification,
        done=_("The notification to the supervisory authority was recorded."),
    )


def _record_subjects_informed(*, case, actor, informed: str, reason: str):
    services.record_subjects_informed(
        case=case, actor=actor, informed=informed == SubjectsInformed.INFORMED, reason=reason
    )


@staff_required
def breach_subjects(request, case_id: int):
    return _breach_action(
        request,
        case_id,
        form_name="subjects",
        action=_record_subjects_informed,
        done=_("Whether the data subjects were told was recorded."),
    )


def _filtered_register(request):
    form = BreachRegisterFilterForm(request.GET)
    # An invalid filter is shown with its error and left out; the valid ones still apply.
    form.is_valid()
    return form, selectors.breach_register(user=request.user, **form.cleaned_data)


@never_cache
@staff_required
def register(request):
    form, breaches = _filtered_register(request)
    page = Paginator(breaches, REGISTER_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "cases/staff/breaches.html", {"form": form, "page": page})


def _time(value) -> str:
    return timezone.localtime(value, ZoneInfo(settings.TIME_ZONE)).strftime("%Y-%m-%d %H:%M") if value else ""


def _names(choices) -> dict[str, str]:
    """A field's choice labels, translated once for the whole export rather than once a row."""
    return {value: str(label) for value, label in choices}


def _register_row(breach: Breach, names: dict[str, dict[str, str]]) -> list:
    notifications = list(breach.notifications.all())
    return [
        breach.case.reference,
        names["case_type"].get(breach.case.case_type, breach.case.case_type),
        _time(breach.aware_at),
        names["decision"].get(breach.decision, breach.decision),
        breach.reasons_not_to_notify,
        "; ".join(
            ", ".join(
                part
                for part in (
                    names["authority"].get(notification.authority, notification.authority),
                    _time(notification.notified_at),
                    notification.authority_reference,
                )
                if part
            )
            for notification in notifications
        ),
        "; ".join(notification.delay_reasons for notification in notifications if notification.delay_reasons),
        breach.subjects_affected,
        breach.data_categories,
        breach.nature,
        breach.effects,
        breach.remedial_action,
        names["subjects_informed"].get(breach.subjects_informed, breach.subjects_informed),
        breach.subjects_not_informed_reason,
    ]


@never_cache
@staff_required
def register_csv(request):
    _form, breaches = _filtered_register(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"breach-register-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")  # so that spreadsheets read the file as UTF-8, not as Latin-1
    writer = csv.writer(response)
    header = [
        _("Reference"),
        _("Case type"),
        _("Aware since"),
        _("Decision"),
        _("Reasons not to notify"),
        _("Notifications (authority, time, reference)"),
        _("Reasons for the delay"),
        _("Data subjects affected"),
        _("Categories of personal data"),
        _("What happened"),
        _("Likely consequences"),
        _("Measures taken"),
        _("Data subjects told"),
        _("Why they were not told"),
    ]
    writer.writerow([spreadsheet_cell(value) for value in header])
    names = {
        "case_type": _names(CaseType.choices),
        "decision": _names(BreachDecision.choices),
        "authority": _names(Authority.choices),
        "subjects_informed": _names(SubjectsInformed.choices),
    }
    for breach in breaches:
        writer.writerow([spreadsheet_cell(value) for value in _register_row(breach, names)])
    return response
