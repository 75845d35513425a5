"""The default rules of DESIGN.md §1 (admins change them in the admin), and what makes them."""

from django.db import transaction

from .models import Action, CountryPeriod, RetentionRule

DEFAULT_RULES: dict[str, dict] = {
    "event_participants": {"period": (1, "years"), "basis": "1 year after the event, unless consent to keep"},
    "leads": {"period": (1, "years"), "basis": "1 year after registration, unless consent to keep"},
    "inquiries": {"period": (30, "days"), "basis": "30 days after the answer"},
    "customer_contacts": {
        "period": (3, "years"),
        "action": "anonymise",
        "basis": "3 years after the relationship ended",
    },
    "supplier_contacts": {
        "period": (3, "years"),
        "action": "anonymise",
        "basis": "3 years after the relationship ended",
    },
    "job_applications": {"period": (3, "months"), "basis": "3 months after the recruitment process closed"},
    "recruitment_database": {
        "period": (360, "days"),
        "basis": "360 days after consent; at once when it is withdrawn",
    },
    "accounting_records": {
        "period": (5, "years"),
        "basis": "Accounting acts",
        "countries": {
            "NO": ((5, "years"), "clock", "bokføringsloven § 13: 5 years after the end of the fiscal year"),
            "DK": ((5, "years"), "clock", "bogføringsloven § 12: 5 years after the end of the fiscal year"),
            "SE": (
                (7, "years"),
                "calendar_year_end",
                "bokföringslagen 7 kap. 2 §: 7 years after the end of the calendar year in which the fiscal year ended",
            ),
        },
    },
    "visitors": {"period": (30, "days"), "basis": "30 days after the visit"},
    "outbox": {
        "period": (30, "days"),
        "action": "anonymise",
        "basis": "recipient kept 30 days after delivery",
    },
    "cases.subject_request": {"period": (3, "years"), "basis": "proof that the right was answered; claims"},
    "cases.privacy_deviation": {"period": (5, "years"), "basis": "breach register, art. 33(5)"},
    "cases.security_incident": {"period": (3, "years"), "basis": "follow-up and trends"},
    "cases.whistleblowing": {"period": (2, "years"), "basis": "lag (2021:890), applied group-wide"},
    "cases.hse": {"period": (3, "years"), "basis": "follow-up and trends"},
    "cases.complaint": {"period": (3, "years"), "basis": "limitation period for claims"},
    "cases.general_inquiry": {"period": (90, "days"), "basis": "answered questions go soon after"},
    "cases.unconfirmed_subject_request": {"period": (30, "days"), "basis": "a request never confirmed"},
    "consent.pending": {
        "period": (7, "days"),
        "basis": "a sign-up never confirmed, a self-service link never used",
    },
}


def ensure_default_rules() -> None:
    """The rules of DESIGN.md §1 where a category has none (a fresh database, or one a test
    emptied); rules admins changed stay as they are."""
    # One query where nothing is missing: every purge, dry run and overview asks.
    missing = set(DEFAULT_RULES) - set(RetentionRule.objects.values_list("category", flat=True))
    if not missing:
        return
    with transaction.atomic():
        for category, default in DEFAULT_RULES.items():
            if category not in missing:
                continue
            amount, unit = default["period"]
            rule, created = RetentionRule.objects.get_or_create(
                category=category,
                defaults={
                    "period_amount": amount,
                    "period_unit": unit,
                    "action": default.get("action", Action.DELETE),
                    "basis": default["basis"],
                },
            )
            if created:
                for country, ((c_amount, c_unit), counts_from, basis) in default.get("countries", {}).items():
                    CountryPeriod.objects.create(
                        rule=rule,
                        country=country,
                        period_amount=c_amount,
                        period_unit=c_unit,
                        counts_from=counts_from,
                        basis=basis,
                    )
