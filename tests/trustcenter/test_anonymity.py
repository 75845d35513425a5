"""Issue point 8, end to end: anonymous reports sent through gunicorn, with gunicorn.conf.py and
production settings, on a PostgreSQL database of the test's own, leave the reporter's user agent
and address nowhere: not in the database, the cache, the data folder or any log the run wrote."""

import hashlib
import hmac
import http.client
import io
import ipaddress
import os
import pickle
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
from PIL import Image

from tests.conftest import need
from tests.services import redis_contents
from trustcenter.ratelimit import ClientKey, counter_name, kept_seconds

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]
PROBE_AGENT = "AnonProbeAgent/9.9 zq7"
PROBE_ADDRESS = "203.0.113.77"
# The TCP peer gunicorn sees: every request of the test comes from this loopback address, as if
# from the TLS proxy on its own address, so that a log of the real peer is caught too.
PROBE_PEER = "127.83.19.7"
# Searched for in everything the run wrote; the addresses also without their last part.
TELLTALES = ("AnonProbeAgent", PROBE_ADDRESS, "203.0.113.", PROBE_PEER, "127.83.19.")
OUR_PREFIXES = ("DJANGO_", "TRUSTCENTER_", "CELERY_", "EMAIL_")
OUR_NAMES = ("DATABASE_URL", "CACHE_URL")

ANONYMOUS_REPORTS = {
    "privacy_deviation": {
        "privacy_deviation__data_involved": "Names and phone numbers of customers",
        "privacy_deviation__ongoing": "yes",
    },
    "whistleblowing": {"whistleblowing__ongoing": "unknown"},
    "hse": {"hse__location": "Warehouse 3, loading bay"},
}


