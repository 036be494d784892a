-- routing.explain_call(p_call jsonb, p_now timestamptz) -> jsonb
--
-- Contract: {"plan": <exactly what routing.plan_call returns for the same arguments>,
--            "reasons": [...]} through the same code path (routing.build_plan with p_explain).
-- Reasons are objects with a "kind":
--   rule_matched / rule_not_matched (with "detail": why not) / rule_default,
--   member_included (group_id, member_id, device_id, target, order, delay, timeout),
--   member_skipped (group_id, member_id, device_id, reason, detail) where reason is one of
--     excluded_by_rule, disabled, outside_schedule, no_devices, dnd, unregistered, busy, duplicate,
--     no_gateway, leg_limit, nested_cycle,
--   step_empty (nobody to ring in a target, with the hangup cause it implies),
--   overflow (from_group_id, to, to_id, via_number, hop), overflow_hop_limit (sqlstate HM001),
--   outbound, no_gateway, unknown_domain, domain_from_number, unknown_destination,
--   number_without_target.
-- "compiled": how plan_call answers this call: {"state": the domain's compiled form (fresh,
--   stale = edited in this transaction, failed, or null when never compiled), "version",
--   "error" (why it failed), "answers": true when plan_call reads the compiled form for this
--   call (false: it uses build_plan, as explain_call does), "agrees": the compiled plan equals
--   build_plan's (null when it does not answer; false would be a bug worth reporting)}.
-- STABLE, never calls now().
CREATE OR REPLACE FUNCTION routing.explain_call(p_call jsonb, p_now timestamptz)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = routing, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_result   jsonb;
    v_compiled jsonb;
    v_state    record;
BEGIN
    v_result := routing.build_plan(p_call, p_now, true);
    SELECT c.plan INTO v_compiled FROM routing.plan_compiled(p_call, p_now) c;
    SELECT p.state, p.version, p.error INTO v_state
      FROM routing.plan_domain p WHERE p.domain_id = (v_result->'plan'->'billing'->>'domain_id')::bigint;
    RETURN jsonb_build_object(
        'plan', v_result->'plan',
        'reasons', v_result->'reasons',
        'compiled', jsonb_build_object(
            'state', v_state.state, 'version', v_state.version, 'error', v_state.error,
            'answers', v_compiled IS NOT NULL,
            'agrees', CASE WHEN v_compiled IS NOT NULL THEN v_compiled = v_result->'plan' END));
END
$$;

REVOKE ALL ON FUNCTION routing.explain_call(jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION routing.explain_call(jsonb, timestamptz) TO huntsman_controller, huntsman_console;
COMMENT ON FUNCTION routing.explain_call(jsonb, timestamptz) IS
    'The plan of routing.plan_call plus the reasons behind it (rules tried, members included/skipped, overflow hops). STABLE.';
