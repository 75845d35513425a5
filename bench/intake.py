"""Intake benchmark (issue 3, point 23): the Trust message form POST against a bare Django view.

    .venv/bin/python bench/intake.py          # small sizes, well under a minute
    .venv/bin/python bench/intake.py --full   # the issue's sizes, under three minutes

It makes its own PostgreSQL database, migrates it, collects static files into a temporary data
directory, and starts gunicorn with production settings (DJANGO_DEBUG=false, PostgreSQL, Redis
cache and broker). Clients speak plain HTTP to 127.0.0.1 and send `X-Forwarded-Proto: https`
and `Origin`, as the TLS proxy and a browser would. One gunicorn serves both endpoints:

- intake: POST /en/report/ (an anonymous general inquiry, multipart like a browser sends it),
  which must answer 200 with the receipt page;
- baseline: POST /baseline/ (bench/_baseline_app.py): one INSERT and the same Argon2id receipt hash.

At 1 and 8 concurrent clients it measures requests/s, p50 and p95 for each. The requests go in
short blocks, baseline and intake alternating (B I I B B I ...), so that whatever else the
machine is doing meanwhile slows both endpoints alike.
The ratio is intake req/s / baseline req/s; the last line gives the smaller of the two ratios.
Everything it started or made is stopped and removed at the end, also on failure.
"""

import sys
from pathlib import Path

# bench/queue.py shares its name with the standard library's `queue`, which redis and Django
# import: Python puts the script's folder first on the path, so it is taken off before anything
# imports, and the project's folder put in its place.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse  # noqa: E402
import http.client  # noqa: E402
import os  # noqa: E402
import pickle  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

import psycopg2  # noqa: E402
import redis  # noqa: E402

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))
from bench._machine import PG, cpu_idle_share, pg_admin_execute  # noqa: E402

GUNICORN_CONF = PROJECT_DIR / "gunicorn.conf.py"
REDIS_URL = "redis://127.0.0.1:6379"
CACHE_DB, BROKER_DB = 13, 14
CONCURRENCIES = (1, 8)
GOAL_RATIO = 0.6
GOAL_P95_MS = 50.0
INTAKE_PATH = "/en/report/"
BASELINE_PATH = "/baseline/"
RECEIPT_MARK = b'id="receipt-code"'
BASELINE_ANSWER = re.compile(rb"^\d+ [\d ]+\n$")
# The baseline view's table (bench/_baseline_app.py): one row a request, the hash unique like
# Case.receipt_hash.
BASELINE_TABLE_SQL = """
CREATE TABLE IF NOT EXISTS bench_baseline_receipt (
    id bigserial PRIMARY KEY,
    receipt_hash varchar(64) NOT NULL UNIQUE,
    created_at timestamp with time zone NOT NULL
)
"""
MESSAGE = (
    "Hello. I would like to know how long you keep the personal data you collect when someone "
    "applies for a job with you, and whether the data is shared with any recruitment agencies or "
    "other companies in the group. I applied last year and did not get the position. "
)


def log(text: str) -> None:
    print(text, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(args, cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def create_baseline_table(name: str) -> None:
    conn = psycopg2.connect(dbname=name, **PG)
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute(BASELINE_TABLE_SQL)
    finally:
        conn.close()


def multipart(fields: dict[str, str], boundary: str) -> bytes:
    """The form as a browser sends it: multipart, with the empty file input included."""
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; filename=""\r\n'
        "Content-Type: application/octet-stream\r\n\r\n\r\n"
    )
    parts.append(f"--{boundary}--\r\n")
    return "".join(parts).encode()


class Client:
    """One browser: its own keep-alive connection, CSRF cookie and form token."""

    def __init__(self, port: int, number: int):
        self.origin = f"https://127.0.0.1:{port}"
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.number = number
        self.cookie = ""
        self.token = ""
        self.sent = 0

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        all_headers = {"X-Forwarded-Proto": "https", "User-Agent": "tc-bench/1.0", **(headers or {})}
        if self.cookie:
            all_headers["Cookie"] = self.cookie
        try:
            self.conn.request(method, path, body=body, headers=all_headers)
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # A keep-alive connection the server closed while idle: one retry on a new one.
            self.conn.close()
            self.conn.request(method, path, body=body, headers=all_headers)
            response = self.conn.getresponse()
        return response, response.read()

    def get_form(self) -> None:
        response, body = self.request("GET", INTAKE_PATH)
        if response.status != 200:
            raise RuntimeError(f"GET {INTAKE_PATH} answered {response.status}: {body[:300]!r}")
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            if name.strip() == "csrftoken":
                self.cookie = f"csrftoken={rest.split(';', 1)[0]}"
        found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        if not self.cookie or not found:
            raise RuntimeError("the report form gave no CSRF cookie or token")
        self.token = found.group(1).decode()

    def post(self, path: str) -> tuple[int, bytes, float]:
        self.sent += 1
        boundary = f"----tcbench{secrets.token_hex(8)}"
        body = multipart(
            {
                "csrfmiddlewaretoken": self.token,
                # Each message its own form, as a browser sends it: a fresh one-time token.
                "submission_token": secrets.token_urlsafe(24),
                "case_type": "general_inquiry",
                "general_inquiry__topic": "Job applications",
                "identity": "anonymous",
                "message": f"{MESSAGE}(client {self.number}, message {self.sent})",
                "website": "",
            },
            boundary,
        )
        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Origin": self.origin,
        }
        started = time.perf_counter()
        response, answer = self.request("POST", path, body=body, headers=headers)
        return response.status, answer, time.perf_counter() - started


