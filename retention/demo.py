"""Demo records for every register (issue 11, point 12): on both sides of each retention
cut-off, so that a dry run on the demo shows real work, with a legal hold and consents that keep
or end records.

Every date is counted back from the day the demo is loaded, so the demo works in any year, and
with margins of weeks or months from each cut-off, so that a demo loaded today still shows
the same picture for a while. The names, companies and addresses are made up.

This module is a leaf that only `load_demo_data` imports: it uses consent and retention to set up
the demo, while nothing in `registers` itself depends on those apps.
"""

import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from django.core.files.base import ContentFile
from django.db import models, transaction
from django.utils import timezone

from consent import services as consent_services
from consent.defaults import ensure_default_purposes
from consent.models import Channel, ConsentAction, ConsentPurpose, Purpose
from registers.models import (
    AccountingRecord,
    Country,
    CustomerContact,
    Event,
    EventParticipant,
    ExternalRegister,
    Inquiry,
    JobApplication,
    Lead,
    LegalEntity,
    RecruitmentEntry,
    SupplierContact,
    VisitorRegistration,
)
from retention.cutoffs import add_months
from retention.models import HoldScope
from retention.queries import local_today, start_of_local_day
from retention.services import place_hold
from trustcenter.files import written_files_removed_on_error

NORWAY_ENTITY = "Fjellvik Gruppen AS"
SWEDEN_ENTITY = "Fjellvik Sverige AB"
DENMARK_ENTITY = "Fjellvik Danmark A/S"
ENTITIES = (
    (NORWAY_ENTITY, Country.NORWAY, "998 877 665"),
    (SWEDEN_ENTITY, Country.SWEDEN, "559900-1122"),
    (DENMARK_ENTITY, Country.DENMARK, "39 88 77 66"),
)

# The person whose expired lead a legal hold keeps.
HELD_EMAIL = "ola.nordmann@example.no"
# The participant of the older event whose `event_followup` consent keeps them.
FOLLOWUP_EMAIL = "ingrid.haugen@example.no"
HOLD_REASON = (
    "Complaint to Datatilsynet about marketing e-mails sent to this person: keep everything we hold "
    "about them until the complaint is closed."
)


def tiny_pdf(title: str) -> bytes:
    """A one-page PDF with one line of text, valid enough for any reader (offsets counted)."""
    text = title.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 14 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    output = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(output))
        output += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(output)
    output += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    output += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    output += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(output)


@dataclass(frozen=True)
class Moments:
    """The days and moments the demo counts back from."""

    today: date
    now: datetime

    def days_ago(self, days: int) -> datetime:
        return self.now - timedelta(days=days)

    def date_days_ago(self, days: int) -> date:
        return self.today - timedelta(days=days)

    def months_ago(self, months: int) -> date:
        return add_months(self.today, -months)

    def morning_of(self, day: date) -> datetime:
        return start_of_local_day(day) + timedelta(hours=9)


def load_register_demo(*, actor) -> bool:
    """Fills every register once; returns whether it loaded anything. Like the demo cases, the
    records are loaded only into a database that has none of them yet (the demo companies are the
    mark), so that running the demo command again adds nothing, even after a purge took some."""
    with written_files_removed_on_error() as written, transaction.atomic():
        if LegalEntity.objects.filter(name__in=[name for name, _country, _number in ENTITIES]).exists():
            return False
        entities: dict[str, LegalEntity] = {
            country: LegalEntity.objects.create(name=name, country=country, organisation_number=number)
            for name, country, number in ENTITIES
        }
        at = Moments(today=local_today(), now=timezone.now())
        _events(at, entities)
        _leads(at, entities)
        _inquiries(at, entities)
        _business_contacts(at, entities)
        written.extend(_job_applications(at, entities))
        written.extend(_recruitment_database(at, entities))
        _accounting(at, entities)
        _visitors(at, entities)
        place_hold(actor=actor, scope=HoldScope.SUBJECT, email=HELD_EMAIL, reason=HOLD_REASON)
    return True


