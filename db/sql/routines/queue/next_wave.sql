-- queue.next_wave(p_call_uuid, p_now) -> jsonb
--
-- Contract: choose and reserve the next wave of agents for a queued call, in one transaction.
-- * Housekeeping first (queue.tick): expired reservations/wrap-ups/dead callers are settled.
-- * Leaves the queue when the call waited max_wait_seconds, or when nobody is logged in and the
--   queue's no_agent_action is 'overflow':
--     {"action": "overflow", "reason": "max_wait|no_agents_logged_in|queue_disabled", "step": {..}}
-- * Callers are served in order (priority, higher first, then arrival): the waves of the callers
--   ahead that wait for one are set aside first (ahead * wave size agents); when nothing is left
--   for this caller it gets {"action": "wait", "reason": "not_head", ...}.
-- * The wave size follows the idle agents of the queue: queue.wave_size(idle, fraction, min,
--   max) (<= 128 legs). Agents are taken by level, then longest idle; agents already offered
--   this call in the current round are left out (a new round starts when nobody else is left);
--   the agent who answered the queue's previous call is not in a call's first wave when
--   another agent is idle. Agents whose devices are all busy, DND or unregistered are skipped
--   (listed in "skipped", not reserved and not blamed).
-- * Agents are locked FOR UPDATE SKIP LOCKED and re-checked 'available', so concurrent pickers
--   (several controllers on one database) always reserve disjoint agents.
-- * Progressive queues reserve two waves per bridge: the second starts wave_ring_seconds later
--   while the first keeps ringing.
-- Returns {"action": "ring", "wave": n, "waves": [n, ...], "ring_seconds": t, "timeout": T,
--          "legs": [{"agent_id", "device_id", "target", "delay", "timeout", "wave", "label"}],
--          "skipped": [{"agent_id", "reason"}], "idle": i, "position": p, "estimated_wait": s|null}
-- or {"action": "wait", "reason": "not_head|no_idle_agents|no_agents_logged_in", "position": p,
--     "estimated_wait": s|null, "retry_after": s}, {"action": "bridged"}, {"action": "gone"}.
CREATE OR REPLACE FUNCTION queue.next_wave(p_call_uuid uuid, p_now timestamptz)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = queue, pg_temp
AS $$
DECLARE
    c             queue.caller%ROWTYPE;
    q             queue.queue%ROWTYPE;
    v_gateway     text;
    v_idle        integer;
    v_cap         integer;
    v_size        integer;
    v_size2       integer := 0;
    v_want        integer;
    v_ahead       integer := 0;
    v_exclude     bigint;
    v_level       integer;
    v_round       integer;
    v_agent       record;
    v_cur         refcursor;
    v_full        boolean := false;
    v_dev         record;
    v_agent_legs  jsonb;
    v_reason      text;
    v_legs        jsonb := '[]';
    v_skipped     jsonb := '[]';
    v_skip_count  integer := 0;
    v_picked      bigint[] := '{}';
    v_leg_count   integer := 0;
    v_wave_no     integer;
    v_wave_ids    bigint[] := '{}';
    v_ring        integer;
    v_total       integer;
    v_in_second   boolean;
    v_leg         jsonb;
    v_wave_id     bigint;
    v_avg         numeric;
    v_answered    bigint;
    v_position    integer;
