"""Consent in the admin: purposes and their published versions, the ledger (read only, with its
chain verified), the current state (read only: it is derived from the ledger), a page on which
staff record a give or a withdrawal a person asked for (channel "staff"), the cookie inventory
and the consent API's clients."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from registers.marks import HidesRestrictedRecords
from registers.registry import normalise_email
from trustcenter.admin import ReadOnlyAdmin

from . import cookies, selectors, services
from .api.authentication import new_client_token
from .models import (
    Channel,
    ConsentAction,
    ConsentApiClient,
    ConsentEvent,
    ConsentPurpose,
    ConsentSeal,
    ConsentState,
    Cookie,
    CookieCategory,
    CookieSite,
    PurposeVersion,
    PurposeWording,
)


class RecordConsentForm(forms.Form):
    email = forms.EmailField(label=_("e-mail"))
    purpose = forms.ModelChoiceField(queryset=ConsentPurpose.objects.all(), label=_("purpose"))
    action = forms.ChoiceField(choices=ConsentAction.choices, label=_("action"))


@admin.register(ConsentState)
class ConsentStateAdmin(HidesRestrictedRecords, ReadOnlyAdmin):
    """The current state, found by the subject's address; changed only by recording an event."""

    list_display = ["subject", "purpose", "version", "given_at", "withdrawn_at"]
    list_filter = ["purpose"]
    list_select_related = ["subject", "purpose", "version"]
    search_fields = ["subject__email"]
    date_hierarchy = "given_at"

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str) -> Any:
        return super().get_search_results(request, queryset, normalise_email(search_term))

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
            except services.Suppressed:
                form.add_error(
                    "email",
                    gettext(
                        "This address is on the suppression list (erased, or objected to direct "
                        "marketing): it is not added again."
                    ),
                )
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
class ConsentEventAdmin(HidesRestrictedRecords, ReadOnlyAdmin):
    """The ledger, read only; "Verify the chain" checks every link and names the first broken one."""

    list_display = ["id", "subject", "purpose", "version", "action", "channel", "occurred_at"]
    list_filter = ["purpose", "action", "channel"]
    search_fields = ["subject__id"]
    readonly_fields = ["digest"]

    @admin.display(description=_("Digest"))
    def digest(self, event: ConsentEvent) -> str:
        seal = ConsentSeal.objects.filter(event=event).values_list("digest", flat=True).first()
        return seal or str(_("Not yet sealed into the chain (within a minute)."))

    def get_urls(self):
        verify = path("verify/", self.admin_site.admin_view(self.verify_view), name="consent_verify_chain")
        return [verify, *super().get_urls()]

    def verify_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        broken = selectors.first_broken_link()
        if broken is None:
            self.message_user(
                request,
                _(
                    "The chain holds: no sealed event was changed, removed or reordered. %(count)s "
                    "events are not yet sealed (within a minute)."
                )
                % {"count": selectors.unsealed_events()},
            )
        else:
            self.message_user(
                request,
                _("The chain is broken at event %(id)s: it or an event before it was changed.")
                % {"id": broken},
                level=messages.ERROR,
            )
        return redirect("admin:consent_consentevent_changelist")


# The consent API's clients (issue 12, point 9): a token per system, made here and shown once;
# the database keeps its first characters and its digest. A client is revoked, never deleted, so
# that the audit log's entries about what it recorded keep naming a client that existed.
class RevokedFilter(admin.SimpleListFilter):
    title = _("token")
    parameter_name = "token"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("active", _("In use")), ("revoked", _("Revoked"))]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ConsentApiClient)
class ConsentApiClientAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "token_prefix",
        "can_read",
        "can_record",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = [RevokedFilter, "can_read", "can_record"]
    search_fields = ["name"]
    readonly_fields = ["token_prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["name", "can_read", "can_record"]
        return ["name", "can_read", "can_record", "token_prefix", "created_at", "last_used_at", "revoked_at"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ConsentApiClient, form: Any, change: bool) -> None:
        if not change:
            text, obj.token_prefix, obj.token_digest = new_client_token()
            # For response_add, on this request alone: the token is written nowhere.
            request.consent_api_token = text  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def response_add(
        self, request: HttpRequest, obj: ConsentApiClient, post_url_continue: Any = None
    ) -> HttpResponse:
        """The token, on this answer alone (never cached); the client's page cannot show it again."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("The token of %(name)s") % {"name": obj.name},
            "client": obj,
            "token": getattr(request, "consent_api_token", ""),
        }
        response = TemplateResponse(request, "admin/consent/consentapiclient/token_created.html", context)
        add_never_cache_headers(response)
        return response

    @admin.action(description=_("Revoke the selected clients' tokens"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        revoked = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(
            request,
            ngettext("%(count)d token was revoked.", "%(count)d tokens were revoked.", revoked)
            % {"count": revoked},
        )


# Cookie consent (issue 12, point 8): the inventory of each of the group's web sites, the portal's
# included. A site's banner offers only the categories its cookies use; the portal's banner sees
# a change at once, the other sites' within the five minutes browsers keep their configuration.
class CookieSiteForm(forms.ModelForm):
    class Meta:
        model = CookieSite
        fields = ["name", "origin", "is_portal"]

    def clean_origin(self) -> str:
        origin = self.cleaned_data["origin"].strip().lower()
        if not cookies.is_origin(origin):
            raise forms.ValidationError(
                _(
                    "Write the origin as a browser sends it: scheme, host and port, no path, e.g. https://www.example.no."
                )
            )
        return origin


class CookieInline(admin.TabularInline):
    model = Cookie
    fields = ["name", "category", "purpose", "duration"]
    extra = 1

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "purpose":
            kwargs["widget"] = forms.Textarea(attrs={"rows": 2, "cols": 60})
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(CookieSite)
class CookieSiteAdmin(admin.ModelAdmin):
    form = CookieSiteForm
    inlines = [CookieInline]
    list_display = ["name", "origin", "is_portal", "cookie_count", "categories"]
    list_filter = ["is_portal", "cookies__category"]
    search_fields = ["name", "origin", "cookies__name"]

    def get_queryset(self, request: HttpRequest) -> Any:
        queryset = super().get_queryset(request)
        return queryset.annotate(cookie_count=Count("cookies")).prefetch_related("cookies")

    @admin.display(description=_("cookies"), ordering="cookie_count")
    def cookie_count(self, site: CookieSite) -> int:
        return site.cookie_count  # type: ignore[attr-defined]

    @admin.display(description=_("banner offers"))
    def categories(self, site: CookieSite) -> str:
        used = {cookie.category for cookie in site.cookies.all()} - {CookieCategory.NECESSARY}
        return ", ".join(str(label) for value, label in CookieCategory.choices if value in used) or "-"

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not (obj is not None and obj.is_portal) and super().has_delete_permission(request, obj)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        cookies.forget_portal_offer()

    def delete_model(self, request: HttpRequest, obj: CookieSite) -> None:
        super().delete_model(request, obj)
        cookies.forget_portal_offer()

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        super().delete_queryset(request, queryset.filter(is_portal=False))
        cookies.forget_portal_offer()


@admin.register(Cookie)
class CookieAdmin(admin.ModelAdmin):
    list_display = ["name", "site", "category", "duration"]
    list_filter = ["category", "site"]
    list_select_related = ["site"]
    search_fields = ["name", "purpose", "site__name", "site__origin"]
    fields = ["site", "name", "category", "purpose", "duration"]

    def save_model(self, request: HttpRequest, obj: Cookie, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        cookies.forget_portal_offer()

    def delete_model(self, request: HttpRequest, obj: Cookie) -> None:
        super().delete_model(request, obj)
        cookies.forget_portal_offer()

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        super().delete_queryset(request, queryset)
        cookies.forget_portal_offer()
