"""Access-export benchmark (issue 13, point 9): the access export for a subject with 1,000 records
spread over every register (a register in another database included), built by a real Celery
worker, against a baseline that reads the same rows with hand-written SQL and writes the same zip
in one process.

    .venv/bin/python bench/access.py          # 1,000 records, 5 timed exports, 12 for the rate
    .venv/bin/python bench/access.py --full   # the same subject, 10 timed exports, 30 for the rate

It makes its own PostgreSQL database (tc_bench_access_<random> on 127.0.0.1:5432), migrates it,
and fills it: one person (the requester of a confirmed `subject_request` case) with 100 records
in each of the nine registers, 50 consent events and 50 rows in a CRM table kept in the second
PostgreSQL database `trustcenter_external` (bin/test makes it; the bench makes its own table
there), declared as an external register. Redis database 14 is the broker, emptied at the end.
One worker (`celery worker --pool solo`, production settings) builds the exports.

- latency: from "collect" (fulfilment.collect_subject_data) through requesting the export to
  its zip being ready for review, as staff wait for it: goal <= 2 s;
- rate: as many requests at once (one case each, the same person) as the worker builds one
  after another: exports per second, goal >= 6;
- baseline: the same rows read with one hand-written SELECT per register that exports something
  (the 21 the registry declares, those without this person's records too, and the external
  table; psycopg2) and the same zip (data.json, a CSV per register with records, the readable
  summary by the same writer, cases.access_export.summary_html) written in this process, one
  export after another. The run stops if the baseline's zip and the worker's do not hold the
  same files and the same number of records per register.

ratio = worker exports/s / baseline exports/s (goal 0.5). The last line:
RESULT access ratio=<ratio> goal=0.5.
"""

import sys
from pathlib import Path

if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse  # noqa: E402
import csv  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import zipfile  # noqa: E402
from datetime import date  # noqa: E402
from decimal import Decimal  # noqa: E402
from typing import Any  # noqa: E402

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))
from bench._machine import PG, cpu_idle_share, pg_admin_execute  # noqa: E402

EMAIL = "kari.nordmann@bench.example"
PER_REGISTER = 100
CONSENT_EVENTS = 50
EXTERNAL_ROWS = 50
GOAL_LATENCY = 2.0
GOAL_RATE = 6.0
GOAL_RATIO = 0.5
REDIS_URL = "redis://127.0.0.1:6379/14"
EXTERNAL_URL = (
    f"postgresql+psycopg2://{PG['user']}:{PG['password']}@{PG['host']}:{PG['port']}/trustcenter_external"
)
EXTERNAL_VARIABLE = "TRUSTCENTER_EXTERNAL_BENCH_URL"


def log(text: str = "") -> None:
    print(text, flush=True)


def environment(database: str, data_dir: Path) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "trustcenter.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(60),
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "TRUSTCENTER_RECEIPT_SALT": secrets.token_urlsafe(32),
        "TRUSTCENTER_SITE_URL": "https://testserver",
        "DATABASE_URL": f"postgres://{PG['user']}:{PG['password']}@{PG['host']}:{PG['port']}/{database}",
        "CACHE_URL": "locmemcache://bench-access",
        "CELERY_BROKER_URL": REDIS_URL,
        "EMAIL_URL": "consolemail://",
        "TRUSTCENTER_DATA_DIR": str(data_dir),
        "TRUSTCENTER_UPLOAD_DIR": str(data_dir / "uploads"),
        "DJANGO_LOG_LEVEL": "WARNING",
        EXTERNAL_VARIABLE: EXTERNAL_URL,
    }


