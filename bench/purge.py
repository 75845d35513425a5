"""Purge benchmark (issue 11, point 13): the retention engine against a hand-written batched SQL
DELETE of the same expired rows, its peak memory, its growth, and form intake during a purge.

    .venv/bin/python bench/purge.py          # 2k and 20k expired rows, under a minute
    .venv/bin/python bench/purge.py --full   # 100k and 1M expired rows (the issue's sizes)

It makes its own PostgreSQL databases (bench_purge_<random> on 127.0.0.1:5432, user postgres),
migrates the first one and fills it with COPY: expired rows spread evenly over four registers
(event participants, leads, visitor registrations, job applications, a CV file on one in 20),
and besides them rows that must stay: a tenth as many recent ones, and 1% of the expired
participants and leads kept by a standing consent. That database is the template: before each
side, `CREATE DATABASE ... TEMPLATE` makes an identical copy to work on, and the CV files are
hard-linked into a fresh upload folder, so both sides start from the same rows and files.

Each side runs in a child process with production settings (DJANGO_DEBUG=false), timed around
the deleting alone; the child reports its peak RSS (VmHWM) and then checks that exactly
the expired rows and their files are gone:

- purge: `retention.services.run_purge(trigger=schedule)` as the nightly job runs it (every
  rule, then the sweep of orphan files), at full speed (pause 0), batch size from the settings;
- baseline: per register, `DELETE ... WHERE id IN (SELECT id ... <expired and not kept by
  consent> AND id > <last batch's largest> ORDER BY id LIMIT <batch>) RETURNING id` in
  autocommit, the job applications' `RETURNING cv` files unlinked after each batch commits.

Then, at the larger size, the purge at its configured pace (TRUSTCENTER_RETENTION_BATCH_SIZE and
TRUSTCENTER_RETENTION_PAUSE_SECONDS, the production setting) while gunicorn serves the report form
on the same database (as bench/intake.py: production settings, Redis, one client posting the
multipart form): p95 of the form's POST before and after the purge (idle) against during it.
The paced purge is stopped once the requests during it are done.

Goals (issue 11): rows/s ratio purge/baseline >= 0.7 at full speed; peak RSS of the purging
process <= 200 MB; time per row at the larger size within 1.3x of the smaller; intake p95
during the paced purge <= 2x idle. Last line: RESULT purge ratio=<ratio at the larger size> goal=0.7.
Redis database 15 (cache and broker of the server) is emptied at the end.
"""

import sys
from pathlib import Path

# bench/queue.py shares its name with the standard library's `queue`, which Django and redis
# import: the script's folder is taken off the path before anything imports.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import date, datetime, timedelta  # noqa: E402

import psycopg2  # noqa: E402

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))
from bench._machine import PG, cpu_idle_share, pg_admin_execute  # noqa: E402

SMALL_SIZES = (2_000, 20_000)
FULL_SIZES = (100_000, 1_000_000)
GOAL_RATIO = 0.7
GOAL_PEAK_MB = 200.0
GOAL_GROWTH = 1.3
GOAL_P95 = 2.0
REDIS_URL = "redis://127.0.0.1:6379/15"
SEED = 20261211
CHUNK = 50_000  # rows per COPY
KEPT_SHARE = 0.10  # recent rows that stay, per expired row
CONSENT_KEPT_SHARE = 0.01  # expired participants and leads that a standing consent keeps
CV_EVERY = 20  # one job application in 20 has a CV file
CV_BYTES = b"%PDF-1.4\n" + b"0" * 8_000 + b"\n%%EOF\n"
PARTICIPANTS_PER_EVENT = 200
REGISTERS = ("event_participants", "leads", "visitors", "job_applications")
TABLES = {
    "event_participants": "registers_eventparticipant",
    "leads": "registers_lead",
    "visitors": "registers_visitorregistration",
    "job_applications": "registers_jobapplication",
}
CV_FOLDER = "registers/jobapplication"


def log(text: str = "") -> None:
    print(text, flush=True)


