-- queue.login_agent(p_agent_id, p_now) -> jsonb {"agent_id", "state", "changed"}
--
-- Contract: a logged-out or on-break agent becomes available (idle since p_now, no-answer
-- count reset). An agent already logged in (available, reserved, on_call, wrap_up) is left
-- as it is (changed = false). Unknown agent: SQLSTATE P0002 (no_data_found).
CREATE OR REPLACE FUNCTION queue.login_agent(p_agent_id bigint, p_now timestamptz)
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
        RAISE EXCEPTION 'queue.login_agent: p_now must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT a.state INTO v_state FROM queue.agent a WHERE a.id = p_agent_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'queue.login_agent: agent % does not exist', p_agent_id USING ERRCODE = 'no_data_found';
    END IF;
    IF v_state NOT IN ('logged_out', 'on_break') THEN
        RETURN jsonb_build_object('agent_id', p_agent_id, 'state', v_state, 'changed', false);
    END IF;
    UPDATE queue.agent
       SET state = 'available', idle_since = p_now, state_since = p_now, no_answer_count = 0,
           break_reason = NULL
     WHERE id = p_agent_id;
    RETURN jsonb_build_object('agent_id', p_agent_id, 'state', 'available', 'changed', true);
END
$$;

COMMENT ON FUNCTION queue.login_agent(bigint, timestamptz) IS
    'Logs an agent in (available, idle since p_now); no-op when already logged in.';
REVOKE ALL ON FUNCTION queue.login_agent(bigint, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue.login_agent(bigint, timestamptz) TO huntsman_console;
