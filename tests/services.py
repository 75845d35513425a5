"""Fixtures that start real services for a test: SMTP, Redis, a Celery worker (see tests/README).

Each service lives as long as one test, on a free port of its own, so tests never share state
with each other or with whatever else runs on this machine.
"""

import contextlib
import email
import os
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from kombu import pools

import trustcenter.settings
from tests.conftest import need
from trustcenter.celery import app as celery_app

PROJECT_DIR = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port nothing listens on right now (also a good "closed port" for outage tests)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def wait_until(condition, *, timeout: float, interval: float = 0.2, what: str = "condition"):
    """Polls `condition` until it returns something truthy; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


# --- SMTP ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedMail:
    sender: str
    recipients: tuple[str, ...]
    message: Message


class SmtpServer:
    """An aiosmtpd server in a thread that keeps every message it receives."""

    def __init__(self):
        self._received: list[ReceivedMail] = []
        self._condition = threading.Condition()
        self.port = free_port()
        self._controller = Controller(self, hostname=HOST, port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://{HOST}:{self.port}"

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        mail = ReceivedMail(
            sender=envelope.mail_from,
            recipients=tuple(envelope.rcpt_tos),
            message=email.message_from_bytes(envelope.original_content or envelope.content),
        )
        with self._condition:
            self._received.append(mail)
            self._condition.notify_all()
        return "250 Message accepted for delivery"

    @property
    def received(self) -> list[ReceivedMail]:
        with self._condition:
            return list(self._received)

    def wait_for(self, count: int, *, timeout: float = 60) -> list[ReceivedMail]:
        """Waits until at least `count` messages arrived; returns them all, or fails."""
        with self._condition:
            arrived = self._condition.wait_for(lambda: len(self._received) >= count, timeout=timeout)
            received = list(self._received)
        if not arrived:
            raise AssertionError(f"SMTP server got {len(received)} of {count} messages within {timeout} s")
        return received

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


@pytest.fixture()
def smtp_server():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


# --- Redis -----------------------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of this test's own, that can be stopped and started again on its port."""

    def __init__(self, *, directory: Path):
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def answers(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=0.5) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self, *, timeout: float = 10) -> None:
        assert self.process is None, "already running"
        self.process = subprocess.Popen(
            ["redis-server", "--bind", HOST, "--port", str(self.port), "--save", "", "--appendonly", "no"]
            + ["--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(self.answers, timeout=timeout, what=f"redis-server on port {self.port}")

    def stop(self) -> None:
        """Shuts the server down: an outage. Queued messages are lost with it (no persistence)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        assert not self.answers(), "redis-server still answers after stop()"


@pytest.fixture()
def private_redis(tmp_path):
    need(shutil.which("redis-server") is not None, "redis-server")
    directory = tmp_path / "redis"
    directory.mkdir()
    redis = PrivateRedis(directory=directory)
    redis.start()
    yield redis
    redis.stop()


def redis_value(client, key) -> bytes:
    """What a key holds, as stored: GET for strings (all the Django cache writes). Not DUMP, whose
    RDB encoding may LZF-compress a value so that a search of its bytes misses what is in it."""
    kind = client.type(key)
    if kind == b"string":
        return client.get(key) or b""
    if kind == b"hash":
        return b"".join(field + value for field, value in client.hgetall(key).items())
    if kind == b"list":
        return b"".join(client.lrange(key, 0, -1))
    if kind == b"set":
        return b"".join(client.smembers(key))
    if kind == b"zset":
        return b"".join(client.zrange(key, 0, -1))
    raise AssertionError(f"the cache holds a {kind!r} at {key!r}, which this search cannot read")


def redis_contents(url: str) -> tuple[list[str], bytes]:
    """Every key of the Redis database at url, and all the values they hold, to search for a secret."""
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(count=1000))
    values = b"".join(redis_value(client, key) for key in keys)
    return [key.decode(errors="replace") for key in keys], values


# --- Celery in this process ------------------------------------------------------------------

CELERY_SETTINGS = {
    "broker_transport_options": "CELERY_BROKER_TRANSPORT_OPTIONS",
    "broker_connection_timeout": "CELERY_BROKER_CONNECTION_TIMEOUT",
    "task_publish_retry": "CELERY_TASK_PUBLISH_RETRY",
}


def celery_settings_for_broker(broker_url: str) -> dict:
    """The Celery settings that trustcenter/settings.py gives for this broker URL.

    The settings module is evaluated again with CELERY_BROKER_URL set, so a test uses the very
    transport options production would (timeouts, bounded retries), whatever this run's own
    broker is.
    """
    saved = os.environ.get("CELERY_BROKER_URL")
    os.environ["CELERY_BROKER_URL"] = broker_url
    try:
        namespace = runpy.run_path(trustcenter.settings.__file__)
    finally:
        if saved is None:
            del os.environ["CELERY_BROKER_URL"]
        else:
            os.environ["CELERY_BROKER_URL"] = saved
    return {name: namespace[setting] for name, setting in CELERY_SETTINGS.items()}


def _forget_broker_connections() -> None:
    # Pools are cached on the app and, per broker, in kombu's global pool groups.
    pools.reset()
    # Private attributes: Celery has no public way to drop its cached pools.
    celery_app._pool = None  # type: ignore[attr-defined]
    celery_app.amqp._producer_pool = None  # type: ignore[attr-defined]


@contextlib.contextmanager
def celery_broker(broker_url: str, *, eager: bool = False):
    """Makes `.delay()` in this process publish to `broker_url`; restores everything after.

    Celery reads the CELERY_BROKER_URL environment variable before its configuration, so both
    are changed, and the cached connection and producer pools are dropped either way.
    """
    names = ["broker_url", "task_always_eager", *CELERY_SETTINGS]
    previous_conf = {name: celery_app.conf[name] for name in names}
    previous_environment = os.environ.get("CELERY_BROKER_URL")
    _forget_broker_connections()
    os.environ["CELERY_BROKER_URL"] = broker_url
    celery_app.conf.update(
        broker_url=broker_url, task_always_eager=eager, **celery_settings_for_broker(broker_url)
    )
    try:
        yield
    finally:
        _forget_broker_connections()
        if previous_environment is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = previous_environment
        celery_app.conf.update(previous_conf)


# --- A Celery worker process -----------------------------------------------------------------


def worker_database_url() -> str:
    """DATABASE_URL of pytest-django's test database (call it once the database is set up)."""
    from django.db import connection

    need(connection.vendor == "postgresql", "PostgreSQL")
    database = connection.settings_dict
    credentials = quote(database["USER"] or "", safe="")
    if database["PASSWORD"]:
        credentials += ":" + quote(database["PASSWORD"], safe="")
    return (
        f"postgres://{credentials}@{database['HOST'] or HOST}:{database['PORT'] or 5432}/{database['NAME']}"
    )


class CeleryWorkerProcess:
    """`celery worker --beat` in a process group of its own, logging to a file."""

    def __init__(
        self, *, broker_url: str, email_url: str, database_url: str, directory: Path, concurrency: int = 1
    ):
        self.broker_url = broker_url
        self.concurrency = concurrency
        self.log_path = directory / "worker.log"
        data_dir = directory / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.environment = {
            **os.environ,
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "EMAIL_URL": email_url,
            "TRUSTCENTER_OUTBOX_SWEEP_SECONDS": "2",
            "TRUSTCENTER_DATA_DIR": str(data_dir),
            "PYTHONUNBUFFERED": "1",
        }
        self.process: subprocess.Popen | None = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self, *, timeout: float = 60) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "trustcenter", "worker", "--beat"]
                + ["--concurrency", str(self.concurrency), "--loglevel", "INFO"]
                + ["--hostname", f"test-{os.getpid()}@%h"],
                cwd=PROJECT_DIR,
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def ready():
            if self.process.poll() is not None:
                raise AssertionError(f"the Celery worker exited early:\n{self.log()}")
            return " ready." in self.log()

        wait_until(ready, timeout=timeout, what="the Celery worker to be ready")

    def stop(self, *, timeout: float = 20) -> None:
        """A warm shutdown (SIGTERM); the whole process group is killed if it does not end."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@pytest.fixture()
def celery_worker_process(transactional_db, tmp_path):
    """Starts a worker with embedded beat on the test database: `celery_worker_process(broker_url=...,
    email_url=...)`, with `concurrency=2` for two tasks at once. Tests using it need committed data:
    `django_db(transaction=True)` and the `services` marker. Its log is printed at teardown, which
    pytest shows when the test fails."""
    database_url = worker_database_url()
    workers: list[CeleryWorkerProcess] = []

    def start(*, broker_url: str, email_url: str, concurrency: int = 1) -> CeleryWorkerProcess:
        worker = CeleryWorkerProcess(
            broker_url=broker_url,
            email_url=email_url,
            database_url=database_url,
            directory=tmp_path / f"worker-{len(workers)}",
            concurrency=concurrency,
        )
        workers.append(worker)
        worker.start()
        return worker

    yield start
    for worker in workers:
        worker.stop()
        print(f"----- Celery worker log ({worker.log_path}) -----\n{worker.log()}")