def server_url() -> str:
    """The PostgreSQL server of DATABASE_URL (CI's), or the local default."""
    configured = os.environ.get("DATABASE_URL", "")
    if configured.startswith(("postgres://", "postgresql://")):
        return configured
    return "postgres://postgres:postgres@127.0.0.1:5432/postgres"


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def maintenance_connection(url: str):
    connection = psycopg2.connect(with_database(url, "postgres"), connect_timeout=3)
    connection.autocommit = True
    return connection


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def database_url():
    """A database of this test's own on the PostgreSQL server, dropped at the end."""
    url = server_url()
    try:
        maintenance_connection(url).close()
        reachable = True
    except psycopg2.OperationalError:
        reachable = False
    need(reachable, f"PostgreSQL at {urlsplit(url).hostname}:{urlsplit(url).port}")
    need(shutil.which("pg_dump") is not None, "pg_dump (postgresql-client)")
    name = f"tc_anon_{secrets.token_hex(6)}"
    connection = maintenance_connection(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield with_database(url, name)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.close()


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    secret_key: str
    cache_url: str
    folder: Path

    def stop(self) -> None:
        """TERM first, so that gunicorn and its workers flush and close their logs."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def server_environment(*, database_url: str, data_dir: Path, secret_key: str, cache_url: str) -> dict:
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(OUR_PREFIXES) and name not in OUR_NAMES
    }
    environment.update(
        {
            # Production settings, as in docker-compose.yml, but plain HTTP on the loopback.
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secret_key,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "TRUSTCENTER_RECEIPT_SALT": secrets.token_urlsafe(24),
            "TRUSTCENTER_DATA_DIR": str(data_dir),
            "TRUSTCENTER_SITE_URL": "http://127.0.0.1",  # production has no default
            "TRUSTCENTER_CLIENT_ADDRESS_HEADER": "HTTP_X_FORWARDED_FOR",
            # The proxy's network, as gunicorn.conf.py asks when the proxy is not on 127.0.0.1: the
            # peer is a trusted proxy. (This gates only X-Forwarded-Proto and the like; gunicorn
            # passes X-Forwarded-For on from any peer, and Django reads it through the header above.)
            # A network, not PROBE_PEER itself: gunicorn's debug log prints its configuration.
            "FORWARDED_ALLOW_IPS": "127.0.0.0/8",
            "DATABASE_URL": database_url,
            "DJANGO_LOG_LEVEL": "DEBUG",
            "WEB_CONCURRENCY": "2",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if cache_url:
        environment["CACHE_URL"] = cache_url
    return environment


@pytest.fixture
def server(database_url, tmp_path):
    """gunicorn with gunicorn.conf.py, every log written to a file under tmp_path/logs."""
    logs = tmp_path / "logs"
    logs.mkdir()
    data_dir = tmp_path / "data"
    secret_key = secrets.token_urlsafe(64)
    configured_cache = os.environ.get("CACHE_URL", "")
    cache_url = configured_cache if configured_cache.startswith("redis://") else ""
    environment = server_environment(
        database_url=database_url, data_dir=data_dir, secret_key=secret_key, cache_url=cache_url
    )
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        with open(logs / f"manage-{command[0]}.log", "w") as output:
            subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=ROOT,
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=120,
                check=True,
            )
    port = free_port()
    with open(logs / "server-stdout.log", "w") as stdout, open(logs / "server-stderr.log", "w") as stderr:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{port}",
                "--access-logfile",
                str(logs / "access.log"),
                "--error-logfile",
                str(logs / "error.log"),
                "--capture-output",
                "--log-level",
                "debug",
                "trustcenter.wsgi",
            ],
            cwd=ROOT,
            env=environment,
            stdout=stdout,
            stderr=stderr,
        )
    server = Server(process=process, port=port, secret_key=secret_key, cache_url=cache_url, folder=tmp_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                written = [path.read_text(errors="replace") for path in sorted(logs.glob("*.log"))]
                pytest.fail("gunicorn stopped:\n" + "\n".join(written)[-3000:])
            try:
                if request(port, "GET", "/health/")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not answer /health/ in 30 s"
            time.sleep(0.2)
        yield server
    finally:
        server.stop()


def request(port: int, method: str, path: str, *, body: bytes = b"", headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(PROBE_PEER, 0))
    try:
        connection.connect()
        assert connection.sock.getsockname()[0] == PROBE_PEER
        connection.request(method, path, body=body or None, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


def probe_headers(cookies: dict[str, str] | None = None) -> dict[str, str]:
    headers = {"User-Agent": PROBE_AGENT, "X-Forwarded-For": PROBE_ADDRESS, "Accept-Language": "en"}
    if cookies:
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    return headers


def cookies_from(headers: list[tuple[str, str]]) -> dict[str, str]:
    jar = SimpleCookie()
    for name, value in headers:
        if name.lower() == "set-cookie":
            jar.load(value)
    return {name: morsel.value for name, morsel in jar.items()}


def multipart(fields: dict[str, str], files: list[tuple[str, str, str, bytes]]) -> tuple[bytes, str]:
    boundary = f"----anonprobe{secrets.token_hex(12)}"
    body = io.BytesIO()
    for name, value in fields.items():
        body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        body.write(value.encode() + b"\r\n")
    for name, filename, content_type, data in files:
        body.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n".encode()
        )
        body.write(data + b"\r\n")
    body.write(f"--{boundary}--\r\n".encode())
    return body.getvalue(), f"multipart/form-data; boundary={boundary}"


def png_image() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(output, format="PNG")
    return output.getvalue()


def open_report_form(server: Server) -> tuple[dict[str, str], str]:
    status, headers, body = request(server.port, "GET", "/en/report/", headers=probe_headers())
    assert status == 200
    cookies = cookies_from(headers)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    assert token and "csrftoken" in cookies
    return cookies, token.group(1).decode()


def post_report(server: Server, fields: dict[str, str], *, with_image: bool) -> tuple[int, bytes]:
    cookies, token = open_report_form(server)
    files = [("attachments", "photo.png", "image/png", png_image())] if with_image else []
    body, content_type = multipart({"csrfmiddlewaretoken": token, **fields}, files)
    headers = {**probe_headers(cookies), "Content-Type": content_type}
    status, _headers, response = request(server.port, "POST", "/en/report/", body=body, headers=headers)
    return status, response


def count_rows(database_url: str, table: str) -> int:
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - a fixed table name
        count = cursor.fetchone()[0]
    connection.close()
    return count


def assert_counted_only_under_the_window_secret(server: Server, keys: list[str]) -> None:
    """The submit counter is found with the window secret stored beside it, and with it alone:
    SECRET_KEY, tried against every address near the reporter's (the attack that enumerates
    IPv4 addresses), finds no key. Secret and counter expire within kept_seconds."""
    import redis

    client = redis.Redis.from_url(server.cache_url)
    window = 3600  # TRUSTCENTER_SUBMISSION_WINDOW_SECONDS: the server's environment leaves the default
    # Django stores "ratelimit:..." as ":1:ratelimit:..." (key prefix and version).
    stored_secrets = {
        int(key.rsplit(":", 1)[1]): pickle.loads(value)
        for key in keys
        if key.split(":", 2)[2].startswith(f"ratelimit:secret:{window}:")
        and isinstance(value := client.get(key), bytes)
    }
    assert stored_secrets, keys
    reporter = ClientKey.from_address(PROBE_ADDRESS)
    counters = [
        f":1:{counter_name(scope='submit', client_key=reporter, window_secret=secret, index=index)}"
        for index, secret in stored_secrets.items()
    ]
    assert [counter for counter in counters if counter in keys], keys
    for key in keys:
        if ":ratelimit:" in key:
            assert 0 < client.ttl(key) <= kept_seconds(window), key
    everything = "\n".join(keys)
    for candidate in ipaddress.ip_network("203.0.113.0/24"):
        for subject in (f"client:{candidate}", f"submit\nclient:{candidate}"):
            guess = hmac.new(server.secret_key.encode(), subject.encode(), hashlib.sha256).hexdigest()[:32]
            assert guess not in everything, f"a cache key is an HMAC of {candidate} with SECRET_KEY"


def test_anonymous_reports_leave_no_user_agent_or_address_anywhere(server, database_url):
    marker = f"anonymity-marker-{secrets.token_hex(6)}"
    assert count_rows(database_url, "cases_case") == 0

    for case_type, answers in ANONYMOUS_REPORTS.items():
        status, body = post_report(
            server,
            {
                "case_type": case_type,
                "identity": "anonymous",
                "message": f"{marker} A report about {case_type}.",
                **answers,
            },
            with_image=True,
        )
        assert status == 200, body[-2000:]
        assert b"receipt" in body.lower()

    # An invalid form (the HSE type needs a location) and a page that does not exist.
    status, body = post_report(
        server,
        {"case_type": "hse", "identity": "anonymous", "message": f"{marker} no place"},
        with_image=False,
    )
    assert status == 400
    assert request(server.port, "GET", "/en/no-such-page-zq7/", headers=probe_headers())[0] == 404
    # A request gunicorn itself refuses (a header name with a space), probe headers included.
    with socket.create_connection(
        ("127.0.0.1", server.port), timeout=10, source_address=(PROBE_PEER, 0)
    ) as raw:
        raw.sendall(
            f"GET /en/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {PROBE_AGENT}\r\n"
            f"X-Forwarded-For: {PROBE_ADDRESS}\r\nBad Header: 1\r\n\r\n".encode()
        )
        assert raw.recv(1024).startswith(b"HTTP/1.1 400")

    # The reports were stored, so the searches below look at a database that holds them.
    assert count_rows(database_url, "cases_case") == len(ANONYMOUS_REPORTS)
    assert count_rows(database_url, "cases_attachment") == len(ANONYMOUS_REPORTS)
    dump = subprocess.run(
        ["pg_dump", "--data-only", "--no-owner", f"--dbname={database_url}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    # Each report's text is in the dump twice: its message, and the case's search document.
    assert dump.count(marker) == 2 * len(ANONYMOUS_REPORTS)
    for telltale in TELLTALES:
        assert telltale not in dump, f"the database holds {telltale!r}"

    # The address did reach the application (the rate limit counted it), but only as an HMAC
    # with the window's random secret, which lives in the cache and expires with the counts.
    if server.cache_url:
        keys, values = redis_contents(server.cache_url)
        for telltale in TELLTALES:
            assert not any(telltale in key for key in keys)
            assert telltale.encode() not in values, f"the cache holds {telltale!r}"
        assert_counted_only_under_the_window_secret(server, keys)

    # Stop the server so that every process has flushed its logs, then read everything written.
    server.stop()
    written = {path: path.read_bytes() for path in sorted(server.folder.rglob("*")) if path.is_file()}
    logs = {
        path.name: data.decode(errors="replace") for path, data in written.items() if path.suffix == ".log"
    }
    assert {"access.log", "error.log", "server-stdout.log", "server-stderr.log"} <= set(logs)
    # The logs did record this run: requests, Django's own warnings, gunicorn's refusal.
    assert logs["access.log"].count('"POST /en/report/"') == len(ANONYMOUS_REPORTS) + 1
    assert '"GET /en/no-such-page-zq7/" 404' in logs["access.log"]
    assert "Not Found: /en/no-such-page-zq7/" in logs["error.log"]
    assert "Bad Request: /en/report/" in logs["error.log"]
    assert "Invalid request: " in logs["error.log"] and "from ip=" not in logs["error.log"]
    for path, data in written.items():
        for telltale in TELLTALES:
            assert telltale.encode() not in data, f"{path.relative_to(server.folder)} holds {telltale!r}"
