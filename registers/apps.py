from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistersConfig(AppConfig):
    name = "registers"
    verbose_name = _("Registers")

    def ready(self):
        from . import checks, models, third_party  # noqa: F401 - the system check and the exemptions
        from .audit import register_declared

        register_declared(
            models.EventParticipant,
            models.Lead,
            models.Inquiry,
            models.CustomerContact,
            models.SupplierContact,
            models.JobApplication,
            models.RecruitmentEntry,
            models.AccountingRecord,
            models.VisitorRegistration,
        )
