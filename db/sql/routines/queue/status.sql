-- queue.status(p_queue_id, p_now) -> jsonb
--
-- Contract: what a supervisor sees, at p_now (read-only):
--   {"queue": {"id", "name", "extension", "enabled"},
--    "callers": [{"call_uuid", "position", "priority", "state", "joined_at", "waited_seconds",
--                 "waves", "answered_agent_id"}]   (service order),
--    "agents": {"<state>": n, ...},
--    "agent_list": [{"agent_id", "name", "level", "state", "since", "idle_since",
--                    "no_answer_count", "reserved_for", "current_call"}]   (first 500 by state, id),
--    "waves": [{"call_uuid", "number", "started_at", "size", "agents": [ids]}]   (ringing now),
--    "stats": {"answered_calls", "avg_answer_seconds", "last_answered_agent_id"}}
-- Unknown queue: SQLSTATE P0002.
CREATE OR REPLACE FUNCTION queue.status(p_queue_id bigint, p_now timestamptz)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = queue, pg_temp
AS $$
DECLARE
    q queue.queue%ROWTYPE;
BEGIN
    SELECT * INTO q FROM queue.queue WHERE id = p_queue_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'queue.status: queue % does not exist', p_queue_id USING ERRCODE = 'no_data_found';
    END IF;
    RETURN jsonb_build_object(
        'queue', jsonb_build_object('id', q.id, 'name', q.name, 'extension', q.extension, 'enabled', q.enabled),
        'callers', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'call_uuid', c.call_uuid, 'position', row_number, 'priority', c.priority,
                       'state', c.state, 'joined_at', c.joined_at,
                       'waited_seconds', floor(extract(epoch FROM p_now - c.joined_at))::integer,
                       'waves', c.waves, 'answered_agent_id', c.answered_agent_id)
                   ORDER BY row_number)
              FROM (SELECT c.*, row_number() OVER (ORDER BY c.priority DESC, c.joined_at, c.call_uuid)
                      FROM queue.caller c WHERE c.queue_id = q.id) c), '[]'),
        'agents', coalesce((
            SELECT jsonb_object_agg(s.state, s.n)
              FROM (SELECT a.state::text AS state, count(*) AS n
                      FROM queue.member m JOIN queue.agent a ON a.id = m.agent_id
                     WHERE m.queue_id = q.id GROUP BY a.state) s), '{}'),
        'agent_list', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'agent_id', x.id, 'name', x.name, 'level', x.level, 'state', x.state,
                       'since', x.state_since, 'idle_since', x.idle_since,
                       'no_answer_count', x.no_answer_count, 'reserved_for', x.reserved_for,
                       'current_call', x.current_call) ORDER BY x.state, x.id)
              FROM (SELECT a.*, m.level FROM queue.member m JOIN queue.agent a ON a.id = m.agent_id
                     WHERE m.queue_id = q.id ORDER BY a.state, a.id LIMIT 500) x), '[]'),
        'waves', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'call_uuid', w.call_uuid, 'number', w.number, 'started_at', w.started_at,
                       'size', w.size,
                       'agents', (SELECT jsonb_agg(DISTINCT l.agent_id) FROM queue.wave_leg l WHERE l.wave_id = w.id))
                   ORDER BY w.started_at, w.call_uuid, w.number)
              FROM queue.wave w WHERE w.queue_id = q.id AND w.ended_at IS NULL), '[]'),
        'stats', coalesce((
            SELECT jsonb_build_object('answered_calls', s.answered_calls,
                                      'avg_answer_seconds', round(s.avg_answer_seconds, 1),
                                      'last_answered_agent_id', s.last_answered_agent_id)
              FROM queue.queue_state s WHERE s.queue_id = q.id),
            jsonb_build_object('answered_calls', 0, 'avg_answer_seconds', NULL, 'last_answered_agent_id', NULL)));
END
$$;

COMMENT ON FUNCTION queue.status(bigint, timestamptz) IS
    'Supervisor view of a queue: callers waiting (with wait times), agents by state, waves ringing, statistics.';
REVOKE ALL ON FUNCTION queue.status(bigint, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue.status(bigint, timestamptz) TO huntsman_console, huntsman_report;
