"""Consent benchmark (issue 12, point 12): the ledger's chained append against a plain INSERT
into a table of the same shape, at 1 and 8 clients, and the current-state lookup on a full ledger.

    .venv/bin/python bench/consent.py          # 800/1,600 appends a side, 50k events, about 35 s
    .venv/bin/python bench/consent.py --full   # 3,000/6,000 appends a side, 1M events, about 5 min

It makes its own PostgreSQL database (tc_bench_consent_<random> on 127.0.0.1:5432, user
postgres, or the name given with --database), migrates it, and runs Django in this process with
production settings (DJANGO_DEBUG=false); no Redis is needed (the cache is the process's own).

Appends. A pool of addresses is made first as consent subjects (a person changing a consent,
the common case). Then at 1 and at 8 clients (threads, each with its own database connection,
closed at the end), in short blocks, baseline and chained alternating (B C C B B C ...) so that
other work on the machine slows both alike:

- chained: `consent.services.record_consent(email=..., purpose=..., action=..., channel=import)`,
  as it is, for newsletter and marketing e-mail, one give in four a withdrawal: the event and
  the state row, one transaction per event; and `consent.services.seal_ledger()` running beside
  the clients in a thread of its own (every 0.2 s; the beat task runs it every minute), chaining
  what has committed. A block ends when its events are appended *and sealed*: the main thread calls
  seal_ledger() once more after the clients finish, inside the block's time;
- baseline: one `INSERT` per event through the same kind of connection in autocommit (one
  transaction per event) into `bench_plain_event`, made `LIKE consent_consentevent INCLUDING ALL`
  with the same foreign keys: the same columns, indexes and constraints, no trigger, no chain,
  no state, no seal.

ratio = chained events/s / baseline events/s; goals (issue 12) >= 0.7 at 1 client and >= 0.5 at
8. Afterwards `consent.selectors.first_broken_link()` must be None, every chained event must be
there and sealed, and `rebuild_consent_state(dry_run=True)` must find no difference; else the run
fails.
It prints the queries of one append (CaptureQueriesContext) and where the time of 200 appends
goes (statements, COMMIT, Python); `--profile` adds a cProfile of 500 appends at 1 client on
stderr.

Lookup. The ledger is emptied (TRUNCATE: the append-only trigger refuses only UPDATE and
DELETE) and filled with COPY (foreign-key triggers off while it copies): 50k events (1M with --full) over a quarter as many subjects, all
eight purposes, a valid chain (the seals) computed here with consent.chain.event_digest and the state rows
with consent.states.apply. The chain is verified (first_broken_link) and the states compared
with the ledger (rebuild_consent_state(dry_run=True)), both timed. Then 2,000 calls of
`consent.selectors.current_consent(email=..., purpose=...)`, half for existing subjects (any
purpose), half for unknown addresses: p50/p95/p99 in ms, goal p95 <= 2 ms; the same SQL alone on
the cursor for comparison, and its plan. Last, retention's `consent_standing` Exists() over
the leads register (10k leads, 100k with --full, half of them subjects of the ledger).

The last line: RESULT consent ratio=<chained/baseline at 1 client> goal=0.7.
"""

import sys
from pathlib import Path

# bench/queue.py shares its name with the standard library's `queue`, which this file and Django
# import: the script's folder is taken off the path before anything imports.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse  # noqa: E402
import io  # noqa: E402
import itertools  # noqa: E402
import os  # noqa: E402
import queue  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import UTC, timedelta  # noqa: E402
from typing import Any  # noqa: E402

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))
from bench._machine import PG, cpu_idle_share, pg_admin_execute  # noqa: E402

