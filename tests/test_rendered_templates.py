"""No template syntax reaches a visitor: every public page, in every state and every language, and
every page of the staff workspace, its forms refused and accepted, and its two-factor account pages.

A `{# ... #}` comment spread over two lines is not a comment to Django, and a tag or variable
broken the same way is not one either: each is sent as text. The walk below renders every public
page of the URL configuration in each state a visitor can bring it to, as a browser would (forms
are sent with the hidden fields of the page they are on), and fails on any `{#`, `#}`, `{%`, `%}`,
`{{` or `}}` in the HTML, or in an e-mail sent on the way. A public URL pattern that the walk does
not render, and that `NOT_PAGES` does not explain, fails the test too: a page added later must be
added to the walk.
"""

import re
from html.parser import HTMLParser
from importlib import import_module
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import LocalePrefixPattern, Resolver404, URLResolver, get_resolver, path, resolve
from django.utils import timezone, translation
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from cases import services
from cases.models import Case, CaseType
from cases.uploads import Upload, identify_upload
from tests import images
from tests.cases.test_report import anonymous_report, erasure_request, receipt_code
from tests.consent.test_self_service import SELF_SERVICE_NOT_PAGES, self_service_pages
from tests.factories import CaseHandlerFactory, StaffFactory, reply_as_staff, submit

pytestmark = pytest.mark.django_db

LANGUAGES = [code for code, _name in django_settings.LANGUAGES]
TEMPLATE_SYNTAX = ("{#", "#}", "{%", "%}", "{{", "}}")
LANGUAGE_PREFIX = "<language>/"

# Public URL patterns that are not pages, each with the reason; the walk still uses most of them.
NOT_PAGES = {
    "health/": "the load balancer's plain-text health check",
    f"{LANGUAGE_PREFIX}report/proof/": "the proof download of the receipt page (a text file)",
    f"{LANGUAGE_PREFIX}follow-up/case/proof/": "the proof download of the case page (a text file)",
    f"{LANGUAGE_PREFIX}follow-up/case/files/<int:attachment_id>/": "an attachment download",
    f"{LANGUAGE_PREFIX}follow-up/case/new-code/": "POST only; redirects to the case page",
    f"{LANGUAGE_PREFIX}follow-up/leave/": "POST only; redirects to the follow-up login",
    **SELF_SERVICE_NOT_PAGES,
    # The REST API answers JSON (tests/api/); its Swagger UI is drf-spectacular's page.
    **{
        f"api/v1/{route}": "the REST API, JSON for staff (tests/api/)"
        for route in (
            "cases/",
            "cases/<int:case_id>/",
            "cases/<int:case_id>/messages/",
            "cases/<int:case_id>/reply/",
            "cases/<int:case_id>/note/",
            "cases/<int:case_id>/status/",
            "cases/<int:case_id>/assign/",
            "cases/<int:case_id>/type/",
            "cases/<int:case_id>/extension/",
            "cases/<int:case_id>/breach/decision/",
            "cases/<int:case_id>/attachments/<int:attachment_id>/",
            "breaches/",
            "dashboard/",
            "schema/",
        )
    },
    "api/v1/docs/": "the API's Swagger UI, drf-spectacular's page for staff (tests/api/)",
    ".well-known/gpc.json": "Global Privacy Control's support resource, JSON (tests/consent/test_cookie_consent.py)",
    "api/v1/consent/cookies/config/": "the other sites' cookie banner, JSON (tests/consent/test_cookie_consent.py)",
    "api/v1/consent/cookies/choice/": "the other sites' cookie choices, JSON (tests/consent/test_cookie_consent.py)",
    **{
        f"api/v1/consent/{route}": "the consent API for the company's systems, JSON (tests/api/test_consent_api.py)"
        for route in ("events/", "state/", "history/")
    },
}

# The staff workspace's URL patterns that are not pages, each with the reason.
STAFF_PREFIX = f"{LANGUAGE_PREFIX}staff/"
STAFF_NOT_PAGES = {
    f"{STAFF_PREFIX}cases/<int:case_id>/files/<int:attachment_id>/": "an attachment download",
    f"{STAFF_PREFIX}breaches/export.csv": "the breach register as CSV",
    f"{STAFF_PREFIX}dashboard/export.csv": "the dashboard's figures as CSV",
    f"{STAFF_PREFIX}account/two_factor/qrcode/": "the setup page's QR code, an SVG image",
    f"{STAFF_PREFIX}account/logout/": "POST only; redirects to the login page",
    f"{STAFF_PREFIX}account/tokens/revoke/": "POST only; redirects to the tokens page",
    f"{STAFF_PREFIX}cases/<int:case_id>/exports/": "POST only, without fields; redirects to the case page",
    f"{STAFF_PREFIX}cases/<int:case_id>/exports/<int:export_id>/release/": (
        "POST only, without fields; redirects to the case page (walked after the release)"
    ),
    f"{STAFF_PREFIX}cases/<int:case_id>/collection/": (
        "POST only, without fields; redirects to the case page (walked after the collection)"
    ),
    f"{STAFF_PREFIX}registers/files/<slug:model_name>/<int:record_id>/<slug:field_name>/": "a register's file download",
}

