-- queue.call_ended(p_call_uuid, p_now) -> jsonb
--
-- Contract: the queued call is over (hung up, bridged call finished, overflowed). Idempotent.
-- * agents still reserved for it are released (outcome 'cancelled', not blamed);
-- * the agent that talked to it goes to wrap_up for the agent's (else the queue's)
--   wrap_up_seconds, then becomes available (queue.tick / next_wave do that at the due time);
--   with 0 seconds it is available at once;
-- * open waves are closed and the caller row is removed (waves stay, for the CDR).
-- Returns {"wrap_up": [agent ids], "released": n, "removed": bool}.
CREATE OR REPLACE FUNCTION queue.call_ended(p_call_uuid uuid, p_now timestamptz)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = queue, pg_temp
AS $$
DECLARE
    v_queue_id bigint;
    v_default  integer;
    v_released integer := 0;
    v_wrapped  bigint[];
    v_removed  boolean;
BEGIN
    IF p_call_uuid IS NULL OR p_now IS NULL THEN
        RAISE EXCEPTION 'queue.call_ended: p_call_uuid and p_now must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT c.queue_id INTO v_queue_id FROM queue.caller c WHERE c.call_uuid = p_call_uuid FOR UPDATE;
    v_removed := FOUND;
    IF NOT v_removed THEN
        SELECT w.queue_id INTO v_queue_id FROM queue.wave w
         WHERE w.call_uuid = p_call_uuid ORDER BY w.number DESC LIMIT 1;
    END IF;

    IF EXISTS (SELECT 1 FROM queue.agent a WHERE a.reserved_for = p_call_uuid AND a.state = 'reserved')
       OR EXISTS (SELECT 1 FROM queue.wave w WHERE w.call_uuid = p_call_uuid AND w.ended_at IS NULL) THEN
        v_released := (queue.wave_result(p_call_uuid, NULL, NULL, '{"default": "cancelled"}', p_now) ->> 'released')::integer;
    END IF;

    SELECT q.wrap_up_seconds INTO v_default FROM queue.queue q WHERE q.id = v_queue_id;
    WITH done AS (
        UPDATE queue.agent a
           SET state = CASE WHEN coalesce(a.wrap_up_seconds, v_default, 0) = 0
                            THEN 'available' ELSE 'wrap_up' END::queue.agent_state,
               wrap_up_until = CASE WHEN coalesce(a.wrap_up_seconds, v_default, 0) = 0 THEN NULL
                                    ELSE p_now + make_interval(secs => coalesce(a.wrap_up_seconds, v_default)) END,
               idle_since = CASE WHEN coalesce(a.wrap_up_seconds, v_default, 0) = 0 THEN p_now
                                 ELSE a.idle_since END,
               current_call = NULL,
               state_since = p_now
         WHERE a.current_call = p_call_uuid AND a.state = 'on_call'
        RETURNING a.id
    )
    SELECT coalesce(array_agg(done.id ORDER BY done.id), '{}') INTO v_wrapped FROM done;

    DELETE FROM queue.caller WHERE call_uuid = p_call_uuid;

    RETURN jsonb_build_object('wrap_up', to_jsonb(v_wrapped), 'released', v_released, 'removed', v_removed);
END
$$;

COMMENT ON FUNCTION queue.call_ended(uuid, timestamptz) IS
    'A queued call ended: release its reservations, put its agent in wrap-up, remove the caller row (idempotent).';
REVOKE ALL ON FUNCTION queue.call_ended(uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue.call_ended(uuid, timestamptz) TO huntsman_controller;
