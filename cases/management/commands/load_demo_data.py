import os
import re
import secrets
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core import signing
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cases import fulfilment, selectors, services
from cases.models import (
    Authority,
    Breach,
    BreachDecision,
    BreachNotification,
    Case,
    CaseOutcome,
    CaseStatus,
    CaseType,
    ClockKind,
    EmailConfirmation,
)
from consent.cookies_demo import add_demo_cookie_site
from consent.demo import load_consent_demo
from retention.demo import add_demo_external_register, add_requester_everywhere, load_register_demo

DEMO_CODE_LINE = re.compile(r"demo case (?P<reference>\S+): receipt code (?P<code>.+)")

HOUR, DAY = timedelta(hours=1), timedelta(days=1)

# What a team login may do with the cases of its team (CaseHandlerFactory gives tests the same).
CASE_PERMISSIONS = ("view_case", "change_case")


def demo_staff_user():
    user, _created = get_user_model().objects.get_or_create(username="staff", defaults={"is_staff": True})
    return user


def new_password(user) -> str:
    password = secrets.token_urlsafe(12)
    user.set_password(password)
    user.save()
    return password


def team_login(slug: str):
    """The demo login of one team, named after it: a handler who sees that team's cases only."""
    user, _created = get_user_model().objects.get_or_create(username=slug)
    user.is_staff = user.is_active = True
    password = new_password(user)
    user.user_permissions.add(
        *(Permission.objects.get(content_type__app_label="cases", codename=name) for name in CASE_PERMISSIONS)
    )
    services.add_to_teams(user=user, team_slugs=[slug], is_lead=True)
    return user, password


def move_back(case: Case, *, by: timedelta) -> None:
    """Makes everything that happened on the case so far look as if it happened `by` earlier.

    The services stamp their work with the present moment; the demo wants cases of several ages,
    with the staff's actions some time after receipt, so it submits and acts now and moves the
    case back in between. A clock's due moment is counted again from its moved start with the
    services' own arithmetic rather than moved by `by`: a period of days or months moved by a
    few days can end on another day (months differ in length; weekends and holidays move ends).
    An extended clock, and the feedback clock once the acknowledgement is met, are counted from
    more than their start: the demo extends and acknowledges those only after the last move.
    """

    def earlier(*names: str) -> dict:
        return {name: F(name) - by for name in names}

    with transaction.atomic():
        Case.objects.filter(pk=case.pk).update(**earlier("received_at", "closed_at", "email_confirmed_at"))
        case.refresh_from_db(fields=["received_at", "closed_at", "email_confirmed_at"])
        case.messages.update(**earlier("created_at"))
        case.events.update(**earlier("created_at"))
        Breach.objects.filter(case=case).update(**earlier("aware_at", "decided_at"))
        BreachNotification.objects.filter(breach__case=case).update(**earlier("notified_at"))
        acknowledged = case.clocks.filter(kind=ClockKind.ACKNOWLEDGEMENT, met_at__isnull=False).exists()
        for clock in case.clocks.all():
            policy = services._policy_for(case=case, kind=clock.kind)
            if policy is None or clock.extended_at or (clock.kind == ClockKind.FEEDBACK and acknowledged):
                raise ValueError(f"{case}: its {clock.kind} clock cannot be moved back")
            clock.starts_at -= by
            clock.met_at = clock.met_at - by if clock.met_at else None
            counted = services._new_clock(case=case, policy=policy, starts_at=clock.starts_at)
            clock.due_at, clock.at_risk_at = counted.due_at, counted.at_risk_at
            clock.save(update_fields=["starts_at", "met_at", "due_at", "at_risk_at"])
        services._refresh_next_due(case=case)


def confirm_address(case: Case) -> None:
    """The requester follows the link of the confirmation e-mail, which the demo cannot read."""
    nonce = EmailConfirmation.objects.get(case=case).link_nonce
    token = signing.dumps({"case": case.pk, "nonce": nonce}, salt=services.CONFIRM_LINK_SALT)
    services.confirm_email_with_link(token=token)


