"""The portal's cookie banner for templates/base.html: `cookie_banner` is called by the template
only where it renders the banner's include, and gives what the banner shows, or None where no
banner belongs (a choice that covers what is offered, the staff workspace, the settings page)."""

import logging
from functools import partial

from django.http import HttpRequest
from django.utils import translation

from . import cookies

logger = logging.getLogger(__name__)


def _is_staff_page(request: HttpRequest) -> bool:
    language = translation.get_language_from_path(request.path_info)
    return bool(language) and request.path_info.startswith(f"/{language}/staff/")


def banner(request: HttpRequest) -> dict | None:
    match = request.resolver_match
    if match is not None and match.view_name == "cookies:settings":
        return None  # the page itself is the banner's form
    if _is_staff_page(request):
        return None  # staff pages set no cookie but the necessary ones
    try:
        offer = cookies.offered_in(cookies.portal_offer(), translation.get_language())
        if not cookies.needs_asking(cookies.read_choice(request), offer):
            return None
        gpc = cookies.gpc_requested(request.headers)
        categories = cookies.form_categories(
            offer=offer, language=translation.get_language(), checked={}, gpc=gpc
        )
    except Exception:  # noqa: BLE001 - the error pages render through here: no banner beats no page
        logger.exception("the cookie banner could not be shown")
        return None
    if not categories:
        return None
    return {
        "texts": cookies.BANNER_TEXTS,
        "gpc": gpc,
        "categories": categories,
        "next": request.get_full_path() if request.method == "GET" else request.path,
    }


def cookie_consent(request: HttpRequest) -> dict:
    return {"cookie_banner": partial(banner, request)}
