from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from . import audit, selectors, services
from .downloads import attachment_download
from .models import Case, CaseEvent, CaseMessage, CaseType, CaseTypeRouting, ClockPolicy, ProvenIdentity


class CaseReadOnlyInline(admin.TabularInline):
    """Parts of a case, shown on its page only: whoever may view the case (it came through
    `CaseAdmin.get_queryset`, that is `visible_cases`) sees them; nobody adds or deletes them."""

    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None):
        # The right to view cases, not one of its own: the case itself came through the door.
        return request.user.has_perm(selectors.VIEW_CASES_PERMISSION)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CaseMessageInline(CaseReadOnlyInline):
    model = CaseMessage
    readonly_fields = ("created_at", "author", "body", "files")
    fields = readonly_fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("case").prefetch_related("attachments")

    @admin.display(description=_("files"))
    def files(self, message):
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (
                    reverse("admin:cases_case_attachment", args=[message.case_id, attachment.pk]),
                    attachment.original_name,
                )
                for attachment in message.attachments.all()
            ),
        )


class CaseEventInline(CaseReadOnlyInline):
    """The case's history: who changed what, and when."""

    model = CaseEvent
    readonly_fields = ("created_at", "actor", "kind", "change")
    fields = readonly_fields
    verbose_name_plural = _("history")

    @admin.display(description=_("change"))
    def change(self, event):
        return event.describe() or "-"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("case", "actor")


class ProvenIdentityInline(CaseReadOnlyInline):
    """A data-subject request's proven identities (added from the staff workspace's case page)."""

    model = ProvenIdentity
    readonly_fields = ("added_at", "added_by", "kind", "value", "how_proven")
    fields = readonly_fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("case", "added_by")


