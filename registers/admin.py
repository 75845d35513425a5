"""The registers in the admin: search, filters, and CSV/XLSX import and export (registers.resources).

An import is all or nothing: the dry run refuses a file with a bad row, naming its line, and the
import that follows a confirmation runs in one transaction that is rolled back, and says so, if
any row fails then. A register's file is linked to the access-checked download
(registers.views), never to a storage URL; the admin's list never shows who a row is in its
`__str__`, only in its columns.
"""

from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminFileWidget
from django.db.models import Count, Model
from django.template.response import TemplateResponse
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin

from . import erasure_log, models, registry, resources
from .marks import visible_records
from .views import file_download_name, file_url


@dataclass(frozen=True)
class LinkedFile:
    """What the file widget shows for a stored file: a link and a name (the widget's template
    reads `url` and prints the object)."""

    url: str
    name: str

    def __str__(self) -> str:
        return self.name


class RegisterFileWidget(AdminFileWidget):
    """The admin's file input, linking a stored file to the staff download."""

    def __init__(self, *, download_url: str | None, download_name: str = "", attrs=None):
        super().__init__(attrs)
        self.download_url = download_url
        self.download_name = download_name

    def is_initial(self, value) -> bool:
        return bool(value) and self.download_url is not None

    def format_value(self, value):
        if self.is_initial(value) and self.download_url is not None:
            return LinkedFile(url=self.download_url, name=self.download_name)
        return None


class RegisterAdmin(ImportExportModelAdmin):
    formats = resources.FORMATS
    import_template_name = "registers/admin/import.html"
    list_select_related: tuple[str, ...] = ("legal_entity",)
    list_per_page = 50
    show_full_result_count = False

    def get_queryset(self, request):
        # Records kept restricted after an erasure: the privacy team's alone (art. 18(2)); the
        # export of the list reads this queryset too.
        return visible_records(super().get_queryset(request), user=request.user)

    def file_fields(self) -> tuple[str, ...]:
        declaration = registry.declaration_for(self.model)
        return declaration.file_fields if declaration else ()

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        if any(field.name == "anonymised_at" for field in self.model._meta.fields):
            readonly += ("anonymised_at",)
        return readonly

    def get_list_display(self, request):
        listed = tuple(super().get_list_display(request))
        return listed + ("files",) if self.file_fields() else listed

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        for name in self.file_fields():
            if name not in form.base_fields:
                continue
            stored = obj is not None and bool(getattr(obj, name))
            form.base_fields[name].widget = RegisterFileWidget(
                download_url=file_url(obj, name) if obj is not None and stored else None,
                download_name=file_download_name(obj, name) if obj is not None and stored else "",
            )
        return form

    @admin.display(description=_("files"))
    def files(self, record: Model) -> str:
        present = [name for name in self.file_fields() if getattr(record, name)]
        if not present:
            return "-"
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (file_url(record, name), getattr(record._meta.get_field(name), "verbose_name", name))
                for name in present
            ),
        )

    # Import: the whole file or nothing.

    def get_import_data_kwargs(self, **kwargs):
        kwargs = super().get_import_data_kwargs(**kwargs)
        # A row that fails validation rolls back the whole import, not only itself.
        kwargs["rollback_on_validation_errors"] = True
        return kwargs

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, resources.UnreadableFile):
            form.add_error("import_file", str(e))  # written for the person importing; names the line
        else:
            super().add_data_read_fail_error_to_form(form, e)

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            # The confirmed import met a row that the dry run passed (the data changed in
            # between): it was rolled back; show why, as the dry run would have.
            context = self.get_import_context_data()
            context.update(self.admin_site.each_context(request))
            form_class = self.get_import_form_class(request)
            context.update(
                {
                    "title": _("Import"),
                    "form": form_class(self.get_import_formats(), self.get_import_resource_classes(request)),
                    "opts": self.model._meta,
                    "result": result,
                    "import_error_display": self.import_error_display,
                    "fields_list": [],
                }
            )
            request.current_app = self.admin_site.name
            return TemplateResponse(request, [self.import_template_name], context, status=400)
        return super().process_result(result, request)


