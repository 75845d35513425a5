"""The one-statement append refuses a give for an address on the suppression list (issue 13,
point 5: an erasure or an objection to direct marketing is not undone by another system's give
or an import). The caller passes the address's keyed hashes (registers.registry.identity_digests)
where the give may not add it again; the function looks them up before writing anything, in
the same round trip (a query of its own halved the append's rate: bench/README.md, "consent").
"""

import importlib

from django.db import migrations

PREVIOUS = importlib.import_module("consent.migrations.0015_seals_after_commit")

APPEND = """
DROP FUNCTION IF EXISTS consent_append(text, uuid, bigint, text, text, integer, text);
CREATE FUNCTION consent_append(
    p_email text, p_subject uuid, p_purpose bigint, p_action text, p_channel text,
    p_actor integer, p_language text, p_refused text[]
) RETURNS TABLE (r_event bigint, r_subject uuid, r_version bigint, r_occurred timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    v_version bigint; v_subject uuid := p_subject; v_at timestamptz; v_id bigint;
BEGIN
    -- An address on the suppression list (its keyed hashes, given by the caller for a give
    -- that may not add it again) is refused before anything is written.
    IF p_refused IS NOT NULL AND EXISTS (
        SELECT 1 FROM registers_suppressedaddress a WHERE a.digest = ANY (p_refused)
    ) THEN
        RAISE EXCEPTION 'suppressed' USING ERRCODE = 'TCN03';
    END IF;
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

DROP_APPEND = """
DROP FUNCTION IF EXISTS consent_append(text, uuid, bigint, text, text, integer, text, text[]);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0016_state_keeps_only_the_indexes_it_uses"),
        ("registers", "0005_external_register_notice"),
    ]

    operations = [
        migrations.RunPython(
            PREVIOUS.on_postgresql(DROP_APPEND + APPEND), PREVIOUS.on_postgresql(DROP_APPEND + PREVIOUS.APPEND)
        ),
    ]