@dataclass
class Measured:
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed

    def percentile(self, pct: int) -> float:
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[pct - 1] * 1000


def describe(status: int, body: bytes) -> str:
    """A failed answer in a line: the form's error messages if it has some, else its start."""
    messages = re.findall(
        rb'class="[^"]*(?:invalid-feedback|errorlist|alert-danger)[^"]*"[^>]*>(.*?)</', body, re.S
    )
    text = b" | ".join(re.sub(rb"<[^>]+>|\s+", b" ", message).strip() for message in messages[:3])
    return f"{status} {(text or body[:200]).decode(errors='replace')}"


def answer_ok(path: str, status: int, body: bytes) -> bool:
    if status != 200:
        return False
    return RECEIPT_MARK in body if path == INTAKE_PATH else bool(BASELINE_ANSWER.match(body))


def run_phase(clients: list[Client], path: str, total: int, into: Measured | None = None) -> Measured:
    """`total` requests to `path`, shared out among the clients as they finish, timed end to end."""
    measured = into or Measured()
    remaining = iter(range(total))
    lock = threading.Lock()
    start = threading.Barrier(len(clients) + 1)

    def work(client: Client) -> None:
        start.wait()
        while True:
            with lock:
                if next(remaining, None) is None:
                    return
            try:
                status, body, seconds = client.post(path)
            except (OSError, http.client.HTTPException) as error:
                with lock:
                    measured.errors.append(f"{path}: {error!r}")
                continue
            with lock:
                if answer_ok(path, status, body):
                    measured.latencies.append(seconds)
                else:
                    measured.errors.append(f"{path}: {describe(status, body)}")

    threads = [threading.Thread(target=work, args=(client,), daemon=True) for client in clients]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    measured.elapsed += time.perf_counter() - began
    return measured


