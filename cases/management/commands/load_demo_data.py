import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from cases import services
from cases.models import Case, CaseStatus, CaseType

DEMO_CASES = [
    (
        CaseType.SUBJECT_REQUEST,
        False,
        {"subject_right": "access"},
        "I would like a copy of all personal data you hold about me.",
        None,
    ),
    (
        CaseType.SUBJECT_REQUEST,
        False,
        {"subject_right": "erasure"},
        "Please delete my data from your newsletter list.",
        CaseStatus.IN_PROGRESS,
    ),
    (
        CaseType.PRIVACY_DEVIATION,
        True,
        {"data_involved": "Names and salaries", "ongoing": "no"},
        "A spreadsheet with salaries was sent to the wrong mailing list.",
        CaseStatus.IN_PROGRESS,
    ),
    (
        CaseType.SECURITY_INCIDENT,
        True,
        {"systems_affected": "E-mail", "ongoing": "unknown"},
        "I received a phishing e-mail that looks like it came from IT.",
        None,
    ),
    (
        CaseType.WHISTLEBLOWING,
        True,
        {"persons_involved": "A purchasing manager"},
        "Invoices from one supplier seem to be approved without checks.",
        CaseStatus.WAITING_FOR_REPORTER,
    ),
    (
        CaseType.HSE,
        True,
        {"location": "Warehouse, Oslo", "anyone_hurt": "no"},
        "A pallet rack is leaning and could fall.",
        CaseStatus.CLOSED,
    ),
    (
        CaseType.COMPLAINT,
        False,
        {"processing_concerned": "Marketing e-mails"},
        "I keep getting marketing e-mails after unsubscribing.",
        None,
    ),
    (
        CaseType.GENERAL_INQUIRY,
        False,
        {"topic": "Privacy statement"},
        "How long do you keep CVs from open applications?",
        CaseStatus.CLOSED,
    ),
]


class Command(BaseCommand):
    help = "Loads demo cases of every type in several states, and (re)sets a demo staff login."

    def handle(self, *args, **options):
        if not Case.objects.exists():
            for number, (case_type, anonymous, details, message, status) in enumerate(DEMO_CASES, start=1):
                submitted = services.submit_case(
                    case_type=case_type,
                    language="en",
                    is_anonymous=anonymous,
                    details=dict(details),
                    message=message,
                    uploads=[],
                    reporter_name="" if anonymous else f"Demo Person {number}",
                    reporter_email="" if anonymous else f"demo{number}@example.com",
                    wants_notices=not anonymous,
                )
                if status:
                    services.change_status(case=submitted.case, status=status)
                if status == CaseStatus.WAITING_FOR_REPORTER:
                    services.reply_as_staff(
                        case=submitted.case,
                        staff_user=None,
                        message="Thank you. Can you tell us which supplier?",
                    )
                self.stdout.write(
                    f"demo case {submitted.case.reference}: receipt code {submitted.receipt_code}"
                )
        password = secrets.token_urlsafe(12)
        user, _created = get_user_model().objects.get_or_create(username="staff", defaults={"is_staff": True})
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(self.style.SUCCESS(f"Staff login: staff / {password}"))
