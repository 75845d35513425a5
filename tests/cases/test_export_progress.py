"""The case page's progress of an access export (issue 13, point 2): while the export waits for a
worker or is being built, the panel says how many of the registers are read ("N of M registers
read") and shows a <progress> bar of the same; a reload shows how far it has come; once built, the
panel links to its review instead. Seen by a case handler of the privacy team."""

import re
from typing import Any

import pytest

from cases import access_export, fulfilment
from cases.models import AccessExport, ExportStatus
from registers.registry import declarations
from tests.factories import CaseHandlerFactory, confirmed_subject_request
from tests.registers.factories import LeadFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("password_login_is_enough")]

KARI = "kari@example.com"
PROGRESS = re.compile(r"<progress\b[^>]*>")
READ = re.compile(r"(\d+) of (\d+) registers read")


@pytest.fixture
def request_case():
    case, _code = confirmed_subject_request()
    LeadFactory(email=KARI)
    return case


def case_page(client, case) -> str:
    response = client.get(f"/en/staff/cases/{case.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def export_panel(page: str) -> str:
    """The access-export part of the fulfilment panel (up to its form)."""
    start = page.index("Access export</h3>")
    return page[start : page.index("Build the access export", start)]


def bar(panel: str) -> dict[str, str]:
    """The attributes of the panel's one <progress> element."""
    [element] = PROGRESS.findall(panel)
    return dict(re.findall(r'(\w+)="([^"]*)"', element))


def export_in(case, handler, *, status: str, done: int, total: int) -> AccessExport:
    """An export of the case as the worker leaves it in the database at some moment."""
    export = fulfilment.request_access_export(case=case, actor=handler)  # queued; no worker here
    AccessExport.objects.filter(pk=export.pk).update(
        status=status, registers_done=done, registers_total=total
    )
    export.refresh_from_db()
    return export


def test_a_build_under_way_shows_n_of_m_registers_and_a_bar_of_the_same(client, handler, request_case):
    export_in(request_case, handler, status=ExportStatus.BUILDING, done=7, total=20)
    client.force_login(handler)

    panel = export_panel(case_page(client, request_case))

    assert "Being built" in panel
    assert re.search(r'<label for="export-progress">\s*7 of 20 registers read\s*</label>', panel), panel
    attributes = bar(panel)
    assert attributes["id"] == "export-progress"
    assert int(attributes["value"]) / int(attributes["max"]) == pytest.approx(7 / 20, abs=0.01)
    assert "Reload to see how far it has come" in panel
    assert "Review it and send it" not in panel


def test_a_queued_export_shows_n_of_m_registers_and_a_bar_that_agrees_with_it(client, handler, request_case):
    """A build waiting for a worker again (taken back, or an item withheld after a build) still
    has the counts of the last build: the text and the bar must tell the same."""
    export_in(request_case, handler, status=ExportStatus.QUEUED, done=5, total=20)
    client.force_login(handler)

    panel = export_panel(case_page(client, request_case))

    assert "Waiting for a worker" in panel
    [(done, total)] = READ.findall(panel)
    assert (done, total) == ("5", "20")
    attributes = bar(panel)
    shown = int(attributes["value"]) / int(attributes["max"])
    assert shown == pytest.approx(int(done) / int(total), abs=0.01), (
        f'the panel says "{done} of {total} registers read" and its bar shows '
        f"{attributes['value']} of {attributes['max']}"
    )


def test_nothing_read_yet_is_shown_as_0_of_m_and_an_empty_bar(client, handler, request_case):
    export_in(request_case, handler, status=ExportStatus.BUILDING, done=0, total=24)
    client.force_login(handler)
    panel = export_panel(case_page(client, request_case))
    assert READ.findall(panel) == [("0", "24")]
    assert bar(panel)["value"] == "0"


def test_the_page_follows_a_real_build_register_by_register(client, handler, request_case, monkeypatch):
    """The worker's own build, with the page read after each register: the panel's numbers are
    the ones the build has written, and only grow."""
    total = len([declaration for declaration in declarations() if declaration.exported])
    client.force_login(handler)

    class Clock:
        """A second passes between two looks at the clock: each register's progress is written
        (the build writes at most twice a second)."""

        now = 0.0

        @classmethod
        def monotonic(cls) -> float:
            cls.now += 1
            return cls.now

    monkeypatch.setattr(fulfilment, "time", Clock)
    seen: list[tuple[int, int, float]] = []
    real_write_package = access_export.write_package

    def write_package_watched(**kwargs: Any):
        told = kwargs["on_register"]

        def on_register(done: int) -> None:
            told(done)
            panel = export_panel(case_page(client, request_case))
            [(shown_done, shown_total)] = READ.findall(panel)
            attributes = bar(panel)
            seen.append(
                (int(shown_done), int(shown_total), int(attributes["value"]) / int(attributes["max"]))
            )

        return real_write_package(**{**kwargs, "on_register": on_register})

    monkeypatch.setattr(access_export, "write_package", write_package_watched)
    export = fulfilment.request_access_export(case=request_case, actor=handler)

    fulfilment.build_access_export(export_id=export.pk)

    assert [(done, shown_total) for done, shown_total, _fraction in seen] == [
        (done, total) for done in range(1, total + 1)
    ]
    for done, _total, fraction in seen:
        assert fraction == pytest.approx(done / total, abs=0.01)
    export.refresh_from_db()
    assert export.status == ExportStatus.REVIEW


def test_once_built_the_panel_links_to_the_review_instead_of_a_bar(client, handler, request_case):
    export = fulfilment.request_access_export(case=request_case, actor=handler)
    fulfilment.build_access_export(export_id=export.pk)
    export.refresh_from_db()
    assert export.status == ExportStatus.REVIEW
    client.force_login(handler)

    panel = export_panel(case_page(client, request_case))

    assert "Ready for review" in panel
    review = f"/en/staff/cases/{request_case.pk}/exports/{export.pk}/"
    assert re.search(rf'<a href="{re.escape(review)}">\s*Review it and send it\s*</a>', panel), panel
    assert PROGRESS.findall(panel) == [] and READ.findall(panel) == []
    assert client.get(review).status_code == 200


def test_another_team_sees_no_progress_of_the_export(client, handler, request_case):
    export_in(request_case, handler, status=ExportStatus.BUILDING, done=7, total=20)
    client.force_login(CaseHandlerFactory(teams=["hse"]))
    response = client.get(f"/en/staff/cases/{request_case.pk}/")
    assert response.status_code == 403
    assert "registers read" not in response.content.decode()
