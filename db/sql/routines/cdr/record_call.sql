-- cdr.record_call(p_cdr jsonb) -> bigint
--
-- Store one call detail record written by the controller and return its cdr.call id.
-- Idempotent on the call uuid: a second call with the same uuid (a spool replay, a duplicated
-- CHANNEL_HANGUP_COMPLETE) changes nothing and returns the existing id.
-- Document (controller/cdr_record.py):
--   {"uuid", "domain", "caller_number", "caller_name", "destination",
--    "route": {"kind", "number_id", "group_id", "rule_id"},
--    "answered_by": {"target", "device_id"} | null,
--    "start_at", "answer_at", "end_at" (ISO 8601 with offset), "billsec", "duration",
--    "hangup_cause", "disposition" (answered|no_answer|busy|failed|abandoned), "plan",
--    "legs": [{"seq", "step", "target", "device_id", "outcome", "cause",
--              "started_at", "answered_at", "ended_at"}]}
-- Inconsistent clocks are repaired, not refused (a CDR must not be lost): end before start
-- becomes end = start, billsec is capped at duration, an answer before start moves to start.
-- A document that cannot be stored raises HMC01 naming the field and the value.
CREATE OR REPLACE FUNCTION cdr.record_call(p_cdr jsonb)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = cdr, pg_temp
AS $$
DECLARE
    v_uuid        uuid;
    v_id          bigint;
    v_domain_id   bigint;
    v_start       timestamptz;
    v_answer      timestamptz;
    v_end         timestamptz;
    v_duration    integer;
    v_billsec     integer;
    v_disposition cdr.disposition;
    v_field       text;
    v_value       text;
