"""Queue benchmark (issue 9, point 14): the staff queue page, a text search and the breach
register's CSV export at growing numbers of cases, against the page's main SQL query alone.

    .venv/bin/python bench/queue.py          # 1k and 10k cases, about 25 s
    .venv/bin/python bench/queue.py --full   # 1k, 10k and 100k cases, about 2 to 3 minutes

It makes its own PostgreSQL database (tc_bench_queue_<random> on 127.0.0.1:5432, user postgres),
migrates it and collects static files into a temporary data directory, with production settings
(DJANGO_DEBUG=false) except that the staff door asks for no second factor. The cache is Redis
database 11 on 127.0.0.1:6379, as in production (docker-compose.yml), so sessions live there and
not in the database; the run's keys carry their own prefix and are deleted at the end. The cases
are written with bulk_create, not through services.submit_case (an Argon2id hash each), then
VACUUM ANALYZEd: their clocks (due in the past and in the future, some met), Case.next_due_at
kept as the services keep it (the nearest running due), a message or two each, a breach record
for every personal-data breach, spread over every type and the four site languages, a quarter
closed.

A handler of the privacy team (view and change permissions) is logged in with
django.test.Client.force_login, and every page goes through Django's whole request stack in
this process (middleware, session, the view, the templates). Per size:

- page: GET /en/staff/ (default filters, 50 rows, checked);
- search: the same page with ?q=<a word in about 1% of the reports>;
- csv: the breach register export (staff:breaches_csv), when the URL exists;
- baseline: the page's main SQL query alone (the 50-row SELECT captured during the page's
  request, executed again on the same connection and fetched), likewise for the search's.

Each is timed as the median of several runs after a warm-up, the five measurements interleaved
so that other work on the machine slows them alike; the query count comes from
CaptureQueriesContext. At the largest size it prints the page's queries, where the page's time
goes (SQL, the pagination's COUNT, template rendering, the rest), the slowest queries of each
request and the top of EXPLAIN (ANALYZE, BUFFERS) for the main, count and search queries, and
whether the search used the per-language GIN indexes (case_search_<lang>, migration 0006).

The last line: RESULT queue ratio=<page ms / main query ms at the largest size> goal=3.
The goal also asks for a query count that does not grow with the number of cases.
"""

import sys
from pathlib import Path

# This file shares its name with the standard library's `queue`, which Django's imports need:
# Python puts the script's folder first on the path, so it is taken off before anything imports.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse  # noqa: E402
import hashlib  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import timedelta  # noqa: E402

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))
from bench._machine import PG, cpu_idle_share, pg_admin_execute  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/11"  # the cache, and so the sessions, as in production
SMALL_SIZES = (1_000, 10_000)
FULL_SIZES = (1_000, 10_000, 100_000)
GOAL_RATIO = 3
PAGE_ROWS = 50
API_CASES_URL = "/api/v1/cases/"
RUNS = 9  # timed runs per measurement and size, fewer when one takes long (see RUN_BUDGET_SECONDS)
RUN_BUDGET_SECONDS = 15.0
SEARCH_WORD = "payroll"  # in about 1% of the reports, in every language
SEARCH_SHARE = 0.01
BATCH = 5_000
SEED = 20261203

# Weights of the case types (most are questions and data-subject requests).
TYPE_WEIGHTS = {
    "subject_request": 25,
    "general_inquiry": 25,
    "complaint": 10,
    "privacy_deviation": 10,
    "security_incident": 10,
    "whistleblowing": 10,
    "hse": 10,
}
LANGUAGE_WEIGHTS = {"en": 40, "nb": 30, "sv": 15, "da": 15}
OPEN_STATUS_WEIGHTS = {"received": 30, "in_progress": 45, "waiting_for_reporter": 15}
CLOSED_SHARE = 0.25