STAFF_REPLY = "We have read your message and are looking into it."
PASSWORD = "correct-horse-battery-staple"  # the factories' password
WRONG_CODE = "0000 0000 0000 0000 0000"


def _fail(request):
    raise RuntimeError("a deliberate failure, to show the 500 page")


def _deny(request):
    raise PermissionDenied


# This module is the URLconf of the walk: the project's patterns, with its error
# handlers, plus two pages that fail on purpose, since no public page does.
_project_urls = import_module(django_settings.ROOT_URLCONF)
urlpatterns = _project_urls.urlpatterns + i18n_patterns(
    path("test-only/server-error/", _fail), path("test-only/access-denied/", _deny)
)
handler400 = _project_urls.handler400
handler403 = _project_urls.handler403
handler404 = _project_urls.handler404
handler500 = _project_urls.handler500


def site_routes(patterns, prefix: str = ""):
    """Every URL pattern of the configuration, as a route with its language prefix written
    `<language>/`, except the admin site and static and uploaded files."""
    skipped = (
        "admin/",
        django_settings.STATIC_URL.lstrip("/"),
        (django_settings.MEDIA_URL or "").lstrip("/"),
    )
    for entry in patterns:
        if isinstance(entry.pattern, LocalePrefixPattern):
            route = prefix + LANGUAGE_PREFIX
        else:
            route = prefix + str(entry.pattern)
        if any(part and route.startswith(part) for part in skipped):
            continue
        if isinstance(entry, URLResolver):
            yield from site_routes(entry.url_patterns, route)
        else:
            yield route


def public_routes(patterns):
    return {route for route in site_routes(patterns) if not route.startswith(STAFF_PREFIX)}


def staff_routes(patterns):
    return {route for route in site_routes(patterns) if route.startswith(STAFF_PREFIX)}


class _Forms(HTMLParser):
    """The forms of a page: action (None if the form has none) and its hidden fields."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str | None, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self.forms.append((attributes.get("action"), {}))
        elif tag == "input" and self.forms and (attributes.get("type") or "").lower() == "hidden":
            if attributes.get("name"):
                self.forms[-1][1][attributes["name"]] = attributes.get("value") or ""


def hidden_fields(response, action: str) -> dict[str, str]:
    """The hidden fields of the form of `response` that posts to `action`: what a browser sends
    besides what the visitor typed (the CSRF token, a one-time submission token, a receipt code)."""
    page_path = response.wsgi_request.path
    parser = _Forms()
    parser.feed(response.content.decode())
    for form_action, fields in parser.forms:
        if (form_action or page_path) == action:
            return fields
    raise AssertionError(f"no form posting to {action} on {page_path}")


def template_syntax_in(text: str) -> list[str]:
    found = []
    for token in TEMPLATE_SYNTAX:
        for match in re.finditer(re.escape(token), text):
            context = text[max(0, match.start() - 60) : match.end() + 60].replace("\n", "⏎")
            found.append(f"{token!r} in …{context}…")
    return found


class Walk:
    """Visits the states of the public pages in one language and checks each page it gets."""

    def __init__(self, language: str, capture_on_commit):
        self.language = language
        self.prefix = f"/{language}"
        self._capture = capture_on_commit
        self._visitors = 0
        self.states: list[str] = []
        self.routes: set[str] = set()
        self.problems: list[str] = []

    def visitor(self, **options) -> Client:
        """A browser on a connection of its own, so that one state's counts (messages sent, wrong
        codes) never decide another's."""
        self._visitors += 1
        assert self._visitors < 255
        return Client(REMOTE_ADDR=f"192.0.2.{self._visitors}", **options)

    def url(self, page: str) -> str:
        return self.prefix + page

    def get(self, state, page, *, client, status=200):
        return self._visit(state, status, client, "get", self.url(page), None)

    def post(self, state, page, data, *, client, status=200, form_on=None, token=True):
        """Sends the form that posts to `page` from the page `form_on` (a response; by default a
        fresh GET of `page`): its hidden fields, without the CSRF token if not `token`, and `data`
        as typed."""
        action = self.url(page)
        if form_on is None:
            form_on = client.get(action)
        fields = hidden_fields(form_on, action)
        if not token:
            fields.pop("csrfmiddlewaretoken", None)
        return self._visit(state, status, client, "post", action, {**fields, **data})

    def _visit(self, state, status, client, method, url, data):
        with self._capture(execute=True):  # e-mails are sent as after a real commit
            if method == "get":
                response = client.get(url, follow=True)
            else:
                response = client.post(url, data, follow=True)
        name = f"{state} [{self.language}]"
        assert response.status_code == status, f"{name}: {method.upper()} {url} gave {response.status_code}"
        assert response["Content-Type"].startswith("text/html"), f"{name}: {response['Content-Type']}"
        self.states.append(state)
        self.problems += [f"{name}: {found}" for found in template_syntax_in(response.content.decode())]
        self._record_route(response.wsgi_request.path)
        return response

    def _record_route(self, page_path: str) -> None:
        with translation.override(self.language):
            try:
                route = resolve(page_path, urlconf=django_settings.ROOT_URLCONF).route
            except Resolver404:  # a 404 page has no route of its own
                return
        own_prefix = f"{self.language}/"
        self.routes.add(LANGUAGE_PREFIX + route[len(own_prefix) :] if route.startswith(own_prefix) else route)

    def download(self, page, *, client, form_on=None):
        """A file the site sends (a proof, an attachment): not a page, so not checked here."""
        action = self.url(page)
        if form_on is None:
            response = client.get(action)
        else:
            response = client.post(action, hidden_fields(form_on, action))
        assert response.status_code == 200, f"{action} gave {response.status_code}"
        assert response["Content-Disposition"].startswith("attachment"), response["Content-Disposition"]
        return response


