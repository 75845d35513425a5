"""The API's input and output shapes. Input serializers check the shape of what is sent; the rules
are the services' (cases/services.py), whose errors come back by field (cases/api/exceptions.py)."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.models import (
    Attachment,
    Breach,
    BreachDecision,
    BreachNotification,
    Case,
    CaseClock,
    CaseMessage,
    CaseOutcome,
    CaseStatus,
    CaseType,
)
from cases.selectors import CLOCK_FILTERS

# --- Output --------------------------------------------------------------------------------------


class ClockSerializer(serializers.ModelSerializer):
    class Meta:
        model = CaseClock
        fields = [
            "id",
            "kind",
            "starts_at",
            "due_at",
            "at_risk_at",
            "met_at",
            "met_action",
            "first_due_at",
            "extended_at",
            "extension_reason",
        ]


class HandlerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()

    def to_representation(self, instance):
        return {"id": instance.pk, "name": instance.get_full_name() or instance.get_username()}


class CaseSummarySerializer(serializers.ModelSerializer):
    """A row of the queue."""

    assignee = HandlerSerializer(allow_null=True, read_only=True)
    team = serializers.SerializerMethodField()
    waiting_for_requester = serializers.BooleanField(source="needs_email_confirmation", read_only=True)

    class Meta:
        model = Case
        fields = [
            "id",
            "reference",
            "case_type",
            "status",
            "outcome",
            "language",
            "is_anonymous",
            "received_at",
            "closed_at",
            "next_due_at",
            "assignee",
            "team",
            "waiting_for_requester",
        ]

    def get_team(self, case: Case) -> str:
        return self.context.get("team_names", {}).get(case.case_type, "")


class CaseSerializer(CaseSummarySerializer):
    """A case, as its page shows it: the report's answers and who sent it (unless anonymous)."""

    clocks = serializers.SerializerMethodField()

    class Meta(CaseSummarySerializer.Meta):
        fields = [
            *CaseSummarySerializer.Meta.fields,
            "severity",
            "subject_right",
            "details",
            "reporter_name",
            "reporter_email",
            "clocks",
        ]

    @extend_schema_field(ClockSerializer(many=True))
    def get_clocks(self, case: Case) -> list:
        clocks = case.clocks.filter(dropped_at__isnull=True).order_by("due_at", "pk")
        return list(ClockSerializer(clocks, many=True).data)


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ["id", "original_name", "content_type", "size", "metadata_removed"]


