-- queue.move_agent(p_agent_id, p_from, p_to, p_reason, p_now, p_caller) -> jsonb
--     {"agent_id", "state", "changed"}
--
-- Contract (internal to login_agent, logout_agent and set_break): locks the agent's row and,
-- when its state is one of p_from, moves it to p_to at p_now (changed = true); otherwise leaves
-- it as it is (changed = false, its current state). What each target state means:
--   available  idle since p_now, no-answer count reset, no break reason;
--   on_break   a reservation is dropped (the caller's wave_result closes the ringing leg); a
--              call in progress goes on and is not wrapped up afterwards; the break reason is
--              p_reason without control characters, at most 80 characters;
--   logged_out the same, without a break reason.
-- Errors name p_caller: p_now NULL (22004 null_value_not_allowed), unknown agent (P0002).
CREATE OR REPLACE FUNCTION queue.move_agent(
    p_agent_id bigint,
    p_from queue.agent_state[],
    p_to queue.agent_state,
    p_reason text,
    p_now timestamptz,
    p_caller text
) RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = queue, pg_temp
AS $$
DECLARE
    v_state queue.agent_state;
    v_away  boolean := p_to IN ('on_break', 'logged_out');
BEGIN
    IF p_now IS NULL THEN
        RAISE EXCEPTION '%: p_now must not be NULL', p_caller USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT a.state INTO v_state FROM queue.agent a WHERE a.id = p_agent_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION '%: agent % does not exist', p_caller, p_agent_id USING ERRCODE = 'no_data_found';
    END IF;
    IF NOT v_state = ANY (p_from) THEN
        RETURN jsonb_build_object('agent_id', p_agent_id, 'state', v_state, 'changed', false);
    END IF;
    UPDATE queue.agent a
       SET state = p_to,
           state_since = p_now,
           idle_since = CASE WHEN p_to = 'available' THEN p_now ELSE a.idle_since END,
           no_answer_count = CASE WHEN p_to = 'available' THEN 0 ELSE a.no_answer_count END,
           reserved_for = CASE WHEN v_away THEN NULL ELSE a.reserved_for END,
           reserved_until = CASE WHEN v_away THEN NULL ELSE a.reserved_until END,
           reserved_by = CASE WHEN v_away THEN NULL ELSE a.reserved_by END,
           current_call = CASE WHEN v_away THEN NULL ELSE a.current_call END,
           wrap_up_until = CASE WHEN v_away THEN NULL ELSE a.wrap_up_until END,
           break_reason = CASE WHEN p_to = 'on_break'
                               THEN left(regexp_replace(coalesce(p_reason, ''), '[[:cntrl:]]', '', 'g'), 80) END
     WHERE a.id = p_agent_id;
    RETURN jsonb_build_object('agent_id', p_agent_id, 'state', p_to, 'changed', true);
END
$$;

REVOKE ALL ON FUNCTION queue.move_agent(bigint, queue.agent_state[], queue.agent_state, text, timestamptz, text) FROM PUBLIC;
COMMENT ON FUNCTION queue.move_agent(bigint, queue.agent_state[], queue.agent_state, text, timestamptz, text) IS
    'Internal to login_agent/logout_agent/set_break: lock an agent and move it between states.';