class Command(BaseCommand):
    help = (
        "Loads demo cases of every type, with clocks in every state, and (re)sets the demo staff "
        "logins: a superuser in all teams and one handler per team. Prints the demo cases' receipt "
        "codes and the logins."
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
        services.ensure_default_teams()
        services.ensure_default_clock_policies()
        staff = demo_staff_user()
        staff.is_staff = staff.is_superuser = True
        password = new_password(staff)
        # Teams decide which cases a staff member sees: the superuser login is in all of them.
        services.add_to_teams(user=staff, team_slugs=list(services.DEFAULT_TEAMS), is_lead=True)
        logins = {slug: team_login(slug) for slug in services.DEFAULT_TEAMS}
        load_register_demo(actor=staff)
        load_consent_demo(actor=staff)
        add_demo_cookie_site()
        if Case.objects.exists():
            code_lines = self.saved_code_lines(codes_file)
        else:
            code_lines = self.load_cases(handlers={slug: user for slug, (user, _password) in logins.items()})
            if codes_file is not None:
                codes_file.parent.mkdir(parents=True, exist_ok=True)
                # Receipt codes open cases: only this user may read them.
                descriptor = os.open(codes_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(descriptor, "w") as file:
                    file.write("".join(f"{line}\n" for line in code_lines))
        for line in code_lines:
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"Staff login: staff / {password}"))
        for slug, (_user, team_password) in logins.items():
            self.stdout.write(self.style.SUCCESS(f"Staff login ({slug} team): {slug} / {team_password}"))

    def load_cases(self, *, handlers: dict) -> list[str]:
        """Eight cases, of ages chosen so that, as the demo loads, their clocks are running, at
        risk, breached, met on time and met late; what staff did on them, their team's login did
        through the services. The margins hold whatever the date: a period of days ends at most
        five days later for weekends and holidays (Norway's Easter)."""
        privacy, security, hse = handlers["privacy"], handlers["security"], handlers["hse"]
        whistleblowing = handlers["whistleblowing"]
        # An operator's command is no client to limit: a key of its own for this run.
        client_key = f"load_demo_data:{secrets.token_hex(8)}"
        submitted: list[services.SubmittedCase] = []

        def submit(case_type: str, message: str, *, details=None, subject_right: str = "", anonymous=False):
            number = len(submitted) + 1
            report = services.submit_case(
                client_key=client_key,
                case_type=case_type,
                language="en",
                is_anonymous=anonymous,
                subject_right=subject_right,
                details=details or {},
                message=message,
                uploads=[],
                reporter_name="" if anonymous else f"Demo Person {number}",
                reporter_email="" if anonymous else f"demo{number}@example.com",
                wants_notices=not anonymous,
            )
            submitted.append(report)
            return report.case

        # 10 days old, confirmed, and extended now, while its first period runs (art. 12(3)).
        access = submit(
            CaseType.SUBJECT_REQUEST,
            "I would like a copy of all personal data you hold about me.",
            subject_right="access",
        )
        confirm_address(access)
        move_back(access, by=10 * DAY)
        services.assign_case(case=access, actor=privacy, assignee=privacy)
        services.change_status(case=access, actor=privacy, status=CaseStatus.IN_PROGRESS)
        services.extend_deadline(
            case=access,
            actor=privacy,
            reason="Your data is kept in several systems, some at our subsidiaries, and collecting it takes time.",
        )
        # The requester is in every register, with an accounting record the law keeps and
        # consents in the ledger: the demo's collection, access export and erasure show them all.
        add_requester_everywhere(email=access.reporter_email, name=access.reporter_name)
        add_demo_external_register(requester_email=access.reporter_email, requester_name=access.reporter_name)
        fulfilment.collect_subject_data(case=access, actor=privacy)

        # 3 hours old, and waiting for the requester to confirm the address.
        erasure = submit(
            CaseType.SUBJECT_REQUEST,
            "Please delete my data from your newsletter list.",
            subject_right="erasure",
        )
        move_back(erasure, by=3 * HOUR)

        # 20 hours old; the authority was notified 4 hours after the team became aware of it.
        breach = submit(
            CaseType.PRIVACY_DEVIATION,
            "A spreadsheet with salaries was sent to the wrong mailing list.",
            details={"data_involved": "Names and salaries", "ongoing": "no"},
            anonymous=True,
        )
        move_back(breach, by=4 * HOUR)
        services.assign_case(case=breach, actor=privacy, assignee=privacy)
        services.change_status(case=breach, actor=privacy, status=CaseStatus.IN_PROGRESS)
        services.update_breach_facts(
            case=breach,
            actor=privacy,
            nature="A spreadsheet of salaries was e-mailed to an internal list of about 300 people.",
            data_categories="Names, employee numbers, salaries",
            subjects_affected=120,
            effects="Colleagues may learn each other's salaries.",
            remedial_action="The e-mail was recalled; the recipients were asked to delete it.",
        )
        services.decide_breach(case=breach, actor=privacy, decision=BreachDecision.NOTIFY)
        services.record_breach_notification(
            case=breach,
            actor=privacy,
            authority=Authority.NORWAY,
            notified_at=timezone.now(),
            summary="First notification; the number of recipients who opened it follows.",
        )
        services.record_subjects_informed(case=breach, actor=privacy, informed=True)
        move_back(breach, by=16 * HOUR)

        # 60 hours old and not triaged: 12 of its 72 hours are left.
        incident = submit(
            CaseType.SECURITY_INCIDENT,
            "I received a phishing e-mail that looks like it came from IT.",
            details={"systems_affected": "E-mail", "ongoing": "unknown"},
            anonymous=True,
        )
        move_back(incident, by=60 * HOUR)
        services.assign_case(case=incident, actor=security, assignee=security)

        # 14 days old, assigned now, and never acknowledged: the 7 days (12 at most with
        # holidays) have passed.
        report = submit(
            CaseType.WHISTLEBLOWING,
            "Invoices from one supplier seem to be approved without checks.",
            details={"persons_involved": "A purchasing manager"},
            anonymous=True,
        )
        move_back(report, by=14 * DAY)
        services.assign_case(case=report, actor=whistleblowing, assignee=whistleblowing)

        # 5 days old, acknowledged the day after it came.
        hazard = submit(
            CaseType.HSE,
            "A pallet rack is leaning and could fall.",
            details={"location": "Warehouse, Oslo", "anyone_hurt": "no"},
            anonymous=True,
        )
        move_back(hazard, by=DAY)
        services.reply_to_reporter(
            case=hazard, actor=hse, body="Thank you. The aisle is closed until the rack has been checked."
        )
        move_back(hazard, by=4 * DAY)

        # 45 days old, answered after 40 of its 30 days, and closed.
        complaint = submit(
            CaseType.COMPLAINT,
            "I keep getting marketing e-mails after unsubscribing.",
            details={"processing_concerned": "Marketing e-mails"},
        )
        move_back(complaint, by=40 * DAY)
        services.reply_to_reporter(
            case=complaint,
            actor=privacy,
            body="We are sorry for the late answer. Your address is now removed from every marketing list.",
            is_answer=True,
        )
        services.change_status(
            case=complaint, actor=privacy, status=CaseStatus.CLOSED, outcome=CaseOutcome.ANSWERED
        )
        move_back(complaint, by=5 * DAY)

        # 2 days old; staff asked a question the day after, and wait for the answer.
        inquiry = submit(
            CaseType.GENERAL_INQUIRY,
            "How long do you keep CVs from open applications?",
            details={"topic": "Privacy statement"},
        )
        move_back(inquiry, by=DAY)
        services.reply_to_reporter(
            case=inquiry,
            actor=privacy,
            body="Thank you. Did you send an open application, or one for a position?",
        )
        services.change_status(case=inquiry, actor=privacy, status=CaseStatus.WAITING_FOR_REPORTER)
        move_back(inquiry, by=DAY)

        return [f"demo case {item.case.reference}: receipt code {item.receipt_code}" for item in submitted]

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
