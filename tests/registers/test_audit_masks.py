"""The audit log keeps who changed what, never the values of personal fields: every model
registered with auditlog that the registry declares masks (or leaves out) all its declared
personal fields, on creation, change and deletion alike."""

import uuid
from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone

from cases.audit import MASKED
from consent.defaults import ensure_default_purposes
from consent.models import ConsentPurpose, ConsentSubject, Purpose, SelfServiceLink, SignUp
from registers import registry
from retention import queries, services
from retention.models import HoldScope
from tests.retention import records

pytestmark = pytest.mark.django_db

REGISTERED_AND_DECLARED = [
    model for model in auditlog.get_models() if registry.declaration_for(model) is not None
]


def own_fields(model) -> list[str]:
    declaration = registry.declaration_for(model)
    assert declaration is not None
    return [name for name in declaration.personal_fields if "__" not in name]


@pytest.mark.parametrize("model", REGISTERED_AND_DECLARED, ids=lambda model: model._meta.label)
def test_every_declared_personal_field_is_masked_or_left_out(model):
    configured = auditlog.get_model_fields(model)
    hidden = set(configured["mask_fields"]) | set(configured["exclude_fields"])
    if configured["include_fields"]:
        hidden |= {field.name for field in model._meta.concrete_fields} - set(configured["include_fields"])
    assert set(own_fields(model)) <= hidden
    # Masked whole, not half in clear (auditlog's default mask keeps half the value).
    if configured["mask_fields"]:
        assert configured["mask_callable"] == "cases.audit.mask"


def test_the_registers_and_retention_models_are_audit_logged():
    labels = {model._meta.label for model in REGISTERED_AND_DECLARED}
    for declaration in registry.declarations():
        if declaration.label.startswith(("registers.", "retention.")):
            assert declaration.label in labels


def staff():
    return get_user_model().objects.get_or_create(username="auditor", defaults={"is_staff": True})[0]


def make_row(label: str):
    today = queries.local_today()
    if label == "registers.EventParticipant":
        return records.event_participant(today, organisation="Org")
    if label == "registers.Lead":
        return records.lead(today, job_title="CTO")
    if label == "registers.Inquiry":
        return records.inquiry(today)
    if label == "registers.CustomerContact":
        return records.customer_contact(today)
    if label == "registers.SupplierContact":
        return records.supplier_contact(today)
    if label == "registers.JobApplication":
        return records.job_application(today, cv=b"%PDF", cover_letter="Hire me")
    if label == "registers.RecruitmentEntry":
        return records.recruitment_entry(today)
    if label == "registers.AccountingRecord":
        return records.accounting_record(today, country="NO", receipt=b"%PDF")
    if label == "registers.VisitorRegistration":
        return records.visitor(today)
    if label == "retention.LegalHold":
        return services.place_hold(
            actor=staff(), scope=HoldScope.SUBJECT, email="held@example.com", reason="Claim"
        )
    if label == "retention.Postponement":
        return services.postpone(
            record=records.lead(today),
            until=today + timedelta(days=10),
            reason="Pending claim",
            actor=staff(),
        )
    if label == "consent.ConsentState":
        return records.consent(
            records.person()["email"], Purpose.NEWSLETTER, given_at=records.at_local(today)
        )
    if label == "consent.SelfServiceLink":
        return SelfServiceLink.objects.create(
            email=records.person()["email"].lower(),
            token_digest=uuid.uuid4().hex,
            language="nb",
            expires_at=timezone.now() + timedelta(hours=1),
        )
    if label == "consent.SignUp":
        ensure_default_purposes()
        purpose = ConsentPurpose.objects.get(slug=Purpose.NEWSLETTER)
        return SignUp.objects.create(
            kind="newsletter",
            email=records.person()["email"].lower(),
            full_name=records.person()["full_name"],
            language="sv",
            version=purpose.versions.get(number=1),
            token_digest=uuid.uuid4().hex,
        )
    if label == "consent.ConsentSubject":
        # Without events, so that the test can delete it (a subject with events is only erased).
        return ConsentSubject.objects.create(email=records.person()["email"].lower())
    if label == "cases.Case":
        return records.case(
            None, is_anonymous=False, reporter_name="Kari Nordmann", reporter_email="kari@example.com"
        )
    return None


def new_value(field: models.Field, tag: str):
    if isinstance(field, models.EmailField):
        return f"changed.{tag}@example.com"
    if isinstance(field, models.FileField):
        return f"registers/changed/{tag}.pdf"
    return f"Changed {tag}"[: field.max_length or 200]


# Every registered and declared model outside cases (whose parts cases' own tests cover), and the case.
ROW_LABELS = sorted(
    label
    for label in (model._meta.label for model in REGISTERED_AND_DECLARED)
    if not label.startswith("cases.") or label == "cases.Case"
)


@pytest.mark.parametrize("label", ROW_LABELS)
def test_a_change_through_the_orm_is_logged_with_the_values_masked(label):
    row = make_row(label)
    if row is None:
        pytest.fail(f"no maker for {label}: add one to this test")
    model = type(row)
    fields = own_fields(model)
    before = {name: str(getattr(row, name)) for name in fields if getattr(row, name)}
    assert LogEntry.objects.get_for_object(row).filter(action=LogEntry.Action.CREATE).exists()

    tags = {name: uuid.uuid4().hex for name in fields}
    for name in fields:
        setattr(row, name, new_value(model._meta.get_field(name), tags[name]))
    row.save()

    configured = auditlog.get_model_fields(model)
    update = LogEntry.objects.get_for_object(row).filter(action=LogEntry.Action.UPDATE).latest("timestamp")
    changes = update.changes_dict
    for name in fields:
        if name in configured["exclude_fields"]:
            assert name not in changes
        else:
            # Recorded as changed, with both values masked.
            assert changes[name] == [MASKED, MASKED] or changes[name][1] == MASKED, (name, changes[name])
            assert changes[name][0] in (MASKED, "None", None), (name, changes[name])

    pk = row.pk
    row.delete()
    entries = LogEntry.objects.filter(content_type__model=model._meta.model_name, object_pk=str(pk))
    assert entries.filter(action=LogEntry.Action.DELETE).exists()

    # Nothing of either value anywhere in the object's entries: changes, text, repr, extra data.
    text = " ".join(str(value) for entry in entries.values() for value in entry.values())
    for name, tag in tags.items():
        assert tag not in text, f"{label}.{name}'s new value is in the audit log"
    for name, value in before.items():
        assert value not in text, f"{label}.{name}'s old value is in the audit log"
