-- queue.tick(p_now) -> jsonb {"reservations_released", "wrap_up_ended", "callers_dropped"}
--
-- Contract: housekeeping that makes the live state true again at p_now; safe to call any time,
-- from any number of processes at once (rows locked by someone else are left for the next tick).
-- * callers whose lease ran out (their controller died) are dropped; their open waves and
--   legs are closed as 'expired' and their reserved agents released (not blamed);
-- * reservations whose lease ran out are released (the agent is available again, not blamed);
-- * agents whose wrap-up is over become available (idle since the end of the wrap-up).
-- queue.next_wave calls it first, so the state is right even if nobody runs tick periodically.
CREATE OR REPLACE FUNCTION queue.tick(p_now timestamptz)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = queue, pg_temp
AS $$
DECLARE
    v_dead     uuid[];
    v_released integer := 0;
    v_wrapped  integer := 0;
    v_n        integer;
BEGIN
    IF p_now IS NULL THEN
        RAISE EXCEPTION 'queue.tick: p_now must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;

    WITH dead AS (
        SELECT c.call_uuid
          FROM queue.caller c
         WHERE c.state IN ('waiting', 'ringing') AND c.lease_until <= p_now
           FOR UPDATE SKIP LOCKED
    ), dropped AS (
        DELETE FROM queue.caller c USING dead WHERE c.call_uuid = dead.call_uuid
        RETURNING c.call_uuid
    )
    SELECT coalesce(array_agg(dropped.call_uuid), '{}') INTO v_dead FROM dropped;

    IF cardinality(v_dead) > 0 THEN
        UPDATE queue.wave_leg l SET outcome = 'expired'
          FROM queue.wave w
         WHERE w.id = l.wave_id AND w.call_uuid = ANY (v_dead) AND w.ended_at IS NULL
           AND l.outcome = 'ringing';
        UPDATE queue.wave w SET ended_at = p_now, outcome = 'expired'
         WHERE w.call_uuid = ANY (v_dead) AND w.ended_at IS NULL;
        WITH gone AS (
            SELECT a.id FROM queue.agent a
             WHERE a.reserved_for = ANY (v_dead) AND a.state = 'reserved'
               FOR UPDATE SKIP LOCKED
        )
        UPDATE queue.agent a
           SET state = 'available', reserved_for = NULL, reserved_until = NULL, reserved_by = NULL,
               state_since = p_now, idle_since = coalesce(a.idle_since, p_now)
          FROM gone WHERE a.id = gone.id;
        GET DIAGNOSTICS v_n = ROW_COUNT;
        v_released := v_released + v_n;
    END IF;

    WITH due AS (
        SELECT a.id FROM queue.agent a
         WHERE a.state = 'reserved' AND a.reserved_until <= p_now
           FOR UPDATE SKIP LOCKED
    )
    UPDATE queue.agent a
       SET state = 'available', reserved_for = NULL, reserved_until = NULL, reserved_by = NULL,
           state_since = p_now, idle_since = coalesce(a.idle_since, p_now)
      FROM due WHERE a.id = due.id;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_released := v_released + v_n;

    WITH due AS (
        SELECT a.id FROM queue.agent a
         WHERE a.state = 'wrap_up' AND a.wrap_up_until <= p_now
           FOR UPDATE SKIP LOCKED
    )
    UPDATE queue.agent a
       SET state = 'available', idle_since = a.wrap_up_until, state_since = a.wrap_up_until,
           wrap_up_until = NULL
      FROM due WHERE a.id = due.id;
    GET DIAGNOSTICS v_wrapped = ROW_COUNT;

    RETURN jsonb_build_object(
        'reservations_released', v_released,
        'wrap_up_ended', v_wrapped,
        'callers_dropped', cardinality(v_dead));
END
$$;

COMMENT ON FUNCTION queue.tick(timestamptz) IS
    'Releases expired reservations, ends finished wrap-ups and drops callers whose lease ran out (dead controller).';
REVOKE ALL ON FUNCTION queue.tick(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue.tick(timestamptz) TO huntsman_controller;