def blocks(total: int, concurrency: int) -> list[int]:
    """`total` split into blocks of about 3 requests a client (at least 10)."""
    count = max(1, total // max(10, 3 * concurrency))
    return [total // count + (1 if number < total % count else 0) for number in range(count)]


def wait_until_up(port: int, server: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({server.returncode}):\n{log_path.read_text()[-3000:]}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/health/", headers={"X-Forwarded-Proto": "https"})
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer in time:\n{log_path.read_text()[-3000:]}")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)  # its own process group, started here
            server.wait()


def forget_rate_limits() -> None:
    """The run's rate-limit counters: those of 127.0.0.1, found with each window's secret in the
    cache (trustcenter/ratelimit.py). The secrets, which other runs may share, expire by themselves."""
    from trustcenter.ratelimit import ClientKey, counter_name

    client = ClientKey.from_address("127.0.0.1")
    cache = redis.Redis.from_url(f"{REDIS_URL}/{CACHE_DB}")
    try:
        # Django stores "ratelimit:..." as ":1:ratelimit:..." (key prefix and version).
        names = [name.decode() for name in cache.scan_iter(match="*ratelimit:*")]
        window_secrets = [
            (int(name.rsplit(":", 1)[1]), pickle.loads(value))
            for name in names
            if ":ratelimit:secret:" in name and isinstance(value := cache.get(name), bytes)
        ]
        ours = [
            name
            for name in names
            if ":ratelimit:secret:" not in name
            and any(
                name.endswith(
                    counter_name(
                        scope=name.split(":")[3], client_key=client, window_secret=secret, index=index
                    )
                )
                for index, secret in window_secrets
            )
        ]
        if ours:
            cache.delete(*ours)
    finally:
        cache.close()


def stop_on_term(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # so that the finally blocks clean up


def main() -> int:
    signal.signal(signal.SIGTERM, stop_on_term)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the issue's sizes (400 requests each)")
    parser.add_argument("--requests", type=int, help="requests per endpoint and concurrency")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    args = parser.parse_args()
    total = args.requests or (400 if args.full else 100)
    if total < 20:
        parser.error("--requests must be at least 20")

    run_id = secrets.token_hex(4)
    database = f"tc_bench_{run_id}"
    data_dir = Path(tempfile.mkdtemp(prefix=f"tc-bench-{run_id}-"))
    port = free_port()
    secret_key = secrets.token_urlsafe(60)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench._baseline_settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secret_key,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "TRUSTCENTER_RECEIPT_SALT": secrets.token_urlsafe(32),
        "DATABASE_URL": f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{database}",
        "CACHE_URL": f"{REDIS_URL}/{CACHE_DB}",
        "CELERY_BROKER_URL": f"{REDIS_URL}/{BROKER_DB}",
        "EMAIL_URL": "consolemail://",
        "TRUSTCENTER_DATA_DIR": str(data_dir),
        "TRUSTCENTER_UPLOAD_DIR": str(data_dir / "uploads"),
        "TRUSTCENTER_SITE_URL": f"https://127.0.0.1:{port}",
        "TRUSTCENTER_SUBMISSIONS_PER_HOUR": "1000000000",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    threads = args.threads if args.worker_class == "gthread" else 1
    server = None
    created = False
    log_path = data_dir / "gunicorn.log"
    succeeded = False
    try:
        with redis.Redis.from_url(f"{REDIS_URL}/{CACHE_DB}") as cache:
            cache.ping()  # fail now, not in the middle of the run
        pg_admin_execute(f'CREATE DATABASE "{database}"')
        created = True
        log(f"database {database}: migrating, collecting static files")
        run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env)
        run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], env)
        create_baseline_table(database)

        # The production gunicorn settings (access log, keep-alive, proxy trust) when the project
        # has them; the bench sets only the address and the workers.
        config = ["-c", str(GUNICORN_CONF)] if GUNICORN_CONF.exists() else []
        with log_path.open("w") as server_log:
            server = subprocess.Popen(
                [
                    *(sys.executable, "-m", "gunicorn", *config, "trustcenter.wsgi:application"),
                    *("--bind", f"127.0.0.1:{port}", "--workers", str(args.workers)),
                    *("--worker-class", args.worker_class, "--threads", str(threads)),
                    *("--worker-tmp-dir", "/dev/shm", "--no-control-socket"),
                ],
                cwd=PROJECT_DIR,
                env=env,
                stdout=server_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until_up(port, server, log_path)
        idle = cpu_idle_share()
        log(
            f"CPU idle before the load starts: {idle:.0%} of {os.cpu_count()} cores"
            + ("" if idle > 0.9 else " (other work on this machine slows both endpoints; figures are noisy)")
        )
        log(
            f"gunicorn on 127.0.0.1:{port} ({'gunicorn.conf.py' if config else 'no config file'}): "
            f"{args.workers} {args.worker_class} workers x {threads} threads, {os.cpu_count()} cores; "
            f"{total} requests per endpoint and concurrency"
        )

        clients = [Client(port, number) for number in range(max(CONCURRENCIES))]
        for client in clients:
            client.get_form()
        results: dict[tuple[str, int], Measured] = {}
        for concurrency in CONCURRENCIES:
            active = clients[:concurrency]
            warm = max(10, 3 * concurrency)
            for path in (BASELINE_PATH, INTAKE_PATH):
                warmed = run_phase(active, path, warm)
                if warmed.errors:
                    raise RuntimeError(f"warm-up failed: {warmed.errors[:3]}")
            baseline, intake = Measured(), Measured()
            for number, size in enumerate(blocks(total, concurrency)):
                pair = [(BASELINE_PATH, baseline), (INTAKE_PATH, intake)]
                for path, measured in pair if number % 2 == 0 else reversed(pair):
                    run_phase(active, path, size, measured)
            results["baseline", concurrency] = baseline
            results["intake", concurrency] = intake

        errors = [error for measured in results.values() for error in measured.errors]
        if errors:
            for error in errors[:5]:
                log(f"ERROR {error}")
            log(f"FAILED: {len(errors)} requests did not get the expected answer")
            return 1

        def figures(measured: Measured) -> str:
            return (
                f"{measured.rate:.1f} req/s p50 {measured.percentile(50):.1f} ms "
                f"p95 {measured.percentile(95):.1f} ms"
            )

        ratios = []
        for concurrency in CONCURRENCIES:
            intake, baseline = results["intake", concurrency], results["baseline", concurrency]
            ratio = intake.rate / baseline.rate
            ratios.append(ratio)
            log(
                f"c={concurrency} intake {figures(intake)} | baseline {figures(baseline)} | ratio {ratio:.2f}"
            )
        p95 = results["intake", 1].percentile(95)
        verdict = "met" if p95 < GOAL_P95_MS else "MISSED"
        log(f"intake p95 at 1 client: {p95:.1f} ms (goal < {GOAL_P95_MS:.0f} ms): {verdict}")
        log(f"RESULT intake ratio={min(ratios):.2f} goal={GOAL_RATIO}")
        succeeded = True
        return 0
    finally:
        if server is not None:
            stop_server(server)
            if not succeeded and log_path.exists():
                print(f"--- gunicorn log (last lines) ---\n{log_path.read_text()[-4000:]}", file=sys.stderr)
        if created:
            pg_admin_execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        try:
            forget_rate_limits()
        except redis.RedisError:
            pass
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
