"""Debian's Chromium, driven by Playwright, against pytest-django's live server.

Every test here is marked `browser` and needs a transactional database (the live server answers
from another thread). One Chromium runs for the whole package; each test gets fresh contexts
(a new "visit": no cookies, no session).
"""

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image

from tests.conftest import need

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_SCRIPT = Path(__file__).resolve().parent.parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
GPS_IFD = 0x8825


@pytest.fixture(scope="package")
def browser():
    need(os.path.exists(CHROMIUM), "Chromium")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread while it lives, and Django
    # refuses ORM calls from a thread with a running loop. The tests call the ORM (factories,
    # services, database flushes) only between browser steps, never concurrently with them, so
    # Django's guard is lifted while the browser lives, and only then.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class Visit:
    """One browser context (cookies, session) and what it saw: every request and console error."""

    context: object
    page: object
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        return [text for text in self.console_errors if "Content Security Policy" in text]

    def foreign_requests(self, base_url: str) -> list[str]:
        own = urlsplit(base_url).netloc
        return [url for url in self.requests if not url.startswith("data:") and urlsplit(url).netloc != own]


@pytest.fixture
def new_visit(browser, live_server):
    """Opens a fresh context on the live server: new_visit(java_script_enabled=False, ...)."""
    contexts = []

    def open_visit(**options) -> Visit:
        settings = {
            "base_url": live_server.url,
            "locale": "en-GB",
            "viewport": {"width": 1280, "height": 900},
            "accept_downloads": True,
        }
        settings.update(options)
        context = browser.new_context(**settings)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        visit = Visit(context=context, page=page)
        context.on("request", lambda request: visit.requests.append(request.url))

        def keep_console_error(message) -> None:
            if message.type == "error":
                visit.console_errors.append(message.text)

        page.on("console", keep_console_error)
        return visit

    yield open_visit
    for context in contexts:
        context.close()


@pytest.fixture
def visit(request, new_visit) -> Visit:
    """A fresh visit; parametrise indirectly with context options, e.g. {"java_script_enabled": False}."""
    return new_visit(**getattr(request, "param", {}))


@pytest.fixture
def page(visit):
    return visit.page


# --- helpers -----------------------------------------------------------------------------------


def jpeg_with_gps() -> bytes:
    """A small photo with a camera make and model and a GPS position in its EXIF."""
    image = Image.new("RGB", (80, 60), (30, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0110] = "Model Z"  # Model
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (59.0, 54.0, 43.0), 3: "E", 4: (10.0, 45.0, 9.0)})
    output = io.BytesIO()
    image.save(output, "JPEG", exif=exif)
    data = output.getvalue()
    written = Image.open(io.BytesIO(data)).getexif()
    assert written[0x010F] == "SecretCam" and written.get_ifd(GPS_IFD), "the test photo lacks its EXIF"
    return data


def run_axe(page) -> list[dict]:
    """axe-core's WCAG 2.0/2.1 A and AA violations on the page as it is now (needs bypass_csp)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_SCRIPT))
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS,
    )
    # A page on which axe ran no rule at all would pass silently: make sure it really looked.
    assert len(result["passes"]) > 10, f"axe-core checked almost nothing on {page.url}"
    return result["violations"]


class AxeFindings:
    """axe-core violations over many pages, each distinct problem listed once with where it was seen."""

    def __init__(self):
        self.pages_checked: list[str] = []
        self.seen: dict[tuple[str, str], dict] = {}

    def check(self, page, where: str) -> None:
        self.pages_checked.append(where)
        for violation in run_axe(page):
            for node in violation["nodes"]:
                key = (violation["id"], node.get("failureSummary") or "")
                finding = self.seen.setdefault(key, {"violation": violation, "elements": {}, "pages": {}})
                finding["elements"].setdefault(" ".join(map(str, node["target"])), node["html"][:200])
                finding["pages"][where] = True

    def report(self) -> str:
        lines = [f"axe-core found {len(self.seen)} distinct WCAG 2.1 A/AA violations:"]
        for (rule, summary), finding in self.seen.items():
            violation, elements = finding["violation"], finding["elements"]
            lines.append(f"- [{violation['impact']}] {rule}: {violation['help']} ({violation['helpUrl']})")
            lines.extend(f"    {line}" for line in summary.splitlines())
            for target, html in list(elements.items())[:6]:
                lines.append(f"    at {target}: {html}")
            if len(elements) > 6:
                lines.append(f"    ... and {len(elements) - 6} more elements")
            lines.append(f"    on: {'; '.join(finding['pages'])}")
        return "\n".join(lines)


def receipt_code_on(page) -> str:
    """The receipt code as shown (grouped), checked to be 20 digits in groups of four."""
    shown = page.locator("#receipt-code").inner_text().strip()
    groups = shown.split()
    assert [len(group) for group in groups] == [4] * 5 and "".join(groups).isdigit(), shown
    return shown


def document_and_viewport_width(page) -> tuple[int, int]:
    """The page's full width and the screen's: the first larger means sideways scrolling."""
    return page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
