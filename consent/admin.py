"""Consent in the admin: purposes and their published versions, the ledger (read only, with its
chain verified), the current state (read only: it is derived from the ledger), a page on which
staff record a give or a withdrawal a person asked for (channel "staff"), the cookie inventory
and the consent API's clients."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from registers.registry import normalise_email

from . import selectors, services
from .models import (
    Channel,
    ConsentAction,
    ConsentEvent,
    ConsentPurpose,
    ConsentState,
    PurposeVersion,
    PurposeWording,
)


class RecordConsentForm(forms.Form):
    email = forms.EmailField(label=_("e-mail"))
    purpose = forms.ModelChoiceField(queryset=ConsentPurpose.objects.all(), label=_("purpose"))
    action = forms.ChoiceField(choices=ConsentAction.choices, label=_("action"))


@admin.register(ConsentState)
class ConsentStateAdmin(admin.ModelAdmin):
    """The current state, found by the subject's address; changed only by recording an event."""

    list_display = ["subject", "purpose", "version", "given_at", "withdrawn_at"]
    list_filter = ["purpose"]
    list_select_related = ["subject", "purpose", "version"]
    search_fields = ["subject__email"]
    date_hierarchy = "given_at"

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str) -> Any:
        return super().get_search_results(request, queryset, normalise_email(search_term))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self):
        record = path("record/", self.admin_site.admin_view(self.record_view), name="consent_record")
        return [record, *super().get_urls()]

    def record_view(self, request: HttpRequest) -> HttpResponse:
        """Records, for a person who asked staff, a give or a withdrawal under the purpose's current
        wording, with the staff member as the actor."""
        if not request.user.has_perm("consent.add_consentevent"):
            raise PermissionDenied
        form = RecordConsentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.record_consent(
                    email=form.cleaned_data["email"],
                    purpose=form.cleaned_data["purpose"],
                    action=form.cleaned_data["action"],
                    channel=Channel.STAFF,
                    actor=request.user,
                )
            except services.NoWording:
                form.add_error("purpose", gettext("This purpose has no published wording to agree to."))
            else:
                self.message_user(request, gettext("The consent was recorded in the ledger."))
                return redirect("admin:consent_consentstate_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Record a consent"),
            "form": form,
        }
        return TemplateResponse(request, "admin/consent/record.html", context)


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
