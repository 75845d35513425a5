from django.conf import settings
from django.db import connection
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.views.decorators.cache import never_cache

from .authorities import SUPERVISORY_AUTHORITIES
from .ratelimit import kept_seconds


def home(request):
    return render(request, "trustcenter/home.html", {"authorities": SUPERVISORY_AUTHORITIES})


def privacy_notice(request):
    longest_window = max(
        settings.TRUSTCENTER_SUBMISSION_WINDOW_SECONDS, settings.TRUSTCENTER_FOLLOWUP_WINDOW_SECONDS
    )
    return render(
        request,
        "trustcenter/privacy_notice.html",
        {
            "authorities": SUPERVISORY_AUTHORITIES,
            "session_minutes": settings.SESSION_COOKIE_AGE // 60,
            "counter_minutes": -(-kept_seconds(longest_window) // 60),
        },
    )


def authority(request, country: str):
    if country not in SUPERVISORY_AUTHORITIES:
        raise Http404
    return render(
        request,
        "trustcenter/authority.html",
        {"authority": SUPERVISORY_AUTHORITIES[country], "authorities": SUPERVISORY_AUTHORITIES},
    )


@never_cache
def health(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


def csrf_failure(request, reason=""):
    """A form token that expired or a cookie that went missing.

    A view whose form must not lose what was typed names its own answer as its `csrf_failure`
    attribute; it gets the request and gives the form back, filled in.
    """
    try:
        match = resolve(request.path_info)
    except Resolver404:
        match = None
    rescue = getattr(match.func, "csrf_failure", None) if match and request.method == "POST" else None
    if rescue is not None:
        return rescue(request)
    return render(request, "403_csrf.html", status=403)


def bad_request(request, exception=None):
    return render(request, "400.html", status=400)


def permission_denied(request, exception=None):
    return render(request, "403.html", status=403)


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


def server_error(request):
    return render(request, "500.html", status=500)