BEGIN
    IF p_cdr IS NULL OR jsonb_typeof(p_cdr) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'cdr.record_call: p_cdr must be a JSON object, got %',
            coalesce(jsonb_typeof(p_cdr), 'NULL') USING ERRCODE = 'HMC01';
    END IF;

    v_field := 'uuid';
    v_value := p_cdr ->> 'uuid';
    IF v_value IS NULL OR v_value !~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' THEN
        RAISE EXCEPTION 'cdr.record_call: uuid = % is not a UUID', coalesce(quote_literal(v_value), 'NULL')
            USING ERRCODE = 'HMC01';
    END IF;
    v_uuid := v_value::uuid;

    SELECT c.id INTO v_id FROM cdr.call c WHERE c.call_uuid = v_uuid;
    IF FOUND THEN
        RETURN v_id;
    END IF;

    v_value := p_cdr ->> 'disposition';
    IF v_value IS NULL OR NOT v_value = ANY (enum_range(NULL::cdr.disposition)::text[]) THEN
        RAISE EXCEPTION 'cdr.record_call: disposition = % is not one of %',
            coalesce(quote_literal(v_value), 'NULL'), enum_range(NULL::cdr.disposition)
            USING ERRCODE = 'HMC01';
    END IF;
    v_disposition := v_value::cdr.disposition;

    BEGIN
        v_field := 'start_at';
        v_start := (p_cdr ->> 'start_at')::timestamptz;
        v_field := 'end_at';
        v_end := (p_cdr ->> 'end_at')::timestamptz;
        v_field := 'answer_at';
        v_answer := (p_cdr ->> 'answer_at')::timestamptz;
        v_field := 'duration';
        v_duration := coalesce((p_cdr ->> 'duration')::integer, 0);
        v_field := 'billsec';
        v_billsec := coalesce((p_cdr ->> 'billsec')::integer, 0);
    EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR invalid_text_representation
                   OR numeric_value_out_of_range THEN
        RAISE EXCEPTION 'cdr.record_call: % = % is malformed', v_field, quote_literal(p_cdr ->> v_field)
            USING ERRCODE = 'HMC01';
    END;
    IF v_start IS NULL OR v_end IS NULL THEN
        RAISE EXCEPTION 'cdr.record_call: start_at and end_at are required (got %, %)',
            coalesce(p_cdr ->> 'start_at', 'NULL'), coalesce(p_cdr ->> 'end_at', 'NULL')
            USING ERRCODE = 'HMC01';
    END IF;
    IF p_cdr -> 'legs' IS NOT NULL AND jsonb_typeof(p_cdr -> 'legs') NOT IN ('array', 'null') THEN
        RAISE EXCEPTION 'cdr.record_call: legs must be an array, got %', jsonb_typeof(p_cdr -> 'legs')
            USING ERRCODE = 'HMC01';
    END IF;

    -- Clock repairs (FreeSWITCH and controller clocks may disagree by a little).
    v_end := greatest(v_end, v_start);
    IF v_answer IS NOT NULL THEN
        v_answer := least(greatest(v_answer, v_start), v_end);
    END IF;
    v_duration := greatest(v_duration, 0);
    v_billsec := CASE WHEN v_answer IS NULL THEN 0 ELSE least(greatest(v_billsec, 0), v_duration) END;

    SELECT d.id INTO v_domain_id FROM cfg.domain d WHERE d.name = lower(p_cdr ->> 'domain');

    BEGIN
        INSERT INTO cdr.call AS c (
            domain_id, call_uuid, caller_number, caller_name, destination,
            route_kind, route_number_id, route_group_id, route_rule_id,
            answered_by_target, answered_by_device_id,
            start_at, answer_at, end_at, billsec, duration, hangup_cause, disposition, plan)
        VALUES (
            v_domain_id, v_uuid,
            left(p_cdr ->> 'caller_number', 32),
            left(regexp_replace(p_cdr ->> 'caller_name', '[[:cntrl:]]', '', 'g'), 80),
            left(p_cdr ->> 'destination', 64),
            p_cdr #>> '{route,kind}',
            (p_cdr #>> '{route,number_id}')::bigint,
            (p_cdr #>> '{route,group_id}')::bigint,
            (p_cdr #>> '{route,rule_id}')::bigint,
            p_cdr #>> '{answered_by,target}',
            (p_cdr #>> '{answered_by,device_id}')::bigint,
            v_start, v_answer, v_end, v_billsec, v_duration,
            nullif(upper(p_cdr ->> 'hangup_cause'), ''),
            v_disposition,
            CASE WHEN jsonb_typeof(p_cdr -> 'plan') = 'object' THEN p_cdr -> 'plan' END)
        ON CONFLICT (call_uuid) DO NOTHING
        RETURNING c.id INTO v_id;

        IF v_id IS NULL THEN  -- a concurrent writer stored the same call first
            SELECT c.id INTO v_id FROM cdr.call c WHERE c.call_uuid = v_uuid;
            RETURN v_id;
        END IF;

        INSERT INTO cdr.call_leg (
            call_id, seq, domain_id, step, target, device_id, outcome, cause,
            started_at, answered_at, ended_at)
        SELECT v_id,
               coalesce((l.leg ->> 'seq')::integer, l.ord::integer),
               v_domain_id,
               coalesce((l.leg ->> 'step')::integer, 0),
               l.leg ->> 'target',
               (l.leg ->> 'device_id')::bigint,
               (l.leg ->> 'outcome')::cdr.leg_outcome,
               nullif(l.leg ->> 'cause', ''),
               (l.leg ->> 'started_at')::timestamptz,
               (l.leg ->> 'answered_at')::timestamptz,
               (l.leg ->> 'ended_at')::timestamptz
          FROM jsonb_array_elements(coalesce(p_cdr -> 'legs', '[]'::jsonb)) WITH ORDINALITY AS l (leg, ord);
    EXCEPTION
        WHEN check_violation OR not_null_violation OR invalid_text_representation
             OR invalid_datetime_format OR datetime_field_overflow OR numeric_value_out_of_range
             OR unique_violation THEN
            RAISE EXCEPTION 'cdr.record_call: call % cannot be stored: %', v_uuid, SQLERRM
                USING ERRCODE = 'HMC01';
    END;

    -- BILLING HOOK: charges are computed here, in the same transaction as the CDR, exactly once
    -- per call (a replayed CDR returned above). billing.charge_call(p_call_id bigint) is provided
    -- by the billing schema; until it exists this is a no-op. A billing failure must never lose
    -- the CDR: it is reported as a WARNING and the call stays uncharged (charge_call is
    -- idempotent and can be run again for it).
    IF to_regprocedure('billing.charge_call(bigint)') IS NOT NULL THEN
        BEGIN
            EXECUTE 'SELECT billing.charge_call($1)' USING v_id;
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'cdr.record_call: billing.charge_call(%) failed for call %: % (SQLSTATE %)',
                v_id, v_uuid, SQLERRM, SQLSTATE;
        END;
    END IF;

    RETURN v_id;
END
$$;

REVOKE ALL ON FUNCTION cdr.record_call(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cdr.record_call(jsonb) TO huntsman_controller;
COMMENT ON FUNCTION cdr.record_call(jsonb) IS
    'Store one controller CDR (call + legs) and return cdr.call.id; idempotent on the call uuid; raises HMC01 for a document it cannot store; billing hook: calls billing.charge_call(id) when it exists (a billing failure is a WARNING, never a lost CDR).';