WORDS = {
    "en": (
        "the and i my was to of in we it is that for have this with not on they you would like "
        "personal data request access employee customer email address account deleted consent "
        "newsletter marketing camera surveillance office laptop stolen password phishing invoice "
        "contract supplier manager harassment safety warehouse injury chemical report complaint "
        "information copy records retention application job candidate reference health insurance "
        "salary bank phone number letter mistake sent wrong recipient attachment spreadsheet names "
        "birth dates shared third party website cookies tracking app location delete correct object "
        "processing portal login server backup incident breach colleague team meeting weeks months "
        "yesterday building door badge visitor fraud expense bribe accident forklift noise ventilation"
    ).split(),
    "nb": (
        "og jeg har det som vi ikke på til med er en for av at den kan om meg mine "
        "personopplysninger innsyn ansatt kunde epost adresse konto slettet samtykke nyhetsbrev "
        "kamera overvåking kontor bærbar stjålet passord faktura kontrakt leverandør leder "
        "trakassering sikkerhet lager skade kjemikalier rapport klage informasjon kopi opplysninger "
        "lagring søknad stilling kandidat helse forsikring lønn bank telefon nummer brev feil sendt "
        "mottaker vedlegg regneark navn fødselsdato delt nettside informasjonskapsler sporing app "
        "posisjon slette rette behandling innlogging server hendelse avvik kollega møte uker måneder "
        "bygning dør adgangskort besøkende svindel utlegg ulykke truck støy ventilasjon"
    ).split(),
    "sv": (
        "och jag har det som vi inte på till med är en för av att den kan om mig mina "
        "personuppgifter begäran tillgång anställd kund epost adress konto raderade samtycke "
        "nyhetsbrev kamera övervakning kontor bärbar stulen lösenord faktura avtal leverantör chef "
        "trakasserier säkerhet lager skada rapport klagomål information kopia uppgifter ansökan "
        "tjänst hälsa försäkring lön telefon brev fel skickat mottagare bilaga namn delade webbplats "
        "kakor spårning radera rätta behandling inloggning incident kollega möte veckor igår "
        "byggnad dörr besökare bedrägeri olycka buller"
    ).split(),
    "da": (
        "og jeg har det som vi ikke på til med er en for af at den kan om mig mine "
        "personoplysninger anmodning indsigt ansat kunde email adresse konto slettet samtykke "
        "nyhedsbrev kamera overvågning kontor bærbar stjålet adgangskode faktura kontrakt "
        "leverandør leder chikane sikkerhed lager skade rapport klage oplysninger kopi ansøgning "
        "stilling helbred forsikring løn telefon brev fejl sendt modtager bilag navn delt "
        "hjemmeside cookies sporing slette rette behandling login hændelse brud kollega møde uger "
        "måneder bygning dør besøgende svindel ulykke støj"
    ).split(),
}
STAFF_REPLIES = (
    "Thank you for your message. We are looking into it and will come back to you.",
    "Could you tell us when this happened and who else was involved?",
    "We have answered your request; the copy of your data is attached.",
)


def log(text: str = "") -> None:
    print(text, flush=True)


