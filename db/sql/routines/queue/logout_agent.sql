-- queue.logout_agent(p_agent_id, p_now) -> jsonb {"agent_id", "state", "changed"}
--
-- Contract: the agent is logged out at once, whatever it was doing: a reservation is dropped
-- (its ringing leg is closed by the caller's wave_result; if the agent answers anyway it is
-- put on the call), a call in progress is not wrapped up afterwards. Unknown agent: P0002.
CREATE OR REPLACE FUNCTION queue.logout_agent(p_agent_id bigint, p_now timestamptz)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = queue, pg_temp
AS $$
DECLARE
    v_state queue.agent_state;
BEGIN
    IF p_now IS NULL THEN
        RAISE EXCEPTION 'queue.logout_agent: p_now must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT a.state INTO v_state FROM queue.agent a WHERE a.id = p_agent_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'queue.logout_agent: agent % does not exist', p_agent_id USING ERRCODE = 'no_data_found';
    END IF;
    IF v_state = 'logged_out' THEN
        RETURN jsonb_build_object('agent_id', p_agent_id, 'state', v_state, 'changed', false);
    END IF;
    UPDATE queue.agent
       SET state = 'logged_out', state_since = p_now, reserved_for = NULL, reserved_until = NULL,
           reserved_by = NULL, current_call = NULL, wrap_up_until = NULL, break_reason = NULL
     WHERE id = p_agent_id;
    RETURN jsonb_build_object('agent_id', p_agent_id, 'state', 'logged_out', 'changed', true);
END
$$;

COMMENT ON FUNCTION queue.logout_agent(bigint, timestamptz) IS
    'Logs an agent out at once (drops a reservation; a call in progress is not wrapped up).';
REVOKE ALL ON FUNCTION queue.logout_agent(bigint, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue.logout_agent(bigint, timestamptz) TO huntsman_console;