def site_pages(walk: Walk) -> None:
    visitor = walk.visitor()
    home = walk.get("home", "/", client=visitor)
    walk.get("privacy notice", "/privacy/", client=visitor)
    countries = sorted(set(re.findall(rf'href="{walk.prefix}/authorities/([^/"]+)/"', home.content.decode())))
    assert countries, "the footer links to the supervisory authorities"
    for country in countries:
        walk.get(f"authority page, {country}", f"/authorities/{country}/", client=visitor)


def report_form(walk: Walk) -> None:
    visitor = walk.visitor()
    form_page = walk.get("report form", "/report/", client=visitor)
    for case_type in CaseType.values:
        walk.get(f"report form, {case_type} asked for", f"/report/?type={case_type}", client=visitor)
    walk.get("report form, an unknown type asked for", "/report/?type=gossip", client=visitor)

    # Each refused form from a visitor of its own (refusals may count against the hourly limit),
    # sent from the same page: a refused form uses up nothing on it.
    walk.post("report form, sent empty", "/report/", {}, client=walk.visitor(), form_on=form_page, status=400)
    for case_type in CaseType.values:
        for identity in ("anonymous", "identified"):
            walk.post(
                f"report form, {case_type} from an {identity} reporter, refused",
                "/report/",
                {"case_type": case_type, "identity": identity, "message": ""},
                client=walk.visitor(),
                form_on=form_page,
                status=400,
            )
    walk.post(
        "report form, the honeypot filled in",
        "/report/",
        anonymous_report(website="http://spam.example"),
        client=walk.visitor(),
        form_on=form_page,
        status=400,
    )


def anonymous_case(walk: Walk) -> None:
    """An anonymous report with files: its receipt, the case page with a message added, a staff
    reply and the files listed, a refused message, and the proof of submission checked."""
    reporter = walk.visitor()
    form_page = reporter.get(walk.url("/report/"))
    report = anonymous_report(
        attachments=[
            SimpleUploadedFile("photo.png", images.plain_png()),
            SimpleUploadedFile("notes.pdf", images.PDF),
        ]
    )
    receipt = walk.post(
        "receipt page, an anonymous report", "/report/", report, client=reporter, form_on=form_page
    )
    code = receipt_code(receipt)
    reference = re.search(r"TC-\d{4}-\d{5}", receipt.content.decode()).group(0)
    for upload in report["attachments"]:
        upload.seek(0)
    walk.post(
        "the same report sent twice", "/report/", report, client=reporter, form_on=form_page, status=409
    )
    walk.post(
        "receipt page, saving not confirmed",
        "/report/receipt/",
        {},
        client=reporter,
        form_on=receipt,
        status=400,
    )
    proof = walk.download("/report/proof/", client=reporter, form_on=receipt).content.decode()
    proof = proof.strip().splitlines()[-1]
    case_page = walk.post(
        "case page, anonymous", "/report/receipt/", {"saved": "on"}, client=reporter, form_on=receipt
    )

    walk.post(
        "case page, a message with a file added",
        "/follow-up/case/",
        {"message": "One more photo.", "attachments": [SimpleUploadedFile("more.png", images.plain_png())]},
        client=reporter,
    )
    reply_as_staff(case=Case.objects.get(reference=reference), message=STAFF_REPLY)
    case_page = walk.get("case page, a staff reply and files listed", "/follow-up/case/", client=reporter)
    page = case_page.content.decode()
    assert STAFF_REPLY in page
    attachments = re.findall(rf'href="{walk.prefix}/follow-up/case/files/(\d+)/"', page)
    assert len(attachments) == 3, "the report's two files and the one added are listed"
    attachment = attachments[0]
    walk.download(f"/follow-up/case/files/{attachment}/", client=reporter)
    walk.download("/follow-up/case/proof/", client=reporter)
    walk.post(
        "case page, an empty message refused",
        "/follow-up/case/",
        {"message": ""},
        client=reporter,
        status=400,
    )

    walk.get("proof check", "/proof/", client=reporter)
    walk.post("proof check, a bad proof", "/proof/", {"proof": "not-a-proof"}, client=reporter)
    checked = walk.post("proof check, a good proof", "/proof/", {"proof": proof}, client=reporter)
    assert reference in checked.content.decode()

    # The session ends (the reporter closes the case page) with a message still to send.
    walk.post(
        "follow-up login, after closing the case page",
        "/follow-up/leave/",
        {},
        client=reporter,
        form_on=case_page,
    )
    ended = walk.post(
        "follow-up login, the session ended with a message unsent",
        "/follow-up/case/",
        {"message": "Typed before the session ended."},
        client=reporter,
        form_on=case_page,
        status=403,
    )
    walk.get("follow-up login", "/follow-up/", client=reporter)
    walk.post(
        "follow-up login, a wrong code",
        "/follow-up/",
        {"receipt_code": WRONG_CODE},
        client=reporter,
        status=400,
    )
    walk.post(
        "case page, reopened with the unsent message",
        "/follow-up/",
        {"receipt_code": code, "draft": "Typed before the session ended."},
        client=reporter,
        form_on=ended,
    )