def _consent(email: str, purpose: str, *, given_at: datetime, withdrawn_at: datetime | None = None) -> None:
    """A consent in the ledger as an import of the register's history records it. A withdrawal
    purges, once the demo is committed, the entry that consent kept, as it would in use."""
    ensure_default_purposes()
    target = ConsentPurpose.objects.get(slug=purpose)
    moments = [(ConsentAction.GIVE, given_at)] + (
        [(ConsentAction.WITHDRAW, withdrawn_at)] if withdrawn_at else []
    )
    for action, moment in moments:
        consent_services.record_consent(
            email=email, purpose=target, action=action, channel=Channel.IMPORT, occurred_at=moment
        )


def _events(at: Moments, entities: dict[str, LegalEntity]) -> None:
    # Ended 14 months ago: past its year, but for the participant who consented to follow-up.
    seminar_end = at.months_ago(14)
    seminar = Event.objects.create(
        title="Personvern i praksis: frokostseminar",
        starts_on=seminar_end,
        ends_on=seminar_end,
        legal_entity=entities[Country.NORWAY],
    )
    signed_up = at.morning_of(seminar_end - timedelta(days=21))
    for name, email, phone, organisation in (
        ("Kari Nordmann", "kari.nordmann@example.no", "+47 912 34 567", "Havbris Logistikk AS"),
        ("Erik Johansson", "erik.johansson@example.com", "+46 70 123 45 67", "Skogsfrukt AB"),
        ("Ingrid Haugen", FOLLOWUP_EMAIL, "+47 934 56 789", "Bryggeri Nord AS"),
    ):
        EventParticipant.objects.create(
            event=seminar,
            full_name=name,
            email=email,
            phone=phone,
            organisation=organisation,
            legal_entity=entities[Country.NORWAY],
            created_at=signed_up,
        )
    _consent(FOLLOWUP_EMAIL, Purpose.EVENT_FOLLOWUP, given_at=signed_up)

    # Ended last month: inside its year.
    day_end = at.months_ago(1)
    security_day = Event.objects.create(
        title="Nordic Cloud Security Day",
        starts_on=day_end - timedelta(days=1),
        ends_on=day_end,
        legal_entity=entities[Country.SWEDEN],
    )
    for name, email, phone, organisation in (
        ("Anna Lindqvist", "anna.lindqvist@example.com", "+46 73 987 65 43", "Vindö Energi AB"),
        ("Mads Jørgensen", "mads.jorgensen@example.com", "+45 21 43 65 87", "Bølgetop ApS"),
        ("Sigrid Lie", "sigrid.lie@example.no", "+47 415 55 321", "Tindefjell Bygg AS"),
    ):
        EventParticipant.objects.create(
            event=security_day,
            full_name=name,
            email=email,
            phone=phone,
            organisation=organisation,
            legal_entity=entities[Country.SWEDEN],
            created_at=at.morning_of(day_end - timedelta(days=30)),
        )


def _leads(at: Moments, entities: dict[str, LegalEntity]) -> None:
    # A year from registration: two past it (one of them under the legal hold), two inside it.
    for name, email, company, title, country, days in (
        ("Ola Nordmann", HELD_EMAIL, "Nordkapp Fisk AS", "Daglig leder", Country.NORWAY, 455),
        ("Gustav Lund", "gustav.lund@example.com", "Lundqvist Maskin AB", "Inköpschef", Country.SWEDEN, 400),
        ("Freja Mortensen", "freja.mortensen@example.com", "Kystlys A/S", "IT-chef", Country.DENMARK, 60),
        ("Jonas Eide", "jonas.eide@example.no", "Eide Elektro AS", "Økonomisjef", Country.NORWAY, 200),
    ):
        Lead.objects.create(
            full_name=name,
            email=email,
            company=company,
            job_title=title,
            source="Company register and the company's web site",
            legal_entity=entities[country],
            created_at=at.days_ago(days),
        )


