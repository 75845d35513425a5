"""The ledger's links move to a table of their own, written after the events commit.

Until now each append took the ledger's one lock, read the last digest and chained its event
before committing: appends went one at a time, however many systems sent them (bench/README.md,
"consent"). From here an append writes its event and the state, and takes no lock that another
append waits for; `consent.services.seal_ledger` chains what has committed, in the order of the
events' ids, one batch at a time (a beat task every minute, and at once wherever a digest is
shown). The existing links are copied as they are: the chain and every receipt's digest stay
the same. The seals are append-only like the events.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

COPY = """
INSERT INTO consent_consentseal (event_id, previous_digest, digest, sealed_at)
    SELECT id, previous_digest, digest, %s FROM consent_consentevent ORDER BY id
"""

SEALS_APPEND_ONLY = """
CREATE FUNCTION consent_seal_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'consent seals are append-only: % refused', TG_OP;
END
$$;
CREATE TRIGGER consent_seal_append_only BEFORE UPDATE OR DELETE ON consent_consentseal
    FOR EACH ROW EXECUTE FUNCTION consent_seal_is_append_only();
"""
DROP_SEALS_APPEND_ONLY = """
DROP TRIGGER IF EXISTS consent_seal_append_only ON consent_consentseal;
DROP FUNCTION IF EXISTS consent_seal_is_append_only();
"""

# The append without the chain (migration 0014 had it): a shared hold on the ledger's lock (the
# Python path's appends, a rebuild of the state and the sealer's glance at what has committed
# take it whole), then the event and the state. Two of these appends for the same state row are
# ordered by the row's lock and the WHERE below: the later event wins, an earlier one is refused
# (TCN02) and taken again by the Python path, which replays.
APPEND = """
DROP FUNCTION IF EXISTS consent_append(text, uuid, bigint, text, text, text, integer, text);
CREATE FUNCTION consent_append(
    p_email text, p_subject uuid, p_purpose bigint, p_action text, p_channel text,
    p_actor integer, p_language text
) RETURNS TABLE (r_event bigint, r_subject uuid, r_version bigint, r_occurred timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    v_version bigint; v_subject uuid := p_subject; v_at timestamptz; v_id bigint;
BEGIN
    SELECT v.id INTO v_version FROM consent_purposeversion v
        WHERE v.purpose_id = p_purpose ORDER BY v.number DESC LIMIT 1;
    IF v_version IS NULL THEN
        RAISE EXCEPTION 'no wording' USING ERRCODE = 'TCN01';
    END IF;
    IF v_subject IS NULL THEN
        SELECT s.id INTO v_subject FROM consent_consentsubject s WHERE s.email = p_email;
        IF v_subject IS NULL THEN
            INSERT INTO consent_consentsubject (id, email, created_at, language)
                VALUES (gen_random_uuid(), p_email, clock_timestamp(), p_language)
                ON CONFLICT (email) DO NOTHING RETURNING id INTO v_subject;
            IF v_subject IS NULL THEN  -- made by another append meanwhile
                SELECT s.id INTO v_subject FROM consent_consentsubject s WHERE s.email = p_email;
            END IF;
        END IF;
    END IF;
    IF p_language <> '' THEN
        UPDATE consent_consentsubject s SET language = p_language
            WHERE s.id = v_subject AND s.language <> p_language;
    END IF;
    PERFORM pg_advisory_xact_lock_shared(7301512);
    v_at := clock_timestamp();
    INSERT INTO consent_consentevent (subject_id, purpose_id, version_id, action, channel, occurred_at, actor_id)
        VALUES (v_subject, p_purpose, v_version, p_action, p_channel, v_at, p_actor)
        RETURNING id INTO v_id;
    -- The state after the newest event (consent/states.py::apply): a give covers its wording
    -- from now; a withdrawal ends what was given and keeps its wording.
    IF p_action = 'give' THEN
        INSERT INTO consent_consentstate AS c (subject_id, purpose_id, version_id, given_at, withdrawn_at, last_event_id)
            VALUES (v_subject, p_purpose, v_version, v_at, NULL, v_id)
            ON CONFLICT (subject_id, purpose_id) DO UPDATE SET version_id = EXCLUDED.version_id,
                given_at = EXCLUDED.given_at, withdrawn_at = NULL, last_event_id = EXCLUDED.last_event_id
            WHERE (SELECT e.occurred_at FROM consent_consentevent e WHERE e.id = c.last_event_id) <= v_at;
    ELSE
        INSERT INTO consent_consentstate AS c (subject_id, purpose_id, version_id, given_at, withdrawn_at, last_event_id)
            VALUES (v_subject, p_purpose, v_version, NULL, v_at, v_id)
            ON CONFLICT (subject_id, purpose_id) DO UPDATE SET
                withdrawn_at = EXCLUDED.withdrawn_at, last_event_id = EXCLUDED.last_event_id
            WHERE (SELECT e.occurred_at FROM consent_consentevent e WHERE e.id = c.last_event_id) <= v_at;
    END IF;
    IF NOT FOUND THEN  -- the state's last event is later than now (an import's clock): replay
        RAISE EXCEPTION 'state is ahead of the clock' USING ERRCODE = 'TCN02';
    END IF;
    RETURN QUERY SELECT v_id, v_subject, v_version, v_at;