def fill(handler_name: str, cases: int):
    """The person in every register, the ledger and the external table; `cases` confirmed
    requests of theirs (one per export at once)."""
    import sqlalchemy as sa
    from django.utils import timezone

    from cases import services
    from cases.models import Case
    from consent.defaults import ensure_default_purposes
    from consent.models import Channel, ConsentAction, ConsentPurpose
    from consent.services import record_consent
    from registers import models as registers
    from registers.models import ExternalRegister

    services.ensure_default_teams()
    services.ensure_default_clock_policies()
    entity = registers.LegalEntity.objects.create(name="Bench AS", country="NO", organisation_number="1")
    person = {"full_name": "Kari Nordmann", "email": EMAIL, "phone": "+47 912 34 567", "legal_entity": entity}
    event = registers.Event.objects.create(
        title="Breakfast", starts_on=date(2026, 1, 1), ends_on=date(2026, 1, 1), legal_entity=entity
    )
    now = timezone.now()
    builders = [
        lambda n: registers.EventParticipant(event=event, organisation=f"Org {n}", **person),
        lambda n: registers.Lead(company=f"Company {n}", **person),
        lambda n: registers.Inquiry(question=f"Question {n}", **person),
        lambda n: registers.CustomerContact(company=f"Customer {n}", **person),
        lambda n: registers.SupplierContact(company=f"Supplier {n}", **person),
        lambda n: registers.JobApplication(position=f"Position {n}", **person),
        lambda n: registers.RecruitmentEntry(skills=f"Skills {n}", **person),
        lambda n: registers.AccountingRecord(
            voucher_number=f"V-{n}", fiscal_year_end=date(2025, 12, 31), amount=Decimal("10.00"), **person
        ),
        lambda n: registers.VisitorRegistration(company=f"Visit {n}", visited_at=now, **person),
    ]
    for build in builders:
        records = [build(n) for n in range(PER_REGISTER)]
        type(records[0])._default_manager.bulk_create(records)
    ensure_default_purposes()
    newsletter = ConsentPurpose.objects.get(slug="newsletter")
    for n in range(CONSENT_EVENTS):
        action = ConsentAction.GIVE if n % 2 == 0 else ConsentAction.WITHDRAW
        record_consent(email=EMAIL, purpose=newsletter, action=action, channel=Channel.IMPORT)

    engine = sa.create_engine(EXTERNAL_URL)
    table_name = f"bench_crm_{secrets.token_hex(4)}"
    metadata = sa.MetaData()
    table = sa.Table(
        table_name,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("full_name", sa.String(200)),
        sa.Column("email", sa.String(254)),
        sa.Column("last_contact_on", sa.Date),
    )
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            table.insert(),
            [
                {"full_name": "Kari Nordmann", "email": EMAIL, "last_contact_on": date(2026, 1, n % 28 + 1)}
                for n in range(EXTERNAL_ROWS)
            ],
        )
    engine.dispose()
    ExternalRegister.objects.create(
        name="Bench CRM",
        connection_variable=EXTERNAL_VARIABLE,
        table=table_name,
        email_column="email",
        clock_column="last_contact_on",
        category="customer_contacts",
        exported_columns=["full_name", "email", "last_contact_on"],
    )

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    handler = get_user_model().objects.create(username=handler_name, is_staff=True)
    handler.user_permissions.add(*Permission.objects.filter(codename__in=["view_case", "change_case"]))
    services.add_to_teams(user=handler, team_slugs=["privacy"])
    made = []
    for n in range(cases):
        submitted = services.submit_case(
            client_key=f"bench-{n}",
            case_type="subject_request",
            language="en",
            is_anonymous=False,
            subject_right="access",
            details={},
            message="A copy of my data, please.",
            uploads=[],
            reporter_name="Kari Nordmann",
            reporter_email=EMAIL,
        )
        made.append(submitted.case.pk)
    Case.objects.filter(pk__in=made).update(email_confirmed_at=now)
    return table_name, made


def wait_until_ready(export_ids: list[int], timeout: float = 300) -> None:
    from cases.models import AccessExport, ExportStatus

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if AccessExport.objects.filter(pk__in=export_ids, status=ExportStatus.REVIEW).count() == len(
            export_ids
        ):
            return
        time.sleep(0.01)
    raise RuntimeError("the worker did not build the exports in time")


def worker_side(handler, case_ids: list[int], timed: int) -> tuple[list[float], float, int]:
    """Latencies of `timed` collect-to-ready exports one after another, then the rate of
    len(case_ids) exports asked for at once; and the records in one export."""
    from cases import fulfilment
    from cases.models import AccessExport, Case

    latencies = []
    first = Case.objects.get(pk=case_ids[0])
    for _ in range(timed):
        started = time.perf_counter()
        fulfilment.collect_subject_data(case=first, actor=handler)
        export = fulfilment.request_access_export(case=first, actor=handler)
        wait_until_ready([export.pk])
        latencies.append(time.perf_counter() - started)
    records = AccessExport.objects.get(pk=export.pk).records
    cases = list(Case.objects.filter(pk__in=case_ids[1:]))
    started = time.perf_counter()
    ids = [fulfilment.request_access_export(case=case, actor=handler).pk for case in cases]
    wait_until_ready(ids)
    rate = len(ids) / (time.perf_counter() - started)
    return latencies, rate, records


