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
BEGIN
    RETURN queue.move_agent(p_agent_id, '{logged_out,on_break}', 'available', NULL, p_now, 'queue.login_agent');
END
$$;

COMMENT ON FUNCTION queue.login_agent(bigint, timestamptz) IS
    'Logs an agent in (available, idle since p_now); no-op when already logged in.';
REVOKE ALL ON FUNCTION queue.login_agent(bigint, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue.login_agent(bigint, timestamptz) TO huntsman_console;