class MessageSerializer(serializers.ModelSerializer):
    staff_user = HandlerSerializer(allow_null=True, read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = CaseMessage
        fields = [
            "id",
            "author",
            "staff_user",
            "body",
            "created_at",
            "is_internal",
            "is_answer",
            "is_feedback",
            "attachments",
        ]


class BreachNotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = BreachNotification
        fields = ["authority", "notified_at", "authority_reference", "summary", "delay_reasons"]


class BreachSerializer(serializers.ModelSerializer):
    case = serializers.IntegerField(source="case_id", read_only=True)
    reference = serializers.CharField(source="case.reference", read_only=True)
    notifications = BreachNotificationSerializer(many=True, read_only=True)

    class Meta:
        model = Breach
        fields = [
            "case",
            "reference",
            "aware_at",
            "nature",
            "data_categories",
            "subjects_affected",
            "effects",
            "remedial_action",
            "decision",
            "reasons_not_to_notify",
            "decided_at",
            "subjects_informed",
            "subjects_not_informed_reason",
            "notifications",
        ]


class TypeFiguresSerializer(serializers.Serializer):
    case_type = serializers.ChoiceField(choices=CaseType.choices)
    received = serializers.IntegerField()
    closed = serializers.IntegerField()
    met_on_time = serializers.IntegerField()
    met_late = serializers.IntegerField()
    breached = serializers.IntegerField()
    answers = serializers.IntegerField()
    median_days = serializers.FloatField(allow_null=True)
    p90_days = serializers.FloatField(allow_null=True)
    open_states = serializers.DictField(child=serializers.IntegerField())


class DashboardSerializer(serializers.Serializer):
    first_day = serializers.DateField()
    last_day = serializers.DateField()
    team = serializers.CharField(help_text=_("The team's short name; empty for all of the caller's teams."))
    by_type = TypeFiguresSerializer(many=True)
    open_totals = serializers.DictField(child=serializers.IntegerField())
    rights = serializers.DictField(
        child=serializers.IntegerField(),
        allow_null=True,
        help_text=_("Data-subject requests received by right; null when the caller sees none."),
    )


# --- Input ---------------------------------------------------------------------------------------


class TextField(serializers.CharField):
    """Text, and only text: DRF's CharField would take a number or a boolean for its string."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def _staff_text(label):
    return TextField(label=label, max_length=settings.TRUSTCENTER_MAX_MESSAGE_CHARS)


class ReplyInput(serializers.Serializer):
    body = _staff_text(_("Reply to the reporter"))
    is_answer = serializers.BooleanField(default=False)
    is_feedback = serializers.BooleanField(default=False)


class NoteInput(serializers.Serializer):
    body = _staff_text(_("Internal note (the reporter never sees it)"))


class StatusInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=CaseStatus.choices)
    outcome = serializers.ChoiceField(
        choices=CaseOutcome.choices, required=False, allow_blank=True, default=""
    )
    expected_status = serializers.ChoiceField(
        choices=CaseStatus.choices,
        required=False,
        help_text=_("The status the case had when it was read: a change made since is refused (409)."),
    )


class AssignInput(serializers.Serializer):
    assignee = serializers.IntegerField(allow_null=True, help_text=_("A handler's id, or null for no one."))


class ReclassifyInput(serializers.Serializer):
    case_type = serializers.ChoiceField(choices=CaseType.choices)


class ExtensionInput(serializers.Serializer):
    reason = _staff_text(_("Why more time is needed (the requester reads it)"))


class BreachDecisionInput(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=[
            (choice.value, choice.label) for choice in (BreachDecision.NOTIFY, BreachDecision.NOT_NOTIFY)
        ]
    )
    reasons_not_to_notify = TextField(
        required=False, allow_blank=True, default="", max_length=settings.TRUSTCENTER_MAX_MESSAGE_CHARS
    )


class QueueQuery(serializers.Serializer):
    """The queue's filters (the workspace's QueueFilterForm checks them, so both answer alike)."""

    q = serializers.CharField(required=False, max_length=200, help_text=_("A reference or words."))
    case_type = serializers.ChoiceField(choices=CaseType.choices, required=False)
    status = serializers.ChoiceField(
        choices=[*CaseStatus.values, "all"],
        required=False,
        help_text=_("Empty: the open cases; all: closed ones too."),
    )
    team = serializers.CharField(required=False, help_text=_("The short name of one of the caller's teams."))
    assignee = serializers.CharField(required=False, help_text=_("me, none, or a handler's id."))
    clock = serializers.ChoiceField(choices=CLOCK_FILTERS, required=False)
    waiting = serializers.BooleanField(
        required=False,
        help_text=_("Only requests waiting for the requester to confirm their e-mail address"),
    )
    per_page = serializers.ChoiceField(choices=[25, 50, 100], required=False)
    page = serializers.IntegerField(required=False, min_value=1)


class BreachQuery(serializers.Serializer):
    """The breach register's filters (its BreachRegisterFilterForm checks them)."""

    decision = serializers.ChoiceField(choices=["pending", "notify", "not_notify"], required=False)
    notified = serializers.ChoiceField(choices=["yes", "no"], required=False)
    subjects_informed = serializers.ChoiceField(
        choices=["pending", "informed", "not_informed"], required=False
    )
    year = serializers.IntegerField(required=False, min_value=2000, max_value=9999)
    text = serializers.CharField(required=False, max_length=200)
    page = serializers.IntegerField(required=False, min_value=1)


class DashboardQuery(serializers.Serializer):
    """The dashboard's period and team (its DashboardFilterForm checks them)."""

    period = serializers.ChoiceField(choices=["month", "quarter", "year", "custom"], required=False)
    day = serializers.DateField(required=False)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    team = serializers.CharField(required=False)