class CaseAdminForm(forms.ModelForm):
    # The status the page showed: a change is made only if it is still the case's status.
    status_read = forms.CharField(widget=forms.HiddenInput, required=False)
    reply = forms.CharField(
        label=_("Reply to the reporter"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Shown on the reporter's follow-up page. If they asked for notices, they get an e-mail "
            "saying only that there is news."
        ),
    )

    class Meta:
        model = Case
        fields = ["status"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status_read"].initial = self.instance.status

    def clean(self):
        cleaned = super().clean()
        read = cleaned.get("status_read") or self.initial.get("status")
        if "status" in self.changed_data and read != self.initial.get("status"):
            raise ValidationError(
                _(
                    'Someone changed this case\'s status to "%(status)s" after you opened it. '
                    "Check the case and choose again."
                )
                % {"status": self.instance.get_status_display()}
            )
        return cleaned


class EmailStateFilter(admin.SimpleListFilter):
    """Data-subject requests by whether the requester has confirmed the e-mail address."""

    title = _("e-mail")
    parameter_name = "email"

    def lookups(self, request, model_admin):
        return [("unconfirmed", _("unconfirmed")), ("confirmed", _("confirmed"))]

    def queryset(self, request, queryset):
        if self.value() not in ("unconfirmed", "confirmed"):
            return queryset
        return queryset.filter(
            case_type=CaseType.SUBJECT_REQUEST, email_confirmed_at__isnull=self.value() == "unconfirmed"
        )


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    """The staff minimum: content is read-only; staff change the status and reply."""

    form = CaseAdminForm
    list_display = ["reference", "case_type", "status", "received_at", "is_anonymous", "email_state"]
    list_filter = ["case_type", "status", EmailStateFilter, "is_anonymous"]
    search_fields = ["reference"]
    date_hierarchy = "received_at"
    inlines = [CaseMessageInline, CaseEventInline, ProvenIdentityInline]
    readonly_fields = [
        "reference",
        "case_type",
        "received_at",
        "closed_at",
        "language",
        "is_anonymous",
        "subject_right",
        "details_table",
        "reporter_name",
        "reporter_email",
        "wants_notices",
        "email_state",
        "content_digest",
    ]
    fieldsets = [
        (None, {"fields": ["reference", "case_type", "status", "received_at", "closed_at", "language"]}),
        (_("What was reported"), {"fields": ["subject_right", "details_table", "content_digest"]}),
        (
            _("Reporter"),
            {"fields": ["is_anonymous", "reporter_name", "reporter_email", "wants_notices", "email_state"]},
        ),
        (_("Reply"), {"fields": ["reply", "status_read"]}),
    ]

    def get_inlines(self, request, obj):
        if obj is not None and obj.case_type == CaseType.SUBJECT_REQUEST:
            return self.inlines
        return [inline for inline in self.inlines if inline is not ProvenIdentityInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return selectors.visible_cases(user=request.user)

    @admin.display(description=_("e-mail"))
    def email_state(self, case):
        if case.case_type != CaseType.SUBJECT_REQUEST:
            return "-"
        return _("confirmed") if case.email_confirmed_at else _("unconfirmed")

    @admin.display(description=_("details"))
    def details_table(self, case):
        return format_html_join("", "<div><strong>{}</strong>: {}</div>", case.details.items()) or "-"

    def save_model(self, request, obj, form, change):
        """One save is one change through the service: one notice, one history entry per change."""
        try:
            services.update_case(
                case=obj,
                actor=request.user,
                expected_status=form.initial.get("status"),
                status=form.cleaned_data["status"] if "status" in form.changed_data else None,
                reply=form.cleaned_data.get("reply", ""),
            )
        except services.StaleCase:
            messages.error(
                request, _("Someone changed this case's status at the same moment: check it again.")
            )

    def _through_the_door(self, request, object_id) -> Case:
        # Django looks the object up before it checks the permission, and answers a case it
        # cannot find with a redirect that says it was deleted: the door answers first, 403.
        return selectors.access_case(
            user=request.user, case_id=int(object_id) if str(object_id).isdigit() else 0
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        case = self._through_the_door(request, object_id)
        if request.method == "GET":
            audit.record_case_view(case=case, user=request.user)
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._through_the_door(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def get_urls(self):
        return [
            path(
                "<int:case_id>/attachments/<int:attachment_id>/",
                self.admin_site.admin_view(self.attachment_view),
                name="cases_case_attachment",
            )
        ] + super().get_urls()

    def attachment_view(self, request, case_id: int, attachment_id: int):
        case = selectors.access_case(user=request.user, case_id=case_id)
        response = attachment_download(case=case, attachment_id=attachment_id, internal_too=True)
        attachment = selectors.case_attachment(case=case, attachment_id=attachment_id, internal_too=True)
        if attachment is not None:
            audit.record_attachment_download(attachment=attachment, user=request.user)
        return response


@admin.register(CaseTypeRouting)
class CaseTypeRoutingAdmin(admin.ModelAdmin):
    """Which team handles each case type; a type without a team is seen by nobody."""

    list_display = ["case_type", "team"]
    list_editable = ["team"]


@admin.register(ClockPolicy)
class ClockPolicyAdmin(admin.ModelAdmin):
    """How long each case type has to meet each of its clocks (DESIGN.md §1's defaults). A change
    applies to clocks started after it; running clocks keep the deadline they were given."""

    list_display = ["case_type", "kind", "length", "unit", "limit_length", "limit_unit", "is_active"]
    list_filter = ["case_type", "kind", "is_active"]
    fieldsets = [
        (None, {"fields": ["case_type", "kind", "is_active"]}),
        (_("Length"), {"fields": [("length", "unit"), ("limit_length", "limit_unit")]}),
        (_("Extension (art. 12(3))"), {"fields": [("extension_length", "extension_unit")]}),
        (_("At risk"), {"fields": ["at_risk_percent", "at_risk_max_hours"]}),
    ]


from . import audit_admin  # noqa: E402, F401  -- replaces auditlog's page of the log
