"""The stand-in consent state in the admin (the consent ledger replaces it in its own issue).

Staff record a give or a withdrawal here; a withdrawal purges at once what that consent kept
(retention.services.consent_withdrawn), once the change is committed.
"""

from functools import partial
from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest

from registers.registry import normalise_email
from retention import services as retention_services

from .models import ConsentState


class ConsentStateForm(forms.ModelForm):
    class Meta:
        model = ConsentState
        fields = ["email", "purpose", "given_at", "withdrawn_at"]

    def clean_email(self) -> str:
        # Before the uniqueness check, so that "Kari@Example.com " is found to be kari@example.com.
        return normalise_email(self.cleaned_data["email"])


@admin.register(ConsentState)
class ConsentStateAdmin(admin.ModelAdmin):
    form = ConsentStateForm
    list_display = ["email", "purpose", "given_at", "withdrawn_at"]
    list_filter = ["purpose"]
    search_fields = ["email"]
    date_hierarchy = "given_at"

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str) -> Any:
        return super().get_search_results(request, queryset, normalise_email(search_term))

    def save_model(self, request: HttpRequest, obj: ConsentState, form: Any, change: bool) -> None:
        obj.email = normalise_email(obj.email)
        was_withdrawn = (
            ConsentState.objects.filter(pk=obj.pk, withdrawn_at__isnull=False).exists() if obj.pk else False
        )
        super().save_model(request, obj, form, change)
        if obj.withdrawn_at is not None and not was_withdrawn:
            transaction.on_commit(
                partial(retention_services.consent_withdrawn, email=obj.email, purpose=obj.purpose)
            )
