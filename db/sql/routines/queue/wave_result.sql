-- queue.wave_result(p_call_uuid, p_wave, p_answered_agent, p_outcomes, p_now) -> jsonb
--
-- Contract: the executor reports how the bridge of a wave ended (idempotent: agents no longer
-- reserved for this call are left alone).
-- * p_answered_agent (NULL = nobody answered) goes on_call with this call, whatever its state
--   (it is talking to the caller); its no-answer count is reset; the caller becomes 'bridged';
--   the queue remembers it (rotation) and its time to answer (estimated wait).
-- * Every other agent still reserved for this call is released with an outcome:
--   p_outcomes->>'<agent_id>', else p_outcomes->>'default', else 'no_answer' when nobody
--   answered, 'lose_race' when somebody else did. Outcomes: no_answer | busy | failed |
--   lose_race | cancelled. Only 'no_answer' counts against the agent: after the queue's
--   max_no_answer consecutive ones the agent goes on_break (break_reason 'no_answer');
--   otherwise it is available again (its idle time keeps running).
-- * The call's open waves and their legs are closed with their outcome; an unanswered caller
--   is 'waiting' again (its lease renewed).
-- p_wave is the last wave number of the bridge (informational: all open waves are closed).
-- Returns {"answered_agent_id", "released": n, "on_break": [agent ids]}.
CREATE OR REPLACE FUNCTION queue.wave_result(
    p_call_uuid uuid,
    p_wave integer,
    p_answered_agent bigint,
    p_outcomes jsonb,
    p_now timestamptz
) RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = queue, pg_temp
AS $$
DECLARE
    c          queue.caller%ROWTYPE;
    q          queue.queue%ROWTYPE;
    v_default  text;
    v_released integer := 0;
    v_breaks   bigint[] := '{}';
    v_wait     numeric;
    v_allowed  CONSTANT text[] := ARRAY['no_answer', 'busy', 'failed', 'lose_race', 'cancelled'];
