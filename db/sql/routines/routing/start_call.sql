-- routing.start_call(p_call jsonb, p_now timestamptz) -> jsonb
--
-- Contract: the VOLATILE entry point the controller uses for live calls. Returns the same plan
-- as routing.plan_call(p_call, p_now) and, for every round_robin group that has legs in that
-- plan, stores the member that rings first as the group's pointer (routing.group_state), so the
-- next call starts with the member after it. Concurrent calls to the same round-robin group
-- rotate too: the group's pointer row is locked (in group id order) and the call planned again
-- on a fresh snapshot, so the second of two simultaneous calls starts after the member the first
-- one took (the lock is held until the caller's transaction ends: the controller runs each
-- start_call in its own).
CREATE OR REPLACE FUNCTION routing.start_call(p_call jsonb, p_now timestamptz)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = routing, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_plan    jsonb;
    v_groups  bigint[];
    v_members bigint[];
    v_result  jsonb;
    v_locked  bigint[] := '{}';
    v_domain  bigint;
BEGIN
    FOR v_attempt IN 1..3 LOOP
        SELECT c.plan, c.rr_groups, c.rr_members INTO v_plan, v_groups, v_members
          FROM routing.plan_compiled(p_call, p_now) c;
        IF v_plan IS NULL THEN
            v_result := routing.build_plan(p_call, p_now, false);
            v_plan := v_result->'plan';
            SELECT array_agg((x->>'group_id')::bigint ORDER BY n), array_agg((x->>'member_id')::bigint ORDER BY n)
              INTO v_groups, v_members
              FROM jsonb_array_elements(v_result->'round_robin') WITH ORDINALITY AS r (x, n);
        END IF;
        IF v_groups IS NULL THEN
            RETURN v_plan;
        END IF;
        v_domain := (v_plan->'billing'->>'domain_id')::bigint;
        EXIT WHEN v_groups <@ v_locked;
        -- Lock the pointers (creating the missing rows), then plan again: a concurrent call
        -- that took the same group commits its pointer first.
        INSERT INTO routing.group_state AS s (group_id, domain_id, last_member_id, updated_at)
        SELECT g, v_domain, NULL, p_now FROM unnest(v_groups) AS g ORDER BY g
        ON CONFLICT (group_id) DO NOTHING;
        PERFORM 1 FROM routing.group_state s WHERE s.group_id = ANY (v_groups) ORDER BY s.group_id FOR UPDATE;
        v_locked := v_locked || v_groups;
    END LOOP;
    INSERT INTO routing.group_state AS s (group_id, domain_id, last_member_id, updated_at)
    SELECT g, v_domain, m, p_now FROM unnest(v_groups, v_members) AS x (g, m)
    ON CONFLICT (group_id) DO UPDATE
       SET last_member_id = EXCLUDED.last_member_id, updated_at = EXCLUDED.updated_at;
    RETURN v_plan;
END
$$;

REVOKE ALL ON FUNCTION routing.start_call(jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION routing.start_call(jsonb, timestamptz) TO huntsman_controller;
COMMENT ON FUNCTION routing.start_call(jsonb, timestamptz) IS
    'Plan a live call (same plan as plan_call) and advance the round-robin pointers of the groups it rings. VOLATILE.';
