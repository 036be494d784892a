-- routing.start_call(p_call jsonb, p_now timestamptz) -> jsonb
--
-- Contract: the VOLATILE entry point the controller uses for live calls. Returns the same plan
-- as routing.plan_call(p_call, p_now) and, for every round_robin group that has legs in that
-- plan, stores the member that rings first as the group's pointer (routing.group_state), so the
-- next call starts with the member after it. Two calls planned at the same instant may start
-- at the same member (the pointer is a fairness hint, not a lock).
CREATE OR REPLACE FUNCTION routing.start_call(p_call jsonb, p_now timestamptz)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = routing, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_result jsonb;
    v_fast   record;
BEGIN
    SELECT c.plan, c.rr_groups, c.rr_members INTO v_fast FROM routing.plan_compiled(p_call, p_now) c;
    IF v_fast.plan IS NOT NULL THEN
        IF v_fast.rr_groups IS NOT NULL THEN
            INSERT INTO routing.group_state AS s (group_id, domain_id, last_member_id, updated_at)
            SELECT g, (v_fast.plan->'billing'->>'domain_id')::bigint, m, p_now
              FROM unnest(v_fast.rr_groups, v_fast.rr_members) AS x (g, m)
            ON CONFLICT (group_id) DO UPDATE
               SET last_member_id = EXCLUDED.last_member_id, updated_at = EXCLUDED.updated_at;
        END IF;
        RETURN v_fast.plan;
    END IF;
    v_result := routing.build_plan(p_call, p_now, false);
    IF jsonb_array_length(v_result->'round_robin') > 0 THEN
        INSERT INTO routing.group_state AS s (group_id, domain_id, last_member_id, updated_at)
        SELECT (x->>'group_id')::bigint, (v_result->'plan'->'billing'->>'domain_id')::bigint,
               (x->>'member_id')::bigint, p_now
          FROM jsonb_array_elements(v_result->'round_robin') AS x
        ON CONFLICT (group_id) DO UPDATE
           SET last_member_id = EXCLUDED.last_member_id, updated_at = EXCLUDED.updated_at;
    END IF;
    RETURN v_result->'plan';
END
$$;

REVOKE ALL ON FUNCTION routing.start_call(jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION routing.start_call(jsonb, timestamptz) TO huntsman_controller;
COMMENT ON FUNCTION routing.start_call(jsonb, timestamptz) IS
    'Plan a live call (same plan as plan_call) and advance the round-robin pointers of the groups it rings. VOLATILE.';
