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
BEGIN
    RETURN queue.move_agent(p_agent_id, '{available,reserved,on_call,wrap_up,on_break}', 'logged_out', NULL,
                             p_now, 'queue.logout_agent');
END
$$;

COMMENT ON FUNCTION queue.logout_agent(bigint, timestamptz) IS
    'Logs an agent out at once (drops a reservation; a call in progress is not wrapped up).';
REVOKE ALL ON FUNCTION queue.logout_agent(bigint, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue.logout_agent(bigint, timestamptz) TO huntsman_console;
