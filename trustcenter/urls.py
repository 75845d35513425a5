from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import include, path
from two_factor.urls import urlpatterns as two_factor_urls

from consent import cookie_views

from . import views
from .staff_access import StaffAdminSite

handler400 = "trustcenter.views.bad_request"
handler403 = "trustcenter.views.permission_denied"
handler404 = "trustcenter.views.page_not_found"
handler500 = "trustcenter.views.server_error"

# Every app's admin.py registers on admin.site; making it a StaffAdminSite puts all of them behind
# the two-factor login (two_factor's documented way).
admin.site.__class__ = StaffAdminSite

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", views.health, name="health"),
    path(".well-known/gpc.json", cookie_views.gpc_support, name="gpc_support"),
    # Not under a language prefix: an API client asks for its language with Accept-Language.
    path("api/v1/consent/", include("consent.api.urls")),
    path("api/v1/", include("cases.api.urls")),
]
urlpatterns += i18n_patterns(
    path("", views.home, name="home"),
    path("privacy/", views.privacy_notice, name="privacy_notice"),
    path("authorities/<slug:country>/", views.authority, name="authority"),
    path("", include("cases.urls")),
    path("staff/", include("cases.staff_urls")),
    path("staff/registers/", include("registers.urls")),
    path("consent/", include("consent.urls")),
    path("join/", include("consent.signup_urls")),
    path("cookies/", include("consent.cookie_urls")),
    # /<lang>/staff/account/login/, …/account/two_factor/setup/, …/account/two_factor/backup/tokens/
    path("staff/", include(two_factor_urls)),
    path("staff/account/logout/", LogoutView.as_view(next_page="two_factor:login"), name="logout"),
)
