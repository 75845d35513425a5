from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from registers.marks import HidesRestrictedRecords

from . import services
from .models import OutboxMessage, Team, TeamMembership


class ReadOnlyAdmin(admin.ModelAdmin):
    """Seen, never added, changed or deleted here (every app's read-only records)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


STATE_LABELS = {"pending": _("pending"), "sent": _("sent"), "given up": _("given up")}


class StateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return list(STATE_LABELS.items())

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(sent_at__isnull=True, failed_at__isnull=True)
        if self.value() == "sent":
            return queryset.filter(sent_at__isnull=False)
        if self.value() == "given up":
            return queryset.filter(sent_at__isnull=True, failed_at__isnull=False)
        return queryset


@admin.register(OutboxMessage)
class OutboxMessageAdmin(HidesRestrictedRecords, admin.ModelAdmin):
    list_display = ["created_at", "subject", "state", "attempts", "next_attempt", "concerns", "last_error"]
    list_filter = [StateFilter]
    # Not the body: a confirmation e-mail carries the code and link that prove the requester
    # controls the address, and staff must not be able to confirm it for them.
    fields = readonly_fields = (
        "created_at",
        "recipient",
        "subject",
        "concerns",
        "state",
        "attempts",
        "last_error",
        "next_attempt",
        "claimed_until",
        "sent_at",
        "failed_at",
    )
    actions = ["try_again_now"]

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("concerns_type")

    @admin.display(description=_("state"))
    def state(self, message: OutboxMessage) -> str:
        return str(STATE_LABELS[message.state])

    @admin.display(description=_("next attempt"), ordering="next_attempt_at")
    def next_attempt(self, message: OutboxMessage):
        return message.next_attempt_at if message.state == "pending" else None

    @admin.display(description=_("concerns"))
    def concerns(self, message: OutboxMessage) -> str:
        return message.concerns_label()

    @admin.action(description=_("Try again now"), permissions=["change"])
    def try_again_now(self, request, queryset):
        count = services.try_again_now(message_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request,
            ngettext(
                "%(count)d message will be tried again now.",
                "%(count)d messages will be tried again now.",
                count,
            )
            % {"count": count},
        )


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [TeamMembershipInline]
