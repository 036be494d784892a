-- queue.overflow_step(p_queue_id) -> jsonb
--
-- Contract: the plan step (contracts.md section 3) a caller leaving the queue unanswered runs:
-- the queue's overflow setting, or {"type":"hangup","cause":"NO_ANSWER"} when it has none.
-- Internal helper (not granted to any role).
CREATE OR REPLACE FUNCTION queue.overflow_step(p_queue_id bigint)
RETURNS jsonb
LANGUAGE sql
STABLE
SET search_path = queue, pg_temp
AS $$
    SELECT coalesce(
        (SELECT q.overflow FROM queue.queue q WHERE q.id = p_queue_id),
        jsonb_build_object('type', 'hangup', 'cause', 'NO_ANSWER'))
$$;

COMMENT ON FUNCTION queue.overflow_step(bigint) IS
    'Overflow plan step of a queue (hangup NO_ANSWER when none is configured).';
REVOKE ALL ON FUNCTION queue.overflow_step(bigint) FROM PUBLIC;
