from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RetentionConfig(AppConfig):
    name = "retention"
    verbose_name = _("Retention")

    def ready(self):
        # The last of the apps that declare models (INSTALLED_APPS order): every declaration
        # exists by now.
        from registers import audit

        from .models import CountryPeriod, RetentionRule

        audit.register_declared_models()
        # The rules hold no personal data; every change to them is in the audit trail too.
        audit.register(RetentionRule)
        audit.register(CountryPeriod)