def too_many(walk: Walk, settings) -> None:
    """The limits of the settings, reached as a visitor reaches them."""
    limit = settings.TRUSTCENTER_SUBMISSIONS_PER_HOUR
    settings.TRUSTCENTER_SUBMISSIONS_PER_HOUR = 1  # each message sent costs a receipt-code hash
    sender = walk.visitor()
    for sent in range(settings.TRUSTCENTER_SUBMISSIONS_PER_HOUR):
        receipt = walk.post(
            f"receipt page, message {sent + 1} of the hour", "/report/", anonymous_report(), client=sender
        )
    walk.post(
        "case page, opened at the limit", "/report/receipt/", {"saved": "on"}, client=sender, form_on=receipt
    )
    walk.post(
        "case page, too many messages",
        "/follow-up/case/",
        {"message": "And another thing."},
        client=sender,
        status=429,
    )
    walk.post("report form, too many messages", "/report/", anonymous_report(), client=sender, status=429)
    settings.TRUSTCENTER_SUBMISSIONS_PER_HOUR = limit

    robot = walk.visitor()
    for attempt in range(settings.TRUSTCENTER_FOLLOWUP_FAILURES):
        walk.post(
            f"follow-up login, wrong code {attempt + 1}",
            "/follow-up/",
            {"receipt_code": f"{attempt + 1:020d}"},
            client=robot,
            status=400,
        )
    walk.post(
        "follow-up login, too many wrong codes",
        "/follow-up/",
        {"receipt_code": WRONG_CODE},
        client=robot,
        status=429,
    )
    walk.post(
        "receipt page's form, too many wrong codes",
        "/report/receipt/",
        {"saved": "on"},
        client=robot,
        form_on=receipt,
        status=429,
    )


def identified_cases(walk: Walk) -> str:
    """An identified reporter's case; a data-subject request with its e-mail address to confirm,
    by code (wrong, then a new one asked for) and by the link of the e-mail. Returns the identified
    reporter's receipt code."""
    _case, code = submit(
        case_type=CaseType.WHISTLEBLOWING,
        language=walk.language,
        is_anonymous=False,
        message="The invoices of one supplier are paid twice.",
        reporter_name="Ola Nordmann",
        reporter_email="ola@example.com",
        wants_notices=True,
    )
    walk.post(
        "case page, an identified reporter", "/follow-up/", {"receipt_code": code}, client=walk.visitor()
    )

    requester = walk.visitor()
    receipt = walk.post(
        "receipt page, a data-subject request", "/report/", erasure_request(), client=requester
    )
    case_page = walk.post(
        "case page, e-mail address not confirmed",
        "/report/receipt/",
        {"saved": "on"},
        client=requester,
        form_on=receipt,
    )
    assert 'id="confirm-heading"' in case_page.content.decode()
    sent = [str(message.body) for message in mail.outbox if "kari@example.com" in message.to]
    emailed_code = re.search(r"^\s*(\d{6})\s*$", sent[-1], re.MULTILINE).group(1)
    walk.post(
        "case page, a wrong e-mail confirmation code",
        "/follow-up/case/confirm-email/",
        {"code": "111111" if emailed_code == "000000" else "000000"},
        client=requester,
        form_on=case_page,
        status=400,
    )
    walk.post(
        "case page, a new code sent", "/follow-up/case/new-code/", {}, client=requester, form_on=case_page
    )

    link = urlsplit(re.search(r"https?://\S+/confirm/\?t=\S+", str(mail.outbox[-1].body)).group(0))
    assert link.path == walk.url("/confirm/"), link
    confirm_page = walk.get("e-mail confirmation link", f"/confirm/?{link.query}", client=requester)
    walk.post("e-mail confirmation link, confirmed", "/confirm/", {}, client=requester, form_on=confirm_page)
    walk.post("e-mail confirmation link, used again", "/confirm/", {}, client=requester, form_on=confirm_page)
    walk.post(
        "e-mail confirmation link, a bad token",
        "/confirm/",
        {"token": "not-a-token"},
        client=requester,
        form_on=confirm_page,
    )
    walk.get("e-mail confirmation link, without its token", "/confirm/", client=requester)
    walk.get("case page, e-mail address confirmed", "/follow-up/case/", client=requester)
    return code


