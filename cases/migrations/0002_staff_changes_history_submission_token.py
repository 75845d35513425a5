import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="closed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="closed"),
        ),
        migrations.AddField(
            model_name="casemessage",
            name="submission_token_hash",
            field=models.CharField(editable=False, max_length=64, null=True, unique=True),
        ),
        migrations.CreateModel(
            name="CaseEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("status_changed", "Status changed"),
                            ("replied", "Replied to the reporter"),
                        ],
                        max_length=32,
                        verbose_name="what",
                    ),
                ),
                ("data", models.JSONField(blank=True, default=dict, verbose_name="details")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="when")),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "case",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="events", to="cases.case"
                    ),
                ),
            ],
            options={
                "verbose_name": "case event",
                "verbose_name_plural": "case events",
                "ordering": ["created_at", "pk"],
            },
        ),
    ]
