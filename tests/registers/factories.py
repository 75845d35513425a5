"""Factories for the registers (registers.models), and staff members with a register's rights."""

import datetime
from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth.models import Permission

from registers import models
from tests.factories import StaffFactory

CV_BYTES = b"%PDF-1.4\n% Kari Nordmann's CV\n"
RECEIPT_BYTES = b"%PDF-1.4\n% Receipt 2024-117\n"


class LegalEntityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.LegalEntity
        django_get_or_create = ("name",)

    name = "Amesto Solutions AS"
    country = models.Country.NORWAY
    organisation_number = "999 888 777"


class PersonalRecordFactory(factory.django.DjangoModelFactory):
    full_name = factory.Sequence(lambda n: f"Person {n}")
    email = factory.Sequence(lambda n: f"person{n}@example.com")
    legal_entity = factory.SubFactory(LegalEntityFactory)


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Event

    title = "Privacy breakfast"
    starts_on = datetime.date(2025, 3, 4)
    ends_on = datetime.date(2025, 3, 4)
    legal_entity = factory.SubFactory(LegalEntityFactory)


class EventParticipantFactory(PersonalRecordFactory):
    class Meta:
        model = models.EventParticipant

    event = factory.SubFactory(EventFactory)


class LeadFactory(PersonalRecordFactory):
    class Meta:
        model = models.Lead

    company = "Nordic Widgets AB"


class JobApplicationFactory(PersonalRecordFactory):
    class Meta:
        model = models.JobApplication

    position = "Privacy engineer"
    cv = factory.django.FileField(data=CV_BYTES, filename="Kari Nordmann CV.pdf")


class RecruitmentEntryFactory(PersonalRecordFactory):
    class Meta:
        model = models.RecruitmentEntry

    cv = factory.django.FileField(data=CV_BYTES, filename="open application.pdf")


class AccountingRecordFactory(PersonalRecordFactory):
    class Meta:
        model = models.AccountingRecord

    voucher_number = factory.Sequence(lambda n: f"2024-{n:04d}")
    fiscal_year_end = datetime.date(2024, 12, 31)
    amount = Decimal("1250.00")
    receipt = factory.django.FileField(data=RECEIPT_BYTES, filename="receipt.pdf")


def staff_with(*codenames: str, **fields):
    """A staff member with the named permissions of the registers app (`view_jobapplication`)."""
    user: Any = StaffFactory(**fields)
    permissions = Permission.objects.filter(content_type__app_label="registers", codename__in=codenames)
    assert permissions.count() == len(codenames), f"unknown permissions among {codenames}"
    user.user_permissions.add(*permissions)
    return user
