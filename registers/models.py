"""The company's personal-data registers (DESIGN.md §1, retention categories), each declared in
the registry next to itself: what it holds, when its clock starts, how a person is found in it,
and what a data subject is told about it."""

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trustcenter.files import random_file_name

from .registry import Notice, Retention, exempt, personal_data


class Country(models.TextChoices):
    NORWAY = "NO", _("Norway")
    SWEDEN = "SE", _("Sweden")
    DENMARK = "DK", _("Denmark")


class LegalEntity(models.Model):
    """A company of the group: the controller of the records it holds, whose country's law can
    set how long they are kept (accounting)."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    country = models.CharField(_("country"), max_length=2, choices=Country.choices)
    organisation_number = models.CharField(_("organisation number"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("legal entity")
        verbose_name_plural = _("legal entities")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.country})"


exempt("registers.LegalEntity", reason="A company's name and number, not a person's.")


def register_file_path(instance: models.Model, filename: str) -> str:
    """A random name under the register's folder: no person's name in a path or a log line."""
    return random_file_name(folder=f"registers/{instance._meta.model_name}", filename=filename)


ANONYMISED = Q(anonymised_at__isnull=False)
CONTACT_FIELDS = ("full_name", "email", "phone")


class PersonalRecord(models.Model):
    """What every register row has: who it is, when it was made, which company holds it, and
    whether retention has already anonymised it."""

    full_name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("e-mail"), blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    legal_entity = models.ForeignKey(
        LegalEntity,
        verbose_name=_("legal entity"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    anonymised_at = models.DateTimeField(_("anonymised"), null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        # Kind and number, never the person's name: the admin's own log keeps this text.
        return f"{self._meta.verbose_name} {self.pk}"


ANONYMOUS_CONTACT = {"full_name": "", "email": "", "phone": ""}


class Event(models.Model):
    title = models.CharField(_("title"), max_length=200)
    starts_on = models.DateField(_("starts"))
    ends_on = models.DateField(_("ends"), db_index=True)
    legal_entity = models.ForeignKey(
        LegalEntity,
        verbose_name=_("legal entity"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-starts_on"]

    def __str__(self) -> str:
        return self.title


@personal_data(
    personal_fields=(*CONTACT_FIELDS, "organisation"),
    notice=Notice(
        purpose=_("To run courses and events and tell participants about changes to them."),
        legal_basis=_("Contract (art. 6(1)(b)); kept for later events only with consent (art. 6(1)(a))."),
        data_subjects=_("Course and event participants who are not customers."),
        source=_("The participant, when registering."),
        recipients=_("The event's organisers and venue."),
    ),
    retention=(
        Retention(
            category="event_participants",
            clock="event__ends_on",
            clock_label=_("event end"),
            kept_by_consent="event_followup",
        ),
    ),
    subject_email=("email",),
    subject_phone=("phone",),
    exported=("event__title", "event__starts_on", *CONTACT_FIELDS, "organisation", "created_at"),
    erasure="delete",
)
class EventParticipant(PersonalRecord):
    event = models.ForeignKey(
        Event, verbose_name=_("event"), on_delete=models.CASCADE, related_name="participants"
    )
    organisation = models.CharField(_("organisation"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("event participant")
        verbose_name_plural = _("event participants")
        ordering = ["-created_at"]


@personal_data(
    personal_fields=(*CONTACT_FIELDS, "company", "job_title"),
    notice=Notice(
        purpose=_("To contact prospective customers about the group's services."),
        legal_basis=_("Legitimate interests in direct marketing (art. 6(1)(f)), or consent (art. 6(1)(a))."),
        data_subjects=_("Prospective customers' contact persons."),
        source=_("Public information: company registers, web sites, professional networks."),
        recipients=_("The group's sales staff; the CRM provider as processor."),
    ),
    retention=(
        Retention(
            category="leads",
            clock="created_at",
            clock_label=_("created"),
            kept_by_consent="lead_registration",
        ),
    ),
    subject_email=("email",),
    subject_phone=("phone",),
    exported=(*CONTACT_FIELDS, "company", "job_title", "source", "created_at"),
    erasure="delete",
    direct_marketing=True,
)
class Lead(PersonalRecord):
    company = models.CharField(_("company"), max_length=200, blank=True)
    job_title = models.CharField(_("job title"), max_length=200, blank=True)
    source = models.CharField(_("where it was found"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        ordering = ["-created_at"]


@personal_data(
    personal_fields=(*CONTACT_FIELDS, "company", "question"),
    notice=Notice(
        purpose=_("To answer inquiries from prospective customers."),
        legal_basis=_("Steps at the person's request before a contract (art. 6(1)(b))."),
        data_subjects=_("People who ask about the group's services."),
        source=_("The person asking."),
        recipients=_("The group's sales staff."),
    ),
    retention=(
        Retention(
            category="inquiries",
            clock="answered_at",
            clock_label=_("answered"),
        ),
    ),
    subject_email=("email",),
    subject_phone=("phone",),
    exported=(*CONTACT_FIELDS, "company", "question", "created_at", "answered_at"),
    erasure="delete",
)
class Inquiry(PersonalRecord):
    company = models.CharField(_("company"), max_length=200, blank=True)
    question = models.TextField(_("question"))
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("inquiry")
        verbose_name_plural = _("inquiries")
        ordering = ["-created_at"]


class BusinessContact(PersonalRecord):
    company = models.CharField(_("company"), max_length=200)
    role = models.CharField(_("role"), max_length=200, blank=True)
    relationship_ended_on = models.DateField(_("relationship ended"), null=True, blank=True, db_index=True)

    class Meta:
        abstract = True


def _contact_declaration(category: str, purpose, subjects) -> dict:
    return {
        "personal_fields": (*CONTACT_FIELDS, "role"),
        "notice": Notice(
            purpose=purpose,
            legal_basis=_("Legitimate interests in running the business relationship (art. 6(1)(f))."),
            data_subjects=subjects,
            source=_("The person or their employer."),
            recipients=_(
                "The group's staff who work with the company; the accounting and CRM providers as processors."
            ),
        ),
        "retention": (
            Retention(category=category, clock="relationship_ended_on", clock_label=_("relationship ended")),
        ),
        "subject_email": ("email",),
        "subject_phone": ("phone",),
        "exported": (*CONTACT_FIELDS, "company", "role", "created_at", "relationship_ended_on"),
        "erasure": "anonymise",
        "anonymise": {**ANONYMOUS_CONTACT, "role": ""},
        "anonymised": ANONYMISED,
    }


@personal_data(
    **_contact_declaration(
        "customer_contacts",
        _("To serve customers and keep in touch with their contact persons."),
        _("Customers' contact persons."),
    )
)
class CustomerContact(BusinessContact):
    class Meta:
        verbose_name = _("customer contact")
        verbose_name_plural = _("customer contacts")
        ordering = ["company", "full_name"]


@personal_data(
    **_contact_declaration(
        "supplier_contacts",
        _("To work with suppliers and partners."),
        _("Suppliers' and partners' contact persons."),
    )
)
class SupplierContact(BusinessContact):
    class Meta:
        verbose_name = _("supplier contact")
        verbose_name_plural = _("supplier contacts")
        ordering = ["company", "full_name"]


@personal_data(
    personal_fields=(*CONTACT_FIELDS, "cv", "cover_letter"),
    notice=Notice(
        purpose=_("To recruit for the position applied for."),
        legal_basis=_("Steps at the applicant's request before an employment contract (art. 6(1)(b))."),
        data_subjects=_("Applicants for advertised positions."),
        source=_("The applicant."),
        recipients=_("The hiring manager and HR; the recruitment system provider as processor."),
    ),
    retention=(
        Retention(
            category="job_applications",
            clock="process_closed_on",
            clock_label=_("recruitment process closed"),
        ),
    ),
    subject_email=("email",),
    subject_phone=("phone",),
    exported=(*CONTACT_FIELDS, "position", "cover_letter", "created_at", "process_closed_on"),
    file_fields=("cv",),
    erasure="delete",
)
class JobApplication(PersonalRecord):
    position = models.CharField(_("position"), max_length=200)
    cover_letter = models.TextField(_("cover letter"), blank=True)
    cv = models.FileField(_("CV"), upload_to=register_file_path, blank=True)
    process_closed_on = models.DateField(
        _("recruitment process closed"), null=True, blank=True, db_index=True
    )

    class Meta:
        verbose_name = _("job application")
        verbose_name_plural = _("job applications")
        ordering = ["-created_at"]


@personal_data(
    personal_fields=(*CONTACT_FIELDS, "cv", "skills"),
    notice=Notice(
        purpose=_("To offer open applicants positions that suit them."),
        legal_basis=_("Consent (art. 6(1)(a)), asked to be renewed before it runs out."),
        data_subjects=_("People who sent an open application."),
        source=_("The applicant."),
        recipients=_("HR and hiring managers; the recruitment system provider as processor."),
    ),
    retention=(
        Retention(
            category="recruitment_database",
            clock="created_at",
            clock_label=_("consent given"),
            clock_from_consent="recruitment_database",
        ),
    ),
    subject_email=("email",),
    subject_phone=("phone",),
    exported=(*CONTACT_FIELDS, "skills", "created_at"),
    file_fields=("cv",),
    erasure="delete",
)
class RecruitmentEntry(PersonalRecord):
    skills = models.TextField(_("skills and wishes"), blank=True)
    cv = models.FileField(_("CV"), upload_to=register_file_path, blank=True)

    class Meta:
        verbose_name = _("recruitment-database entry")
        verbose_name_plural = _("recruitment-database entries")
        ordering = ["-created_at"]


@personal_data(
    personal_fields=(*CONTACT_FIELDS, "description", "receipt"),
    notice=Notice(
        purpose=_("To keep the bookkeeping documentation the accounting acts require."),
        legal_basis=_("Legal obligation (art. 6(1)(c)): bokføringsloven, bokföringslagen, bogføringsloven."),
        data_subjects=_("Customers, suppliers and employees named in vouchers."),
        source=_("The group's business transactions."),
        recipients=_("Auditors, tax authorities; the accounting system provider as processor."),
    ),
    retention=(
        Retention(
            category="accounting_records",
            clock="fiscal_year_end",
            clock_label=_("end of the fiscal year"),
            country="legal_entity__country",
        ),
    ),
    subject_email=("email",),
    subject_phone=("phone",),
    exported=(*CONTACT_FIELDS, "voucher_number", "fiscal_year_end", "amount", "description"),
    file_fields=("receipt",),
    erasure="delete",
    legal_duty=_(
        "Bookkeeping law requires us to keep accounting records: 5 years in Norway and Denmark, 7 in "
        "Sweden. They are kept, restricted to the privacy team, and deleted when that time ends."
    ),
)
class AccountingRecord(PersonalRecord):
    voucher_number = models.CharField(_("voucher number"), max_length=40)
    fiscal_year_end = models.DateField(_("end of the fiscal year"), db_index=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    description = models.TextField(_("description"), blank=True)
    receipt = models.FileField(_("receipt"), upload_to=register_file_path, blank=True)

    class Meta:
        verbose_name = _("accounting record")
        verbose_name_plural = _("accounting records")
        ordering = ["-fiscal_year_end", "voucher_number"]


@personal_data(
    personal_fields=(*CONTACT_FIELDS, "company", "host_name"),
    notice=Notice(
        purpose=_("To know who is in the offices, for safety and security."),
        legal_basis=_("Legitimate interests in the safety of people and premises (art. 6(1)(f))."),
        data_subjects=_("Visitors to the offices."),
        source=_("The visitor, at the reception."),
        recipients=_("Reception and the host."),
    ),
    retention=(Retention(category="visitors", clock="visited_at", clock_label=_("visit")),),
    subject_email=("email",),
    subject_phone=("phone",),
    exported=(*CONTACT_FIELDS, "company", "host_name", "visited_at"),
    erasure="delete",
)
class VisitorRegistration(PersonalRecord):
    company = models.CharField(_("company"), max_length=200, blank=True)
    host_name = models.CharField(_("host"), max_length=200, blank=True)
    visited_at = models.DateTimeField(_("visit"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("visitor registration")
        verbose_name_plural = _("visitor registrations")
        ordering = ["-visited_at"]


# --- What an erasure leaves (issue 13, point 4) ---------------------------------------------------


class Restriction(models.Model):
    """A record kept after its subject asked for erasure (a legal duty to keep it, a legal hold):
    restricted (art. 18(2)), so that the registers' lists and exports leave it out and only staff
    with the right to see restricted records (the privacy team) see it."""

    record_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    record_id = models.CharField(_("record"), max_length=64)
    # Why it was kept, in the registry's words (a legal duty, a legal hold): no personal data.
    reason = models.CharField(_("why it is kept"), max_length=300)
    created_at = models.DateTimeField(_("restricted"), default=timezone.now)

    class Meta:
        verbose_name = _("restricted record")
        verbose_name_plural = _("restricted records")
        permissions = [("view_restricted_records", _("Can see records kept restricted after an erasure"))]
        constraints = [
            models.UniqueConstraint(fields=["record_type", "record_id"], name="one_restriction_per_record"),
        ]

    def __str__(self) -> str:
        return f"{self.record_type.model} {self.record_id}"


class ErasedIdentity(models.Model):
    """The erasure log: a keyed hash of each address or number whose records were erased
    (registry.identity_digest), never the identity itself, so that `reapply_erasures` can erase
    them again after a backup from before the erasure is restored."""

    digest = models.CharField(max_length=64, unique=True)
    # The request that asked for it, kept when erasures are applied again (it is their proof).
    case_reference = models.CharField(_("request"), max_length=20, blank=True)
    erased_at = models.DateTimeField(_("erased"), default=timezone.now)

    class Meta:
        verbose_name = _("erased identity")
        verbose_name_plural = _("erased identities")

    def __str__(self) -> str:
        return f"{self.digest[:12]}…"


class SuppressedAddress(models.Model):
    """The suppression list (art. 21(3)): a keyed hash of the address of a person whose data was
    erased or who objected to direct marketing, so that imports and sign-ups do not add them
    again. The address itself is not kept."""

    class Why(models.TextChoices):
        ERASURE = "erasure", _("Erasure")
        OBJECTION = "objection", _("Objection to direct marketing")

    digest = models.CharField(max_length=64, unique=True)
    why = models.CharField(_("why"), max_length=16, choices=Why.choices)
    created_at = models.DateTimeField(_("added"), default=timezone.now)

    class Meta:
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppression list")

    def __str__(self) -> str:
        return f"{self.digest[:12]}…"


class RegisterRecipient(models.Model):
    """Who receives a register's data and must be told of an erasure or a rectification of it
    (art. 19): a processor, a partner. Named per register by its label."""

    register = models.CharField(_("register"), max_length=100)
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("e-mail"))

    class Meta:
        verbose_name = _("recipient of a register")
        verbose_name_plural = _("recipients of registers")
        ordering = ["register", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.register})"


exempt(
    "registers.SuppressedAddress",
    reason="Keyed hashes of addresses (no address), so that a person who objected or was erased is not added again.",
)
exempt(
    "registers.RegisterRecipient",
    reason="Organisations that receive a register's data and their contact address: about no data subject.",
)


class ExternalRegister(models.Model):
    """A register kept in another system's database (issue 13, point 7), declared by an admin: the
    registry reads these beside the declarations in code, so that retention, access exports and
    erasure reach it (registers.external). The connection's URL, with its secret, lives in an
    environment variable that this names; the portal's database never holds it."""

    class Erasure(models.TextChoices):
        DELETE = "delete", _("Delete the row")
        ANONYMISE = "anonymise", _("Anonymise the columns named")

    name = models.CharField(_("name"), max_length=200, unique=True)
    connection_variable = models.CharField(
        _("connection variable"),
        max_length=100,
        validators=[
            RegexValidator(
                r"^TRUSTCENTER_EXTERNAL_[A-Z0-9_]+_URL$",
                _("A variable named TRUSTCENTER_EXTERNAL_<NAME>_URL."),
            )
        ],
        help_text=_(
            "The environment variable that holds the database's URL, e.g. TRUSTCENTER_EXTERNAL_CRM_URL="
            "mysql+pymysql://user:secret@host/db or postgresql+psycopg2://…; the URL is never stored here."
        ),
    )
    table = models.CharField(_("table"), max_length=128)
    key_column = models.CharField(_("key column"), max_length=128, default="id")
    email_column = models.CharField(_("e-mail column"), max_length=128, help_text=_("Finds a person's rows."))
    clock_column = models.CharField(
        _("date column"), max_length=128, blank=True, help_text=_("The date its retention counts from.")
    )
    category = models.CharField(_("retention category"), max_length=64, blank=True)
    exported_columns = models.JSONField(_("exported columns"), default=list, blank=True)
    erasure = models.CharField(_("erasure"), max_length=10, choices=Erasure.choices, default=Erasure.DELETE)
    anonymise = models.JSONField(
        _("anonymise as"),
        default=dict,
        blank=True,
        help_text=_('Column to value, e.g. {"name": "", "email": null}.'),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    # What art. 13-15 and 30 ask of every register, as a declaration's Notice says it in code: the
    # record of processing activities and the requester's summary show them.
    purpose = models.TextField(_("purpose"), blank=True)
    legal_basis = models.TextField(_("legal basis"), blank=True)
    data_subjects = models.TextField(_("whose data"), blank=True)
    source = models.TextField(_("where the data comes from"), blank=True)
    recipients = models.TextField(_("recipients"), blank=True)
    transfers = models.TextField(_("transfers outside the EEA"), blank=True)

    class Meta:
        verbose_name = _("register in another database")
        verbose_name_plural = _("registers in other databases")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        """How run logs and collections name it, beside the models' labels."""
        return f"external.{self.pk}"

    def clean(self) -> None:
        if self.erasure == self.Erasure.ANONYMISE and not self.anonymise:
            raise ValidationError({"anonymise": _("Say which columns an erasure anonymises, and to what.")})
        if not isinstance(self.exported_columns, list) or not all(
            isinstance(c, str) for c in self.exported_columns
        ):
            raise ValidationError({"exported_columns": _("A list of column names.")})
        if not isinstance(self.anonymise, dict):
            raise ValidationError({"anonymise": _("Column names and their values.")})


exempt(
    "registers.ExternalRegister",
    reason="Where another system keeps a register and how to reach it (by a variable's name): about no one.",
)
exempt(
    "registers.Restriction",
    reason="A record's kind and number and why it is kept, in the registry's words: about no one by name.",
)
exempt(
    "registers.ErasedIdentity",
    reason="Keyed hashes of erased addresses (no address), kept so that an erasure survives a restored backup.",
)
