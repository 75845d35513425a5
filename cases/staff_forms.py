"""The staff workspace's forms: what each action asks for. The services check the rules."""

from datetime import date
from typing import TYPE_CHECKING

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from . import report_periods, selectors
from .forms import attachments_field
from .models import CaseOutcome, CaseStatus, CaseType, ClockKind, IdentityKind, Severity
from .report_periods import PeriodKind

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

# How the workspace names the statuses (the reporter reads "Waiting for your answer").
STAFF_STATUS_NAMES: dict[str, "StrPromise"] = {
    CaseStatus.RECEIVED: _("Received"),
    CaseStatus.IN_PROGRESS: _("In progress"),
    CaseStatus.WAITING_FOR_REPORTER: _("Waiting for the reporter"),
    CaseStatus.CLOSED: _("Closed"),
}

CLOCK_STATE_CHOICES = [
    ("", _("Any")),
    ("breached", _("Breached")),
    ("at_risk", _("At risk")),
    ("open", _("Running, on time")),
    ("none", _("No running clock")),
]


class QueueFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"), required=False, max_length=200, help_text=_("A reference or words.")
    )
    case_type = forms.ChoiceField(label=_("Type"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    team = forms.ChoiceField(label=_("Team"), required=False)
    assignee = forms.ChoiceField(label=_("Assigned to"), required=False)
    clock = forms.ChoiceField(label=_("Clock"), required=False, choices=CLOCK_STATE_CHOICES)
    per_page = forms.TypedChoiceField(
        label=_("Cases per page"), required=False, coerce=int, choices=[(25, "25"), (50, "50"), (100, "100")]
    )
    waiting = forms.BooleanField(
        label=_("Only requests waiting for the requester to confirm their e-mail address"), required=False
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["case_type"].choices = [("", _("Any")), *CaseType.choices]
        self.fields["status"].choices = [
            ("", _("Open")),
            *STAFF_STATUS_NAMES.items(),
            ("all", _("Any, closed included")),
        ]
        teams = list(selectors.teams_of(user=user))
        self.fields["team"].choices = [("", _("Any of mine"))] + [(team.slug, team.name) for team in teams]
        colleagues = selectors.colleagues_of(user=user)
        self.fields["assignee"].choices = [
            ("", _("Anyone")),
            ("me", _("Me")),
            ("none", _("No one")),
        ] + [(str(handler.pk), handler.get_full_name() or handler.get_username()) for handler in colleagues]

    def selection(self) -> dict | None:
        """The selector's arguments, or None when a filter is not one the form offers."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        return {
            "text": data.get("q", ""),
            "case_type": data.get("case_type", ""),
            "status": data.get("status", ""),
            "team": data.get("team", ""),
            "assignee": data.get("assignee", ""),
            "clock_state": data.get("clock", ""),
            "waiting": bool(data.get("waiting")),
        }


def _staff_text_field(label) -> forms.CharField:
    return forms.CharField(label=label, widget=forms.Textarea(attrs={"rows": 5}), max_length=20000)


class ReplyForm(forms.Form):
    prefix = "reply"  # the case page holds every form: ids stay unique

    body = _staff_text_field(_("Reply to the reporter"))
    is_answer = forms.BooleanField(
        label=_("This reply is the answer (meets the answer clock)"), required=False
    )
    is_feedback = forms.BooleanField(
        label=_("This reply is the feedback on the follow-up (meets the feedback clock)"), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attachments"] = attachments_field()


class NoteForm(forms.Form):
    prefix = "note"  # the case page holds every form: ids stay unique

    body = _staff_text_field(_("Internal note (the reporter never sees it)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attachments"] = attachments_field()


class HandlerField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.get_username()


class AssignForm(forms.Form):
    prefix = "assign"  # the case page holds every form: ids stay unique

    assignee = HandlerField(label=_("Assign to"), queryset=None, required=False, empty_label=_("No one"))

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = selectors.handlers_of_case(case=case)


class StatusForm(forms.Form):
    prefix = "status"  # the case page holds every form: ids stay unique

    status = forms.ChoiceField(label=_("Status"), choices=list(STAFF_STATUS_NAMES.items()))
    outcome = forms.ChoiceField(
        label=_("Outcome (when closing)"), required=False, choices=[("", "—"), *CaseOutcome.choices]
    )
    expected_status = forms.CharField(widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("status") == CaseStatus.CLOSED and not cleaned.get("outcome"):
            self.add_error("outcome", _("Choose the outcome the case is closed with."))
        return cleaned


class ReclassifyForm(forms.Form):
    prefix = "reclassify"  # the case page holds every form: ids stay unique

    case_type = forms.ChoiceField(label=_("Type"), choices=CaseType.choices)


class TriageForm(forms.Form):
    prefix = "triage"  # the case page holds every form: ids stay unique

    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices)
    note = _staff_text_field(_("What was found"))


class AddClockForm(forms.Form):
    prefix = "clock"  # the case page holds every form: ids stay unique

    kind = forms.ChoiceField(label=_("Clock"), choices=ClockKind.choices)
    starts_at = forms.DateTimeField(
        label=_("Runs from (the moment of awareness)"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )


class ExtendForm(forms.Form):
    prefix = "extend"  # the case page holds every form: ids stay unique

    reason = _staff_text_field(_("Why more time is needed (the requester reads it)"))


class PostponeDeletionForm(forms.Form):
    prefix = "postpone"  # the case page holds every form: ids stay unique

    until = forms.DateField(label=_("Keep until"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = _staff_text_field(_("Why the case must be kept longer"))


class ProvenIdentityForm(forms.Form):
    prefix = "identity"  # the case page holds every form: ids stay unique

    kind = forms.ChoiceField(label=_("Kind"), choices=IdentityKind.choices, widget=forms.RadioSelect)
    value = forms.CharField(label=_("Address or number"), max_length=254)
    how_proven = _staff_text_field(_("How the requester proved it"))


class CollectForm(forms.Form):
    """Collecting asks for nothing but the press of a button (and the form's CSRF token)."""

    prefix = "collect"


class EraseForm(forms.Form):
    prefix = "erase"

    confirmed = forms.BooleanField(
        label=_(
            "The requester asked for erasure and proved who they are; erase what the registry finds for "
            "them (it cannot be undone)"
        )
    )


class ObjectionForm(forms.Form):
    prefix = "objection"

    confirmed = forms.BooleanField(
        label=_(
            "The requester objects to direct marketing: withdraw their marketing consents, erase them as a prospect, and add their address to the suppression list"
        )
    )


class RectifyForm(forms.Form):
    prefix = "rectify"

    register = forms.CharField(widget=forms.HiddenInput, max_length=100)
    record_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    field = forms.CharField(label=_("Field"), max_length=100)
    value = forms.CharField(label=_("Correct value"), max_length=20000, required=False)


class RestrictForm(forms.Form):
    prefix = "restrict"

    register = forms.CharField(widget=forms.HiddenInput, max_length=100)
    record_key = forms.CharField(widget=forms.HiddenInput, max_length=64)


class WithholdForm(forms.Form):
    prefix = "withhold"

    register = forms.CharField(widget=forms.HiddenInput, max_length=100)
    record_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    reason = forms.CharField(
        label=_("Why the requester may not have it (they are told)"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ExcludeHandlerForm(forms.Form):
    prefix = "exclude"  # the case page holds every form: ids stay unique

    handler = HandlerField(label=_("Handler"), queryset=None)
    reason = _staff_text_field(_("The conflict of interest"))

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["handler"].queryset = selectors.handlers_of_case(case=case)


PERIOD_CHOICES = [
    (PeriodKind.MONTH.value, _("Month")),
    (PeriodKind.QUARTER.value, _("Quarter")),
    (PeriodKind.YEAR.value, _("Year")),
    (PeriodKind.CUSTOM.value, _("Custom range")),
]


# Days a period can be made of; others are refused with Django's own (translated) words.
DAY_RANGE = [
    MinValueValidator(report_periods.EARLIEST_DAY),
    MaxValueValidator(report_periods.LATEST_DAY),
]


class DashboardFilterForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"), choices=PERIOD_CHOICES)
    day = forms.DateField(
        label=_("Containing the day"),
        required=False,
        help_text=_("For a month, a quarter or a year; today if left empty."),
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=DAY_RANGE,
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}), validators=DAY_RANGE
    )
    date_to = forms.DateField(
        label=_("To (included)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=DAY_RANGE,
    )
    team = forms.ChoiceField(label=_("Team"), required=False)

    def __init__(self, *args, user, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        teams = list(selectors.teams_of(user=user))
        team_field = self.fields["team"]
        assert isinstance(team_field, forms.ChoiceField)
        team_field.choices = [("", _("All of mine"))] + [(team.slug, team.name) for team in teams]

    def clean(self):
        data = super().clean()
        kind = data.get("period")
        if not kind:
            return data
        if kind != PeriodKind.CUSTOM.value:
            data["report_period"] = report_periods.period_containing(
                PeriodKind(kind), data.get("day") or self.today
            )
            return data
        first, last = data.get("date_from"), data.get("date_to")
        if first is None or last is None:
            for name, value in (("date_from", first), ("date_to", last)):
                if value is None and name not in self.errors:
                    self.add_error(name, _("A custom range needs its first and its last day."))
            return data
        if last < first:
            self.add_error("date_to", _("The range cannot end before it starts."))
        elif last - first > report_periods.LONGEST_CUSTOM_RANGE:
            self.add_error("date_to", _("A custom range is at most five years long."))
        else:
            data["report_period"] = report_periods.custom_range(first, last)
        return data