def profile_build(handler, case_id: int) -> None:
    import cProfile
    import pstats

    from cases import fulfilment
    from cases.models import AccessExport, Case

    case = Case.objects.get(pk=case_id)
    AccessExport.objects.filter(case=case).delete()
    export = AccessExport.objects.create(case=case, requested_by=handler)
    profiler = cProfile.Profile()
    profiler.enable()
    fulfilment.build_access_export(export_id=export.pk)
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(35)
    sys.stderr.write(text.getvalue())


# --- The baseline: hand-written SQL, the same zip, one process ---------------------------------

# The cases the registry may show (not anonymous, not whistleblowing), for the case's parts.
_CASES = "JOIN cases_case c ON c.id = x.case_id WHERE lower(c.reporter_email) = %s AND NOT c.is_anonymous AND c.case_type <> 'whistleblowing'"
_SUBJECT = "JOIN consent_consentsubject s ON s.id = x.subject_id"

# Every register that exports something, its exported columns, with the rows the registry finds
# (those of this person hold 100 rows, a few or none: each is read, as it must be to know).
BASELINE_QUERIES = {
    "cases.Attachment": f"SELECT x.id, c.reference, x.original_name, x.content_type, x.size, x.file FROM cases_attachment x {_CASES} ORDER BY x.id",
    "cases.Case": "SELECT id, reference, case_type, received_at, status, reporter_name, reporter_email, details FROM cases_case WHERE lower(reporter_email) = %s AND NOT is_anonymous AND case_type <> 'whistleblowing' ORDER BY id",
    "cases.CaseMessage": f"SELECT x.id, c.reference, x.created_at, x.author, x.is_internal, x.body FROM cases_casemessage x {_CASES} ORDER BY x.id",
    "cases.ProvenIdentity": f"SELECT x.id, c.reference, x.kind, x.value, x.added_at FROM cases_provenidentity x {_CASES} ORDER BY x.id",
    "consent.ConsentEvent": f"SELECT x.id, p.slug, v.number, x.action, x.channel, x.occurred_at FROM consent_consentevent x {_SUBJECT} JOIN consent_consentpurpose p ON p.id = x.purpose_id JOIN consent_purposeversion v ON v.id = x.version_id WHERE lower(s.email) = %s ORDER BY x.id",
    "consent.ConsentState": f"SELECT x.id, p.slug, v.number, x.given_at, x.withdrawn_at FROM consent_consentstate x {_SUBJECT} JOIN consent_consentpurpose p ON p.id = x.purpose_id JOIN consent_purposeversion v ON v.id = x.version_id WHERE lower(s.email) = %s ORDER BY x.id",
    "consent.ConsentSubject": "SELECT id, id, email, created_at FROM consent_consentsubject WHERE lower(email) = %s ORDER BY id",
    "consent.RenewalRequest": f"SELECT x.id, p.slug, x.for_given_at, x.asked_at FROM consent_renewalrequest x {_SUBJECT} JOIN consent_consentpurpose p ON p.id = x.purpose_id WHERE lower(s.email) = %s ORDER BY x.id",
    "consent.SelfServiceLink": "SELECT id, email, created_at, expires_at, spent_at FROM consent_selfservicelink WHERE lower(email) = %s ORDER BY id",
    "consent.SignUp": "SELECT id, kind, email, full_name, phone, skills, created_at, cv FROM consent_signup WHERE lower(email) = %s ORDER BY id",
    "registers.AccountingRecord": "SELECT id, full_name, email, phone, voucher_number, fiscal_year_end, amount, description, receipt FROM registers_accountingrecord WHERE lower(email) = %s ORDER BY id",
    "registers.CustomerContact": "SELECT id, full_name, email, phone, company, role, created_at, relationship_ended_on FROM registers_customercontact WHERE lower(email) = %s ORDER BY id",
    "registers.EventParticipant": "SELECT x.id, e.title, e.starts_on, x.full_name, x.email, x.phone, x.organisation, x.created_at FROM registers_eventparticipant x JOIN registers_event e ON e.id = x.event_id WHERE lower(x.email) = %s ORDER BY x.id",
    "registers.Inquiry": "SELECT id, full_name, email, phone, company, question, created_at, answered_at FROM registers_inquiry WHERE lower(email) = %s ORDER BY id",
    "registers.JobApplication": "SELECT id, full_name, email, phone, position, cover_letter, created_at, process_closed_on, cv FROM registers_jobapplication WHERE lower(email) = %s ORDER BY id",
    "registers.Lead": "SELECT id, full_name, email, phone, company, job_title, source, created_at FROM registers_lead WHERE lower(email) = %s ORDER BY id",
    "registers.RecruitmentEntry": "SELECT id, full_name, email, phone, skills, created_at, cv FROM registers_recruitmententry WHERE lower(email) = %s ORDER BY id",
    "registers.SupplierContact": "SELECT id, full_name, email, phone, company, role, created_at, relationship_ended_on FROM registers_suppliercontact WHERE lower(email) = %s ORDER BY id",
    "registers.VisitorRegistration": "SELECT id, full_name, email, phone, company, host_name, visited_at FROM registers_visitorregistration WHERE lower(email) = %s ORDER BY id",
    "retention.LegalHold": "SELECT id, scope, reason, created_at, until, lifted_at FROM retention_legalhold WHERE lower(email) = %s ORDER BY id",
    "trustcenter.OutboxMessage": "SELECT id, recipient, subject, created_at, sent_at FROM trustcenter_outboxmessage WHERE lower(recipient) = %s ORDER BY id",
}
# The register a part belongs to, whose entry in the record of processing the summary shows.
OWNERS = {
    "cases.Attachment": "cases.Case",
    "cases.CaseMessage": "cases.Case",
    "cases.ProvenIdentity": "cases.Case",
    "consent.ConsentEvent": "consent.ConsentSubject",
    "consent.ConsentState": "consent.ConsentSubject",
    "consent.RenewalRequest": "consent.ConsentSubject",
}


