"""The current state per subject and purpose, replayed from the ledger (consent/states.py)."""

from itertools import groupby

from django.db import migrations

from consent import states


def from_the_ledger(apps, schema_editor):
    Event = apps.get_model("consent", "ConsentEvent")
    State = apps.get_model("consent", "ConsentState")
    rows = Event.objects.order_by("subject_id", "purpose_id", "occurred_at", "id").values_list(
        "subject_id", "purpose_id", "id", "action", "version_id", "occurred_at"
    )
    for (subject_id, purpose_id), group in groupby(rows.iterator(), key=lambda row: (row[0], row[1])):
        state = states.replay(states.Event(row[2], row[3], row[4], row[5]) for row in group)
        State.objects.create(
            subject_id=subject_id,
            purpose_id=purpose_id,
            version_id=state.version_id,
            given_at=state.given_at,
            withdrawn_at=state.withdrawn_at,
            last_event_id=state.last_event_id,
        )


class Migration(migrations.Migration):
    dependencies = [("consent", "0009_ledger_state_and_ways_in")]

    operations = [migrations.RunPython(from_the_ledger, migrations.RunPython.noop)]