def _inquiries(at: Moments, entities: dict[str, LegalEntity]) -> None:
    # 30 days from the answer: two answered long ago, one answered this week, one still open.
    for name, email, company, question, country, asked, answered in (
        (
            "Marte Strand",
            "marte.strand@example.no",
            "Strand Regnskap AS",
            "Do you offer payroll services for companies with fewer than ten employees?",
            Country.NORWAY,
            80,
            75,
        ),
        (
            "Oskar Holm",
            "oskar.holm@example.com",
            "Holm & Söner AB",
            "What would it cost to move our bookkeeping to you from next year?",
            Country.SWEDEN,
            210,
            200,
        ),
        (
            "Ida Thomsen",
            "ida.thomsen@example.com",
            "Thomsen Design ApS",
            "Can your IT team help us set up two-factor login for all staff?",
            Country.DENMARK,
            8,
            4,
        ),
        (
            "Eirik Moen",
            "eirik.moen@example.no",
            "Moen Transport AS",
            "Do you have consultants who know Norwegian customs declarations?",
            Country.NORWAY,
            2,
            None,
        ),
    ):
        Inquiry.objects.create(
            full_name=name,
            email=email,
            company=company,
            question=question,
            legal_entity=entities[country],
            created_at=at.days_ago(asked),
            answered_at=at.days_ago(answered) if answered is not None else None,
        )


PHONES = {
    Country.NORWAY: "+47 22 33 44 55",
    Country.SWEDEN: "+46 8 123 456 00",
    Country.DENMARK: "+45 33 12 34 56",
}

ContactRow = tuple[str, str, str, str, Country, int | None]


def _business_contacts(at: Moments, entities: dict[str, LegalEntity]) -> None:
    # Three years from the relationship's end: one ended longer ago, one ended last year, one
    # relationship still running (never due).
    customers: tuple[ContactRow, ...] = (
        (
            "Silje Johansen",
            "silje.johansen@example.no",
            "Havbris Logistikk AS",
            "Innkjøper",
            Country.NORWAY,
            40,
        ),
        ("Karin Ek", "karin.ek@example.com", "Ekdal Fastigheter AB", "Ekonomichef", Country.SWEDEN, 14),
        ("Rasmus Holm", "rasmus.holm@example.com", "Holm Møbler A/S", "Direktør", Country.DENMARK, None),
    )
    suppliers: tuple[ContactRow, ...] = (
        ("Lars Berg", "lars.berg@example.no", "Berg Kontorrekvisita AS", "Selger", Country.NORWAY, 38),
        ("Maja Sjöberg", "maja.sjoberg@example.com", "Sjöberg Städ AB", "Kundansvarig", Country.SWEDEN, 6),
        ("Søren Poulsen", "soren.poulsen@example.com", "Poulsen IT ApS", "Konsulent", Country.DENMARK, None),
    )
    for name, email, company, role, country, ended_months_ago in customers:
        ended = at.months_ago(ended_months_ago) if ended_months_ago is not None else None
        CustomerContact.objects.create(**_contact(at, entities, name, email, company, role, country, ended))
    for name, email, company, role, country, ended_months_ago in suppliers:
        ended = at.months_ago(ended_months_ago) if ended_months_ago is not None else None
        SupplierContact.objects.create(**_contact(at, entities, name, email, company, role, country, ended))


def _contact(
    at: Moments,
    entities: dict[str, LegalEntity],
    name: str,
    email: str,
    company: str,
    role: str,
    country: Country,
    ended: date | None,
) -> dict:
    return {
        "full_name": name,
        "email": email,
        "phone": PHONES[country],
        "company": company,
        "role": role,
        "relationship_ended_on": ended,
        "legal_entity": entities[country],
        # The relationship began some years before it ended (or before today, for a running one).
        "created_at": at.morning_of((ended or at.today) - timedelta(days=4 * 365)),
    }