PERSON_SEARCH = ("full_name", "email", "phone")


@admin.register(models.LegalEntity)
class LegalEntityAdmin(RegisterAdmin):
    resource_classes = [resources.LegalEntityResource]
    list_display = ("name", "country", "organisation_number")
    list_filter = ("country",)
    search_fields = ("name", "organisation_number")
    list_select_related = ()


class EventParticipantInline(admin.TabularInline):
    model = models.EventParticipant
    fields = ("full_name", "email", "phone", "organisation", "legal_entity", "created_at")
    extra = 0
    show_change_link = True


@admin.register(models.Event)
class EventAdmin(RegisterAdmin):
    resource_classes = [resources.EventResource]
    list_display = ("title", "starts_on", "ends_on", "legal_entity", "participant_count")
    list_filter = ("legal_entity", "starts_on", "ends_on")
    search_fields = ("title",)
    date_hierarchy = "starts_on"
    inlines = [EventParticipantInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(participant_count=Count("participants"))

    @admin.display(description=_("participants"), ordering="participant_count")
    def participant_count(self, event) -> int:
        return event.participant_count


@admin.register(models.EventParticipant)
class EventParticipantAdmin(RegisterAdmin):
    resource_classes = [resources.EventParticipantResource]
    list_display = ("full_name", "email", "organisation", "event", "legal_entity", "created_at")
    list_filter = ("legal_entity", "event", "event__ends_on", "created_at")
    search_fields = (*PERSON_SEARCH, "organisation", "event__title")
    date_hierarchy = "created_at"
    list_select_related = ("event", "legal_entity")
    raw_id_fields = ("event",)


@admin.register(models.Lead)
class LeadAdmin(RegisterAdmin):
    resource_classes = [resources.LeadResource]
    list_display = ("full_name", "email", "company", "job_title", "legal_entity", "created_at")
    list_filter = ("legal_entity", "created_at")
    search_fields = (*PERSON_SEARCH, "company", "source")
    date_hierarchy = "created_at"


@admin.register(models.Inquiry)
class InquiryAdmin(RegisterAdmin):
    resource_classes = [resources.InquiryResource]
    list_display = ("full_name", "email", "company", "legal_entity", "created_at", "answered_at")
    list_filter = ("legal_entity", "created_at", "answered_at")
    search_fields = (*PERSON_SEARCH, "company", "question")
    date_hierarchy = "created_at"


class BusinessContactAdmin(RegisterAdmin):
    list_display = (
        "full_name",
        "email",
        "company",
        "role",
        "legal_entity",
        "relationship_ended_on",
        "anonymised_at",
    )
    list_filter = ("legal_entity", "relationship_ended_on", ("anonymised_at", admin.EmptyFieldListFilter))
    search_fields = (*PERSON_SEARCH, "company", "role")
    date_hierarchy = "created_at"


@admin.register(models.CustomerContact)
class CustomerContactAdmin(BusinessContactAdmin):
    resource_classes = [resources.CustomerContactResource]


@admin.register(models.SupplierContact)
class SupplierContactAdmin(BusinessContactAdmin):
    resource_classes = [resources.SupplierContactResource]


@admin.register(models.JobApplication)
class JobApplicationAdmin(RegisterAdmin):
    resource_classes = [resources.JobApplicationResource]
    list_display = ("full_name", "email", "position", "legal_entity", "created_at", "process_closed_on")
    list_filter = ("legal_entity", "process_closed_on", "created_at")
    search_fields = (*PERSON_SEARCH, "position")
    date_hierarchy = "created_at"


@admin.register(models.RecruitmentEntry)
class RecruitmentEntryAdmin(RegisterAdmin):
    resource_classes = [resources.RecruitmentEntryResource]
    list_display = ("full_name", "email", "legal_entity", "created_at")
    list_filter = ("legal_entity", "created_at")
    search_fields = (*PERSON_SEARCH, "skills")
    date_hierarchy = "created_at"


@admin.register(models.AccountingRecord)
class AccountingRecordAdmin(RegisterAdmin):
    resource_classes = [resources.AccountingRecordResource]
    list_display = (
        "voucher_number",
        "fiscal_year_end",
        "amount",
        "full_name",
        "email",
        "legal_entity",
    )
    list_filter = ("legal_entity", "legal_entity__country", "fiscal_year_end")
    search_fields = (*PERSON_SEARCH, "voucher_number", "description")
    date_hierarchy = "fiscal_year_end"


@admin.register(models.VisitorRegistration)
class VisitorRegistrationAdmin(RegisterAdmin):
    resource_classes = [resources.VisitorRegistrationResource]
    list_display = ("full_name", "email", "company", "host_name", "legal_entity", "visited_at")
    list_filter = ("legal_entity", "visited_at")
    search_fields = (*PERSON_SEARCH, "company", "host_name")
    date_hierarchy = "visited_at"


# --- What erasures and objections leave (issue 13) --------------------------------------------------


@admin.register(models.RegisterRecipient)
class RegisterRecipientAdmin(admin.ModelAdmin):
    """Who receives each register's data: told of erasures and rectifications (art. 19)."""

    list_display = ["register", "name", "email"]
    list_filter = ["register"]
    search_fields = ["name"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "register":
            choices = [
                (declaration.label, declaration.verbose_name_plural)
                for declaration in registry.declarations()
            ] + [(register.label, register.name) for register in models.ExternalRegister.objects.all()]
            return forms.ChoiceField(choices=choices, label=db_field.verbose_name)
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class LiftOnlyAdmin(admin.ModelAdmin):
    """Made by erasures and objections, never by hand; deleting one lifts it."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.Restriction)
class RestrictionAdmin(LiftOnlyAdmin):
    list_display = ["record_type", "record_id", "reason", "created_at"]
    list_filter = ["record_type"]


class LoggedLiftAdmin(LiftOnlyAdmin):
    """A lift is written to the erasure log's file too, so that a restored backup is not made to
    hold the hash again (registers.erasure_log)."""

    log_kind = ""

    def delete_model(self, request, obj):
        erasure_log.record(kind=self.log_kind, digests=[obj.digest], lifted=True)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        erasure_log.record(
            kind=self.log_kind, digests=list(queryset.values_list("digest", flat=True)), lifted=True
        )
        super().delete_queryset(request, queryset)


@admin.register(models.SuppressedAddress)
class SuppressedAddressAdmin(LoggedLiftAdmin):
    list_display = ["digest", "why", "created_at"]
    list_filter = ["why"]
    log_kind = erasure_log.SUPPRESSED


@admin.register(models.ErasedIdentity)
class ErasedIdentityAdmin(LoggedLiftAdmin):
    list_display = ["digest", "case_reference", "erased_at"]
    search_fields = ["case_reference"]
    log_kind = erasure_log.ERASED


@admin.register(models.ExternalRegister)
class ExternalRegisterAdmin(admin.ModelAdmin):
    """Registers kept in other databases (registers.external): declared here, their connection's
    URL in the environment variable named, never in this database."""

    list_display = ["name", "table", "category", "erasure", "enabled"]
    list_filter = ["enabled", "erasure"]
    actions = ["check_connection"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "connection_variable",
                    "table",
                    "key_column",
                    "email_column",
                    "clock_column",
                    "category",
                    "exported_columns",
                    "erasure",
                    "anonymise",
                    "enabled",
                ]
            },
        ),
        (
            _("What people are told about it (the record of processing, access exports)"),
            {"fields": ["purpose", "legal_basis", "data_subjects", "source", "recipients", "transfers"]},
        ),
    ]

    @admin.action(description=_("Check the connection, the table and its columns"), permissions=["change"])
    def check_connection(self, request, queryset):
        from . import external

        for register in queryset:
            try:
                rows = external.check(register)
            except external.Unavailable as error:
                self.message_user(
                    request,
                    _("%(register)s could not be reached: %(error)s")
                    % {"register": register, "error": error},
                    messages.ERROR,
                )
            else:
                self.message_user(
                    request, _("%(register)s answers: %(rows)s rows.") % {"register": register, "rows": rows}
                )
