"""On PostgreSQL an append to the ledger is one statement: `consent_append` takes the ledger's
lock, reads the last digest, computes the new event's digest in the canonical form of
consent/chain.py (which verifies it), inserts the event and moves the subject's state. One round
trip instead of a dozen: bench/README.md, "consent". consent.services.record_consent uses it for
events that happen now; imports of earlier events, and SQLite, take the Python path."""

from django.db import migrations

CREATE = """
CREATE FUNCTION consent_append(
    p_email text, p_subject uuid, p_purpose bigint, p_slug text, p_action text, p_channel text,
    p_actor integer, p_language text
) RETURNS TABLE (r_event bigint, r_subject uuid, r_version bigint, r_occurred timestamptz,
                 r_previous text, r_digest text)
LANGUAGE plpgsql AS $$
DECLARE
    v_version bigint; v_number integer; v_subject uuid := p_subject; v_previous text;
    v_at timestamptz; v_digest text; v_id bigint;
BEGIN
    SELECT v.id, v.number INTO v_version, v_number FROM consent_purposeversion v
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
    -- One append at a time from here to the commit; each statement below sees what the appends
    -- before it committed (a new snapshot per statement, after the lock is held).
    PERFORM pg_advisory_xact_lock(7301512);
    SELECT e.digest INTO v_previous FROM consent_consentevent e ORDER BY e.id DESC LIMIT 1;
    v_previous := coalesce(v_previous, repeat('0', 64));
    v_at := clock_timestamp();
    v_digest := encode(sha256(convert_to(
        '{"action":' || to_json(p_action)
        || ',"actor":' || to_json(coalesce(p_actor::text, ''))
        || ',"channel":' || to_json(p_channel)
        || ',"occurred_at":"' || to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00"'
        || ',"previous":' || to_json(v_previous)
        || ',"purpose":' || to_json(p_slug)
        || ',"subject":' || to_json(v_subject::text)
        || ',"version":' || to_json(v_number::text) || '}', 'UTF8')), 'hex');
    INSERT INTO consent_consentevent
        (subject_id, purpose_id, version_id, action, channel, occurred_at, actor_id, previous_digest, digest)
        VALUES (v_subject, p_purpose, v_version, p_action, p_channel, v_at, p_actor, v_previous, v_digest)
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
    RETURN QUERY SELECT v_id, v_subject, v_version, v_at, v_previous, v_digest;
END
$$;
"""
DROP = "DROP FUNCTION IF EXISTS consent_append(text, uuid, bigint, text, text, text, integer, text);"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("consent", "0013_renewal_schedule")]

    operations = [migrations.RunPython(create, drop)]
