-- queue.set_break(p_agent_id, p_on_break, p_reason, p_now) -> jsonb {"agent_id", "state", "changed"}
--
-- Contract: p_on_break = true puts a logged-in agent on break (a reservation is dropped; a
-- call in progress goes on, and the agent is not wrapped up afterwards); p_on_break = false
-- makes an agent on break available (idle since p_now, no-answer count reset). A logged-out
-- agent stays logged out (changed = false). Unknown agent: P0002.
CREATE OR REPLACE FUNCTION queue.set_break(
    p_agent_id bigint,
    p_on_break boolean,
    p_reason text,
    p_now timestamptz
) RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = queue, pg_temp
AS $$
DECLARE
    v_state queue.agent_state;
BEGIN
    IF p_now IS NULL OR p_on_break IS NULL THEN
        RAISE EXCEPTION 'queue.set_break: p_on_break and p_now must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT a.state INTO v_state FROM queue.agent a WHERE a.id = p_agent_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'queue.set_break: agent % does not exist', p_agent_id USING ERRCODE = 'no_data_found';
    END IF;
    IF v_state = 'logged_out' OR (v_state = 'on_break') = p_on_break THEN
        RETURN jsonb_build_object('agent_id', p_agent_id, 'state', v_state, 'changed', false);
    END IF;
    IF p_on_break THEN
        UPDATE queue.agent
           SET state = 'on_break', state_since = p_now, reserved_for = NULL, reserved_until = NULL,
               reserved_by = NULL, current_call = NULL, wrap_up_until = NULL,
               break_reason = left(regexp_replace(coalesce(p_reason, ''), '[[:cntrl:]]', '', 'g'), 80)
         WHERE id = p_agent_id;
        RETURN jsonb_build_object('agent_id', p_agent_id, 'state', 'on_break', 'changed', true);
    END IF;
    UPDATE queue.agent
       SET state = 'available', idle_since = p_now, state_since = p_now, no_answer_count = 0,
           break_reason = NULL
     WHERE id = p_agent_id;
    RETURN jsonb_build_object('agent_id', p_agent_id, 'state', 'available', 'changed', true);
END
$$;

COMMENT ON FUNCTION queue.set_break(bigint, boolean, text, timestamptz) IS
    'Puts a logged-in agent on break, or back to available.';
REVOKE ALL ON FUNCTION queue.set_break(bigint, boolean, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue.set_break(bigint, boolean, text, timestamptz) TO huntsman_console;
