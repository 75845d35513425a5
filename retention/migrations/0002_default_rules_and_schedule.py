from django.db import migrations

from retention.defaults import DEFAULT_RULES

SCHEDULE_NAME = "Retention: purge personal data past its period"


def add_defaults(apps, schema_editor):
    RetentionRule = apps.get_model("retention", "RetentionRule")
    CountryPeriod = apps.get_model("retention", "CountryPeriod")
    for category, default in DEFAULT_RULES.items():
        amount, unit = default["period"]
        rule, created = RetentionRule.objects.get_or_create(
            category=category,
            defaults={
                "period_amount": amount,
                "period_unit": unit,
                "action": default.get("action", "delete"),
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
    # Daily at 02:00 Oslo time; editable under Periodic tasks in the admin.
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="2", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Europe/Oslo"
    )
    PeriodicTask.objects.get_or_create(
        name=SCHEDULE_NAME, defaults={"task": "retention.tasks.purge", "crontab": crontab, "enabled": True}
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("retention", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(add_defaults, remove_schedule)]