def baseline_export(connection, external_connection, table_name: str, external_label: str, case) -> bytes:
    from django.utils import timezone

    from cases import access_export
    from registers import exports

    def value(item):
        return (
            item.isoformat()
            if hasattr(item, "isoformat")
            else str(item)
            if isinstance(item, Decimal)
            else item
        )

    def add(label: str, columns: list[str], rows: list[list]) -> None:
        if not rows:  # a register without the person's records is left out, as in the export
            return
        registers.append(
            {"register": label, "records": [dict(zip(columns, row, strict=True)) for row in rows]}
        )
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(columns)
        writer.writerows(rows)
        archive.writestr(f"csv/{label}.csv", text.getvalue())

    buffer = io.BytesIO()
    registers: list[dict[str, Any]] = []
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with connection.cursor() as cursor:
            for label, sql in BASELINE_QUERIES.items():
                cursor.execute(sql, [EMAIL] * sql.count("%s"))
                columns = [column.name for column in cursor.description]
                add(label, columns, [[value(item) for item in row] for row in cursor.fetchall()])
        with external_connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, full_name, email, last_contact_on FROM {table_name} WHERE lower(trim(email)) = %s ORDER BY id",
                [EMAIL],
            )
            columns = [column.name for column in cursor.description]
            add(external_label, columns, [[value(item) for item in row] for row in cursor.fetchall()])
        archive.writestr("data.json", json.dumps({"registers": registers}, ensure_ascii=False, default=str))
        # The same readable summary, by the same writer: the baseline differs in how it reads.
        parts = [
            access_export.RegisterPart(
                register["register"],
                OWNERS.get(register["register"], register["register"]),
                register["register"],
                [
                    exports.ExportedRecord(key=str(record["id"]), values=record)
                    for record in register["records"]
                ],
            )
            for register in registers
        ]
        archive.writestr(
            "summary.html",
            access_export.summary_html(case=case, parts=parts, withheld=[], generated_at=timezone.now()),
        )
    return buffer.getvalue()


