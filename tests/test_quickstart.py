"""Issue 3, point 4: the README's first command, run as a user would, on the embedded default.

`bin/start` must bring up the portal (SQLite, filesystem broker, worker with embedded beat,
console e-mail), take a report over HTTP, have the worker deliver its notice, and stop every
process it started on Ctrl-C.

Issue 8, point 15: what a user needs from it (the address, the staff login, the demo receipt
codes, where the logs are) comes last, once the portal answers, after a few lines at most; the
worker's and the web server's chatter, the demo e-mails included, go to log files.
"""

import contextlib
import http.cookiejar
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.services import PROJECT_DIR, free_port, wait_until

pytestmark = pytest.mark.services

START_SECONDS = 120
NOTICE_SECONDS = 60
STOP_SECONDS = 20
PRODUCTION_VARIABLES = ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "EMAIL_URL")
# Before the summary: at most a status line or two (installing, starting) and a blank line.
MOST_LINES_BEFORE_SUMMARY = 8
DEMO_CASES = 8
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def processes_in_group(group: int) -> list[str]:
    """Live (not zombie) processes whose process group is `group`, as "pid command" lines."""
    found = []
    for stat_path in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            stat = stat_path.read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            state, process_group = fields[0], int(fields[2])
            if process_group == group and state != "Z":
                command = (stat_path.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found.append(f"{stat_path.parent.name} {command.strip()}")
    return found


def page_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def submit_identified_report(base_url: str, *, email: str) -> str:
    """Fills the form as a browser does: GET for the CSRF cookie and token, then POST."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(f"{base_url}/en/report/", timeout=30) as response:
        form_page = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form_page).group(1)
    data = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": token,
            "case_type": "general_inquiry",
            "identity": "identified",
            "reporter_name": "Ola Nordmann",
            "reporter_email": email,
            "wants_notices": "on",
            "message": "How long do you keep CVs from open applications?",
            "website": "",
        }
    ).encode()
    with opener.open(f"{base_url}/en/report/", data=data, timeout=30) as response:
        assert response.status == 200
        return response.read().decode()


def test_the_first_command_starts_the_portal_delivers_a_notice_and_stops_on_ctrl_c(tmp_path):
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    output_path = tmp_path / "start.log"
    environment = {name: value for name, value in os.environ.items() if name not in PRODUCTION_VARIABLES}
    # A terminal would show each line as it is written; a file gets them as late as buffers allow.
    environment.update(PORT=str(port), TRUSTCENTER_DATA_DIR=str(tmp_path / "data"), PYTHONUNBUFFERED="1")

    def output() -> str:
        return output_path.read_text(errors="replace")

    with output_path.open("wb") as output_file:
        start = subprocess.Popen(
            ["bin/start"],
            cwd=PROJECT_DIR,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=output_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a shell gives a foreground job
        )
    group = start.pid
    try:

        def summary_is_printed():
            if start.poll() is not None:
                raise AssertionError(f"bin/start exited with {start.returncode}")
            return "Ctrl-C stops" in output()

        wait_until(summary_is_printed, timeout=START_SECONDS, interval=0.1, what="bin/start's summary")
        # Printed once the portal answers, not before.
        assert page_status(f"{base_url}/en/") == 200
        assert page_status(f"{base_url}/en/report/") == 200

        lines = ANSI_ESCAPE.sub("", output()).rstrip("\n").splitlines()
        first = next(index for index, line in enumerate(lines) if f"Trust Center runs at {base_url}/" in line)
        assert first <= MOST_LINES_BEFORE_SUMMARY, "too much before the summary:\n" + "\n".join(lines[:first])
        summary = "\n".join(lines[first:])
        assert lines[-1].strip() == "Ctrl-C stops all of it.", "the summary is not last"
        assert re.search(rf"{re.escape(base_url)}/admin/ +Staff login: staff / \S+", summary)
        codes = re.findall(r"(TC-\d{4}-\d{5}): receipt code ([\d -]+\d)", summary)
        assert len(codes) == DEMO_CASES, summary
        worker_log = tmp_path / "data" / "log" / "worker.log"
        assert str(worker_log) in summary and str(tmp_path / "data" / "log" / "web.log") in summary
        # No worker banner, warning or e-mail on the terminal.
        assert "celery@" not in output() and "SecurityWarning" not in output() and "Subject:" not in output()

        def worker_output() -> str:
            return worker_log.read_text(errors="replace")

        address = f"quickstart-{uuid.uuid4().hex[:12]}@example.com"
        receipt_page = submit_identified_report(base_url, email=address)
        assert "Your message has been received" in receipt_page

        printed_before = output()
        wait_until(
            lambda: f"To: {address}" in worker_output(),
            timeout=NOTICE_SECONDS,
            what=f"the worker to print the notice e-mail to {address} in {worker_log}",
        )
        notice = worker_output().split(f"To: {address}", 1)[1]
        assert "/en/follow-up/" in notice.split("-" * 79, 1)[0]
        assert "superuser privileges" not in worker_output()
        # The summary stays last while the portal works.
        assert output() == printed_before

        os.killpg(group, signal.SIGINT)  # Ctrl-C in the terminal
        stopped = time.monotonic()
        leftovers = processes_in_group(group)
        while leftovers and time.monotonic() - stopped < STOP_SECONDS:
            start.poll()  # reap bin/start itself once it exits
            time.sleep(0.2)
            leftovers = processes_in_group(group)
        assert leftovers == [], f"still running {STOP_SECONDS} s after Ctrl-C:\n" + "\n".join(leftovers)
        assert start.wait(timeout=5) is not None
        assert page_status(f"{base_url}/en/report/") is None, "the web server still answers"
    finally:
        if processes_in_group(group):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            start.wait(timeout=10)
        print(f"----- bin/start output ({output_path}) -----\n{output()}")
        for log in sorted((tmp_path / "data" / "log").glob("*.log")):
            print(f"----- {log} (the end) -----\n{log.read_text(errors='replace')[-3000:]}")
