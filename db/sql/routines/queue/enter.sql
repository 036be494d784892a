-- queue.enter(p_call_uuid, p_queue_id, p_priority, p_now, p_controller) -> jsonb
--
-- Contract: a call joins a queue (idempotent on p_call_uuid: entering again keeps its place).
-- Returns what the executor needs for the whole queue step:
--   {"action": "wait", "queue": {settings}, "position": n, "estimated_wait": s|null,
--    "overflow": <plan step>}
-- or, without queueing the call,
--   {"action": "overflow", "reason": "queue_not_found|queue_disabled|no_agents_logged_in",
--    "step": <plan step>}
-- p_priority NULL = the queue's default_priority (higher is served first).
-- p_controller names the controller instance (recorded on the caller and its reservations).
CREATE OR REPLACE FUNCTION queue.enter(
    p_call_uuid uuid,
    p_queue_id bigint,
    p_priority integer,
    p_now timestamptz,
    p_controller text DEFAULT NULL
) RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = queue, pg_temp
AS $$
DECLARE
    q          queue.queue%ROWTYPE;
    v_position integer;
    v_avg      numeric;
    v_answered bigint;
BEGIN
    IF p_call_uuid IS NULL OR p_now IS NULL THEN
        RAISE EXCEPTION 'queue.enter: p_call_uuid and p_now must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO q FROM queue.queue WHERE id = p_queue_id;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('action', 'overflow', 'reason', 'queue_not_found',
            'step', jsonb_build_object('type', 'hangup', 'cause', 'UNALLOCATED_NUMBER'));
    END IF;
    IF NOT q.enabled THEN
        RETURN jsonb_build_object('action', 'overflow', 'reason', 'queue_disabled',
            'step', queue.overflow_step(q.id));
    END IF;
    IF q.no_agent_action = 'overflow' AND NOT EXISTS (
        SELECT 1 FROM queue.member m JOIN queue.agent a ON a.id = m.agent_id
         WHERE m.queue_id = q.id AND a.state <> 'logged_out')
    THEN
        DELETE FROM queue.caller WHERE call_uuid = p_call_uuid;
        RETURN jsonb_build_object('action', 'overflow', 'reason', 'no_agents_logged_in',
            'step', queue.overflow_step(q.id));
    END IF;

    -- waves keep their numbers if the call comes back after its row was dropped (lease)
    INSERT INTO queue.caller AS c (call_uuid, domain_id, queue_id, priority, joined_at, state,
                                   controller_id, lease_until, waves)
    VALUES (p_call_uuid, q.domain_id, q.id,
            greatest(-100, least(100, coalesce(p_priority, q.default_priority))), p_now, 'waiting',
            left(p_controller, 128), p_now + make_interval(secs => q.lease_seconds),
            (SELECT coalesce(max(w.number), 0) FROM queue.wave w WHERE w.call_uuid = p_call_uuid))
    ON CONFLICT (call_uuid) DO UPDATE
        SET lease_until = excluded.lease_until,
            controller_id = coalesce(excluded.controller_id, c.controller_id)
        WHERE c.queue_id = excluded.queue_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'queue.enter: call % is already queued in another queue', p_call_uuid
            USING ERRCODE = 'unique_violation';
    END IF;

    v_position := queue.caller_position(p_call_uuid);
    SELECT s.avg_answer_seconds, s.answered_calls INTO v_avg, v_answered
      FROM queue.queue_state s WHERE s.queue_id = q.id;

    RETURN jsonb_build_object(
        'action', 'wait',
        'position', v_position,
        'estimated_wait', CASE WHEN coalesce(v_answered, 0) > 0 THEN round(v_avg * v_position)::integer END,
        'overflow', queue.overflow_step(q.id),
        'queue', jsonb_build_object(
            'id', q.id,
            'name', q.name,
            'ring_seconds', q.wave_ring_seconds,
            'progressive', q.progressive,
            'max_wait_seconds', q.max_wait_seconds,
            'lease_seconds', q.lease_seconds,
            'hold_mode', q.hold_mode,
            'hold_music', q.hold_music,
            'announce_position', q.announce_position,
            'announce_wait', q.announce_wait,
            'announce_interval_seconds', q.announce_interval_seconds));
END
$$;

COMMENT ON FUNCTION queue.enter(uuid, bigint, integer, timestamptz, text) IS
    'A call joins a queue (idempotent); returns the queue settings, its position and the overflow step, or an immediate overflow.';
REVOKE ALL ON FUNCTION queue.enter(uuid, bigint, integer, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue.enter(uuid, bigint, integer, timestamptz, text) TO huntsman_controller;