def configure_django(database: str, data_dir: Path, key_prefix: str) -> None:
    """Production settings (trustcenter/settings.py with DJANGO_DEBUG=false) on the bench's own
    database, with Redis as the cache and so the session store (settings.IS_SHARED_CACHE), under
    the run's own key prefix."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "trustcenter.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "TRUSTCENTER_RECEIPT_SALT": secrets.token_urlsafe(32),
            "TRUSTCENTER_REQUIRE_2FA": "true",  # production refuses less; switched off per request below
            "TRUSTCENTER_SITE_URL": "https://testserver",
            "DATABASE_URL": f"postgres://{PG['user']}:{PG['password']}@{PG['host']}:{PG['port']}/{database}",
            "CACHE_URL": REDIS_URL,
            "CELERY_BROKER_URL": "filesystem://localhost//",
            "EMAIL_URL": "consolemail://",
            "TRUSTCENTER_DATA_DIR": str(data_dir),
            "TRUSTCENTER_UPLOAD_DIR": str(data_dir / "uploads"),
            "DJANGO_LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    from django.conf import settings
    from django.test import override_settings

    # CACHE_URL has no place for a key prefix: set here, before anything uses the cache.
    override_settings(CACHES={"default": {**settings.CACHES["default"], "KEY_PREFIX": key_prefix}}).enable()


def forget_cache_keys(key_prefix: str) -> None:
    """The run's keys in Redis (its session, mostly): all of them carry the run's prefix."""
    import redis

    with redis.Redis.from_url(REDIS_URL) as cache:
        names = list(cache.scan_iter(match=f"{key_prefix}:*"))
        if names:
            cache.delete(*names)


# --- Data ---------------------------------------------------------------------------------------


class Generator:
    """Adds cases, with their clocks, messages and breach records, up to a number."""

    def __init__(self, *, handlers: list, now):
        from cases.models import ClockPolicy

        self.random = random.Random(SEED)
        self.handlers = handlers
        self.now = now
        self.count = 0
        self.run_tag = secrets.token_hex(4)
        self.policies: dict[str, list] = {}
        for policy in ClockPolicy.objects.filter(is_active=True):
            self.policies.setdefault(policy.case_type, []).append(policy)
        self.types = list(TYPE_WEIGHTS)
        self.type_weights = list(TYPE_WEIGHTS.values())
        self.languages = list(LANGUAGE_WEIGHTS)
        self.language_weights = list(LANGUAGE_WEIGHTS.values())

    def document(self, language: str) -> str:
        words = self.random.choices(WORDS[language], k=self.random.randint(20, 80))
        if self.random.random() < SEARCH_SHARE:
            words.insert(self.random.randrange(len(words)), SEARCH_WORD)
        text = " ".join(words)
        return text[0].upper() + text[1:] + "."

    @staticmethod
    def length(policy) -> timedelta:
        per_unit = {"hours": 1 / 24, "days": 1, "weeks": 7, "months": 30}
        return timedelta(days=policy.length * per_unit[policy.unit])

    def grow_to(self, size: int) -> float:
        from django.db import transaction

        started = time.perf_counter()
        while self.count < size:
            with transaction.atomic():
                self.add(min(BATCH, size - self.count))
        return time.perf_counter() - started

    def add(self, number: int) -> None:
        from cases.models import (
            Breach,
            BreachNotification,
            Case,
            CaseClock,
            CaseExclusion,
            CaseMessage,
            MessageAuthor,
        )

        rnd, now = self.random, self.now
        cases, clocks_of, texts = [], [], []
        for _ in range(number):
            self.count += 1
            serial = self.count
            case_type = rnd.choices(self.types, self.type_weights)[0]
            language = rnd.choices(self.languages, self.language_weights)[0]
            closed = rnd.random() < CLOSED_SHARE
            # Open cases came in over the last 80 days (their clocks due in the past and in the
            # future), closed ones over two years.
            received_at = now - timedelta(minutes=rnd.uniform(10, (730 if closed else 80) * 24 * 60))
            status = (
                "closed"
                if closed
                else rnd.choices(list(OPEN_STATUS_WEIGHTS), list(OPEN_STATUS_WEIGHTS.values()))[0]
            )
            text = self.document(language)
            is_request = case_type == "subject_request"
            clocks, running = [], []
            for policy in self.policies.get(case_type, []):
                due_at = received_at + self.length(policy)
                if policy.kind == "feedback":
                    due_at += timedelta(days=7)
                span = due_at - received_at
                at_risk_at = due_at - min(
                    span * policy.at_risk_percent / 100, timedelta(hours=policy.at_risk_max_hours)
                )
                met = (
                    closed or (policy.kind == "acknowledgement" and rnd.random() < 0.7) or rnd.random() < 0.15
                )
                met_at = received_at + span * rnd.uniform(0.05, 1.2) if met else None
                if met_at and met_at > now:
                    met_at = now - timedelta(minutes=1)
                clock = CaseClock(
                    kind=policy.kind,
                    starts_at=received_at,
                    due_at=due_at,
                    first_due_at=due_at,
                    at_risk_at=at_risk_at,
                    met_at=met_at,
                    met_action="reply" if met_at else "",
                )
                clocks.append(clock)
                if met_at is None:
                    running.append(due_at)
            assignee = rnd.choice(self.handlers) if rnd.random() < 0.4 else None
            cases.append(
                Case(
                    reference=f"TC-{received_at.year}-{serial:06d}",
                    case_type=case_type,
                    status=status,
                    received_at=received_at,
                    language=language,
                    is_anonymous=not is_request and rnd.random() < 0.5,
                    receipt_hash=hashlib.sha256(f"bench-{self.run_tag}-{serial}".encode()).hexdigest(),
                    subject_right=rnd.choice(["access", "erasure", "rectification", "objection"])
                    if is_request
                    else "",
                    details={},
                    reporter_name="Kari Nordmann" if is_request else "",
                    reporter_email=f"requester{serial}@example.com" if is_request else "",
                    email_confirmed_at=received_at + timedelta(minutes=5)
                    if is_request and (closed or rnd.random() < 0.9)
                    else None,
                    content_digest=hashlib.sha256(text.encode()).hexdigest(),
                    closed_at=received_at + timedelta(days=rnd.uniform(1, 40)) if closed else None,
                    outcome=rnd.choice(["answered", "resolved", "no_action"]) if closed else "",
                    assignee=assignee,
                    severity=rnd.choice(["low", "medium", "high", "critical"])
                    if case_type == "security_incident"
                    else "",
                    next_due_at=min(running) if running else None,
                    search_document=text,
                )
            )
            clocks_of.append(clocks)
            texts.append(text)
        Case.objects.bulk_create(cases, batch_size=BATCH)
        all_clocks, messages, breaches, exclusions = [], [], [], []
        for case, clocks, text in zip(cases, clocks_of, texts, strict=True):
            for clock in clocks:
                clock.case = case
                all_clocks.append(clock)
            messages.append(
                CaseMessage(case=case, author=MessageAuthor.REPORTER, body=text, created_at=case.received_at)
            )
            if case.status != "received" and rnd.random() < 0.6:
                messages.append(
                    CaseMessage(
                        case=case,
                        author=MessageAuthor.STAFF,
                        staff_user=rnd.choice(self.handlers),
                        body=rnd.choice(STAFF_REPLIES),
                        created_at=case.received_at + timedelta(hours=rnd.uniform(1, 48)),
                    )
                )
            if case.case_type == "privacy_deviation":
                decided = case.status == "closed" or rnd.random() < 0.5
                decision = rnd.choice(["notify", "not_notify"]) if decided else ""
                breaches.append(
                    Breach(
                        case=case,
                        aware_at=case.received_at,
                        nature=text[:300],
                        data_categories="Names, e-mail addresses",
                        subjects_affected=rnd.randint(1, 5000),
                        effects="Possible phishing of those affected.",
                        remedial_action="The e-mail was recalled; the recipient deleted it.",
                        decision=decision,
                        reasons_not_to_notify="Encrypted; the key was not lost."
                        if decision == "not_notify"
                        else "",
                        decided_at=case.received_at + timedelta(hours=30) if decided else None,
                    )
                )
            if rnd.random() < 0.001:
                exclusions.append(
                    CaseExclusion(case=case, user=self.handlers[0], reason="Conflict of interest.")
                )
        CaseClock.objects.bulk_create(all_clocks, batch_size=BATCH)
        CaseMessage.objects.bulk_create(messages, batch_size=BATCH)
        CaseExclusion.objects.bulk_create(exclusions, batch_size=BATCH)
        Breach.objects.bulk_create(breaches, batch_size=BATCH)
        notifications = [
            BreachNotification(
                breach=breach,
                authority=rnd.choice(["NO", "SE", "DK"]),
                notified_at=breach.aware_at + timedelta(hours=rnd.uniform(12, 90)),
                authority_reference=f"AUTH-{breach.pk}",
                summary="First notification.",
                delay_reasons="",
            )
            for breach in breaches
            if breach.decision == "notify"
        ]
        BreachNotification.objects.bulk_create(notifications, batch_size=BATCH)


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in (
            "cases_case",
            "cases_caseclock",
            "cases_casemessage",
            "cases_caseexclusion",
            "cases_breach",
            "cases_breachnotification",
        ):
            # VACUUM too: it empties the GIN indexes' pending lists, as autovacuum would have.
            cursor.execute(f"VACUUM ANALYZE {table}")


def make_handlers():
    """The measured handler (privacy team, view and change permissions) and some colleagues."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    from cases import services

    services.ensure_default_teams()
    services.ensure_default_clock_policies()
    permissions = list(
        Permission.objects.filter(content_type__app_label="cases", codename__in=["view_case", "change_case"])
    )
    handlers = []
    for number in range(6):
        user = get_user_model().objects.create_user(
            username=f"bench-handler-{number}",
            first_name="Bench",
            last_name=f"Handler {number}",
            is_staff=True,
        )
        user.user_permissions.add(*permissions)
        services.add_to_teams(
            user=user, team_slugs=["privacy"] if number < 5 else list(services.DEFAULT_TEAMS)
        )
        handlers.append(user)
    return handlers


