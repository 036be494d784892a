-- queue.caller_position(p_call_uuid) -> integer
--
-- Contract: 1-based position of a queued call among the calls of its queue that wait or ring,
-- in service order (priority, higher first, then arrival, then call uuid); NULL when the call
-- is not queued. Internal helper of enter/next_wave/status (not granted to any role).
CREATE OR REPLACE FUNCTION queue.caller_position(p_call_uuid uuid)
RETURNS integer
LANGUAGE sql
STABLE
SET search_path = queue, pg_temp
AS $$
    SELECT 1 + (
        SELECT count(*)::integer
          FROM queue.caller o
         WHERE o.queue_id = c.queue_id
           AND o.state IN ('waiting', 'ringing')
           AND (o.priority > c.priority
                OR (o.priority = c.priority AND (o.joined_at, o.call_uuid) < (c.joined_at, c.call_uuid))))
      FROM queue.caller c
     WHERE c.call_uuid = p_call_uuid
$$;

COMMENT ON FUNCTION queue.caller_position(uuid) IS
    'Position (1 = next to be served) of a queued call: priority first, then arrival.';
REVOKE ALL ON FUNCTION queue.caller_position(uuid) FROM PUBLIC;
