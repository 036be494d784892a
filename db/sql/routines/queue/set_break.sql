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
BEGIN
    IF p_on_break IS NULL THEN
        RAISE EXCEPTION 'queue.set_break: p_on_break must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF p_on_break THEN
        RETURN queue.move_agent(p_agent_id, '{available,reserved,on_call,wrap_up}', 'on_break', p_reason, p_now,
                                'queue.set_break');
    END IF;
    RETURN queue.move_agent(p_agent_id, '{on_break}', 'available', NULL, p_now, 'queue.set_break');
END
$$;

COMMENT ON FUNCTION queue.set_break(bigint, boolean, text, timestamptz) IS
    'Puts a logged-in agent on break, or back to available.';
REVOKE ALL ON FUNCTION queue.set_break(bigint, boolean, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue.set_break(bigint, boolean, text, timestamptz) TO huntsman_console;