# --- Measuring ----------------------------------------------------------------------------------


class Endpoint:
    def __init__(self, name: str, url: str, check):
        self.name = name
        self.url = url
        self.check = check
        self.times: list[float] = []
        self.queries: list[dict] = []
        self.main_sql = ""
        self.base_times: list[float] = []
        self.body_size = 0


def is_main_select(sql: str, table: str, limited: bool) -> bool:
    # The page's slice: LIMIT 50, or the number of matches when fewer (Paginator).
    return sql.startswith(f'SELECT "{table}".') and bool(re.search(r"LIMIT \d+$", sql)) == limited


def capture(client, endpoint: Endpoint) -> None:
    """One request with its queries recorded: the count, and the main SELECT to time alone."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(endpoint.url, secure=True)
    endpoint.check(response)
    endpoint.body_size = len(response.content)
    endpoint.queries = list(captured.captured_queries)
    table, limited = ("cases_breach", False) if endpoint.name == "csv" else ("cases_case", True)
    mains = [query["sql"] for query in endpoint.queries if is_main_select(query["sql"], table, limited)]
    if len(mains) != 1:
        raise RuntimeError(
            f"{endpoint.name}: found {len(mains)} main SELECTs among {len(endpoint.queries)} queries: "
            + "\n".join(shorten(query["sql"], 400) for query in endpoint.queries)
        )
    endpoint.main_sql = mains[0]


def time_request(client, endpoint: Endpoint) -> None:
    started = time.perf_counter()
    response = client.get(endpoint.url, secure=True)
    endpoint.times.append(time.perf_counter() - started)
    endpoint.check(response)


def time_query(endpoint: Endpoint) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(endpoint.main_sql)
        cursor.fetchall()
        endpoint.base_times.append(time.perf_counter() - started)


def ms(values: list[float]) -> float:
    return statistics.median(values) * 1000 if values else float("nan")


def measure(client, endpoints: list[Endpoint]) -> None:
    for endpoint in endpoints:
        endpoint.times, endpoint.base_times = [], []
        client.get(endpoint.url, secure=True)  # warm-up
        capture(client, endpoint)
        if endpoint.name != "csv":
            time_query(endpoint)  # warm-up
    started = time.perf_counter()
    for number in range(RUNS):
        for endpoint in endpoints if number % 2 == 0 else reversed(endpoints):
            time_request(client, endpoint)
            if endpoint.name != "csv":
                time_query(endpoint)
        if number >= 2 and time.perf_counter() - started > RUN_BUDGET_SECONDS * len(endpoints):
            break


def explain(sql: str, lines: int) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        plan = [row[0] for row in cursor.fetchall()]
    return (
        plan[:lines]
        + ([f"  ... ({len(plan) - lines} more lines)"] if len(plan) > lines else [])
        + [line for line in plan[lines:] if line.startswith(("Planning Time", "Execution Time"))]
    )


def slowest(queries: list[dict], number: int = 3) -> list[str]:
    ranked = sorted(queries, key=lambda query: float(query["time"]), reverse=True)[:number]
    return [f"{float(query['time']) * 1000:8.1f} ms  {shorten(query['sql'])}" for query in ranked]


def shorten(sql: str, width: int = 150) -> str:
    sql = re.sub(r"\s+", " ", sql)
    return sql if len(sql) <= width else sql[: width - 3] + "..."


def search_index_report(endpoint: Endpoint) -> list[str]:
    """Whether the search used the per-language GIN indexes (their scans in the plan), and if
    not, the expressions to compare."""
    from django.db import connection

    from cases.selectors import SEARCH_CONFIGS

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE) " + endpoint.main_sql)
        plan = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'cases_case' "
            "AND indexname LIKE 'case_search_%' ORDER BY indexname"
        )
        indexes = dict(cursor.fetchall())
    scans = [line.strip() for line in plan if re.search(r"Index Scan on case_search_\w+", line)]
    used = sorted({re.search(r"case_search_\w+", line).group(0) for line in scans})  # type: ignore[union-attr]
    lines = [f"per-language GIN indexes: {len(indexes)} ({', '.join(indexes) or 'none'})"]
    lines.append(f"search plan (main query) uses: {', '.join(used) if used else 'none of them'}")
    lines += ["  " + re.sub(r" +\(cost=[^)]*\)", "", line) for line in scans]
    if not used and indexes:
        expression = re.search(r"to_tsvector\([^@]*?\)\)", endpoint.main_sql)
        config = re.search(r"to_tsvector\('(\w+)'", expression.group(0)) if expression else None
        language = next((code for code, name in SEARCH_CONFIGS.items() if config and name == config[1]), "")
        lines.append(f"  index:  {indexes.get(f'case_search_{language}', next(iter(indexes.values())))}")
        lines.append(f"  query:  {expression.group(0) if expression else '(no to_tsvector in the SQL)'}")
        arms = re.findall(
            r'(UPPER\("cases_case"\."reference"[^)]*\)[^)]*\)|"cases_case"\."reference"::text LIKE[^)]*\))',
            endpoint.main_sql,
        )
        if arms:
            lines.append(
                "  the WHERE ORs the text match with reference matches that no index answers "
                f"({'; '.join(arms)}), so a bitmap OR of the GIN indexes is impossible"
            )
    return lines


def breakdown(client, endpoint: Endpoint, runs: int = 7) -> str:
    """Where a request's time goes, as medians of a few requests: its SQL (each statement timed
    by an execute wrapper), of which the pagination's COUNT and the page's 50-row SELECT; the
    template rendering without the SQL it runs (lazy querysets of the filter form); the rest
    (middleware, session in Redis, view code, the test client)."""
    from django.db import connection
    from django.template.backends.django import Template

    original = Template.render
    depth = 0
    renders: list[float] = []
    statements: list[tuple[str, float, bool]] = []  # sql, seconds, during rendering

    def timed_render(self, context=None, request=None):
        nonlocal depth
        depth += 1
        started = time.perf_counter()
        try:
            return original(self, context, request)
        finally:
            depth -= 1
            if depth == 0:
                renders.append(time.perf_counter() - started)

    def timed_execute(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append((sql, time.perf_counter() - started, depth > 0))

    parts: dict[str, list[float]] = {key: [] for key in ("request", "sql", "count", "main", "render", "rest")}
    Template.render = timed_render  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(timed_execute):
            for _ in range(runs):
                statements.clear()
                renders.clear()
                started = time.perf_counter()
                response = client.get(endpoint.url, secure=True)
                request = time.perf_counter() - started
                endpoint.check(response)
                sql = sum(seconds for _, seconds, _ in statements)
                render = sum(renders) - sum(seconds for _, seconds, rendering in statements if rendering)
                parts["request"].append(request)
                parts["sql"].append(sql)
                parts["count"].append(
                    sum(seconds for text, seconds, _ in statements if text.startswith("SELECT COUNT(*)"))
                )
                parts["main"].append(
                    sum(
                        seconds for text, seconds, _ in statements if is_main_select(text, "cases_case", True)
                    )
                )
                parts["render"].append(render)
                parts["rest"].append(request - sql - render)
    finally:
        Template.render = original  # type: ignore[method-assign]
    figures = {key: ms(values) for key, values in parts.items()}
    return (
        f"{endpoint.name}: request {figures['request']:.1f} ms = SQL {figures['sql']:.1f} "
        f"(COUNT {figures['count']:.1f}, 50-row SELECT {figures['main']:.1f}) "
        f"+ template rendering {figures['render']:.1f} + the rest {figures['rest']:.1f} "
        "(middleware, session, view, test client; medians, so the parts need not add up)"
    )


def stop_on_term(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # so that the finally block drops the database


def main() -> int:
    signal.signal(signal.SIGTERM, stop_on_term)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="1k, 10k and 100k cases (default 1k and 10k)")
    parser.add_argument("--keep-database", action="store_true", help="leave the database for a closer look")
    args = parser.parse_args()
    sizes = FULL_SIZES if args.full else SMALL_SIZES

    run_id = secrets.token_hex(4)
    database = f"tc_bench_queue_{run_id}"
    key_prefix = f"tc-bench-queue-{run_id}"
    data_dir = Path(tempfile.mkdtemp(prefix=f"tc-bench-queue-{run_id}-"))
    created = configured = False
    try:
        import redis

        with redis.Redis.from_url(REDIS_URL) as cache:
            cache.ping()  # fail now, not after loading the cases
        pg_admin_execute(f'CREATE DATABASE "{database}"')
        created = True
        configure_django(database, data_dir, key_prefix)
        configured = True
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client, override_settings
        from django.test.utils import CaptureQueriesContext
        from django.urls import NoReverseMatch, reverse
        from django.utils import timezone, translation

        log(f"database {database}: migrating, collecting static files")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        handlers = make_handlers()
        user = handlers[0]
        generator = Generator(handlers=handlers, now=timezone.now())

        def page_check(response) -> None:
            if response.status_code != 200 or b"<h1" not in response.content:
                raise RuntimeError(f"queue answered {response.status_code}: {response.content[:300]!r}")

        def full_page_check(response) -> None:
            page_check(response)
            rows = response.content.count(b'<th scope="row">')
            if rows != PAGE_ROWS:
                raise RuntimeError(f"queue showed {rows} rows, not {PAGE_ROWS}")

        def api_check(response) -> None:
            if response.status_code != 200 or len(response.json()["results"]) != PAGE_ROWS:
                raise RuntimeError(f"API answered {response.status_code}: {response.content[:300]!r}")

        def csv_check(response) -> None:
            if response.status_code != 200 or not response["Content-Type"].startswith("text/csv"):
                raise RuntimeError(f"CSV answered {response.status_code}: {response.content[:300]!r}")

        with translation.override("en"):
            queue_url = reverse("staff:queue")
            try:
                csv_url = reverse("staff:breaches_csv")
            except NoReverseMatch:
                csv_url = None
        endpoints = [
            Endpoint("page", queue_url, full_page_check),
            Endpoint("search", f"{queue_url}?q={SEARCH_WORD}", page_check),
            Endpoint("api", f"{API_CASES_URL}?per_page={PAGE_ROWS}", api_check),
        ]
        if csv_url:
            endpoints.append(Endpoint("csv", csv_url, csv_check))
        else:
            log("breach register CSV (staff:breaches_csv): missing, not measured")

        idle = cpu_idle_share()
        log(
            f"CPU idle before the run: {idle:.0%} of {os.cpu_count()} cores"
            + ("" if idle > 0.9 else " (other work on this machine; figures are noisy)")
        )
        rows = []
        with override_settings(TRUSTCENTER_REQUIRE_2FA=False):
            client = Client()
            client.force_login(user)
            for size in sizes:
                seconds = generator.grow_to(size)
                analyze()
                log(f"{size} cases loaded in {seconds:.1f} s (analyzed); measuring")
                measure(client, endpoints)
                rows.append((size, {endpoint.name: snapshot(endpoint) for endpoint in endpoints}))
            largest = {endpoint.name: endpoint for endpoint in endpoints}

            log()
            log(f"Largest size ({sizes[-1]} cases): the page's {len(largest['page'].queries)} queries")
            for query in largest["page"].queries:
                log(f"  {shorten(query['sql'], 120)}")
            log()
            log("Where the time of a request goes:")
            for name in ("page", "search"):
                log(f"  {breakdown(client, largest[name])}")
            log()
            log("The slowest queries of each request (Django's timing)")
            for endpoint in endpoints:
                log(f"{endpoint.name} ({len(endpoint.queries)} queries):")
                for line in slowest(endpoint.queries):
                    log(f"  {line}")
            count_sql = {
                name: next(
                    (
                        q["sql"]
                        for q in largest[name].queries
                        if q["sql"].startswith("SELECT COUNT(*)") and "cases_case" in q["sql"]
                    ),
                    None,
                )
                for name in ("page", "search")
            }
            for title, sql in (
                ("main query (page)", largest["page"].main_sql),
                ("count query (page)", count_sql["page"]),
                ("main query (search)", largest["search"].main_sql),
                ("count query (search)", count_sql["search"]),
            ):
                if sql:
                    log()
                    log(f"EXPLAIN (ANALYZE, BUFFERS) {title}:")
                    for line in explain(sql, 14):
                        log(f"  {line}")
            log()
            api_counts = {}
            for per_page in (25, 100):
                with CaptureQueriesContext(connection) as captured:
                    client.get(f"{API_CASES_URL}?per_page={per_page}", secure=True)
                api_counts[per_page] = len(captured.captured_queries)
            verdict = "constant" if len(set(api_counts.values())) == 1 else "GROWS with the page size"
            log(
                f"API case list, queries at 25 and 100 rows a page: {api_counts[25]}, {api_counts[100]} ({verdict})"
            )
            log()
            for line in search_index_report(largest["search"]):
                log(line)
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM cases_case WHERE search_document LIKE %s", [f"%{SEARCH_WORD}%"]
                )
                matching = cursor.fetchone()[0]
            log(f"'{SEARCH_WORD}' is in {matching} of {sizes[-1]} reports")

        log()
        header = (
            f"{'cases':>7} | {'page ms':>8} {'query ms':>8} {'ratio':>6} {'queries':>7} | "
            f"{'search ms':>9} {'query ms':>8} {'ratio':>6} {'queries':>7} | {'csv ms':>8} {'queries':>7} {'KiB':>6} | "
            f"{'api ms':>7} {'query ms':>8} {'ratio':>6} {'queries':>7}"
        )
        log(header)
        log("-" * len(header))
        for size, figures in rows:
            page, search, csv, api = figures["page"], figures["search"], figures.get("csv"), figures["api"]
            csv_part = (
                f"{csv['ms']:8.1f} {csv['queries']:7d} {csv['bytes'] / 1024:6.0f}"
                if csv
                else f"{'missing':>8} {'-':>7} {'-':>6}"
            )
            log(
                f"{size:>7} | {page['ms']:8.1f} {page['base_ms']:8.2f} {page['ms'] / page['base_ms']:6.1f} {page['queries']:7d} | "
                f"{search['ms']:9.1f} {search['base_ms']:8.2f} {search['ms'] / search['base_ms']:6.1f} {search['queries']:7d} | {csv_part} | "
                f"{api['ms']:7.1f} {api['base_ms']:8.2f} {api['ms'] / api['base_ms']:6.1f} {api['queries']:7d}"
            )
        log(f"(medians of up to {RUNS} runs; 'query ms' is the request's main 50-row SELECT alone, fetched)")
        counts = {name: {figures[name]["queries"] for _, figures in rows} for name in rows[0][1]}
        for name, values in counts.items():
            verdict = "constant" if len(values) == 1 else "GROWS with the number of cases"
            log(
                f"query count of {name}: {', '.join(str(figures[name]['queries']) for _, figures in rows)} ({verdict})"
            )
        if not csv_url:
            log("breach register CSV (staff:breaches_csv): missing, not measured")
        # The worse of the page and the API's case list (issue 10, point 8).
        ratios = {name: rows[-1][1][name]["ms"] / rows[-1][1][name]["base_ms"] for name in ("page", "api")}
        log(f"ratio at {sizes[-1]} cases: page {ratios['page']:.1f}, API {ratios['api']:.1f}")
        log(f"RESULT queue ratio={max(ratios.values()):.1f} goal={GOAL_RATIO}")
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
        if configured:
            try:
                forget_cache_keys(key_prefix)
            except Exception as error:  # the database is dropped all the same
                log(f"could not delete the run's Redis keys ({key_prefix}:*): {error}")
        shutil.rmtree(data_dir, ignore_errors=True)


def snapshot(endpoint: Endpoint) -> dict:
    return {
        "ms": ms(endpoint.times),
        "base_ms": ms(endpoint.base_times),
        "queries": len(endpoint.queries),
        "bytes": endpoint.body_size,
    }


if __name__ == "__main__":
    sys.exit(main())