def django_env(database: str, data_dir: Path, upload_dir: Path) -> dict[str, str]:
    """Production settings on a bench database (the server's are the same plus its address)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "trustcenter.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": os.environ.get("BENCH_PURGE_SECRET_KEY") or secrets.token_urlsafe(60),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "TRUSTCENTER_RECEIPT_SALT": os.environ.get("BENCH_PURGE_RECEIPT_SALT") or secrets.token_urlsafe(32),
        "TRUSTCENTER_SITE_URL": "https://127.0.0.1",
        "DATABASE_URL": f"postgres://{PG['user']}:{PG['password']}@{PG['host']}:{PG['port']}/{database}",
        "CACHE_URL": REDIS_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "EMAIL_URL": "consolemail://",
        "TRUSTCENTER_DATA_DIR": str(data_dir),
        "TRUSTCENTER_UPLOAD_DIR": str(upload_dir),
        "TRUSTCENTER_SUBMISSIONS_PER_HOUR": "1000000000",
        "DJANGO_LOG_LEVEL": "WARNING",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def rss_mb(field_name: str = "VmRSS") -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


# --- The children: one side each, timed around the deleting alone ------------------------------


def child_purge(batch_size: int | None, pause: float | None, profile: bool) -> dict:
    import django

    django.setup()
    from django.db import connection

    from retention.models import RunStep, Trigger
    from retention.services import run_purge

    connection.ensure_connection()
    before = rss_mb()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    run = run_purge(trigger=Trigger.SCHEDULE, batch_size=batch_size, pause_seconds=pause)
    seconds = time.perf_counter() - started
    if profiler is not None:
        import pstats

        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(30)
        sys.stderr.write(text.getvalue())
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(20)
        sys.stderr.write(text.getvalue())
    steps = [
        {"category": step.category, "register": step.register, "deleted": step.deleted, "failed": step.failed}
        for step in RunStep.objects.filter(run=run).order_by("pk")
    ]
    from auditlog.models import LogEntry

    return {
        "seconds": seconds,
        "status": run.status,
        "error": run.error,
        "totals": run.totals(),
        "steps": steps,
        "rss_before_mb": before,
        "audit_entries": LogEntry.objects.count(),
    }


BASELINE_SQL = {
    "event_participants": """
        DELETE FROM registers_eventparticipant WHERE id IN (
            SELECT p.id FROM registers_eventparticipant p JOIN registers_event e ON e.id = p.event_id
            WHERE e.ends_on <= %(cutoff)s AND NOT EXISTS (
                SELECT 1 FROM consent_consentstate c WHERE c.purpose = 'event_followup'
                AND c.email = lower(p.email) AND c.withdrawn_at IS NULL) AND p.id > %(after)s
            ORDER BY p.id LIMIT %(batch)s)
        RETURNING id""",
    "leads": """
        DELETE FROM registers_lead WHERE id IN (
            SELECT l.id FROM registers_lead l WHERE l.created_at < %(before)s AND NOT EXISTS (
                SELECT 1 FROM consent_consentstate c WHERE c.purpose = 'lead_registration'
                AND c.email = lower(l.email) AND c.withdrawn_at IS NULL) AND l.id > %(after)s
            ORDER BY l.id LIMIT %(batch)s)
        RETURNING id""",
    "visitors": """
        DELETE FROM registers_visitorregistration WHERE id IN (
            SELECT id FROM registers_visitorregistration WHERE visited_at < %(before)s AND id > %(after)s
            ORDER BY id LIMIT %(batch)s)
        RETURNING id""",
    "job_applications": """
        DELETE FROM registers_jobapplication WHERE id IN (
            SELECT id FROM registers_jobapplication WHERE process_closed_on <= %(cutoff)s AND id > %(after)s
            ORDER BY id LIMIT %(batch)s)
        RETURNING id, cv""",
}


def child_baseline(database: str, upload_dir: Path, batch_size: int, cutoffs: dict) -> dict:
    conn = psycopg2.connect(dbname=database, **PG)
    conn.autocommit = True  # one transaction per batch
    before = rss_mb()
    started = time.perf_counter()
    deleted: dict[str, int] = {}
    files = 0
    with conn.cursor() as cursor:
        for register in REGISTERS:
            deleted[register] = 0
            parameters = {**cutoffs[register], "batch": batch_size, "after": 0}
            while True:
                # Keyset, as a careful hand would write it: each batch starts after the last.
                cursor.execute(BASELINE_SQL[register], parameters)
                if not cursor.rowcount:
                    break
                deleted[register] += cursor.rowcount
                returned = cursor.fetchall()
                parameters["after"] = max(row[0] for row in returned)
                if len(returned[0]) > 1:  # RETURNING cv: the batch has committed, its files go
                    for _id, name in returned:
                        if name:
                            try:
                                os.unlink(upload_dir / name)
                                files += 1
                            except FileNotFoundError:
                                pass
    seconds = time.perf_counter() - started
    conn.close()
    return {"seconds": seconds, "deleted": deleted, "files": files, "rss_before_mb": before}


def child_main(args) -> int:
    if args.child == "purge":
        result = child_purge(args.batch_size, args.pause, args.profile)
    else:
        result = child_baseline(
            args.database, Path(args.upload_dir), args.batch_size, json.loads(args.cutoffs)
        )
    # The process's own high-water mark since exec: getrusage and wait4 would also count the
    # parent's memory that the child carried between fork and exec (Linux keeps the larger).
    result["peak_mb"] = rss_mb("VmHWM")
    with open(args.result_file, "w") as out:
        json.dump(result, out)
    return 0


# --- Data ---------------------------------------------------------------------------------------


@dataclass
class Expected:
    """What must be left after a side: rows per table and CV files."""

    kept: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REGISTERS, 0))
    kept_files: int = 0
    expired: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REGISTERS, 0))
    expired_files: int = 0

    @property
    def total_expired(self) -> int:
        return sum(self.expired.values())


class Generator:
    """Adds expired and kept rows to the template database with COPY, and the CV files to the
    template upload folder."""

    def __init__(self, *, cursor, today: date, boundaries: dict, files_dir: Path, legal_entity_id: int):
        self.cursor = cursor
        self.random = random.Random(SEED)
        self.today = today
        self.boundaries = boundaries
        self.files_dir = files_dir
        self.legal_entity_id = legal_entity_id
        self.serial = 0
        self.expected = Expected()
        self.now = datetime.now().astimezone()

    def grow_to(self, expired_total: int) -> float:
        started = time.perf_counter()
        adding = expired_total - self.expected.total_expired
        per_register = {register: adding // len(REGISTERS) for register in REGISTERS}
        per_register[REGISTERS[0]] += adding - sum(per_register.values())
        for register, count in per_register.items():
            getattr(self, f"add_{register}")(count, round(count * KEPT_SHARE))
            self.expected.expired[register] += count
        return time.perf_counter() - started

    def email(self) -> str:
        self.serial += 1
        return f"person{self.serial}@example.com"

    def copy(self, table: str, columns: tuple[str, ...], rows) -> None:
        buffer = io.StringIO()
        written = 0

        def flush() -> None:
            buffer.seek(0)
            self.cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)
            buffer.seek(0)
            buffer.truncate()

        for row in rows:
            buffer.write("\t".join("\\N" if value is None else str(value) for value in row) + "\n")
            written += 1
            if written % CHUNK == 0:
                flush()
        if buffer.tell():
            flush()

    def moment(self, newest: datetime, days: float) -> datetime:
        return newest - timedelta(seconds=self.random.uniform(0, days * 86400))

    def consent(self, emails: list[str], purpose: str) -> None:
        self.copy(
            "consent_consentstate",
            ("email", "purpose", "given_at", "withdrawn_at"),
            ((email, purpose, self.now.isoformat(), None) for email in emails),
        )

    def contact(self) -> tuple:
        email = self.email()
        return (f"Person {self.serial}", email, f"+47 {40000000 + self.serial}", self.legal_entity_id)

    def add_event_participants(self, expired: int, kept: int) -> None:
        consent_kept = round(expired * CONSENT_KEPT_SHARE)
        cutoff: date = self.boundaries["event_participants"]["cutoff"]
        rows, kept_emails = [], []
        for old, count in ((True, expired + consent_kept), (False, kept)):
            events = max(1, count // PARTICIPANTS_PER_EVENT)
            ends = sorted(
                cutoff - timedelta(days=self.random.randint(1, 700))
                if old
                else self.today - timedelta(days=self.random.randint(0, 300))
                for _ in range(events)
            )
            self.cursor.execute(
                "INSERT INTO registers_event (title, starts_on, ends_on, legal_entity_id) "
                "SELECT 'Bench event', e, e, %s FROM unnest(%s::date[]) AS e RETURNING id",
                [self.legal_entity_id, ends],
            )
            event_ids = [row[0] for row in self.cursor.fetchall()]
            kept_here = set(self.random.sample(range(count), consent_kept)) if old else set()
            for number in range(count):
                contact = self.contact()
                if number in kept_here:
                    kept_emails.append(contact[1])
                event = event_ids[min(number // PARTICIPANTS_PER_EVENT, len(event_ids) - 1)]
                rows.append((*contact, self.now.isoformat(), None, event, "Example AS"))
        self.copy(
            "registers_eventparticipant",
            (
                "full_name",
                "email",
                "phone",
                "legal_entity_id",
                "created_at",
                "anonymised_at",
                "event_id",
                "organisation",
            ),
            rows,
        )
        self.consent(kept_emails, "event_followup")
        self.expected.kept["event_participants"] += kept + consent_kept

    def add_leads(self, expired: int, kept: int) -> None:
        consent_kept = round(expired * CONSENT_KEPT_SHARE)
        before: datetime = self.boundaries["leads"]["before"]
        old = sorted(self.moment(before - timedelta(seconds=1), 700) for _ in range(expired + consent_kept))
        recent = sorted(self.moment(self.now, 300) for _ in range(kept))
        kept_here = set(self.random.sample(range(len(old)), consent_kept))
        rows, kept_emails = [], []
        for number, created in enumerate(old + recent):
            contact = self.contact()
            if number in kept_here:
                kept_emails.append(contact[1])
            rows.append((*contact, created.isoformat(), None, "Example AS", "Buyer", "Trade fair"))
        self.copy(
            "registers_lead",
            (
                "full_name",
                "email",
                "phone",
                "legal_entity_id",
                "created_at",
                "anonymised_at",
                "company",
                "job_title",
                "source",
            ),
            rows,
        )
        self.consent(kept_emails, "lead_registration")
        self.expected.kept["leads"] += kept + consent_kept

    def add_visitors(self, expired: int, kept: int) -> None:
        before: datetime = self.boundaries["visitors"]["before"]
        old = sorted(self.moment(before - timedelta(seconds=1), 400) for _ in range(expired))
        recent = sorted(self.moment(self.now, 25) for _ in range(kept))
        self.copy(
            "registers_visitorregistration",
            (
                "full_name",
                "email",
                "phone",
                "legal_entity_id",
                "created_at",
                "anonymised_at",
                "company",
                "host_name",
                "visited_at",
            ),
            (
                (*self.contact(), visited.isoformat(), None, "Example AS", "Host Person", visited.isoformat())
                for visited in old + recent
            ),
        )
        self.expected.kept["visitors"] += kept

    def add_job_applications(self, expired: int, kept: int) -> None:
        cutoff: date = self.boundaries["job_applications"]["cutoff"]
        old = sorted(cutoff - timedelta(days=self.random.randint(0, 700)) for _ in range(expired))
        recent = sorted(self.today - timedelta(days=self.random.randint(0, 80)) for _ in range(kept))
        folder = self.files_dir / CV_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        rows = []
        for number, closed in enumerate(old + recent):
            cv = ""
            if number % CV_EVERY == 0:
                cv = f"{CV_FOLDER}/{secrets.token_hex(16)}.pdf"
                (self.files_dir / cv).write_bytes(CV_BYTES)
                if number < len(old):
                    self.expected.expired_files += 1
                else:
                    self.expected.kept_files += 1
            rows.append(
                (
                    *self.contact(),
                    self.now.isoformat(),
                    None,
                    "Engineer",
                    "I would like to apply for the position.",
                    cv,
                    closed.isoformat(),
                )
            )
        self.copy(
            "registers_jobapplication",
            (
                "full_name",
                "email",
                "phone",
                "legal_entity_id",
                "created_at",
                "anonymised_at",
                "position",
                "cover_letter",
                "cv",
                "process_closed_on",
            ),
            rows,
        )
        self.expected.kept["job_applications"] += kept


def boundaries_from_rules(today: date) -> dict:
    """Each register's cut-off as the engine computes it (retention.queries.plan): dates for
    date clocks, the start of the day after for time clocks."""
    from retention.queries import plan, start_of_local_day

    found = {}
    for step in plan(categories=REGISTERS):
        cutoff = step.cutoff(today)
        found[step.category] = {"cutoff": cutoff, "before": start_of_local_day(cutoff + timedelta(days=1))}
    return found


# --- Running the sides --------------------------------------------------------------------------


@dataclass
class Side:
    name: str
    size: int
    seconds: float
    peak_mb: float
    rss_before_mb: float
    detail: dict

    @property
    def rate(self) -> float:
        return self.size / self.seconds


class Workspace:
    """The run's template database, its working copies, and their upload folders."""

    def __init__(self, run_id: str, data_dir: Path):
        self.template = f"bench_purge_{run_id}"
        self.work = f"bench_purge_{run_id}_work"
        self.data_dir = data_dir
        self.template_files = data_dir / "template-uploads"
        self.uploads = data_dir / "uploads"
        self.created: list[str] = []

    def create_template(self) -> None:
        pg_admin_execute(f'CREATE DATABASE "{self.template}"')
        self.created.append(self.template)

    def fresh_copy(self) -> float:
        """An identical copy of the template (rows, indexes, statistics, visibility map) and of
        its files; the seconds it took."""
        started = time.perf_counter()
        self.drop_work()
        pg_admin_execute(f'CREATE DATABASE "{self.work}" TEMPLATE "{self.template}" STRATEGY FILE_COPY')
        self.created.append(self.work)
        shutil.rmtree(self.uploads, ignore_errors=True)
        shutil.copytree(self.template_files, self.uploads, copy_function=os.link)
        return time.perf_counter() - started

    def drop_work(self) -> None:
        pg_admin_execute(f'DROP DATABASE IF EXISTS "{self.work}" WITH (FORCE)')
        if self.work in self.created:
            self.created.remove(self.work)

    def drop_all(self) -> None:
        for name in list(self.created):
            pg_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()

    def env(self) -> dict[str, str]:
        return django_env(self.work, self.data_dir, self.uploads)


