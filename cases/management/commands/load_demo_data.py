import os
import re
import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from cases import selectors, services
from cases.models import Case, CaseStatus, CaseType

DEMO_CODE_LINE = re.compile(r"demo case (?P<reference>\S+): receipt code (?P<code>.+)")

DEMO_CASES = [
    (
        CaseType.SUBJECT_REQUEST,
        False,
        {},  # the right is in DEMO_SUBJECT_RIGHTS
        "I would like a copy of all personal data you hold about me.",
        None,
    ),
    (
        CaseType.SUBJECT_REQUEST,
        False,
        {},
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


# The right each data-subject request names, by its message.
DEMO_SUBJECT_RIGHTS = {
    "I would like a copy of all personal data you hold about me.": "access",
    "Please delete my data from your newsletter list.": "erasure",
}


def demo_staff_user():
    user, _created = get_user_model().objects.get_or_create(username="staff", defaults={"is_staff": True})
    return user


class Command(BaseCommand):
    help = (
        "Loads demo cases of every type in several states, and (re)sets a demo staff login. "
        "Prints the demo cases' receipt codes and the staff login."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--codes-file",
            type=Path,
            help=(
                "Keeps the demo receipt codes in this file when it loads the cases, and prints them "
                "from it on later runs (the database keeps only their hashes). bin/start uses it."
            ),
        )

    def handle(self, *args, codes_file: Path | None = None, **options):
        staff = demo_staff_user()
        staff.is_staff = staff.is_superuser = True
        password = secrets.token_urlsafe(12)
        staff.set_password(password)
        staff.save()
        # Teams decide which cases a staff member sees: the demo login is in all of them.
        services.ensure_default_teams()
        services.add_to_teams(user=staff, team_slugs=list(services.DEFAULT_TEAMS), is_lead=True)
        if Case.objects.exists():
            code_lines = self.saved_code_lines(codes_file)
        else:
            code_lines = self.load_cases(staff=staff)
            if codes_file is not None:
                codes_file.parent.mkdir(parents=True, exist_ok=True)
                # Receipt codes open cases: only this user may read them.
                descriptor = os.open(codes_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(descriptor, "w") as file:
                    file.write("".join(f"{line}\n" for line in code_lines))
        for line in code_lines:
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"Staff login: staff / {password}"))

    def load_cases(self, *, staff) -> list[str]:
        code_lines = []
        # An operator's command is no client to limit: a key of its own for this run.
        client_key = f"load_demo_data:{secrets.token_hex(8)}"
        for number, (case_type, anonymous, details, message, status) in enumerate(DEMO_CASES, start=1):
            submitted = services.submit_case(
                client_key=client_key,
                case_type=case_type,
                language="en",
                is_anonymous=anonymous,
                subject_right=DEMO_SUBJECT_RIGHTS.get(message, ""),
                details=dict(details),
                message=message,
                uploads=[],
                reporter_name="" if anonymous else f"Demo Person {number}",
                reporter_email="" if anonymous else f"demo{number}@example.com",
                wants_notices=not anonymous,
            )
            if status:
                services.update_case(
                    case=submitted.case,
                    actor=staff,
                    status=status,
                    reply=(
                        "Thank you. Can you tell us which supplier?"
                        if status == CaseStatus.WAITING_FOR_REPORTER
                        else ""
                    ),
                )
            code_lines.append(f"demo case {submitted.case.reference}: receipt code {submitted.receipt_code}")
        return code_lines

    def saved_code_lines(self, codes_file: Path | None) -> list[str]:
        """The codes kept when the cases were loaded, those that still open their case (the file
        may have outlived the database it was written for)."""
        if codes_file is None or not codes_file.exists():
            return []
        kept = []
        for line in codes_file.read_text().splitlines():
            match = DEMO_CODE_LINE.fullmatch(line.strip())
            if not match:
                continue
            case = selectors.case_for_receipt_code(typed_code=match["code"])
            if case is not None and case.reference == match["reference"]:
                kept.append(line.strip())
        return kept
