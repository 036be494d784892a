-- routing.plan_call(p_call jsonb, p_now timestamptz) -> jsonb
--
-- Contract (docs/contracts.md section 3): returns the plan (plan_version 1) for the call document
-- p_call (section 2) at instant p_now. STABLE and never calls now(): the same configuration, live
-- state, call and p_now give the same plan (random orders are seeded from the call uuid). It does
-- not move round-robin pointers (routing.start_call does). Same code path as explain_call
-- (routing.build_plan). Raises HM004 when uuid, domain or destination is missing; more than 10
-- overflow hops do not raise: the plan ends with the fallback (HM001 in explain_call's reasons).
-- Speed: the plan is read from the compiled form of the domain (routing.plan_compiled, migration
-- 0006) whenever that form can answer exactly, else built by routing.build_plan; both give the
-- same plan (tests/sql compare them on every plan they make).
CREATE OR REPLACE FUNCTION routing.plan_call(p_call jsonb, p_now timestamptz)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = routing, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_plan jsonb;
BEGIN
    SELECT c.plan INTO v_plan FROM routing.plan_compiled(p_call, p_now) c;
    RETURN coalesce(v_plan, routing.build_plan(p_call, p_now, false)->'plan');
END
$$;

REVOKE ALL ON FUNCTION routing.plan_call(jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION routing.plan_call(jsonb, timestamptz) TO huntsman_controller, huntsman_console;
COMMENT ON FUNCTION routing.plan_call(jsonb, timestamptz) IS
    'Plan a call (contracts.md section 3, plan_version 1) at p_now. STABLE, never now(); does not advance round-robin pointers.';