BEGIN
    IF p_call_uuid IS NULL OR p_now IS NULL THEN
        RAISE EXCEPTION 'queue.next_wave: p_call_uuid and p_now must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM queue.tick(p_now);

    SELECT * INTO c FROM queue.caller WHERE call_uuid = p_call_uuid FOR UPDATE;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('action', 'gone');
    END IF;
    IF c.state = 'bridged' THEN
        RETURN jsonb_build_object('action', 'bridged', 'agent_id', c.answered_agent_id);
    END IF;
    IF c.state = 'ringing' THEN
        -- the previous wave was never reported (executor retried): release it, blaming nobody
        PERFORM queue.wave_result(p_call_uuid, c.waves, NULL, '{"default": "cancelled"}', p_now);
        SELECT * INTO c FROM queue.caller WHERE call_uuid = p_call_uuid;
    END IF;
    SELECT * INTO q FROM queue.queue WHERE id = c.queue_id;
    v_ring := q.wave_ring_seconds;

    IF NOT q.enabled OR p_now >= c.joined_at + make_interval(secs => q.max_wait_seconds) THEN
        DELETE FROM queue.caller WHERE call_uuid = p_call_uuid;
        RETURN jsonb_build_object('action', 'overflow',
            'reason', CASE WHEN q.enabled THEN 'max_wait' ELSE 'queue_disabled' END,
            'step', queue.overflow_step(q.id));
    END IF;

    IF NOT EXISTS (SELECT 1 FROM queue.member m JOIN queue.agent a ON a.id = m.agent_id
                    WHERE m.queue_id = q.id AND a.state <> 'logged_out') THEN
        IF q.no_agent_action = 'overflow' THEN
            DELETE FROM queue.caller WHERE call_uuid = p_call_uuid;
            RETURN jsonb_build_object('action', 'overflow', 'reason', 'no_agents_logged_in',
                'step', queue.overflow_step(q.id));
        END IF;
        v_reason := 'no_agents_logged_in';
    ELSE
        -- callers ahead (priority, then arrival) that wait for a wave are served first: leave
        -- them the agents their waves will take
        SELECT count(*)::integer INTO v_ahead
          FROM (SELECT 1 FROM queue.caller o
                 WHERE o.queue_id = c.queue_id AND o.state = 'waiting' AND o.lease_until > p_now
                   AND (o.priority > c.priority
                        OR (o.priority = c.priority AND (o.joined_at, o.call_uuid) < (c.joined_at, c.call_uuid)))
                 LIMIT 1000) s;
        -- idle agents of the queue, counted only as far as the answer can still change
        v_cap := greatest(ceil(q.wave_max / q.wave_fraction)::integer, (v_ahead + 1) * q.wave_max)
                 * CASE WHEN q.progressive THEN 2 ELSE 1 END + 1;
        SELECT count(*)::integer INTO v_idle
          FROM (SELECT 1 FROM queue.member m JOIN queue.agent a ON a.id = m.agent_id
                 WHERE m.queue_id = q.id AND a.state = 'available'
                 LIMIT v_cap) s;
        v_size := queue.wave_size(v_idle, q.wave_fraction, q.wave_min, q.wave_max);
        IF v_ahead > 0 AND v_size > 0 THEN
            v_size := least(v_size, greatest(0, v_idle - v_ahead * v_size));
        END IF;
        IF q.progressive AND v_size > 0 THEN
            v_size2 := least(128 - v_size,
                             queue.wave_size(v_idle - (v_ahead + 1) * v_size, q.wave_fraction, q.wave_min, q.wave_max));
        END IF;
        v_want := v_size + v_size2;
        IF v_want = 0 THEN
            v_reason := CASE WHEN v_ahead > 0 AND v_idle > 0 THEN 'not_head' ELSE 'no_idle_agents' END;
        END IF;
    END IF;

    IF v_reason IS NOT NULL THEN
        UPDATE queue.caller SET lease_until = p_now + make_interval(secs => q.lease_seconds)
         WHERE call_uuid = p_call_uuid;
        v_position := queue.caller_position(p_call_uuid);
        SELECT s.avg_answer_seconds, s.answered_calls INTO v_avg, v_answered
          FROM queue.queue_state s WHERE s.queue_id = q.id;
        RETURN jsonb_build_object(
            'action', 'wait', 'reason', v_reason, 'position', v_position,
            'waited', floor(extract(epoch FROM p_now - c.joined_at))::integer,
            'estimated_wait', CASE WHEN coalesce(v_answered, 0) > 0 THEN round(v_avg * v_position)::integer END,
            'retry_after', 2);
    END IF;

    SELECT d.gateway INTO v_gateway FROM cfg.domain d WHERE d.id = q.domain_id;
    IF c.waves = 0 AND v_idle > 1 THEN
        SELECT s.last_answered_agent_id INTO v_exclude FROM queue.queue_state s WHERE s.queue_id = q.id;
    END IF;

    -- Round 1 leaves out the agents already offered this call (and, for its first wave, the
    -- previous answerer); if that leaves nobody, round 2 starts over with everyone idle.
    FOR v_round IN 1..2 LOOP
        EXIT WHEN v_round = 2
              AND (cardinality(v_picked) > 0 OR (cardinality(c.offered) = 0 AND v_exclude IS NULL));
        IF v_round = 2 THEN
            c.offered := '{}';
            v_exclude := NULL;
            v_skipped := '[]';
            v_skip_count := 0;
        END IF;
        v_level := 0;
        <<levels>>
        LOOP
            SELECT min(m.level) INTO v_level FROM queue.member m
             WHERE m.queue_id = q.id AND m.level > v_level;
            EXIT levels WHEN v_level IS NULL;
            -- one row at a time: a FOR loop would prefetch (and lock) 10 rows it may not use
            OPEN v_cur FOR
                SELECT a.id, a.user_id, a.device_id, a.name
                  FROM queue.agent a
                  JOIN queue.member m ON m.agent_id = a.id AND m.queue_id = q.id AND m.level = v_level
                 WHERE a.domain_id = q.domain_id
                   AND a.state = 'available'
                   AND a.id <> ALL (c.offered)
                   AND a.id IS DISTINCT FROM v_exclude
                 ORDER BY a.idle_since, a.id
                 LIMIT 1000
                   FOR UPDATE OF a SKIP LOCKED;
            LOOP
                FETCH v_cur INTO v_agent;
                EXIT WHEN NOT FOUND;
                v_agent_legs := '[]';
                v_reason := NULL;
                FOR v_dev IN
                    SELECT d.id, d.endpoint, d.registered, d.busy, d.dnd
                      FROM cfg.device d
                     WHERE d.domain_id = q.domain_id
                       AND (d.id = v_agent.device_id
                            OR (v_agent.user_id IS NOT NULL AND d.user_id = v_agent.user_id))
                     ORDER BY d.id
                LOOP
                    IF v_dev.dnd THEN
                        v_reason := coalesce(v_reason, 'dnd');
                    ELSIF v_dev.busy THEN
                        v_reason := coalesce(v_reason, 'busy');
                    ELSIF v_dev.endpoint LIKE 'user/%' AND NOT v_dev.registered THEN
                        v_reason := coalesce(v_reason, 'unregistered');
                    ELSIF v_dev.endpoint LIKE '+%' AND v_gateway IS NULL THEN
                        v_reason := coalesce(v_reason, 'no_gateway');
                    ELSE
                        v_agent_legs := v_agent_legs || jsonb_build_object(
                            'device_id', v_dev.id,
                            'target', CASE WHEN v_dev.endpoint LIKE '+%'
                                           THEN 'sofia/gateway/' || v_gateway || '/' || v_dev.endpoint
                                           ELSE v_dev.endpoint END);
                    END IF;
                END LOOP;
                IF jsonb_array_length(v_agent_legs) = 0 THEN
                    v_skip_count := v_skip_count + 1;
                    IF v_skip_count <= 20 THEN
                        v_skipped := v_skipped || jsonb_build_object(
                            'agent_id', v_agent.id, 'reason', coalesce(v_reason, 'no_device'));
                    END IF;
                    CONTINUE;
                END IF;
                IF v_leg_count + jsonb_array_length(v_agent_legs) > 128 THEN
                    v_full := true;
                    EXIT;
                END IF;
                v_in_second := cardinality(v_picked) >= v_size;
                FOR v_leg IN SELECT value FROM jsonb_array_elements(v_agent_legs) LOOP
                    v_legs := v_legs || (v_leg || jsonb_build_object(
                        'agent_id', v_agent.id,
                        'label', v_agent.name,
                        'wave', c.waves + CASE WHEN v_in_second THEN 2 ELSE 1 END,
                        'delay', CASE WHEN v_in_second THEN v_ring ELSE 0 END,
                        'timeout', CASE WHEN v_in_second OR v_size2 = 0 THEN v_ring ELSE 2 * v_ring END));
                END LOOP;
                v_leg_count := v_leg_count + jsonb_array_length(v_agent_legs);
                v_picked := v_picked || v_agent.id;
                IF cardinality(v_picked) >= v_want THEN
                    v_full := true;
                    EXIT;
                END IF;
            END LOOP;
            CLOSE v_cur;
            EXIT levels WHEN v_full;
        END LOOP levels;
    END LOOP;

    IF cardinality(v_picked) = 0 THEN
        UPDATE queue.caller SET lease_until = p_now + make_interval(secs => q.lease_seconds),
                                offered = c.offered
         WHERE call_uuid = p_call_uuid;
        RETURN jsonb_build_object(
            'action', 'wait', 'reason', 'no_idle_agents', 'position', queue.caller_position(p_call_uuid),
            'waited', floor(extract(epoch FROM p_now - c.joined_at))::integer,
            'estimated_wait', NULL, 'retry_after', 2, 'skipped', v_skipped);
    END IF;

    -- the second wave of a progressive bridge may have come out empty
    v_total := CASE WHEN cardinality(v_picked) > v_size THEN 2 * v_ring ELSE v_ring END;
    IF cardinality(v_picked) <= v_size THEN
        v_legs := (SELECT jsonb_agg(l || jsonb_build_object('timeout', v_ring)) FROM jsonb_array_elements(v_legs) l);
    END IF;

    FOR v_wave_no IN c.waves + 1 .. c.waves + CASE WHEN cardinality(v_picked) > v_size THEN 2 ELSE 1 END LOOP
        INSERT INTO queue.wave (call_uuid, domain_id, queue_id, number, idle_agents, size,
                                delay_seconds, ring_seconds, started_at)
        VALUES (p_call_uuid, q.domain_id, q.id, v_wave_no, v_idle,
                CASE WHEN v_wave_no = c.waves + 1 THEN least(v_size, cardinality(v_picked))
                     ELSE cardinality(v_picked) - v_size END,
                CASE WHEN v_wave_no = c.waves + 1 THEN 0 ELSE v_ring END,
                v_ring, p_now)
        RETURNING id INTO v_wave_id;
        v_wave_ids := v_wave_ids || v_wave_id;
    END LOOP;

    INSERT INTO queue.wave_leg (wave_id, leg, call_uuid, agent_id, device_id, target)
    SELECT v_wave_ids[(l ->> 'wave')::integer - c.waves], n::integer, p_call_uuid,
           (l ->> 'agent_id')::bigint, (l ->> 'device_id')::bigint, l ->> 'target'
      FROM jsonb_array_elements(v_legs) WITH ORDINALITY AS t(l, n);

    UPDATE queue.agent a
       SET state = 'reserved', reserved_for = p_call_uuid,
           reserved_until = p_now + make_interval(secs => v_total + q.lease_seconds),
           reserved_by = c.controller_id, last_offered_at = p_now, state_since = p_now
     WHERE a.id = ANY (v_picked);

    UPDATE queue.caller
       SET state = 'ringing',
           waves = c.waves + array_length(v_wave_ids, 1),
           offered = c.offered || v_picked,
           lease_until = p_now + make_interval(secs => v_total + q.lease_seconds)
     WHERE call_uuid = p_call_uuid;

    v_position := queue.caller_position(p_call_uuid);
    SELECT s.avg_answer_seconds, s.answered_calls INTO v_avg, v_answered
      FROM queue.queue_state s WHERE s.queue_id = q.id;
    RETURN jsonb_build_object(
        'action', 'ring',
        'wave', c.waves + 1,
        'waves', (SELECT jsonb_agg(w) FROM generate_series(c.waves + 1, c.waves + array_length(v_wave_ids, 1)) w),
        'ring_seconds', v_ring,
        'timeout', v_total,
        'idle', v_idle,
        'position', v_position,
        'estimated_wait', CASE WHEN coalesce(v_answered, 0) > 0 THEN round(v_avg * v_position)::integer END,
        'legs', v_legs,
        'skipped', v_skipped);
END
$$;

COMMENT ON FUNCTION queue.next_wave(uuid, timestamptz) IS
    'Chooses and reserves (FOR UPDATE SKIP LOCKED) the next wave of idle agents for a queued call; or says wait / overflow.';
REVOKE ALL ON FUNCTION queue.next_wave(uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue.next_wave(uuid, timestamptz) TO huntsman_controller;
