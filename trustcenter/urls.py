from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from . import views

handler400 = "trustcenter.views.bad_request"
handler403 = "trustcenter.views.permission_denied"
handler404 = "trustcenter.views.page_not_found"
handler500 = "trustcenter.views.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", views.health, name="health"),
]
urlpatterns += i18n_patterns(
    path("", views.home, name="home"),
    path("privacy/", views.privacy_notice, name="privacy_notice"),
    path("authorities/<slug:country>/", views.authority, name="authority"),
    path("", include("cases.urls")),
    path("staff/", include("cases.staff_urls")),
)
