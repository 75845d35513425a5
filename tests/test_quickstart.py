"""Issue 3, point 4: the README's first command, run as a user would, on the embedded default.

`bin/start` must bring up the portal (SQLite, filesystem broker, worker with embedded beat,
console e-mail), take a report over HTTP, have the worker deliver its notice, and stop every
process it started on Ctrl-C.
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

        def portal_is_up():
            if start.poll() is not None:
                raise AssertionError(f"bin/start exited with {start.returncode}")
            return page_status(f"{base_url}/en/report/") == 200 and "Staff login: staff / " in output()

        wait_until(portal_is_up, timeout=START_SECONDS, interval=1, what="bin/start to serve the form")
        assert f"Trust Center runs at {base_url}/" in output()

        address = f"quickstart-{uuid.uuid4().hex[:12]}@example.com"
        receipt_page = submit_identified_report(base_url, email=address)
        assert "Your message has been received" in receipt_page

        wait_until(
            lambda: f"To: {address}" in output(),
            timeout=NOTICE_SECONDS,
            what=f"the worker to print the notice e-mail to {address}",
        )
        notice = output().split(f"To: {address}", 1)[1]
        assert "/en/follow-up/" in notice.split("-" * 79, 1)[0]

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