def start_child(workspace: Workspace, arguments: list[str], result_file: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            *arguments,
            "--result-file",
            str(result_file),
        ],
        cwd=PROJECT_DIR,
        env=workspace.env(),
        start_new_session=True,
    )


def wait_child(child: subprocess.Popen, result_file: Path) -> tuple[dict, float]:
    """The child's result and its peak RSS in MB (VmHWM: the whole process's high-water mark
    since exec, Django's start-up included)."""
    if child.wait():
        raise RuntimeError(f"the child failed ({child.returncode}); its error is above")
    result = json.loads(result_file.read_text())
    return result, result["peak_mb"]


def run_side(
    name: str, size: int, workspace: Workspace, batch_size: int, cutoffs: dict, profile: bool
) -> Side:
    copy_seconds = workspace.fresh_copy()
    result_file = workspace.data_dir / f"{name}.json"
    if name == "purge":
        arguments = ["purge", "--batch-size", str(batch_size), "--pause", "0"]
        if profile:
            arguments.append("--profile")
    else:
        arguments = [
            *("baseline", "--batch-size", str(batch_size), "--database", workspace.work),
            *("--upload-dir", str(workspace.uploads), "--cutoffs", json.dumps(cutoffs)),
        ]
    result, peak = wait_child(start_child(workspace, arguments, result_file), result_file)
    log(
        f"  {name:8} {result['seconds']:8.1f} s  ({size / result['seconds']:,.0f} rows/s, copy {copy_seconds:.1f} s)"
    )
    return Side(name, size, result["seconds"], peak, result["rss_before_mb"], result)


