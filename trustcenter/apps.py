from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrustCenterConfig(AppConfig):
    name = "trustcenter"
    verbose_name = _("Trust Center")
