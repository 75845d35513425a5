from django.contrib import admin

from .models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "subject", "attempts", "sent_at", "last_error"]
    list_filter = ["sent_at"]
    # Not the body: a confirmation e-mail carries the code and link that prove the requester
    # controls the address, and staff must not be able to confirm it for them.
    fields = readonly_fields = ["created_at", "recipient", "subject", "attempts", "last_error", "sent_at"]

    def has_add_permission(self, request):
        return False
