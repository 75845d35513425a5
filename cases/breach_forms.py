"""The breach panel's forms and the breach register's filters. They check the shape of what was
typed; the rules (reasons required, the 72-hour clock) are the services' (cases/services.py)."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import Authority, BreachDecision, SubjectsInformed
from .selectors import PENDING

ANY = [("", _("Any"))]


def _text(label, help_text=""):
    return forms.CharField(
        label=label,
        help_text=help_text,
        required=False,
        max_length=settings.TRUSTCENTER_MAX_MESSAGE_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class _PanelForm(forms.Form):
    # The case page shows several forms at once: ids of their own keep each label with its field.
    id_prefix = "breach"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"id_{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class BreachFactsForm(_PanelForm):
    id_prefix = "breach_facts"

    nature = _text(
        _("What happened"), _("The nature of the breach: what was lost, changed, seen or sent, and how.")
    )
    data_categories = _text(_("Categories of personal data"))
    subjects_affected = forms.IntegerField(
        label=_("Data subjects affected (approx.)"),
        required=False,
        min_value=0,
        help_text=_("Leave it empty while it is not known."),
    )
    effects = _text(_("Likely consequences"))
    remedial_action = _text(
        _("Measures taken"), _("What was done to address the breach and to limit its effects.")
    )


class BreachDecisionForm(_PanelForm):
    id_prefix = "breach_decision"

    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            (choice.value, choice.label) for choice in (BreachDecision.NOTIFY, BreachDecision.NOT_NOTIFY)
        ],
        widget=forms.RadioSelect,
    )
    reasons_not_to_notify = _text(
        _("Why it is unlikely to result in a risk"),
        _("Required when the authority is not notified (art. 33(1)); recording it meets the 72-hour clock."),
    )


class BreachNotificationForm(_PanelForm):
    id_prefix = "breach_notification"

    authority = forms.ChoiceField(label=_("Supervisory authority"), choices=Authority.choices)
    notified_at = forms.DateTimeField(
        label=_("Notified at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("The moment the notification was sent, in the site's time zone."),
    )
    authority_reference = forms.CharField(
        label=_("The authority's reference"), required=False, max_length=100
    )
    summary = _text(
        _("What was notified"), _("A later phase gives the facts that were not known before (art. 33(4)).")
    )
    delay_reasons = _text(
        _("Reasons for the delay"),
        _("Required when the first notification comes more than 72 hours after awareness (art. 33(1))."),
    )


class BreachSubjectsForm(_PanelForm):
    id_prefix = "breach_subjects"

    informed = forms.ChoiceField(
        label=_("Were the data subjects told?"),
        choices=[
            (choice.value, choice.label)
            for choice in (SubjectsInformed.INFORMED, SubjectsInformed.NOT_INFORMED)
        ],
        widget=forms.RadioSelect,
    )
    reason = _text(
        _("Why they were not told"),
        _("Required when they were not told: the risk to them is not high, or art. 34(3) applies."),
    )


class BreachRegisterFilterForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        required=False,
        choices=ANY + [(value or PENDING, label) for value, label in BreachDecision.choices],
    )
    notified = forms.ChoiceField(
        label=_("Authority notified"),
        required=False,
        choices=ANY + [("yes", _("Notified")), ("no", _("Not notified"))],
    )
    subjects_informed = forms.ChoiceField(
        label=_("Data subjects told"),
        required=False,
        choices=ANY + [(value or PENDING, label) for value, label in SubjectsInformed.choices],
    )
    year = forms.IntegerField(label=_("Year of awareness"), required=False, min_value=2000, max_value=9999)
    text = forms.CharField(label=_("Words in what happened"), required=False, max_length=200)
