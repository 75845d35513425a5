"""The stand-in consent state (set by staff in the admin before the ledger existed) moves into the
ledger: each row becomes a give at its `given_at` and, where withdrawn, a withdrawal at its
`withdrawn_at`, with the channel "import", appended to the chain in the order they happened."""

from datetime import UTC

from django.db import migrations

from consent import chain


def into_the_ledger(apps, schema_editor):
    StandIn = apps.get_model("consent", "ConsentState")
    Subject = apps.get_model("consent", "ConsentSubject")
    Event = apps.get_model("consent", "ConsentEvent")
    Purpose = apps.get_model("consent", "ConsentPurpose")
    purposes = {purpose.slug: purpose for purpose in Purpose.objects.all()}
    happenings = []
    for row in StandIn.objects.order_by("pk"):
        purpose = purposes.get(row.purpose)
        version = purpose.versions.order_by("-number").first() if purpose else None
        if version is None:
            continue  # no wording was ever published for it: nothing a person agreed to
        subject, _created = Subject.objects.get_or_create(email=row.email)
        happenings.append((row.given_at, "give", subject, purpose, version))
        if row.withdrawn_at:
            happenings.append((row.withdrawn_at, "withdraw", subject, purpose, version))
    previous = Event.objects.order_by("-id").values_list("digest", flat=True).first() or chain.GENESIS
    for occurred_at, action, subject, purpose, version in sorted(happenings, key=lambda item: item[0]):
        fields = {
            "subject": str(subject.pk),
            "purpose": purpose.slug,
            "version": str(version.number),
            "action": action,
            "channel": "import",
            "occurred_at": occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor": "",
        }
        digest = chain.event_digest(previous=previous, fields=fields)
        Event.objects.create(
            subject=subject,
            purpose=purpose,
            version=version,
            action=action,
            channel="import",
            occurred_at=occurred_at,
            previous_digest=previous,
            digest=digest,
        )
        previous = digest


class Migration(migrations.Migration):
    dependencies = [("consent", "0006_ledger_append_only")]

    operations = [migrations.RunPython(into_the_ledger, migrations.RunPython.noop)]
