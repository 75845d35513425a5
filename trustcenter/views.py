from django.db import connection
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

SUPERVISORY_AUTHORITIES = {
    "norway": {
        "country": gettext_lazy("Norway"),
        "name": "Datatilsynet",
        "url": "https://www.datatilsynet.no/",
        "site": "datatilsynet.no",
    },
    "sweden": {
        "country": gettext_lazy("Sweden"),
        "name": "Integritetsskyddsmyndigheten (IMY)",
        "url": "https://www.imy.se/",
        "site": "imy.se",
    },
    "denmark": {
        "country": gettext_lazy("Denmark"),
        "name": "Datatilsynet",
        "url": "https://www.datatilsynet.dk/",
        "site": "datatilsynet.dk",
    },
}


def home(request):
    return render(request, "trustcenter/home.html", {"authorities": SUPERVISORY_AUTHORITIES})


def privacy_notice(request):
    return render(request, "trustcenter/privacy_notice.html", {"authorities": SUPERVISORY_AUTHORITIES})


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
    """An expired form token: the report form comes back with everything typed still in it."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        match = None
    if match and match.view_name == "cases:report" and request.method == "POST":
        from cases.forms import TrustMessageForm
        from cases.views import _report_page

        form = TrustMessageForm(request.POST)
        form.is_valid()
        form.add_error(
            None,
            _(
                "Your message was not sent because the page had been open too long. Everything you "
                "typed is still here: check it, attach any files again, and send it."
            ),
        )
        return _report_page(request, form, status=403)
    return render(request, "403_csrf.html", status=403)


def bad_request(request, exception=None):
    return render(request, "400.html", status=400)


def permission_denied(request, exception=None):
    return render(request, "403.html", status=403)


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


def server_error(request):
    return render(request, "500.html", status=500)