END
$$;
"""

# The sealer's batch as one statement: the chain's last link, then each event above it (up to
# the newest that had committed, see services.seal_ledger) chained in the canonical form of
# consent/chain.py (which verifies it), and their seals written at once.
SEAL = """
CREATE FUNCTION consent_seal(p_newest bigint, p_batch integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_after bigint; v_previous text; v_digest text; r record;
    v_events bigint[] := '{}'; v_previous_digests text[] := '{}'; v_digests text[] := '{}';
BEGIN
    PERFORM pg_advisory_xact_lock(7301513);  -- one sealer at a time
    SELECT s.event_id, s.digest INTO v_after, v_previous FROM consent_consentseal s ORDER BY s.event_id DESC LIMIT 1;
    v_after := coalesce(v_after, 0);
    v_previous := coalesce(v_previous, repeat('0', 64));
    FOR r IN
        SELECT e.id, e.subject_id, p.slug, v.number, e.action, e.channel, e.occurred_at, e.actor_id
        FROM consent_consentevent e
        JOIN consent_consentpurpose p ON p.id = e.purpose_id
        JOIN consent_purposeversion v ON v.id = e.version_id
        WHERE e.id > v_after AND e.id <= p_newest ORDER BY e.id LIMIT p_batch
    LOOP
        v_digest := encode(sha256(convert_to(
            '{"action":' || to_json(r.action)
            || ',"actor":' || to_json(coalesce(r.actor_id::text, ''))
            || ',"channel":' || to_json(r.channel)
            || ',"occurred_at":"' || to_char(r.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00"'
            || ',"previous":' || to_json(v_previous)
            || ',"purpose":' || to_json(r.slug)
            || ',"subject":' || to_json(r.subject_id::text)
            || ',"version":' || to_json(r.number::text) || '}', 'UTF8')), 'hex');
        v_events := v_events || r.id;
        v_previous_digests := v_previous_digests || v_previous;
        v_digests := v_digests || v_digest;
        v_previous := v_digest;
    END LOOP;
    INSERT INTO consent_consentseal (event_id, previous_digest, digest, sealed_at)
        SELECT s.event_id, s.previous_digest, s.digest, clock_timestamp()
        FROM unnest(v_events, v_previous_digests, v_digests) AS s (event_id, previous_digest, digest);
    RETURN coalesce(array_length(v_events, 1), 0);
END
$$;
"""
DROP_SEAL = "DROP FUNCTION IF EXISTS consent_seal(bigint, integer);"

SCHEDULE_NAME = "Consent: seal the ledger's new events into its hash chain"


def copy_links(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(COPY, [django.utils.timezone.now()])


def on_postgresql(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:  # no parameters: '%' stays itself
                cursor.execute(sql)

    return run


def add_schedule(apps, schema_editor):
    # Every minute: no event waits longer than that to be chained (a receipt seals at once).
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=SCHEDULE_NAME,
        defaults={"task": "consent.tasks.seal_ledger", "interval": every_minute, "enabled": True},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0014_append_in_one_statement"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.CreateModel(
            name="ConsentSeal",
            fields=[
                (
                    "event",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        primary_key=True,
                        related_name="seal",
                        serialize=False,
                        to="consent.consentevent",
                    ),
                ),
                ("previous_digest", models.CharField(max_length=64)),
                ("digest", models.CharField(max_length=64)),
                ("sealed_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="sealed")),
            ],
            options={"verbose_name": "seal", "verbose_name_plural": "seals", "ordering": ["event"]},
        ),
        migrations.RunPython(copy_links),  # the links stay where the events were: no way back
        migrations.RunPython(on_postgresql(SEALS_APPEND_ONLY), on_postgresql(DROP_SEALS_APPEND_ONLY)),
        migrations.RunPython(on_postgresql(APPEND)),
        migrations.RunPython(on_postgresql(SEAL), on_postgresql(DROP_SEAL)),
        migrations.RemoveField(model_name="consentevent", name="digest"),
        migrations.RemoveField(model_name="consentevent", name="previous_digest"),
        migrations.RunPython(add_schedule, remove_schedule),
    ]
