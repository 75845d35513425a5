"""The stand-in consent state in the admin (the consent ledger replaces it in its own issue).

Staff record a give or a withdrawal here; a withdrawal purges at once what that consent kept
(retention.services.consent_withdrawn), once the change is committed.
"""

from functools import partial
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.utils.translation import gettext_lazy as _

from registers.registry import normalise_email
from retention import services as retention_services

from . import selectors, services
from .models import ConsentEvent, ConsentPurpose, ConsentState, PurposeVersion, PurposeWording


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


class WordingInline(admin.StackedInline):
    model = PurposeWording
    extra = 4
    max_num = len(settings.LANGUAGES)
    fields = ["language", "title", "text"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None  # a published version's wording never changes

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PurposeVersion)
class PurposeVersionAdmin(admin.ModelAdmin):
    """Publishing a version: its wording in the languages it is offered in. Published versions
    are read only; a change of wording is a new version (services.publish_version)."""

    inlines = [WordingInline]
    list_display = ["purpose", "number", "published_at", "languages"]
    list_filter = ["purpose"]
    fields = ["purpose", "number", "published_at"]
    readonly_fields = ["number", "published_at"]

    @admin.display(description=_("languages"))
    def languages(self, version: PurposeVersion) -> str:
        return ", ".join(version.wordings.values_list("language", flat=True))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: PurposeVersion, form: Any, change: bool) -> None:
        if not change:
            obj.number = services.next_version_number(purpose=obj.purpose)
        super().save_model(request, obj, form, change)


class VersionInline(admin.TabularInline):
    model = PurposeVersion
    fields = ["number", "published_at"]
    readonly_fields = ["number", "published_at"]
    extra = 0
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ConsentPurpose)
class ConsentPurposeAdmin(admin.ModelAdmin):
    list_display = ["slug", "current_version", "offered_in", "new_versions_need_fresh_consent"]
    fields = ["slug", "new_versions_need_fresh_consent"]
    inlines = [VersionInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["slug"] if obj else []

    @admin.display(description=_("current version"))
    def current_version(self, purpose: ConsentPurpose) -> str:
        version = selectors.current_version(purpose=purpose)
        return str(version.number) if version else "-"

    @admin.display(description=_("offered in"))
    def offered_in(self, purpose: ConsentPurpose) -> str:
        return ", ".join(sorted(selectors.offered_languages(purpose=purpose))) or "-"

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ConsentEvent)
class ConsentEventAdmin(admin.ModelAdmin):
    """The ledger, read only; "Verify the chain" checks every link and names the first broken one."""

    list_display = ["id", "subject", "purpose", "version", "action", "channel", "occurred_at"]
    list_filter = ["purpose", "action", "channel"]
    search_fields = ["subject__id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self):
        verify = path("verify/", self.admin_site.admin_view(self.verify_view), name="consent_verify_chain")
        return [verify, *super().get_urls()]

    def verify_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        broken = selectors.first_broken_link()
        if broken is None:
            self.message_user(request, _("The chain holds: no event was changed, removed or reordered."))
        else:
            self.message_user(
                request,
                _("The chain is broken at event %(id)s: it or an event before it was changed.")
                % {"id": broken},
                level=messages.ERROR,
            )
        return redirect("admin:consent_consentevent_changelist")