def _attach_cv(record: models.Model, field: str, owner: str) -> str:
    getattr(record, field).save("cv.pdf", ContentFile(tiny_pdf(f"Curriculum vitae: {owner}")), save=True)
    return getattr(record, field).name


def _job_applications(at: Moments, entities: dict[str, LegalEntity]) -> list[str]:
    """Three months from the process's close: one closed five months ago, one three weeks ago,
    one still open. Returns the names of the files it stored."""
    written = []
    for position, closed, applicants in (
        (
            "Rådgiver personvern",
            at.months_ago(5),
            (
                ("Astrid Solberg", "astrid.solberg@example.no", True),
                ("Viktor Lindberg", "viktor.lindberg@example.com", False),
            ),
        ),
        (
            "Systemutvikler",
            at.date_days_ago(21),
            (
                ("Magnus Dahl", "magnus.dahl@example.no", False),
                ("Elsa Bergström", "elsa.bergstrom@example.com", False),
            ),
        ),
        ("Regnskapsmedarbeider", None, (("Thea Nilsen", "thea.nilsen@example.no", False),)),
    ):
        applied = at.morning_of((closed or at.today) - timedelta(days=30))
        for name, email, with_cv in applicants:
            application = JobApplication.objects.create(
                full_name=name,
                email=email,
                position=position,
                cover_letter=f"I would like to apply for the position as {position}.",
                process_closed_on=closed,
                legal_entity=entities[Country.NORWAY],
                created_at=applied,
            )
            if with_cv:
                written.append(_attach_cv(application, "cv", name))
    return written


def _recruitment_database(at: Moments, entities: dict[str, LegalEntity]) -> list[str]:
    """360 days from the consent: one consent given 400 days ago, one renewed this month (its
    entry is older than the period), one withdrawn (due at once), one given a month ago."""
    written = []
    for name, email, skills, country, created, given, withdrawn, with_cv in (
        (
            "Elin Nyström",
            "elin.nystrom@example.com",
            "Payroll, Swedish and English",
            Country.SWEDEN,
            400,
            400,
            None,
            False,
        ),
        (
            "Henrik Bakke",
            "henrik.bakke@example.no",
            "Cloud infrastructure, Terraform",
            Country.NORWAY,
            500,
            20,
            None,
            True,
        ),
        (
            "Line Kristensen",
            "line.kristensen@example.com",
            "Accounting, IFRS",
            Country.DENMARK,
            90,
            90,
            3,
            False,
        ),
        (
            "Lukas Aas",
            "lukas.aas@example.no",
            "Information security, ISO 27001",
            Country.NORWAY,
            30,
            30,
            None,
            False,
        ),
    ):
        entry = RecruitmentEntry.objects.create(
            full_name=name,
            email=email,
            skills=skills,
            legal_entity=entities[country],
            created_at=at.days_ago(created),
        )
        _consent(
            email,
            Purpose.RECRUITMENT_DATABASE,
            given_at=at.days_ago(given),
            withdrawn_at=at.days_ago(withdrawn) if withdrawn is not None else None,
        )
        if with_cv:
            written.append(_attach_cv(entry, "cv", name))
    return written


