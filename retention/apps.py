from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RetentionConfig(AppConfig):
    name = "retention"
    verbose_name = _("Retention")

    def ready(self):
        from registers.audit import register_declared

        from .models import CountryPeriod, LegalHold, Postponement, RetentionRule

        # Every change to a rule, a hold or a postponement is in the audit trail.
        register_declared(RetentionRule, CountryPeriod, LegalHold, Postponement)