def same_contents(built: bytes, baseline: bytes) -> tuple[bool, str]:
    """Whether the worker's zip and the baseline's hold the same files and the same records."""

    def contents(package: bytes) -> tuple[list[str], dict[str, int]]:
        with zipfile.ZipFile(io.BytesIO(package)) as archive:
            data = json.loads(archive.read("data.json"))
            return sorted(archive.namelist()), {
                register["register"]: len(register["records"]) for register in data["registers"]
            }

    files, records = contents(built)
    baseline_files, baseline_records = contents(baseline)
    if files != baseline_files or records != baseline_records:
        return False, f"worker {files} {records}; baseline {baseline_files} {baseline_records}"
    return True, f"{len(files)} files, {sum(records.values()):,} records"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="more timed exports")
    parser.add_argument(
        "--profile", action="store_true", help="a cProfile of one build in this process, on stderr"
    )
    args = parser.parse_args()
    timed, at_once = (10, 30) if args.full else (5, 12)
    database = f"tc_bench_access_{secrets.token_hex(4)}"
    data_dir = Path(tempfile.mkdtemp(prefix="bench-access-"))
    env = environment(database, data_dir)
    os.environ.update(env)
    log(f"CPU idle before the run: {cpu_idle_share():.0%} of {os.cpu_count()} cores")
    pg_admin_execute(f"CREATE DATABASE {database}")
    worker = None
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        import psycopg2
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        table_name, case_ids = fill("bench-handler", at_once + 1)
        from django.contrib.auth import get_user_model

        handler = get_user_model().objects.get(username="bench-handler")
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "trustcenter",
                "worker",
                "--pool",
                "solo",
                "--loglevel",
                "WARNING",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=PROJECT_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        from trustcenter.celery import app

        for _ in range(60):
            if app.control.ping(timeout=0.5):
                break
        else:
            raise RuntimeError("the Celery worker did not start")

        latencies, rate, records = worker_side(handler, case_ids, timed)
        if args.profile:
            profile_build(handler, case_ids[0])
        log(
            f"records in one export: {records:,} (9 registers x {PER_REGISTER}, {CONSENT_EVENTS} consent events, {EXTERNAL_ROWS} external rows, the cases)"
        )

        connection = psycopg2.connect(dbname=database, **PG)
        external_connection = psycopg2.connect(dbname="trustcenter_external", **PG)
        from cases.models import AccessExport, Case
        from registers.models import ExternalRegister

        case = Case.objects.get(pk=case_ids[0])
        external_label = ExternalRegister.objects.get().label
        baseline = baseline_export(connection, external_connection, table_name, external_label, case)
        with AccessExport.objects.filter(case_id=case_ids[-1]).get().file.open("rb") as built:
            same, what = same_contents(built.read(), baseline)
        if not same:
            raise RuntimeError(f"the baseline's zip differs from the worker's: {what}")
        log(f"the worker's zip and the baseline's hold the same: {what}")
        started = time.perf_counter()
        sizes = [
            len(baseline_export(connection, external_connection, table_name, external_label, case))
            for _ in range(at_once)
        ]
        baseline_rate = at_once / (time.perf_counter() - started)
        connection.close()
        external_connection.close()

        p50 = statistics.median(latencies)
        worst = max(latencies)
        ratio = rate / baseline_rate
        log(
            f"latency collect -> zip ready, {timed} exports one after another: median {p50:.2f} s, worst {worst:.2f} s (goal <= {GOAL_LATENCY} s): {'met' if worst <= GOAL_LATENCY else 'MISSED'}"
        )
        log(
            f"rate with one worker, {at_once} exports asked at once: {rate:.1f} exports/s (goal >= {GOAL_RATE}): {'met' if rate >= GOAL_RATE else 'MISSED'}"
        )
        log(
            f"baseline (hand-written SQL, the same zip, one process): {baseline_rate:.1f} exports/s, {statistics.mean(sizes) / 1024:.0f} KiB a zip"
        )
        log(f"ratio worker/baseline: {ratio:.2f} (goal >= {GOAL_RATIO})")
        log(f"RESULT access ratio={ratio:.2f} goal={GOAL_RATIO}")
        return 0
    finally:
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
        from django.db import connections

        connections.close_all()
        pg_admin_execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        shutil.rmtree(data_dir, ignore_errors=True)
        try:
            import redis

            redis.Redis.from_url(REDIS_URL).flushdb()
        except Exception:  # noqa: BLE001 - the bench's own broker; nothing to keep
            pass


if __name__ == "__main__":
    sys.exit(main())