# Appends per side and concurrency (warm-up not counted), and per client and block.
SMALL: dict = {"appends": {1: 800, 8: 1_600}, "events": 50_000, "leads": 10_000}
FULL: dict = {"appends": {1: 3_000, 8: 6_000}, "events": 1_000_000, "leads": 100_000}
CONCURRENCIES = (1, 8)
BLOCK = {1: 100, 8: 25}  # events per client in one block
WARM_UP = 50  # events per client and side before the timed blocks
GOAL_RATIO = {1: 0.7, 8: 0.5}
GOAL_P95_MS = 2.0
LOOKUPS = 2_000
BREAKDOWN_APPENDS = 200
ADDRESSES = 1_000  # the append side's pool of subjects
APPEND_PURPOSES = ("newsletter", "marketing_email")  # withdrawing them starts no retention run
WITHDRAW_SHARE = 0.25
SUBJECTS_PER_EVENT = 0.25  # the filled ledger: four events a subject on average
# The filled ledger's purposes, weighted (the cookie choices come most often).
FILL_PURPOSES = {
    "cookies_functional": 20,
    "cookies_analytics": 20,
    "cookies_marketing": 20,
    "newsletter": 15,
    "marketing_email": 10,
    "event_followup": 5,
    "lead_registration": 5,
    "recruitment_database": 5,
}
CHANNELS = ("web", "web", "web", "api", "import", "staff")
CHUNK = 100_000  # rows per COPY
SEED = 20261212
PLAIN_TABLE = "bench_plain_event"
NULL = "\\N"  # in COPY's text format


def log(text: str = "") -> None:
    print(text, flush=True)


def configure_django(database: str, data_dir: Path) -> None:
    """Production settings (trustcenter/settings.py with DJANGO_DEBUG=false) on the bench's own
    database; the cache is the process's own and the broker the filesystem (neither is used)."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "trustcenter.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "TRUSTCENTER_RECEIPT_SALT": secrets.token_urlsafe(32),
            "TRUSTCENTER_SITE_URL": "https://testserver",
            "DATABASE_URL": f"postgres://{PG['user']}:{PG['password']}@{PG['host']}:{PG['port']}/{database}",
            "CACHE_URL": "locmemcache://bench-consent",
            "CELERY_BROKER_URL": "filesystem://localhost//",
            "EMAIL_URL": "consolemail://",
            "TRUSTCENTER_DATA_DIR": str(data_dir),
            "TRUSTCENTER_UPLOAD_DIR": str(data_dir / "uploads"),
            "DJANGO_LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()


def percentile(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


# --- Appends ------------------------------------------------------------------------------------


@dataclass
class AppendContext:
    purposes: list  # ConsentPurpose, the append side's
    versions: dict[int, int]  # purpose id -> current version id
    addresses: list[str]
    subject_ids: list[str]  # the same subjects, for the baseline


def make_plain_table() -> None:
    """`bench_plain_event`: consent_consentevent's columns, defaults, identity, constraints and
    indexes (LIKE ... INCLUDING ALL) and its foreign keys; no trigger."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {PLAIN_TABLE} (LIKE consent_consentevent INCLUDING ALL)")
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'consent_consentevent'::regclass AND contype = 'f'"
        )
        for (definition,) in cursor.fetchall():
            cursor.execute(f"ALTER TABLE {PLAIN_TABLE} ADD {definition}")


PLAIN_INSERT = (
    f"INSERT INTO {PLAIN_TABLE} (subject_id, purpose_id, version_id, action, channel, occurred_at, "
    "actor_id) VALUES (%s, %s, %s, %s, %s, %s, NULL)"
)


def append_plain(context: AppendContext, count: int, rng: random.Random) -> None:
    from django.db import connection
    from django.utils import timezone

    with connection.cursor() as cursor:  # autocommit: each INSERT is its own transaction
        for _ in range(count):
            purpose = rng.choice(context.purposes)
            cursor.execute(
                PLAIN_INSERT,
                [
                    rng.choice(context.subject_ids),
                    purpose.pk,
                    context.versions[purpose.pk],
                    "withdraw" if rng.random() < WITHDRAW_SHARE else "give",
                    "import",
                    timezone.now(),
                ],
            )


def append_chained(context: AppendContext, count: int, rng: random.Random) -> None:
    from consent.models import Channel
    from consent.services import record_consent

    for _ in range(count):
        record_consent(
            email=rng.choice(context.addresses),
            purpose=rng.choice(context.purposes),
            action="withdraw" if rng.random() < WITHDRAW_SHARE else "give",
            channel=Channel.IMPORT,
        )