def check_left(workspace: Workspace, expected: Expected, side: str) -> None:
    """Exactly the kept rows and files are left."""
    conn = psycopg2.connect(dbname=workspace.work, **PG)
    try:
        with conn.cursor() as cursor:
            for register, table in TABLES.items():
                cursor.execute(f"SELECT count(*) FROM {table}")
                left = cursor.fetchone()[0]
                if left != expected.kept[register]:
                    raise RuntimeError(
                        f"{side}: {left} rows left in {table}, expected {expected.kept[register]}"
                    )
    finally:
        conn.close()
    folder = workspace.uploads / CV_FOLDER
    files = len(os.listdir(folder)) if folder.exists() else 0
    if files != expected.kept_files:
        raise RuntimeError(f"{side}: {files} CV files left, expected {expected.kept_files}")


# --- Intake during the paced purge --------------------------------------------------------------


def measure_intake_during_purge(workspace: Workspace, requests: int, size: int) -> dict:
    """p95 of the report form's POST with the server idle, during the paced purge, and idle again."""
    from bench.intake import (
        GUNICORN_CONF,
        INTAKE_PATH,
        Client,
        Measured,
        free_port,
        run_phase,
        stop_server,
        wait_until_up,
    )

    workspace.fresh_copy()
    port = free_port()
    env = {**workspace.env(), "TRUSTCENTER_SITE_URL": f"https://127.0.0.1:{port}"}
    config = ["-c", str(GUNICORN_CONF)] if GUNICORN_CONF.exists() else []
    log_path = workspace.data_dir / "gunicorn.log"
    server = None
    purge = None
    try:
        with log_path.open("w") as server_log:
            server = subprocess.Popen(
                [
                    *(sys.executable, "-m", "gunicorn", *config, "trustcenter.wsgi:application"),
                    *("--bind", f"127.0.0.1:{port}", "--workers", "2", "--worker-class", "gthread"),
                    *("--threads", "4", "--worker-tmp-dir", "/dev/shm", "--no-control-socket"),
                ],
                cwd=PROJECT_DIR,
                env=env,
                stdout=server_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until_up(port, server, log_path)
        client = Client(port, 0)
        client.get_form()
        warm = run_phase([client], INTAKE_PATH, 20)
        if warm.errors:
            raise RuntimeError(f"intake warm-up failed: {warm.errors[:3]}")
        idle = Measured()
        run_phase([client], INTAKE_PATH, requests // 2, idle)

        result_file = workspace.data_dir / "paced.json"
        purge_started = time.perf_counter()
        purge = start_child(workspace, ["purge"], result_file)  # the settings' batch size and pause
        time.sleep(1.0)  # past the child's start-up, into the batches
        during = Measured()
        while len(during.latencies) + len(during.errors) < requests and purge.poll() is None:
            run_phase([client], INTAKE_PATH, 5, during)
        window = time.perf_counter() - purge_started
        finished = purge.poll() is not None
        conn = psycopg2.connect(dbname=workspace.work, **PG)
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT coalesce(sum(deleted), 0) FROM retention_runstep")
                deleted = cursor.fetchone()[0]
        finally:
            conn.close()
        if not finished:
            purge.send_signal(signal.SIGTERM)
        purge.wait(timeout=60)
        purge = None
        run_phase([client], INTAKE_PATH, requests - requests // 2, idle)
        errors = idle.errors + during.errors
        if errors:
            raise RuntimeError(f"intake answered wrongly: {errors[:3]}")
        if len(during.latencies) < 20:
            raise RuntimeError(f"only {len(during.latencies)} requests while the purge ran")
        return {
            "idle": idle,
            "during": during,
            "deleted": deleted,
            "window": window,
            "finished": finished,
            "size": size,
        }
    finally:
        if purge is not None and purge.poll() is None:
            os.killpg(purge.pid, signal.SIGKILL)
            purge.wait()
        if server is not None:
            stop_server(server)


# --- The claim query, explained -----------------------------------------------------------------


def explain_claims(workspace: Workspace, batch_size: int) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the engine's first claim per register, on a fresh copy,
    built as retention.services._purge_step builds it (retention.queries)."""
    from django.db import connections, transaction

    from retention.queries import due_rows, local_today, not_held, plan

    workspace.fresh_copy()
    connections.close_all()
    connection = connections["default"]
    original = connection.settings_dict["NAME"]
    connection.settings_dict["NAME"] = workspace.work
    lines = []
    try:
        today = local_today()
        for step in plan(categories=REGISTERS):
            claim = (
                not_held(due_rows(step, today), step, today)
                .order_by("pk")
                .select_for_update(skip_locked=True, of=("self",))
                .values_list("pk", flat=True)[:batch_size]
            )
            with transaction.atomic():
                plan_text = claim.explain(analyze=True, buffers=True)
                transaction.set_rollback(True)
            lines.append(f"{step.category}:")
            lines += [f"  {line}" for line in plan_text.splitlines()]
    finally:
        connections.close_all()
        connection.settings_dict["NAME"] = original
    return lines


# --- Main ---------------------------------------------------------------------------------------


def stop_on_term(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # so that the finally block drops the databases


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="100k and 1M expired rows (default 2k and 20k)")
    parser.add_argument("--sizes", help="expired rows per size, comma-separated (overrides --full)")
    parser.add_argument(
        "--requests", type=int, help="intake requests idle and during the purge (default 100/200)"
    )
    parser.add_argument("--skip-intake", action="store_true", help="leave out the paced run with intake")
    parser.add_argument("--profile", action="store_true", help="profile the purge child at the larger size")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN the claim queries at the larger size")
    # The children's arguments.
    parser.add_argument("--child", choices=["purge", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--pause", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--upload-dir", help=argparse.SUPPRESS)
    parser.add_argument("--cutoffs", help=argparse.SUPPRESS)
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child_main(args)

    signal.signal(signal.SIGTERM, stop_on_term)
    sizes = (
        tuple(int(size) for size in args.sizes.split(","))
        if args.sizes
        else (FULL_SIZES if args.full else SMALL_SIZES)
    )
    requests = args.requests or (200 if args.full else 100)
    run_id = secrets.token_hex(4)
    data_dir = Path(tempfile.mkdtemp(prefix=f"tc-bench-purge-{run_id}-"))
    workspace = Workspace(run_id, data_dir)
    # The parent and its children share the keys: the children are told them through the environment.
    os.environ["BENCH_PURGE_SECRET_KEY"] = secrets.token_urlsafe(60)
    os.environ["BENCH_PURGE_RECEIPT_SALT"] = secrets.token_urlsafe(32)
    began = time.perf_counter()
    try:
        import redis

        with redis.Redis.from_url(REDIS_URL) as cache:
            cache.ping()  # fail now, not after loading the rows
        workspace.create_template()
        os.environ.update(django_env(workspace.template, data_dir, workspace.template_files))
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection, connections

        from registers.models import LegalEntity
        from retention.defaults import ensure_default_rules
        from retention.queries import local_today

        log(f"database {workspace.template}: migrating, collecting static files")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        ensure_default_rules()
        batch_size = settings.TRUSTCENTER_RETENTION_BATCH_SIZE
        pause = settings.TRUSTCENTER_RETENTION_PAUSE_SECONDS
        today = local_today()
        boundaries = boundaries_from_rules(today)
        cutoffs = {
            register: {"cutoff": found["cutoff"].isoformat(), "before": found["before"].isoformat()}
            for register, found in boundaries.items()
        }
        entity = LegalEntity.objects.create(name="Bench AS", country="NO")
        idle = cpu_idle_share()
        log(
            f"CPU idle before the run: {idle:.0%} of {os.cpu_count()} cores"
            + ("" if idle > 0.9 else " (other work on this machine; figures are noisy)")
        )
        log(f"batch size {batch_size} (TRUSTCENTER_RETENTION_BATCH_SIZE), pause {pause} s in the paced run")

        results: list[tuple[int, Side, Side]] = []
        generator = None
        for number, size in enumerate(sizes):
            with connection.cursor() as cursor:
                if generator is None:
                    generator = Generator(
                        cursor=cursor,
                        today=today,
                        boundaries=boundaries,
                        files_dir=workspace.template_files,
                        legal_entity_id=entity.pk,
                    )
                generator.cursor = cursor
                seconds = generator.grow_to(size)
                for table in (*TABLES.values(), "registers_event", "consent_consentstate"):
                    cursor.execute(f"VACUUM ANALYZE {table}")
            connections.close_all()  # CREATE DATABASE ... TEMPLATE wants the template to itself
            expected = generator.expected
            log(
                f"{size:,} expired rows ({', '.join(f'{r} {n:,}' for r, n in expected.expired.items())}; "
                f"{expected.expired_files:,} CV files) and {sum(expected.kept.values()):,} kept rows "
                f"written in {seconds:.1f} s"
            )
            order = ("purge", "baseline") if number % 2 == 0 else ("baseline", "purge")
            sides = {}
            for name in order:
                profile = args.profile and name == "purge" and size == sizes[-1]
                sides[name] = run_side(name, size, workspace, batch_size, cutoffs, profile)
                check_left(workspace, expected, name)
            purge = sides["purge"]
            if purge.detail["status"] != "finished" or purge.detail["totals"]["deleted"] != size:
                raise RuntimeError(f"purge: {purge.detail}")
            log(
                f"  purge wrote {purge.detail['audit_entries']:,} audit-log entries; "
                f"peak RSS purge {purge.peak_mb:.0f} MB (after start-up {purge.rss_before_mb:.0f} MB)"
            )
            results.append((size, purge, sides["baseline"]))

        if args.explain:
            log()
            log(f"EXPLAIN (ANALYZE, BUFFERS) of the first claim per register at {sizes[-1]:,} rows:")
            for line in explain_claims(workspace, batch_size):
                log(f"  {line}")

        intake = None
        if not args.skip_intake:
            log()
            log(f"paced purge (batch {batch_size}, pause {pause} s) with intake, {sizes[-1]:,} expired rows")
            intake = measure_intake_during_purge(workspace, requests, sizes[-1])
        workspace.drop_work()

        log()
        header = (
            f"{'expired rows':>12} | {'purge s':>8} {'rows/s':>8} {'us/row':>7} {'peak MB':>7} | "
            f"{'baseline s':>10} {'rows/s':>8} {'us/row':>7} | {'ratio':>5}"
        )
        log(header)
        log("-" * len(header))
        for size, purge, baseline in results:
            log(
                f"{size:>12,} | {purge.seconds:8.1f} {purge.rate:8,.0f} {1e6 / purge.rate:7.0f} "
                f"{purge.peak_mb:7.0f} | {baseline.seconds:10.1f} {baseline.rate:8,.0f} "
                f"{1e6 / baseline.rate:7.0f} | {purge.rate / baseline.rate:5.2f}"
            )
        log()
        ratio = results[-1][1].rate / results[-1][2].rate
        peak = max(purge.peak_mb for _, purge, _ in results)
        log(
            f"rows/s ratio purge/baseline at {sizes[-1]:,}: {ratio:.2f} (goal >= {GOAL_RATIO}): {verdict(ratio >= GOAL_RATIO)}"
        )
        log(
            f"peak RSS of the purging process: {peak:.0f} MB (goal <= {GOAL_PEAK_MB:.0f} MB): "
            f"{verdict(peak <= GOAL_PEAK_MB)}"
        )
        if len(results) > 1:
            small, large = results[0][1], results[-1][1]
            growth = (large.seconds / large.size) / (small.seconds / small.size)
            base_growth = (results[-1][2].seconds / results[-1][2].size) / (
                results[0][2].seconds / results[0][2].size
            )
            log(
                f"time per row {small.size:,} -> {large.size:,}: x{growth:.2f} (goal <= {GOAL_GROWTH}): "
                f"{verdict(growth <= GOAL_GROWTH)}; baseline x{base_growth:.2f}"
            )
        if intake is not None:
            idle_p95 = intake["idle"].percentile(95)
            during_p95 = intake["during"].percentile(95)
            paced = "finished" if intake["finished"] else "stopped"
            log(
                f"intake p95 idle {idle_p95:.1f} ms ({len(intake['idle'].latencies)} requests), during the "
                f"paced purge {during_p95:.1f} ms ({len(intake['during'].latencies)} requests; the purge "
                f"deleted {intake['deleted']:,} rows in {intake['window']:.0f} s, "
                f"{intake['deleted'] / intake['window']:,.0f} rows/s, {paced})"
            )
            log(
                f"intake p95 during/idle: {during_p95 / idle_p95:.2f} (goal <= {GOAL_P95}): "
                f"{verdict(during_p95 / idle_p95 <= GOAL_P95)}; p50 idle {intake['idle'].percentile(50):.1f} ms, "
                f"during {intake['during'].percentile(50):.1f} ms"
            )
        log(f"whole run {time.perf_counter() - began:.0f} s")
        log(f"RESULT purge ratio={ratio:.2f} goal={GOAL_RATIO}")
        return 0
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:
            pass
        workspace.drop_all()
        try:
            import redis

            with redis.Redis.from_url(REDIS_URL) as cache:
                cache.flushdb()  # database 15 is the bench's own
        except Exception:
            pass
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
