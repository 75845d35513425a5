"""Rows for the retention tests: one maker per register, each taking the date its clock starts.

Names and e-mail addresses are unique per row, so that a test can search the run log and the
alerts for them. Datetime clocks are set in Oslo time, at the edges of the day that matters.
"""

import itertools
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.files.base import ContentFile
from django.utils import timezone

from cases.models import Case, CaseMessage, CaseStatus, CaseType
from consent import services as consent_services
from consent.defaults import ensure_default_purposes
from consent.models import Channel, ConsentAction, ConsentPurpose, ConsentState
from registers.models import (
    AccountingRecord,
    CustomerContact,
    Event,
    EventParticipant,
    Inquiry,
    JobApplication,
    Lead,
    LegalEntity,
    RecruitmentEntry,
    SupplierContact,
    VisitorRegistration,
)
from retention.cutoffs import latest_due_clock
from retention.defaults import ensure_default_rules
from retention.models import CountryPeriod, CountsFrom, RetentionRule
from tests.factories import submit
from trustcenter.models import OutboxMessage

_numbers = itertools.count(1)


def person() -> dict[str, str]:
    """A name, an address and a phone number no other row has."""
    number = next(_numbers)
    tag = uuid.uuid4().hex[:8]
    return {
        "full_name": f"Person{tag} Testesen{number}",
        "email": f"person.{tag}.{number}@example.com",
        "phone": f"+47 9{number:07d}",
    }


def at_local(day: date, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute, second)))


def last_moment(day: date) -> datetime:
    return at_local(day, 23, 59, 59)


def first_moment(day: date) -> datetime:
    return at_local(day, 0, 0, 0)


def cutoff(category: str, today: date, country: str = "") -> date:
    """The latest clock date the rule takes today, as the engine computes it from the rule."""
    ensure_default_rules()
    rule = RetentionRule.objects.get(category=category)
    if country:
        period = CountryPeriod.objects.get(rule=rule, country=country)
        return latest_due_clock(
            today, period.period, from_calendar_year_end=period.counts_from == CountsFrom.CALENDAR_YEAR_END
        )
    return latest_due_clock(today, rule.period)


def legal_entity(country: str) -> LegalEntity:
    entity, _created = LegalEntity.objects.get_or_create(
        name=f"Test {country} AS", defaults={"country": country}
    )
    return entity


# Each maker takes the clock's date and whether the row is the last (True) or the first
# (False) moment of that day, for clocks that are datetimes.


def event_participant(day: date, *, late: bool = True, **fields) -> EventParticipant:
    event = Event.objects.create(title="Course", starts_on=day - timedelta(days=1), ends_on=day)
    return EventParticipant.objects.create(event=event, **{**person(), **fields})


def lead(day: date, *, late: bool = True, **fields) -> Lead:
    created = last_moment(day) if late else first_moment(day)
    return Lead.objects.create(created_at=created, company="Prospect AS", **{**person(), **fields})


def inquiry(day: date, *, late: bool = True, **fields) -> Inquiry:
    answered = last_moment(day) if late else first_moment(day)
    return Inquiry.objects.create(
        answered_at=answered, question="What does it cost?", **{**person(), **fields}
    )


def customer_contact(day: date, *, late: bool = True, **fields) -> CustomerContact:
    return CustomerContact.objects.create(
        relationship_ended_on=day, company="Customer AS", role="Buyer", **{**person(), **fields}
    )


def supplier_contact(day: date, *, late: bool = True, **fields) -> SupplierContact:
    return SupplierContact.objects.create(
        relationship_ended_on=day, company="Supplier AS", role="Seller", **{**person(), **fields}
    )


def job_application(day: date, *, late: bool = True, cv: bytes | None = None, **fields) -> JobApplication:
    application = JobApplication(process_closed_on=day, position="Developer", **{**person(), **fields})
    if cv is not None:
        application.cv.save("cv.pdf", ContentFile(cv), save=False)
    application.save()
    return application


def recruitment_entry(day: date, *, late: bool = True, **fields) -> RecruitmentEntry:
    created = last_moment(day) if late else first_moment(day)
    return RecruitmentEntry.objects.create(created_at=created, skills="Python", **{**person(), **fields})


def accounting_record(
    day: date, *, late: bool = True, country: str = "", receipt: bytes | None = None, **fields
) -> AccountingRecord:
    record = AccountingRecord(
        fiscal_year_end=day,
        voucher_number=str(next(_numbers)),
        amount=Decimal("100.00"),
        description="Invoice",
        legal_entity=legal_entity(country) if country else None,
        **{**person(), **fields},
    )
    if receipt is not None:
        record.receipt.save("receipt.pdf", ContentFile(receipt), save=False)
    record.save()
    return record


def visitor(day: date, *, late: bool = True, **fields) -> VisitorRegistration:
    visited = last_moment(day) if late else first_moment(day)
    return VisitorRegistration.objects.create(
        visited_at=visited, company="Visitor AS", host_name="Host Hostesen", **{**person(), **fields}
    )


def delivered_email(day: date, *, late: bool = True, **fields) -> OutboxMessage:
    sent = last_moment(day) if late else first_moment(day)
    return OutboxMessage.objects.create(
        recipient=person()["email"], subject="News on your case", body="", sent_at=sent, **fields
    )


def pending_email(**fields) -> OutboxMessage:
    return OutboxMessage.objects.create(
        recipient=person()["email"], subject="Receipt", body="Hello", **fields
    )


def case(
    closed: date | None,
    *,
    late: bool = True,
    case_type: str = CaseType.GENERAL_INQUIRY,
    last_message: datetime | None = None,
    **overrides,
) -> Case:
    """A case sent through the real service, then closed on `closed` (None: left open). Its
    messages date from before the closing unless `last_message` says when the last one came."""
    submitted, _code = submit(case_type=case_type, **overrides)
    closed_at = (last_moment(closed) if late else first_moment(closed)) if closed else None
    earlier = (closed_at or timezone.now()) - timedelta(days=30)
    CaseMessage.objects.filter(case=submitted).update(created_at=earlier)
    Case.objects.filter(pk=submitted.pk).update(received_at=earlier)
    if closed_at:
        Case.objects.filter(pk=submitted.pk).update(status=CaseStatus.CLOSED, closed_at=closed_at)
    if last_message:
        CaseMessage.objects.create(
            case=submitted, author="reporter", body="One more thing", created_at=last_message
        )
    submitted.refresh_from_db()
    return submitted


def consent(
    email: str, purpose: str, *, given_at: datetime, withdrawn_at: datetime | None = None
) -> ConsentState:
    """A give (and a withdrawal) in the ledger, at the moments given, as an import records them."""
    ensure_default_purposes()
    target = ConsentPurpose.objects.get(slug=purpose)
    moments = [(ConsentAction.GIVE, given_at)] + (
        [(ConsentAction.WITHDRAW, withdrawn_at)] if withdrawn_at else []
    )
    for action, moment in moments:
        consent_services.record_consent(
            email=email, purpose=target, action=action, channel=Channel.IMPORT, occurred_at=moment
        )
    return ConsentState.objects.get(subject__email=email.lower(), purpose=target)