def _accounting(at: Moments, entities: dict[str, LegalEntity]) -> None:
    """Norway and Denmark keep five years from the end of the fiscal year, Sweden seven from the end
    of the calendar year in which it ended: in each country one record past its period and one
    inside it. The Swedish one kept ended more than six years ago: the five-year rule would
    have let it go."""
    year = at.today.year
    for country, voucher, fiscal_year_end, name, email, amount, description in (
        (
            Country.NORWAY,
            "NO-2-0417",
            date(year - 6, 12, 31),
            "Per Hansen",
            "per.hansen@example.no",
            "12450.00",
            "Invoice for office cleaning",
        ),
        (
            Country.NORWAY,
            "NO-7-1123",
            date(year - 5, 12, 31),
            "Nora Larsen",
            "nora.larsen@example.no",
            "3890.50",
            "Travel expenses, client visit in Bergen",
        ),
        (
            Country.SWEDEN,
            "SE-1-0098",
            date(year - 8, 12, 31),
            "Lena Svensson",
            "lena.svensson@example.com",
            "8700.00",
            "Consulting fee, March",
        ),
        (
            Country.SWEDEN,
            "SE-4-0311",
            date(year - 7, 6, 30),
            "Johan Berglund",
            "johan.berglund@example.com",
            "15200.00",
            "Course fee, fiscal year ending 30 June",
        ),
        (
            Country.DENMARK,
            "DK-3-0552",
            date(year - 6, 6, 30),
            "Anders Nielsen",
            "anders.nielsen@example.com",
            "4300.00",
            "Catering for the annual meeting",
        ),
        (
            Country.DENMARK,
            "DK-9-0890",
            date(year - 4, 6, 30),
            "Camilla Friis",
            "camilla.friis@example.com",
            "990.00",
            "Expense claim: taxi to the airport",
        ),
    ):
        AccountingRecord.objects.create(
            full_name=name,
            email=email,
            voucher_number=voucher,
            fiscal_year_end=fiscal_year_end,
            amount=Decimal(amount),
            description=description,
            legal_entity=entities[country],
            created_at=at.morning_of(fiscal_year_end - timedelta(days=90)),
        )


def _visitors(at: Moments, entities: dict[str, LegalEntity]) -> None:
    # 30 days from the visit: two visits longer ago, two this week.
    for name, email, company, host, days in (
        ("Tor Aasen", "tor.aasen@example.no", "Aasen Vakt AS", "Kari Holt", 45),
        ("Sofia Wallin", "sofia.wallin@example.com", "Wallin Revision AB", "Per Dahle", 120),
        ("Emil Sørensen", "emil.sorensen@example.com", "Sørensen Rådgivning ApS", "Kari Holt", 6),
        ("Hanne Vik", "hanne.vik@example.no", "Vik Arkitekter AS", "Per Dahle", 1),
    ):
        VisitorRegistration.objects.create(
            full_name=name,
            email=email,
            company=company,
            host_name=host,
            visited_at=at.days_ago(days),
            created_at=at.days_ago(days),
            legal_entity=entities[Country.NORWAY],
        )


# --- A requester found everywhere (issue 13, point 8) -----------------------------------------------


def add_requester_everywhere(*, email: str, name: str) -> None:
    """Puts one person (the demo's confirmed access request) in every register, with an
    accounting record that the law keeps and consents given and withdrawn in the ledger, so that
    the demo shows a full access export and an erasure with what was kept and why. Called once,
    with the demo cases."""
    entity = LegalEntity.objects.filter(name=NORWAY_ENTITY).first() or LegalEntity.objects.create(
        name=NORWAY_ENTITY, country=Country.NORWAY, organisation_number="998 877 665"
    )
    now, today = timezone.now(), local_today()
    person = {"full_name": name, "email": email, "phone": PHONES[Country.NORWAY], "legal_entity": entity}
    # The demo's latest event (or one of its own where the registers' demo is not loaded).
    event = Event.objects.order_by("-ends_on").first() or Event.objects.create(
        title="Privacy breakfast",
        starts_on=today - timedelta(days=40),
        ends_on=today - timedelta(days=40),
        legal_entity=entity,
    )
    EventParticipant.objects.create(event=event, organisation="Fjord Fisk AS", **person)
    Lead.objects.create(company="Fjord Fisk AS", job_title="Head of IT", source="Conference list", **person)
    Inquiry.objects.create(company="Fjord Fisk AS", question="What does your course on GDPR cost?", **person)
    CustomerContact.objects.create(company="Fjord Fisk AS", role="Buyer", **person)
    SupplierContact.objects.create(company="Fjord Fisk AS", role="Account manager", **person)
    JobApplication.objects.create(position="Privacy engineer", cover_letter="I would like to join.", **person)
    RecruitmentEntry.objects.create(skills="Python, GDPR, security", **person)
    AccountingRecord.objects.create(
        voucher_number="NO-8-2201",
        fiscal_year_end=date(today.year - 1, 12, 31),
        amount=Decimal("4900.00"),
        description="Course fee: GDPR for developers",
        **person,
    )
    VisitorRegistration.objects.create(
        company="Fjord Fisk AS", host_name="Ola Hansen", visited_at=now - timedelta(days=3), **person
    )
    ensure_default_purposes()
    for slug, action, days_ago in (
        ("newsletter", ConsentAction.GIVE, 300),
        ("event_followup", ConsentAction.GIVE, 40),
        ("newsletter", ConsentAction.WITHDRAW, 20),
        ("marketing_email", ConsentAction.GIVE, 10),
        ("recruitment_database", ConsentAction.GIVE, 15),
    ):
        consent_services.record_consent(
            email=email,
            purpose=ConsentPurpose.objects.get(slug=slug),
            action=action,
            channel=Channel.WEB,
            occurred_at=now - timedelta(days=days_ago),
        )