def access_export_pages(walk: Walk) -> None:
    """The page behind an access export's link: asked for the receipt code, a wrong one refused,
    and once downloaded, the page that says the link no longer works."""
    from cases import fulfilment

    case, code = submit(
        case_type=CaseType.SUBJECT_REQUEST,
        language=walk.language,
        is_anonymous=False,
        subject_right="access",
        reporter_name="Kari Nordmann",
        reporter_email="kari.export@example.com",
    )
    Case.objects.filter(pk=case.pk).update(email_confirmed_at=timezone.now())
    case.refresh_from_db()
    handler = user(CaseHandlerFactory(teams=["privacy"], username=f"export-handler-{walk.language}"))
    with walk._capture(execute=True):
        export = fulfilment.request_access_export(case=case, actor=handler)
    export.refresh_from_db()
    link = urlsplit(fulfilment.release_access_export(export=export, actor=handler))
    requester = walk.visitor()
    page = link.path.removeprefix(f"/{walk.language}")  # the walk adds the language
    followed = f"{page}?{link.query}"  # the token is in the query string; the form sends it back
    asked = walk.get("access export link, the code asked for", followed, client=requester)
    walk.post(
        "access export link, a wrong code",
        page,
        {"receipt_code": "1234 5678 9012 3456 7890"},
        client=requester,
        form_on=asked,
        status=400,
    )
    downloaded = requester.post(link.path, {**hidden_fields(asked, link.path), "receipt_code": code})
    assert downloaded["Content-Type"] == "application/zip"
    downloaded.getvalue()  # the whole file, as a browser reads it
    walk.get("access export link, used", followed, client=requester, status=410)