SIDES: dict[str, Callable[[AppendContext, int, random.Random], None]] = {
    "baseline": append_plain,
    "chained": append_chained,
}


class Sealer:
    """consent.services.seal_ledger() in a thread of its own, with its own connection, every
    PERIOD seconds while the chained side's blocks run (paused for the baseline's): the beat
    task's work, done 300 times as often as the beat task does it (every minute)."""

    PERIOD = 0.2

    def __init__(self) -> None:
        self.running = threading.Event()
        self.stopped = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._work, daemon=True)
        self.thread.start()

    def _work(self) -> None:
        from django.db import connection

        from consent.services import seal_ledger

        try:
            while not self.stopped.is_set():
                if not self.running.wait(timeout=0.1):
                    continue
                seal_ledger()
                self.stopped.wait(timeout=self.PERIOD)
        except BaseException as error:  # reported to the main thread, which stops the run
            self.errors.append(error)
        finally:
            connection.close()

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=30)


class Clients:
    """Threads that append on command, each with its own database connection (Django's are
    per thread), kept open between blocks and closed when the threads end; and the sealer."""

    def __init__(self, number: int, context: AppendContext, seed: int):
        self.done: queue.Queue = queue.Queue()
        self.inboxes: list[queue.Queue] = [queue.Queue() for _ in range(number)]
        self.threads = [
            threading.Thread(
                target=self._work, args=(inbox, context, random.Random(seed + index)), daemon=True
            )
            for index, inbox in enumerate(self.inboxes)
        ]
        for thread in self.threads:
            thread.start()
        self.sealer = Sealer()

    def _work(self, inbox: queue.Queue, context: AppendContext, rng: random.Random) -> None:
        from django.db import connection

        try:
            while (job := inbox.get()) is not None:
                side, count = job
                try:
                    SIDES[side](context, count, rng)
                    self.done.put(None)
                except BaseException as error:  # reported to the main thread, which stops the run
                    self.done.put(error)
        finally:
            connection.close()

    def run(self, side: str, per_client: int) -> float:
        """All clients append `per_client` events at once; the block's wall time, for the chained
        side until every event of the block is sealed into the chain."""
        from consent.services import seal_ledger

        chained = side == "chained"
        started = time.perf_counter()
        if chained:
            self.sealer.running.set()
        for inbox in self.inboxes:
            inbox.put((side, per_client))
        errors = [error for error in (self.done.get() for _ in self.inboxes) if error is not None]
        if chained:
            seal_ledger()  # what the sealer has not reached yet
            self.sealer.running.clear()
        seconds = time.perf_counter() - started
        errors += self.sealer.errors
        if errors:
            raise RuntimeError(f"{side}: {errors[0]!r}") from errors[0]
        return seconds

    def close(self) -> None:
        for inbox in self.inboxes:
            inbox.put(None)
        for thread in self.threads:
            thread.join(timeout=30)
        self.sealer.close()


@dataclass
class Throughput:
    events: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.events / self.seconds


