"""The forms of the retention admin: a rule, a legal hold, and the period of a proof of deletion."""

from typing import Any

from django import forms
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from registers import registry
from registers.registry import normalise_email

from .models import Action, HoldScope, LegalHold, RetentionRule


class RetentionRuleForm(forms.ModelForm):
    class Meta:
        model = RetentionRule
        fields = [
            "category",
            "period_amount",
            "period_unit",
            "action",
            "enabled",
            "max_postponement_days",
            "basis",
        ]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        category = cleaned.get("category")
        if not category:
            return cleaned
        known = registry.categories()
        if category not in known:
            self.add_error(
                "category",
                _("No register holds records in the category “%(category)s”. Known categories: %(known)s.")
                % {"category": category, "known": ", ".join(known)},
            )
            return cleaned
        if cleaned.get("action") == Action.ANONYMISE:
            cannot = sorted(
                declaration.verbose_name_plural
                for declaration, _retention in registry.retentions_in(category)
                if not declaration.anonymise
            )
            if cannot:
                self.add_error(
                    "action",
                    _("These registers cannot be anonymised, only deleted: %(registers)s.")
                    % {"registers": ", ".join(cannot)},
                )
        return cleaned


def holdable_record_types() -> Any:
    """The kinds of record retention deletes: those a hold on one record can name."""
    models = [declaration.model for declaration in registry.declarations() if declaration.retention]
    ids = [content_type.pk for content_type in ContentType.objects.get_for_models(*models).values()]
    return ContentType.objects.filter(pk__in=ids).order_by("app_label", "model")


class LegalHoldForm(forms.ModelForm):
    """A hold on a person (by e-mail), one record (its kind and id) or a whole category."""

    category = forms.ChoiceField(label=_("category"), required=False)

    class Meta:
        model = LegalHold
        fields = ["scope", "email", "category", "record_type", "record_id", "reason", "until"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "category" in self.fields:
            category_field: Any = self.fields["category"]
            category_field.choices = [("", "---------")] + [(name, name) for name in registry.categories()]
        if "record_type" in self.fields:
            record_type: Any = self.fields["record_type"]
            record_type.queryset = holdable_record_types()
            record_type.help_text = _("For a hold on one record: its kind, and its id below.")

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        scope = cleaned.get("scope")
        if scope == HoldScope.SUBJECT:
            if not cleaned.get("email"):
                self.add_error("email", _("A hold on a person needs their e-mail address."))
            else:
                cleaned["email"] = normalise_email(cleaned["email"])
            cleaned.update(category="", record_type=None, record_id="")
        elif scope == HoldScope.CATEGORY:
            if not cleaned.get("category"):
                self.add_error("category", _("Choose the category the hold covers."))
            cleaned.update(email="", record_type=None, record_id="")
        elif scope == HoldScope.RECORD:
            record_type, record_id = cleaned.get("record_type"), (cleaned.get("record_id") or "").strip()
            if record_type is None or not record_id:
                self.add_error("record_id", _("A hold on one record needs its kind and its id."))
            elif not _record_exists(record_type, record_id):
                self.add_error(
                    "record_id",
                    _("There is no %(kind)s with the id %(id)s.")
                    % {"kind": record_type.name, "id": record_id},
                )
            cleaned.update(email="", category="", record_id=record_id)
        return cleaned


def _record_exists(record_type: ContentType, record_id: str) -> bool:
    model = record_type.model_class()
    if model is None:
        return False
    try:
        return model._default_manager.filter(pk=record_id).exists()
    except (ValueError, TypeError, ValidationError):
        return False


class ProofOfDeletionForm(forms.Form):
    first_day = forms.DateField(
        label=_("From"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Runs started on or after this day."),
    )
    last_day = forms.DateField(
        label=_("To"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Runs started on or before this day."),
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        first_day, last_day = cleaned.get("first_day"), cleaned.get("last_day")
        if first_day and last_day and first_day > last_day:
            raise ValidationError(
                _("The period ends before it starts: choose a “From” day on or before the “To” day."),
                code="reversed",
            )
        return cleaned
