from django.contrib import admin

from .models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "subject", "attempts", "sent_at", "last_error"]
    list_filter = ["sent_at"]
    readonly_fields = ["created_at", "recipient", "subject", "body", "attempts", "last_error", "sent_at"]

    def has_add_permission(self, request):
        return False