def measure_appends(context: AppendContext, clients: int, total: int, seed: int) -> dict[str, Throughput]:
    per_block = BLOCK[clients]
    blocks = max(2, total // (per_block * clients))
    measured = {side: Throughput() for side in SIDES}
    pool = Clients(clients, context, seed)
    try:
        for side in SIDES:
            pool.run(side, WARM_UP)
        for number in range(blocks):
            # B C C B B C C B ...: each side goes first as often as second.
            order = ("baseline", "chained") if number % 2 == 0 else ("chained", "baseline")
            for side in order:
                measured[side].seconds += pool.run(side, per_block)
                measured[side].events += per_block * clients
    finally:
        pool.close()
    return measured


def append_queries(context: AppendContext) -> list[list[str]]:
    """The SQL of two appends for a known subject, as the database sees them: the first for a
    purpose it has no state for yet, the second changing that state (the common case)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from consent.models import Channel
    from consent.services import record_consent

    appends = []
    for action in ("give", "withdraw"):
        with CaptureQueriesContext(connection) as captured:
            record_consent(
                email=context.addresses[0], purpose=context.purposes[0], action=action, channel=Channel.IMPORT
            )
        appends.append([query["sql"] for query in captured.captured_queries])
    return appends


def where_appends_go(context: AppendContext, count: int) -> dict:
    """Of `count` appends at 1 client: the time in the database's statements (sent, executed,
    answered: execute_wrapper), in COMMIT (the WAL flush) and the rest (Python: the ORM). The
    appends only: the sealer is not running."""
    from django.db import connection as this_connection

    connection: Any = this_connection  # its private _commit is wrapped below
    spent = {"statements": 0.0, "commit": 0.0}

    def timed_statement(execute, sql, params, many, context_):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context_)
        finally:
            spent["statements"] += time.perf_counter() - started

    commit = connection._commit

    def timed_commit():
        started = time.perf_counter()
        try:
            return commit()
        finally:
            spent["commit"] += time.perf_counter() - started

    connection._commit = timed_commit  # this thread's connection, for these appends only
    try:
        with connection.execute_wrapper(timed_statement):
            started = time.perf_counter()
            append_chained(context, count, random.Random(SEED - 2))
            total = time.perf_counter() - started
    finally:
        del connection._commit
    return {
        "total": total / count * 1000,
        "statements": spent["statements"] / count * 1000,
        "commit": spent["commit"] / count * 1000,
        "rest": (total - spent["statements"] - spent["commit"]) / count * 1000,
    }


def profile_appends(context: AppendContext, count: int) -> None:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    rng = random.Random(SEED - 1)
    profiler.enable()
    append_chained(context, count, rng)
    profiler.disable()
    for key, lines in (("cumulative", 40), ("tottime", 25)):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats(key).print_stats(lines)
        sys.stderr.write(text.getvalue())


def prepare_appends() -> AppendContext:
    from consent.models import ConsentPurpose, ConsentSubject
    from consent.selectors import current_version

    make_plain_table()
    purposes = list(ConsentPurpose.objects.filter(slug__in=APPEND_PURPOSES).order_by("slug"))
    versions = {}
    for purpose in purposes:
        version = current_version(purpose=purpose)
        if version is None:
            raise RuntimeError(f"{purpose.slug} has no wording (consent/migrations/0004)")
        versions[purpose.pk] = version.pk
    addresses = [f"person{number}@bench.example" for number in range(ADDRESSES)]
    subjects = ConsentSubject.objects.bulk_create(ConsentSubject(email=address) for address in addresses)
    return AppendContext(purposes, versions, addresses, [str(subject.pk) for subject in subjects])


def check_ledger(chained_events: int) -> str:
    """The chain holds, no chained event is lost or left unsealed, the state table agrees with
    the ledger."""
    from django.db import connection

    from consent.models import ConsentEvent, ConsentSeal
    from consent.selectors import first_broken_link, unsealed_events
    from consent.services import rebuild_consent_state, seal_ledger

    seal_ledger()  # the few appends outside the timed blocks (queries, breakdown, warm-up)
    started = time.perf_counter()
    broken = first_broken_link()
    if broken is not None:
        raise RuntimeError(f"the chain is broken at event {broken}")
    found = ConsentEvent.objects.count()
    if found != chained_events:
        raise RuntimeError(f"{found} events in the ledger, {chained_events} appended")
    if unsealed_events() or ConsentSeal.objects.count() != found:
        raise RuntimeError("events left unsealed")
    differences = rebuild_consent_state(dry_run=True)
    if differences:
        raise RuntimeError(f"the state table differs from the ledger: {differences}")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {PLAIN_TABLE}")
        plain = cursor.fetchone()[0]
    return (
        f"chain verified: {found:,} events, all sealed, first_broken_link() is None, no event lost, the state "
        f"table agrees with the ledger ({time.perf_counter() - started:.1f} s); baseline table "
        f"{plain:,} rows"
    )


# --- The filled ledger --------------------------------------------------------------------------


def copy_text(value) -> str:
    """A value in COPY's text format."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


