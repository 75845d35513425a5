"""registers.selectors.subject_rows: the rows an access export reads, through a statement the ORM
compiles once per declaration, columns and number of identities, and that is run again with
other identities. It must read exactly what subject_records' querysets find, for whoever is
asked about, however many people were asked about before."""

import dataclasses

import pytest
from django.db.models import Q

from cases.models import CaseType
from consent.defaults import ensure_default_purposes
from consent.models import Channel, ConsentAction, ConsentPurpose
from consent.services import record_consent
from registers.models import Lead
from registers.registry import declaration_for, declarations
from registers.selectors import Identities, subject_records, subject_rows
from tests.factories import submit
from tests.registers.factories import EventParticipantFactory, LeadFactory

pytestmark = pytest.mark.django_db

KARI, OLA = "kari@example.com", "ola@example.com"


def names(declaration) -> tuple[str, ...]:
    return ("pk", *declaration.exported, *declaration.file_fields)


def people() -> None:
    """Kari and Ola in registers, the ledger and the cases (named by address or phone number),
    and cases that must never be matched: an anonymous one naming Kari, a whistleblowing one."""
    for email, phone in ((KARI, "+47 912 34 567"), (OLA, "+46 70 123 45 67")):
        LeadFactory(email=email.upper(), company="Nordic Widgets AB")
        LeadFactory(email=email, company="Fjord Data AS")
        EventParticipantFactory(email=f"other-{email}", phone=phone)  # found by the number alone
        submit(case_type=CaseType.COMPLAINT, is_anonymous=False, reporter_email=email, reporter_name="Them")
        submit(
            case_type=CaseType.WHISTLEBLOWING, is_anonymous=False, reporter_email=email, reporter_name="Them"
        )
        ensure_default_purposes()
        newsletter = ConsentPurpose.objects.get(slug="newsletter")
        record_consent(email=email, purpose=newsletter, action=ConsentAction.GIVE, channel=Channel.WEB)
    submit(
        case_type=CaseType.COMPLAINT,
        is_anonymous=True,
        message=f"{KARI} leaked",
        details={"processing_concerned": KARI},
    )


def kari() -> Identities:
    return Identities.of(emails=[KARI, "kari.nordmann@example.no"], phones=["+47 912 34 567"])


def ola() -> Identities:
    return Identities.of(emails=[OLA, "ola.nordmann@example.no"], phones=["+46 70 123 45 67"])


def test_it_reads_what_the_querysets_find_in_every_register_for_each_person_in_turn():
    people()
    for identities in (kari(), ola(), kari()):  # the second and third reuse the first's statements
        for records in subject_records(identities=identities):
            declaration = records.declaration
            if not declaration.exported:
                continue
            expected = list(records.rows.order_by("pk").values_list(*names(declaration)))
            assert subject_rows(declaration, identities, names(declaration)) == expected, declaration.label


def test_one_persons_statement_reads_only_the_next_persons_rows_in_key_order():
    people()
    lead = declaration_for(Lead)
    columns = ("pk", "email", "company")

    kari_rows = subject_rows(lead, kari(), columns)
    ola_rows = subject_rows(lead, ola(), columns)

    assert [row[1:] for row in kari_rows] == [(KARI.upper(), "Nordic Widgets AB"), (KARI, "Fjord Data AS")]
    assert [row[1:] for row in ola_rows] == [(OLA.upper(), "Nordic Widgets AB"), (OLA, "Fjord Data AS")]
    assert [row[0] for row in ola_rows] == sorted(
        Lead.objects.filter(email__iexact=OLA).values_list("pk", flat=True)
    )


def test_the_cases_never_include_an_anonymous_report_nor_a_whistleblowing_one():
    people()
    case_declaration = next(d for d in declarations() if d.label == "cases.Case")

    rows = subject_rows(case_declaration, kari(), ("pk", "case_type", "is_anonymous"))

    assert [row[1:] for row in rows] == [(CaseType.COMPLAINT, False)]


def test_a_declaration_registered_again_is_compiled_again():
    people()
    lead = declaration_for(Lead)
    columns = ("pk", "company")
    assert len(subject_rows(lead, kari(), columns)) == 2

    narrowed = dataclasses.replace(lead, subject_scope=Q(company="Fjord Data AS"))

    assert [row[1] for row in subject_rows(narrowed, kari(), columns)] == ["Fjord Data AS"]
    assert len(subject_rows(lead, kari(), columns)) == 2  # and the original again


def test_nobody_to_look_for_finds_nothing():
    people()
    for declaration in declarations():
        assert subject_rows(declaration, Identities(), names(declaration)) == []