BEGIN
    IF p_call_uuid IS NULL OR p_now IS NULL THEN
        RAISE EXCEPTION 'queue.wave_result: p_call_uuid and p_now must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF p_outcomes IS NOT NULL AND jsonb_typeof(p_outcomes) <> 'object' THEN
        RAISE EXCEPTION 'queue.wave_result: p_outcomes must be a JSON object, got %', jsonb_typeof(p_outcomes)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO c FROM queue.caller WHERE call_uuid = p_call_uuid FOR UPDATE;
    SELECT * INTO q FROM queue.queue
     WHERE id = coalesce(c.queue_id, (SELECT w.queue_id FROM queue.wave w
                                       WHERE w.call_uuid = p_call_uuid ORDER BY w.number DESC LIMIT 1));
    v_default := coalesce(p_outcomes ->> 'default',
                          CASE WHEN p_answered_agent IS NULL THEN 'no_answer' ELSE 'lose_race' END);
    IF NOT v_default = ANY (v_allowed) THEN
        RAISE EXCEPTION 'queue.wave_result: unknown outcome %', v_default USING ERRCODE = 'invalid_parameter_value';
    END IF;

    IF p_answered_agent IS NOT NULL THEN
        UPDATE queue.agent
           SET state = 'on_call', current_call = p_call_uuid, reserved_for = NULL,
               reserved_until = NULL, reserved_by = NULL, wrap_up_until = NULL,
               last_answered_at = p_now, no_answer_count = 0, state_since = p_now,
               break_reason = NULL
         WHERE id = p_answered_agent;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'queue.wave_result: agent % does not exist', p_answered_agent
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        UPDATE queue.wave_leg SET outcome = 'answered', answered_at = p_now
         WHERE call_uuid = p_call_uuid AND agent_id = p_answered_agent AND outcome = 'ringing';
        IF c.call_uuid IS NOT NULL THEN
            UPDATE queue.caller SET state = 'bridged', answered_agent_id = p_answered_agent, answered_at = p_now
             WHERE call_uuid = p_call_uuid;
            v_wait := greatest(0, extract(epoch FROM p_now - c.joined_at));
            INSERT INTO queue.queue_state AS s (queue_id, domain_id, last_answered_agent_id,
                                                answered_calls, avg_answer_seconds, updated_at)
            VALUES (q.id, q.domain_id, p_answered_agent, 1, v_wait, p_now)
            ON CONFLICT (queue_id) DO UPDATE
               SET last_answered_agent_id = excluded.last_answered_agent_id,
                   answered_calls = s.answered_calls + 1,
                   avg_answer_seconds = s.avg_answer_seconds + (v_wait - s.avg_answer_seconds) * 0.2,
                   updated_at = p_now;
        END IF;
    END IF;

    IF EXISTS (SELECT 1 FROM jsonb_each_text(coalesce(p_outcomes, '{}')) e
                WHERE e.key <> 'default' AND NOT e.value = ANY (v_allowed)) THEN
        RAISE EXCEPTION 'queue.wave_result: unknown outcome in %', p_outcomes
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- every other agent still reserved for this call, in one statement (set-based)
    WITH losers AS (
        SELECT a.id, coalesce(p_outcomes ->> a.id::text, v_default) AS outcome,
               coalesce(p_outcomes ->> a.id::text, v_default) = 'no_answer'
                   AND q.max_no_answer > 0 AND a.no_answer_count + 1 >= q.max_no_answer AS to_break
          FROM queue.agent a
         WHERE a.reserved_for = p_call_uuid AND a.state = 'reserved'
           AND a.id IS DISTINCT FROM p_answered_agent
         ORDER BY a.id
           FOR UPDATE
    ), released AS (
        UPDATE queue.agent a
           SET state = CASE WHEN l.to_break THEN 'on_break' ELSE 'available' END::queue.agent_state,
               break_reason = CASE WHEN l.to_break THEN 'no_answer' ELSE a.break_reason END,
               no_answer_count = a.no_answer_count + CASE WHEN l.outcome = 'no_answer' THEN 1 ELSE 0 END,
               reserved_for = NULL, reserved_until = NULL, reserved_by = NULL, state_since = p_now,
               idle_since = coalesce(a.idle_since, p_now)
          FROM losers l
         WHERE a.id = l.id
        RETURNING a.id, l.outcome, l.to_break
    ), legs AS (
        UPDATE queue.wave_leg wl SET outcome = r.outcome
          FROM released r
         WHERE wl.call_uuid = p_call_uuid AND wl.agent_id = r.id AND wl.outcome = 'ringing'
    )
    SELECT count(*)::integer, coalesce(array_agg(r.id ORDER BY r.id) FILTER (WHERE r.to_break), '{}')
      INTO v_released, v_breaks
      FROM released r;

    -- legs of agents released meanwhile by someone else (logout, lease): close them too
    UPDATE queue.wave_leg SET outcome = v_default
     WHERE call_uuid = p_call_uuid AND outcome = 'ringing';

    UPDATE queue.wave w
       SET ended_at = p_now,
           answered_agent_id = CASE WHEN EXISTS (
                   SELECT 1 FROM queue.wave_leg l WHERE l.wave_id = w.id AND l.agent_id = p_answered_agent)
               THEN p_answered_agent END,
           outcome = CASE
               WHEN EXISTS (SELECT 1 FROM queue.wave_leg l
                             WHERE l.wave_id = w.id AND l.agent_id = p_answered_agent) THEN 'answered'
               WHEN v_default = 'cancelled' THEN 'cancelled'
               ELSE 'no_answer' END
     WHERE w.call_uuid = p_call_uuid AND w.ended_at IS NULL;

    IF p_answered_agent IS NULL AND c.call_uuid IS NOT NULL AND c.state = 'ringing' THEN
        UPDATE queue.caller SET state = 'waiting', lease_until = p_now + make_interval(secs => q.lease_seconds)
         WHERE call_uuid = p_call_uuid;
    END IF;

    RETURN jsonb_build_object('answered_agent_id', p_answered_agent, 'released', v_released,
                              'on_break', to_jsonb(v_breaks), 'wave', p_wave);
END
$$;

COMMENT ON FUNCTION queue.wave_result(uuid, integer, bigint, jsonb, timestamptz) IS
    'Reports how a wave ended: the answering agent goes on_call, the others are released (no-answers counted, auto-break).';
REVOKE ALL ON FUNCTION queue.wave_result(uuid, integer, bigint, jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue.wave_result(uuid, integer, bigint, jsonb, timestamptz) TO huntsman_controller;