class Copy:
    """Rows for a model's table by COPY, in chunks: the columns the bench sets, and every other
    column with its field's default (the models may grow columns this bench does not know of)."""

    def __init__(self, cursor, model, columns: tuple[str, ...]):
        from django.db import connection

        others = [field for field in model._meta.concrete_fields if field.column not in columns]
        names = ", ".join((*columns, *(field.column for field in others)))
        self.sql = f"COPY {model._meta.db_table} ({names}) FROM STDIN"
        self.suffix = "".join(
            "\t" + copy_text(field.get_db_prep_save(field.get_default(), connection)) for field in others
        )
        self.cursor = cursor
        self.rows: list[str] = []

    def add(self, *values: str) -> None:
        self.rows.append("\t".join(values) + self.suffix + "\n")
        if len(self.rows) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.cursor.copy_expert(self.sql, io.StringIO("".join(self.rows)))
            self.rows = []


def fill_ledger(events: int) -> dict:
    """Empties the ledger and fills it with `events` events, their subjects and state rows, with
    COPY; the chain computed here as services.record_consent computes it, the states with
    consent.states.apply. The foreign keys are not checked while it copies (the rows are right
    by construction, and verified afterwards)."""
    from django.db import connection
    from django.utils import timezone

    from consent import chain, states
    from consent.models import ConsentEvent, ConsentPurpose, ConsentSeal, ConsentState, ConsentSubject
    from consent.selectors import current_version

    rng = random.Random(SEED)
    slugs = list(FILL_PURPOSES)
    cumulative = list(itertools.accumulate(FILL_PURPOSES.values()))
    purposes = {purpose.slug: purpose for purpose in ConsentPurpose.objects.all()}
    versions = {}
    for slug in slugs:
        version = current_version(purpose=purposes[slug])
        if version is None:
            raise RuntimeError(f"{slug} has no wording (consent/migrations/0004)")
        versions[slug] = version
    subject_count = max(1, int(events * SUBJECTS_PER_EVENT))
    subject_ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(subject_count)]
    now = timezone.now().astimezone(UTC)
    occurred = now - timedelta(days=3 * 365)
    step = int(3 * 365 * 86_400 * 1e6 / events)  # microseconds between events, on average
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"TRUNCATE {PLAIN_TABLE}, consent_consentstate, consent_consentseal, consent_consentevent, "
            "consent_consentsubject "
            "RESTART IDENTITY CASCADE"
        )
        cursor.execute("SET session_replication_role = replica")  # no foreign-key triggers
        try:
            subjects = Copy(cursor, ConsentSubject, ("id", "email", "created_at", "erased_at"))
            first_seen = occurred.isoformat()
            for number, subject_id in enumerate(subject_ids):
                subjects.add(subject_id, f"subject{number}@bench.example", first_seen, NULL)
            subjects.flush()
            copy = Copy(cursor, ConsentEvent, EVENT_COLUMNS)
            seals = Copy(cursor, ConsentSeal, SEAL_COLUMNS)
            state: dict[tuple[int, str], states.State] = {}
            previous = chain.GENESIS
            for event_id in range(1, events + 1):
                subject = rng.randrange(subject_count)
                slug = rng.choices(slugs, cum_weights=cumulative)[0]
                version = versions[slug]
                action = states.WITHDRAW if rng.random() < 0.3 else states.GIVE
                channel = rng.choice(CHANNELS)
                occurred += timedelta(microseconds=rng.randint(1, 2 * step))
                moment = occurred.isoformat(timespec="microseconds")
                fields = {
                    "subject": subject_ids[subject],
                    "purpose": slug,
                    "version": str(version.number),
                    "action": action,
                    "channel": channel,
                    "occurred_at": moment,
                    "actor": "",
                }
                digest = chain.event_digest(previous=previous, fields=fields)
                copy.add(
                    str(event_id),
                    subject_ids[subject],
                    str(purposes[slug].pk),
                    str(version.pk),
                    action,
                    channel,
                    moment,
                    NULL,
                )
                seals.add(str(event_id), previous, digest, moment)
                previous = digest
                key = (subject, slug)
                state[key] = states.apply(
                    state.get(key), states.Event(event_id, action, version.pk, occurred)
                )
            copy.flush()
            seals.flush()
            copy = Copy(cursor, ConsentState, STATE_COLUMNS)
            for number, ((subject, slug), each) in enumerate(state.items(), start=1):
                copy.add(
                    str(number),
                    subject_ids[subject],
                    str(purposes[slug].pk),
                    str(each.version_id),
                    copy_text(each.given_at),
                    copy_text(each.withdrawn_at),
                    str(each.last_event_id),
                )
            copy.flush()
        finally:
            cursor.execute("RESET session_replication_role")
        for table in ("consent_consentevent", "consent_consentstate"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        for table in (
            "consent_consentsubject",
            "consent_consentevent",
            "consent_consentseal",
            "consent_consentstate",
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return {
        "seconds": time.perf_counter() - started,
        "subjects": subject_count,
        "states": len(state),
        "last_event": events,
    }


EVENT_COLUMNS = (
    "id",
    "subject_id",
    "purpose_id",
    "version_id",
    "action",
    "channel",
    "occurred_at",
    "actor_id",
)
SEAL_COLUMNS = ("event_id", "previous_digest", "digest", "sealed_at")
STATE_COLUMNS = ("id", "subject_id", "purpose_id", "version_id", "given_at", "withdrawn_at", "last_event_id")


def verify_filled(events: int) -> list[str]:
    from consent.models import ConsentEvent
    from consent.selectors import first_broken_link
    from consent.services import rebuild_consent_state

    started = time.perf_counter()
    broken = first_broken_link()
    verify_seconds = time.perf_counter() - started
    if broken is not None:
        raise RuntimeError(f"the filled chain is broken at event {broken}")
    if ConsentEvent.objects.count() != events:
        raise RuntimeError("events missing from the filled ledger")
    started = time.perf_counter()
    differences = rebuild_consent_state(dry_run=True)
    rebuild_seconds = time.perf_counter() - started
    if differences:
        raise RuntimeError(f"the filled state table differs from the ledger: {differences}")
    return [
        f"first_broken_link() over {events:,} events: None, {verify_seconds:.1f} s "
        f"({verify_seconds / events * 1e6:.0f} us/event)",
        f"rebuild_consent_state(dry_run=True): no difference, {rebuild_seconds:.1f} s",
    ]


# --- Lookups ------------------------------------------------------------------------------------


def measure_lookups(subject_count: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from consent.selectors import current_consent

    rng = random.Random(SEED + 1)
    slugs = list(FILL_PURPOSES)

    def ask(number: int) -> tuple[str, str, str]:
        purpose = rng.choice(slugs)
        if number % 2 == 0:
            return "existing", f"subject{rng.randrange(subject_count)}@bench.example", purpose
        return "unknown", f"nobody{rng.randrange(10**9)}@bench.example", purpose

    for number in range(200):  # warm-up
        _kind, email, purpose = ask(number)
        current_consent(email=email, purpose=purpose)
    times: dict[str, list[float]] = {"existing": [], "unknown": []}
    standing = 0
    asked = [ask(number) for number in range(LOOKUPS)]
    for kind, email, purpose in asked:
        started = time.perf_counter()
        found = current_consent(email=email, purpose=purpose)
        times[kind].append((time.perf_counter() - started) * 1000)
        standing += found.standing

    # The same SQL alone, on the cursor: what the database and the driver cost.
    with CaptureQueriesContext(connection) as captured:
        current_consent(email="subject0@bench.example", purpose=slugs[0])
    sql = captured.captured_queries[-1]["sql"]
    literals = {"email": "'subject0@bench.example'", "purpose": f"'{slugs[0]}'"}
    order = sorted(literals, key=lambda name: sql.index(literals[name]))  # the parameters' order
    template = sql
    for literal in literals.values():
        template = template.replace(literal, "%s")
    sql_times = []
    with connection.cursor() as cursor:
        for _kind, email, purpose in asked:
            started = time.perf_counter()
            cursor.execute(template, [{"email": email, "purpose": purpose}[name] for name in order])
            cursor.fetchall()
            sql_times.append((time.perf_counter() - started) * 1000)
        example = {"email": "subject1@bench.example", "purpose": "cookies_analytics"}
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + template, [example[name] for name in order])
        plan = [row[0] for row in cursor.fetchall()]
    return {
        "times": times,
        "all": times["existing"] + times["unknown"],
        "sql": sql_times,
        "standing": standing,
        "query": template,
        "plan": plan,
    }


def measure_exists(leads: int, subject_count: int) -> dict:
    """Retention's side: how many leads a standing lead_registration consent keeps, with the
    Exists() subquery retention.queries puts in its claims."""
    from django.db import connection

    from consent.selectors import consent_standing
    from registers.models import Lead

    rng = random.Random(SEED + 2)
    Lead.objects.bulk_create(
        (
            Lead(
                full_name=f"Lead {number}",
                email=(
                    f"Subject{rng.randrange(subject_count)}@bench.example"  # Lower() must match it
                    if number % 2 == 0
                    else f"stranger{number}@bench.example"
                ),
            )
            for number in range(leads)
        ),
        batch_size=5_000,
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE registers_lead")
    kept = Lead.objects.filter(consent_standing(purpose="lead_registration", email_path="email"))
    runs = []
    count = 0
    for _ in range(5):
        started = time.perf_counter()
        count = kept.count()
        runs.append((time.perf_counter() - started) * 1000)
    return {"ms": statistics.median(runs), "count": count, "leads": leads}


# --- Main ---------------------------------------------------------------------------------------


def stop_on_term(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # so that the finally block drops the database


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def main() -> int:
    signal.signal(signal.SIGTERM, stop_on_term)
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="1M events for the lookup, more appends")
    parser.add_argument("--events", type=int, help="events in the filled ledger (overrides --full)")
    parser.add_argument("--database", help="the bench's database (made and dropped; default a random name)")
    parser.add_argument("--keep-database", action="store_true", help="leave the database for a closer look")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile of 500 appends at 1 client, on stderr"
    )
    args = parser.parse_args()
    sizes: dict = dict(FULL if args.full else SMALL)
    if args.events:
        sizes["events"] = args.events

    run_id = secrets.token_hex(4)
    database = args.database or f"tc_bench_consent_{run_id}"
    if not database.startswith(("tc_bench_", "trustcenter_bench_")):
        parser.error("--database must start with tc_bench_ or trustcenter_bench_: the bench drops it")
    data_dir = Path(tempfile.mkdtemp(prefix=f"tc-bench-consent-{run_id}-"))
    created = False
    began = time.perf_counter()
    try:
        pg_admin_execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        pg_admin_execute(f'CREATE DATABASE "{database}"')
        created = True
        configure_django(database, data_dir)
        from django.core.management import call_command

        log(f"database {database}: migrating")
        call_command("migrate", interactive=False, verbosity=0)
        idle = cpu_idle_share()
        log(
            f"CPU idle before the run: {idle:.0%} of {os.cpu_count()} cores"
            + ("" if idle > 0.9 else " (other work on this machine; figures are noisy)")
        )

        # Appends.
        context = prepare_appends()
        first, again = append_queries(context)
        chained_events = 2
        log(
            f"queries of one append for a known subject: {len(first)} for a purpose it had no state for, "
            f"{len(again)} changing its state:"
        )
        for sql in again:
            log(f"  {sql if len(sql) <= 150 else sql[:147] + '...'}")
        breakdown = where_appends_go(context, BREAKDOWN_APPENDS)
        chained_events += BREAKDOWN_APPENDS
        log(
            f"where an append's time goes at 1 client ({BREAKDOWN_APPENDS} appends): {breakdown['total']:.2f} ms = "
            f"statements {breakdown['statements']:.2f} + COMMIT {breakdown['commit']:.2f} + Python "
            f"(ORM) {breakdown['rest']:.2f}"
        )
        if args.profile:
            profile_appends(context, 500)
            chained_events += 500
        results = {}
        for clients in CONCURRENCIES:
            total = sizes["appends"][clients]
            measured = measure_appends(context, clients, total, SEED + 100 * clients)
            results[clients] = measured
            chained_events += measured["chained"].events + WARM_UP * clients
            base, chained = measured["baseline"], measured["chained"]
            log(
                f"{clients} client{'s' if clients > 1 else ''}: baseline {base.rate:,.0f} events/s "
                f"({base.events:,} in {base.seconds:.1f} s), chained {chained.rate:,.0f} events/s "
                f"({chained.events:,} in {chained.seconds:.1f} s), ratio {chained.rate / base.rate:.2f}"
            )
        log(check_ledger(chained_events))

        # The filled ledger and the lookups.
        filled = fill_ledger(sizes["events"])
        log(
            f"ledger filled: {sizes['events']:,} events, {filled['subjects']:,} subjects, "
            f"{filled['states']:,} state rows in {filled['seconds']:.1f} s (COPY, analyzed)"
        )
        for line in verify_filled(sizes["events"]):
            log(line)
        lookups = measure_lookups(filled["subjects"])
        exists = measure_exists(sizes["leads"], filled["subjects"])

        log()
        log(f"current_consent's query: {lookups['query']}")
        log("its plan (an existing subject):")
        for line in lookups["plan"]:
            log(f"  {line}")
        log()
        header = f"{'clients':>7} | {'baseline ev/s':>13} {'ms/ev':>6} | {'chained ev/s':>12} {'ms/ev':>6} | {'ratio':>5} {'goal':>5}"
        log(header)
        log("-" * len(header))
        for clients, measured in results.items():
            base, chained = measured["baseline"], measured["chained"]
            log(
                f"{clients:>7} | {base.rate:13,.0f} {1000 / base.rate:6.2f} | {chained.rate:12,.0f} "
                f"{1000 / chained.rate:6.2f} | {chained.rate / base.rate:5.2f} {GOAL_RATIO[clients]:5}"
            )
        log()
        for clients, measured in results.items():
            ratio = measured["chained"].rate / measured["baseline"].rate
            log(
                f"append ratio chained/baseline at {clients} client{'s' if clients > 1 else ''}: "
                f"{ratio:.2f} (goal >= {GOAL_RATIO[clients]}): {verdict(ratio >= GOAL_RATIO[clients])}"
            )
        all_times = lookups["all"]
        for name, values in (
            ("current_consent, all", all_times),
            ("  existing subjects", lookups["times"]["existing"]),
            ("  unknown addresses", lookups["times"]["unknown"]),
            ("  its SQL alone", lookups["sql"]),
        ):
            log(
                f"{name} ({len(values):,} lookups at {sizes['events']:,} events): p50 "
                f"{percentile(values, 50):.2f} ms, p95 {percentile(values, 95):.2f} ms, "
                f"p99 {percentile(values, 99):.2f} ms"
            )
        p95 = percentile(all_times, 95)
        log(
            f"lookup p95 {p95:.2f} ms at {sizes['events']:,} events (goal <= {GOAL_P95_MS} ms): "
            f"{verdict(p95 <= GOAL_P95_MS)}; {lookups['standing']} of {len(all_times)} found standing"
        )
        log(
            f"retention's consent_standing Exists() over {exists['leads']:,} leads: {exists['ms']:.1f} ms "
            f"(median of 5 COUNTs; {exists['count']:,} kept)"
        )
        log(f"whole run {time.perf_counter() - began:.0f} s")
        log(
            f"RESULT consent ratio={results[1]['chained'].rate / results[1]['baseline'].rate:.2f} goal={GOAL_RATIO[1]}"
        )
        return 0
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:
            pass
        if created and not args.keep_database:
            pg_admin_execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        elif created:
            log(f"database kept: {database}")
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