def error_pages(walk: Walk, code: str) -> None:
    visitor = walk.visitor(raise_request_exception=False)
    walk.get("404 page", "/no-such-page/", client=visitor, status=404)
    walk.get("404 page, an unknown country", "/authorities/atlantis/", client=visitor, status=404)
    too_many_fields = "&".join(f"f{n}=x" for n in range(django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    walk.get("400 page", f"/report/?{too_many_fields}", client=visitor, status=400)
    walk.get("403 page", "/test-only/access-denied/", client=visitor, status=403)
    walk.get("500 page", "/test-only/server-error/", client=visitor, status=500)

    # Forms sent without their CSRF token (as when it expired): the generic page, or the form
    # given back with what was typed.
    strict = walk.visitor(enforce_csrf_checks=True)
    walk.post(
        "CSRF failure page", "/follow-up/", {"receipt_code": code}, client=strict, token=False, status=403
    )
    walk.post(
        "report form, after an expired form token",
        "/report/",
        anonymous_report(),
        client=strict,
        token=False,
        status=403,
    )
    case_page = walk.post(
        "case page, opened with CSRF checks", "/follow-up/", {"receipt_code": code}, client=strict
    )
    walk.post(
        "case page, after an expired form token",
        "/follow-up/case/",
        {"message": "Typed too long ago."},
        client=strict,
        form_on=case_page,
        token=False,
        status=403,
    )


def user(made) -> Any:
    """A factory's user, which type checkers take for the factory."""
    return made


def staff_login(walk: Walk, handler) -> Client:
    """A handler logs in through both steps of the two-factor login, each refused once first."""
    staff = walk.visitor()
    walk.get("staff queue, logged out: the login page", "/staff/", client=staff)
    step = {"login_view-current_step": "auth"}
    walk.post(
        "staff login, a wrong password",
        "/staff/account/login/",
        {**step, "auth-username": handler.username, "auth-password": "wrong"},
        client=staff,
    )
    # The login is a wizard: a GET starts it again, so each step is sent from the page before.
    asked = walk.post(
        "staff login, the code asked for",
        "/staff/account/login/",
        {**step, "auth-username": handler.username, "auth-password": PASSWORD},
        client=staff,
    )
    step = {"login_view-current_step": "token"}
    refused = walk.post(
        "staff login, a wrong code",
        "/staff/account/login/",
        {**step, "token-otp_token": "0"},
        client=staff,
        form_on=asked,
    )
    device = handler.totpdevice_set.get()
    code = f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"
    walk.post(
        "staff login, the code given",
        "/staff/account/login/",
        {**step, "token-otp_token": code},
        client=staff,
        form_on=refused,
    )
    return staff


def staff_pages(walk: Walk, handler, cases: dict[str, Case]) -> None:
    """The queue, each type's case page with every form of it refused and the reply accepted,
    the breach forms and register, the dashboard, and the two-factor account pages."""
    staff = staff_login(walk, handler)
    walk.get("staff queue", "/staff/", client=staff)
    walk.get("staff queue, every status", "/staff/?status=all&per_page=100", client=staff)
    walk.get("staff queue, waiting for requesters", "/staff/?waiting=on", client=staff)
    walk.get("staff queue, searched", "/staff/?q=invoices", client=staff)
    walk.get("staff queue, a bad filter", "/staff/?per_page=7&clock=late", client=staff)
    walk.get("staff queue, page 2", "/staff/?page=2", client=staff)
    for case_type, case in cases.items():
        walk.get(f"staff case page, {case_type}", f"/staff/cases/{case.pk}/", client=staff)

    pages = {
        f"/staff/cases/{case.pk}/": staff.get(walk.url(f"/staff/cases/{case.pk}/")) for case in cases.values()
    }
    refused = {
        "reply": {},
        "note": {},
        "assign": {"assign-assignee": "0"},
        "status": {"status-status": "lost"},
        "type": {"reclassify-case_type": "gossip"},
        "triage": {"triage-severity": "apocalyptic"},
        "clocks": {"clock-kind": "sundial"},
        "extension": {},
        "exclusions": {"exclude-handler": "0"},
        "retention": {"postpone-until": "the day after never"},
        "identities": {"identity-kind": "fax"},
        "erasure": {},  # not confirmed
        "objection": {},  # not confirmed
    }
    for action, data in refused.items():
        # Each form from the first case page that offers it (triage: a security incident's).
        page, case_page = next(
            (page, response)
            for page, response in pages.items()
            if f'action="{walk.url(page)}{action}/"' in response.content.decode()
        )
        walk.post(
            f"staff case page, the {action} form refused",
            f"{page}{action}/",
            data,
            client=staff,
            form_on=case_page,
            status=400,
        )
    page = f"/staff/cases/{cases[CaseType.SUBJECT_REQUEST].pk}/"
    case_page = pages[page]
    walk.post(
        "staff case page, a reply sent",
        f"{page}reply/",
        {"reply-body": STAFF_REPLY},
        client=staff,
        form_on=case_page,
    )
    walk.post(
        "staff case page, the requester's data collected",
        f"{page}collection/",
        {},
        client=staff,
        form_on=case_page,
    )
    records = walk.get("staff, the requester's records", f"{page}records/", client=staff)
    walk.post(
        "staff, a correction refused",
        f"{page}records/rectify/",
        {
            "rectify-register": "cases.Case",
            "rectify-record_key": "0",
            "rectify-field": "x",
            "rectify-value": "y",
        },
        client=staff,
        form_on=records,
        status=400,
    )
    walk.post(
        "staff, a restriction refused",
        f"{page}records/restrict/",
        {"restrict-register": "cases.Case", "restrict-record_key": "0"},
        client=staff,
        form_on=records,
        status=400,
    )
    walk.post(
        "staff case page, an access export built", f"{page}exports/", {}, client=staff, form_on=case_page
    )
    export = cases[CaseType.SUBJECT_REQUEST].access_exports.get()
    review = walk.get("staff access export, its review", f"{page}exports/{export.pk}/", client=staff)
    walk.post(
        "staff access export, a withholding without its reason",
        f"{page}exports/{export.pk}/withhold/",
        {"withhold-register": "cases.Case", "withhold-reason": ""},
        client=staff,
        form_on=review,
        status=400,
    )
    walk.post(
        "staff access export, sent", f"{page}exports/{export.pk}/release/", {}, client=staff, form_on=review
    )
    walk.get("staff access export, nothing left to review", f"{page}exports/{export.pk}/", client=staff)

    breach = cases[CaseType.PRIVACY_DEVIATION]
    page = f"/staff/cases/{breach.pk}/"
    case_page = staff.get(walk.url(page))
    for action in ("facts", "decision", "notification", "subjects"):
        walk.post(
            f"breach form, {action} refused",
            f"{page}breach/{action}/",
            {"subjects_affected": "many", "notified_at": "soon"},
            client=staff,
            form_on=case_page,
            status=400,
        )
    walk.get("breach register", "/staff/breaches/", client=staff)
    walk.get("breach register, filtered", "/staff/breaches/?decision=notify&year=1999", client=staff)
    walk.get("dashboard", "/staff/dashboard/", client=staff)
    walk.get(
        "dashboard, a quarter of one team", "/staff/dashboard/?period=quarter&team=privacy", client=staff
    )
    walk.get(
        "dashboard, a custom range",
        "/staff/dashboard/?period=custom&date_from=2020-01-01&date_to=2020-12-31",
        client=staff,
    )
    walk.get(
        "dashboard, a range refused",
        "/staff/dashboard/?period=custom&date_from=2020-12-31&date_to=2020-01-01",
        client=staff,
        status=400,
    )

    tokens_page = walk.get("API tokens", "/staff/account/tokens/", client=staff)
    device = handler.totpdevice_set.get()
    # The login used this step's code, and a code is good once: the next step's is accepted too.
    next_code = f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + 1):06d}"
    made = walk.post(
        "API tokens, one made",
        "/staff/account/tokens/",
        {"name": "Reports script", "days": "30", "code": next_code},
        client=staff,
        form_on=tokens_page,
    )
    assert "Reports script" in made.content.decode()
    walk.post(
        "API tokens, a wrong code",
        "/staff/account/tokens/",
        {"name": "Another", "days": "30", "code": "000000"},
        client=staff,
        form_on=tokens_page,
        status=400,
    )
    listed = walk.get("API tokens, one listed", "/staff/account/tokens/", client=staff)
    walk.post(
        "API tokens, one revoked",
        "/staff/account/tokens/revoke/",
        {},
        client=staff,
        form_on=listed,
    )
    walk.get("two-factor profile", "/staff/account/two_factor/", client=staff)
    walk.get("backup codes", "/staff/account/two_factor/backup/tokens/", client=staff)
    tokens = staff.get(walk.url("/staff/account/two_factor/backup/tokens/"))
    walk.post(
        "backup codes, made", "/staff/account/two_factor/backup/tokens/", {}, client=staff, form_on=tokens
    )
    walk.get("two-factor setup, completed", "/staff/account/two_factor/setup/complete/", client=staff)
    walk.get("two-factor disable", "/staff/account/two_factor/disable/", client=staff)
    walk.get("two-factor setup, with a device already", "/staff/account/two_factor/setup/", client=staff)
    walk.post(
        "staff logout", "/staff/account/logout/", {}, client=staff, form_on=staff.get(walk.url("/staff/"))
    )

    # A new staff member without a device is sent to set one up, through its steps.
    newcomer = walk.visitor()
    newcomer.force_login(user(CaseHandlerFactory(teams=["security"])))
    welcome = walk.get("two-factor setup, the welcome step", "/staff/", client=newcomer)
    setup = "/staff/account/two_factor/setup/"
    method = walk.post(
        "two-factor setup, the method step",
        setup,
        {"setup_view-current_step": "welcome"},
        client=newcomer,
        form_on=welcome,
    )
    generator = walk.post(
        "two-factor setup, the QR code step",
        setup,
        {"setup_view-current_step": "method", "method-method": "generator"},
        client=newcomer,
        form_on=method,
    )
    walk.post(
        "two-factor setup, a wrong code",
        setup,
        {"setup_view-current_step": "generator", "generator-token": "123"},
        client=newcomer,
        form_on=generator,
    )