DEMO_CRM_VARIABLE = "TRUSTCENTER_EXTERNAL_DEMO_CRM_URL"


def add_demo_external_register(*, requester_email: str, requester_name: str) -> ExternalRegister | None:
    """The demo's register kept in another database (issue 13, point 7): a CRM's contacts table in
    the database that TRUSTCENTER_EXTERNAL_DEMO_CRM_URL names (bin/start: a SQLite file of its
    own), with the demo's requester in it, declared for retention, access and erasure. Nothing
    where the variable is not set; made once."""
    url = os.environ.get(DEMO_CRM_VARIABLE, "")
    if not url or ExternalRegister.objects.filter(connection_variable=DEMO_CRM_VARIABLE).exists():
        return None
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    contacts = sa.Table(
        "crm_contacts",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("full_name", sa.String(200)),
        sa.Column("email", sa.String(254)),
        sa.Column("company", sa.String(200)),
        sa.Column("last_contact_on", sa.Date),
    )
    metadata.create_all(engine)
    today = local_today()
    with engine.begin() as connection:
        connection.execute(contacts.delete())
        connection.execute(
            contacts.insert(),
            [
                {
                    "full_name": requester_name,
                    "email": requester_email,
                    "company": "Fjord Fisk AS",
                    "last_contact_on": today - timedelta(days=60),
                },
                {
                    "full_name": "Erik Dahl",
                    "email": "erik.dahl@example.no",
                    "company": "Dahl Bygg AS",
                    "last_contact_on": today - timedelta(days=900),
                },
                {
                    "full_name": "Sofia Lind",
                    "email": "sofia.lind@example.se",
                    "company": "Lind & Co",
                    "last_contact_on": today - timedelta(days=20),
                },
            ],
        )
    engine.dispose()
    return ExternalRegister.objects.create(
        name="CRM contacts (the sales team's CRM)",
        connection_variable=DEMO_CRM_VARIABLE,
        table="crm_contacts",
        email_column="email",
        clock_column="last_contact_on",
        category="customer_contacts",
        exported_columns=["full_name", "email", "company", "last_contact_on"],
        purpose="To follow up customers and prospects the sales team is in contact with.",
        legal_basis="Legitimate interest (art. 6(1)(f)) in following up our customers.",
        data_subjects="Contacts at customers and prospects.",
        source="The person, or their employer, when we are in contact.",
        recipients="The sales team; the CRM provider as processor.",
        transfers="None.",
        erasure=ExternalRegister.Erasure.ANONYMISE,
        anonymise={"full_name": "", "email": None},
    )