def staff_refusals(walk: Walk, cases: dict[str, Case]) -> None:
    """The pages that refuse: someone who is not staff, and a case of a team one is not in."""
    stranger = walk.visitor(raise_request_exception=False)
    stranger.force_login(get_user_model().objects.create_user("stranger", password=PASSWORD))
    walk.get("staff queue, not staff: 403", "/staff/", client=stranger, status=403)
    outsider = walk.visitor(raise_request_exception=False)
    outsider.force_login(user(StaffFactory()))
    walk.get("staff queue, staff without rights", "/staff/", client=outsider)
    report = f"/staff/cases/{cases[CaseType.WHISTLEBLOWING].pk}/"
    walk.get("staff case page, staff without rights: 403", report, client=outsider, status=403)
    privacy = walk.visitor(raise_request_exception=False)
    privacy.force_login(user(CaseHandlerFactory(teams=["privacy"])))
    walk.get("staff case page, another team's: 403", report, client=privacy, status=403)


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_template_syntax_reaches_any_staff_page_in_any_state(
    language, settings, django_capture_on_commit_callbacks
):
    routes = staff_routes(get_resolver().url_patterns)
    assert set(STAFF_NOT_PAGES) <= routes, f"gone: {set(STAFF_NOT_PAGES) - routes}"
    settings.TRUSTCENTER_REQUIRE_2FA = True
    walk = Walk(language, django_capture_on_commit_callbacks)
    handler = CaseHandlerFactory(username="walker")
    services.add_to_teams(user=handler, team_slugs=list(services.DEFAULT_TEAMS), is_lead=True)
    TOTPDevice.objects.create(user=handler, name="default", confirmed=True)
    cases = {}
    for case_type in CaseType.values:
        cases[case_type], _code = submit(
            case_type=case_type,
            language=language,
            is_anonymous=case_type != CaseType.SUBJECT_REQUEST,
            **(
                {"subject_right": "access", "reporter_name": "Kari", "reporter_email": "kari@example.com"}
                if case_type == CaseType.SUBJECT_REQUEST
                else {}
            ),
            message="The invoices of one supplier are paid twice.",
            uploads=[Upload(name="notes.txt", data=b"notes", kind=identify_upload(b"notes"))],
        )

    # The requester confirmed their address: the case page offers the collection's forms.
    Case.objects.filter(pk=cases[CaseType.SUBJECT_REQUEST].pk).update(email_confirmed_at=timezone.now())
    staff_pages(walk, handler, cases)
    settings.TRUSTCENTER_REQUIRE_2FA = False  # two-factor login was walked: these need only a session
    staff_refusals(walk, cases)

    assert len(walk.states) == len(set(walk.states)), "each state is named once"
    unrendered = routes - walk.routes - set(STAFF_NOT_PAGES)
    assert not unrendered, f"staff URL patterns neither rendered nor listed: {sorted(unrendered)}"
    for message in mail.outbox:
        walk.problems += [
            f"e-mail {message.subject!r}: {found}"
            for found in template_syntax_in(message.subject + message.body)
        ]
    assert not walk.problems, f"template syntax in {len(walk.problems)} places:\n" + "\n".join(walk.problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_template_syntax_reaches_any_public_page_in_any_state(
    language, settings, django_capture_on_commit_callbacks
):
    routes = public_routes(get_resolver().url_patterns)
    assert set(NOT_PAGES) <= routes, f"NOT_PAGES names patterns that are gone: {set(NOT_PAGES) - routes}"
    settings.ROOT_URLCONF = __name__  # the project's patterns, and two that fail on purpose
    settings.TRUSTCENTER_FOLLOWUP_FAILURES = 2  # fewer wrong codes (each costs a hash) to reach the limit
    walk = Walk(language, django_capture_on_commit_callbacks)

    site_pages(walk)
    report_form(walk)
    anonymous_case(walk)
    too_many(walk, settings)
    sign_up_pages(walk)
    cookie_pages(walk)
    self_service_pages(walk)
    code = identified_cases(walk)
    access_export_pages(walk)
    error_pages(walk, code)

    assert len(walk.states) == len(set(walk.states)), "each state is named once"
    unrendered = routes - walk.routes - set(NOT_PAGES)
    assert not unrendered, (
        f"public URL patterns neither rendered nor listed in NOT_PAGES: {sorted(unrendered)}"
    )
    for message in mail.outbox:
        walk.problems += [
            f"e-mail {message.subject!r}: {found}"
            for found in template_syntax_in(message.subject + message.body)
        ]
    assert not walk.problems, f"template syntax in {len(walk.problems)} places:\n" + "\n".join(walk.problems)


# --- Sign-ups with double opt-in (issue 12, point 7) -------------------------------------------


def sign_up_pages(walk: Walk) -> None:
    """The newsletter and open-application forms, refused and sent; the page that says to check
    one's e-mail; the confirmation link's page, confirmed, used again, forged, expired, with a
    wording published meanwhile; and a sign-up not offered in the walk's language."""
    from datetime import timedelta

    from django.utils import timezone

    from consent import services as consent_services
    from consent.models import ConsentPurpose, Purpose, SignUp

    def link_path(address: str) -> str:
        [body] = [str(message.body) for message in mail.outbox if message.to == [address]][-1:]
        link = urlsplit(re.search(r"https?://\S+/join/confirm/\?t=\S+", body).group(0))
        return f"/join/confirm/?{link.query}"

    reader = walk.visitor()
    walk.get("newsletter form", "/join/newsletter/", client=reader)
    walk.post(
        "newsletter form, refused", "/join/newsletter/", {"email": "nonsense"}, client=reader, status=400
    )
    reader_address = f"reader-{walk.language}@example.com"
    walk.post("check your e-mail", "/join/newsletter/", {"email": reader_address}, client=reader)

    applicant = walk.visitor()
    cv = SimpleUploadedFile("cv.pdf", images.PDF)
    application = {
        "full_name": "Kari Nordmann",
        "email": f"kari-{walk.language}@example.com",
        "skills": "Django",
        "cv": cv,
    }
    walk.get("open application form", "/join/recruitment/", client=applicant)
    walk.post(
        "open application form, refused",
        "/join/recruitment/",
        {**application, "full_name": ""},
        client=applicant,
        status=400,
    )
    cv.seek(0)
    walk.post("check your e-mail, an open application", "/join/recruitment/", application, client=applicant)
    page = walk.get(
        "sign-up confirmation page", link_path(f"kari-{walk.language}@example.com"), client=applicant
    )
    walk.post("sign-up confirmed", "/join/confirm/", {}, client=applicant, form_on=page)
    walk.post("sign-up link used again", "/join/confirm/", {}, client=applicant, form_on=page, status=404)
    walk.get("sign-up link forged", "/join/confirm/?t=forged", client=applicant, status=404)

    page = walk.get("newsletter confirmation page", link_path(reader_address), client=reader)
    newsletter = ConsentPurpose.objects.get(slug=Purpose.NEWSLETTER)
    everywhere = {code: ("Newsletter", f"Version two ({code}).") for code in LANGUAGES}
    consent_services.publish_version(purpose=newsletter, wordings=everywhere)
    changed = walk.post(
        "sign-up confirmation page, the wording changed meanwhile",
        "/join/confirm/",
        {},
        client=reader,
        form_on=page,
        status=409,
    )
    SignUp.objects.filter(email=reader_address).update(created_at=timezone.now() - timedelta(days=30))
    walk.get("sign-up link expired", link_path(reader_address), client=reader, status=410)
    SignUp.objects.filter(email=reader_address).update(created_at=timezone.now())
    elsewhere = {code: wording for code, wording in everywhere.items() if code != walk.language}
    consent_services.publish_version(purpose=newsletter, wordings=elsewhere)
    walk.get("newsletter form, not offered in this language", "/join/newsletter/", client=reader, status=404)
    walk.post(
        "sign-up confirmation page, no longer offered in its language",
        "/join/confirm/",
        {},
        client=reader,
        form_on=changed,
        status=404,
    )


# --- Cookie consent (issue 12, point 8) --------------------------------------------------------


def cookie_pages(walk: Walk) -> None:
    """The cookie settings page before and after a choice, and the banner's form refused (every
    page before walked the banner itself)."""
    visitor = walk.visitor()
    page = walk.get("cookie settings", "/cookies/", client=visitor)
    walk.post(
        "cookie settings, a button that is not one",
        "/cookies/choice/",
        {"choice": "all-of-them", "analytics": "on"},
        client=visitor,
        form_on=page,
        status=400,
    )
    walk.post(
        "cookie settings, saved", "/cookies/choice/", {"choice": "accept_all"}, client=visitor, form_on=page
    )
