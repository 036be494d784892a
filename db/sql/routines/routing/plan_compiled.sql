-- routing.plan_compiled(p_call jsonb, p_now timestamptz,
--                       OUT plan jsonb, OUT rr_groups bigint[], OUT rr_members bigint[])
--
-- Contract (internal to plan_call and start_call): the plan of routing.build_plan(p_call, p_now,
-- false) computed from the compiled form of the call's domain (migration 0006), or plan = NULL
-- when the compiled form cannot answer exactly and the caller must use build_plan: p_call
-- invalid (build_plan raises the error), the domain unknown (build_plan also tries the number
-- among all domains), not 'fresh' (edited in this transaction, or failed to compile), the
-- destination neither a compiled number nor extension and no outbound route, or a step marked
-- inexact. rr_groups/rr_members: the round-robin groups that have legs in the plan and the
-- member that rings first in each (what start_call stores), in step order.
-- Work per call: one query for the domain, the destination and the first alternative whose
-- caller and schedule conditions hold; one for the caller's device when the call names an
-- authenticated SIP user; one for the steps: each unit's candidate legs joined to the live
-- device state, skipped exactly as plan_target_step skips (outside_schedule, dnd, unregistered,
-- busy, no_gateway; first reason counts for the USER_BUSY / USER_NOT_REGISTERED cause of an
-- empty step), ordered by the step's strategy (round-robin pointer, md5 of uuid and member,
-- Efraimidis-Spirakis keys, last_call_ended, then configuration order), and concatenated from
-- pre-rendered JSON; the document is parsed to jsonb once. STABLE, never reads the clock.
-- Its result columns cannot change in place (CREATE OR REPLACE refuses a new result type): a
-- change needs a migration that drops the function first.
CREATE OR REPLACE FUNCTION routing.plan_compiled(
    p_call jsonb,
    p_now timestamptz,
    OUT plan jsonb,
    OUT rr_groups bigint[],
    OUT rr_members bigint[]
)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_uuid        text;
    v_domain      text;
    v_dest        text;
    v_caller      text;
    v_from_user   text;
    v_e164        text;
    r             record;
    v_dev_id      bigint;
    v_presented_id bigint;
    v_presented   text;
    v_direction   text := 'inbound';
    v_route       text;
    v_number_id   bigint;
    v_steps       text;
    v_cause       text;
    v_cid_number  text;
BEGIN
    IF p_call IS NULL OR p_now IS NULL OR jsonb_typeof(p_call) <> 'object' THEN
        RETURN;
    END IF;
    v_uuid := p_call->>'uuid';
    v_domain := lower(p_call->>'domain');
    v_dest := p_call->>'destination';
    IF coalesce(v_uuid, '') = '' OR coalesce(v_domain, '') = '' OR coalesce(v_dest, '') = '' THEN
        RETURN;
    END IF;
    v_caller := p_call->>'caller_number';
    v_from_user := p_call->>'from_user';
    v_e164 := CASE WHEN v_dest ~ '^\+[1-9][0-9]{1,14}$' THEN v_dest
                   WHEN v_dest ~ '^00[1-9][0-9]{1,14}$' THEN '+' || substr(v_dest, 3) END;

    -- One query: the domain, the first alternative of the destination whose conditions hold, and
    -- its steps. One sort puts every step's legs in ring order (the aggregates read their input
    -- in that order: a sorted subquery, no per-group sorts); steps come out in chain order.
    SELECT pd.domain_id, pd.gateway, pd.ring_timeout, pd.fallback, a.route, a.number_id, a.chain, a.exact,
           st.steps, st.causes, st.rr_groups, st.rr_members
      INTO r
      FROM routing.plan_domain pd
      LEFT JOIN LATERAL (
            SELECT x.route, x.number_id, x.chain, x.exact
              FROM routing.plan_alt x
             WHERE x.domain_id = pd.domain_id
               AND x.dest IN (v_e164, v_dest)
               AND CASE x.caller_match
                       WHEN 'any' THEN true
                       WHEN 'exact' THEN v_caller = x.caller_value
                       WHEN 'prefix' THEN starts_with(v_caller, x.caller_value)
                       WHEN 'pattern' THEN v_caller ~ x.caller_value
                       WHEN 'list' THEN EXISTS (SELECT 1 FROM cfg.contact_list_entry e
                                                 WHERE e.list_id = x.contact_list_id AND e.number = v_caller)
                   END
               AND (x.schedule_id IS NULL OR routing.in_schedule(x.schedule_id, p_now) = x.schedule_in)
             ORDER BY starts_with(x.dest, '+') DESC, x.alt_no
             LIMIT 1) a ON true
      LEFT JOIN LATERAL (
                SELECT string_agg(CASE WHEN y.static_step IS NOT NULL THEN y.static_step
                                       ELSE y.head || ', "timeout": '
                                            || CASE WHEN y.dial = 'sequential' THEN y.dt ELSE y.ring_timeout END
                                            || ', "legs": [' || y.legs || ']}' END, ', ')
                           FILTER (WHERE y.static_step IS NOT NULL OR y.legs IS NOT NULL) AS steps,
                       (array_agg(CASE WHEN y.busy > 0 THEN 'USER_BUSY' WHEN y.unreg > 0 THEN 'USER_NOT_REGISTERED'
                                       ELSE 'NO_ROUTE_DESTINATION' END)
                           FILTER (WHERE y.static_step IS NULL AND y.legs IS NULL)) AS causes,
                       array_agg(y.group_id) FILTER (WHERE y.rr_top IS NOT NULL) AS rr_groups,
                       array_agg(y.rr_top) FILTER (WHERE y.rr_top IS NOT NULL) AS rr_members
                  FROM (SELECT o.step_no, min(o.static_step) AS static_step, min(o.head) AS head, min(o.dial) AS dial,
                               min(o.ring_timeout) AS ring_timeout, min(o.group_id) AS group_id,
                               string_agg(o.leg, ', ') FILTER (WHERE o.ok) AS legs,
                               sum(o.dt) FILTER (WHERE o.ok) AS dt,
                               count(*) FILTER (WHERE o.busy) AS busy,
                               count(*) FILTER (WHERE o.unreg) AS unreg,
                               (array_agg(o.top_id) FILTER (WHERE o.ok AND o.strategy = 'round_robin'))[1] AS rr_top
                          FROM (SELECT f.step_no, f.static_step, f.head, f.dial, f.ring_timeout, f.group_id, f.strategy,
                                       f.leg, f.dt, f.top_id, f.busy, f.unreg,
                                       -- a device reached through two members rings once: its first
                                       -- eligible row in ring order (later ones are plan_target_step's
                                       -- 'duplicate'); only units compiled with a repeated device need it
                                       f.ok AND (NOT f.repeats OR f.device_id IS NULL
                                                 OR row_number() OVER (
                                                        PARTITION BY f.step_no, f.device_id, f.ok
                                                        ORDER BY f.k_rr, f.k_random, f.k_weighted, f.k_idle NULLS FIRST,
                                                                 f.seq) = 1) AS ok
                                  -- each row's flags and ring-order keys (plan_target_step's ORDER BY),
                                  -- computed once: OFFSET 0 keeps this level, the ones above read columns
                                  FROM (SELECT s.step_no, u.static_step, u.head, u.dial, u.ring_timeout, u.group_id,
                                               u.strategy, u.repeats, l.leg, l.dt, l.top_id, l.device_id, l.seq,
                                               CASE WHEN u.strategy = 'round_robin'
                                                    THEN ROW(l.top_position, l.top_id) <= ROW(pm.position, pm.id) END AS k_rr,
                                               CASE WHEN u.strategy = 'random' THEN md5(v_uuid || ':' || l.top_id) END AS k_random,
                                               CASE WHEN u.strategy = 'weighted_random'
                                                    THEN -ln((('x' || substr(md5(v_uuid || ':' || l.top_id), 1, 13))::bit(52)::bigint + 1)
                                                             / 4503599627370497.0) / l.top_weight END AS k_weighted,
                                               CASE WHEN u.strategy = 'longest_idle' THEN d.last_call_ended END AS k_idle,
                                               k.sched_ok AND NOT k.dnd AND NOT k.unreg AND NOT k.busy AND l.has_target AS ok,
                                               k.sched_ok AND (k.dnd OR (NOT k.unreg AND k.busy)) AS busy,
                                               k.sched_ok AND NOT k.dnd AND k.unreg AS unreg
                                          FROM unnest(a.chain) WITH ORDINALITY AS s (unit_id, step_no)
                                          JOIN routing.plan_unit u ON u.id = s.unit_id
                                          LEFT JOIN routing.plan_leg l ON l.unit_id = u.id
                                          LEFT JOIN cfg.device d ON d.id = l.device_id
                                          LEFT JOIN routing.group_state gs
                                                 ON u.strategy = 'round_robin' AND gs.group_id = u.group_id
                                          LEFT JOIN cfg.hunt_group_member pm ON pm.id = gs.last_member_id
                                          CROSS JOIN LATERAL (
                                                SELECT l.schedule_ids IS NULL
                                                       OR NOT EXISTS (SELECT 1 FROM unnest(l.schedule_ids) AS sid
                                                                       WHERE NOT routing.in_schedule(sid, p_now)) AS sched_ok,
                                                       coalesce(u.skip_dnd AND d.dnd, false) AS dnd,
                                                       coalesce(u.skip_unreg AND l.user_endpoint AND NOT d.registered, false) AS unreg,
                                                       coalesce(u.skip_busy AND d.busy, false) AS busy) k
                                        OFFSET 0) f
                                 ORDER BY f.step_no, f.k_rr, f.k_random, f.k_weighted, f.k_idle NULLS FIRST, f.seq) o
                         GROUP BY o.step_no
                         ORDER BY o.step_no) y) st ON true
     WHERE pd.domain_name = v_domain AND pd.state = 'fresh';
    IF NOT FOUND OR r.exact IS FALSE THEN
        RETURN;
    END IF;

    IF length(v_from_user) <= 64 AND v_from_user ~ '^[A-Za-z0-9_.+-]+$' THEN
        SELECT c.device_id, c.presented_id, c.presented INTO v_dev_id, v_presented_id, v_presented
          FROM routing.plan_caller c
         WHERE c.domain_id = r.domain_id AND c.from_user = v_from_user;
        IF v_dev_id IS NOT NULL THEN
            v_direction := 'internal';
        END IF;
    END IF;
    v_cid_number := v_caller;

    IF r.chain IS NULL THEN
        -- neither a number nor an extension of the domain
        IF v_dev_id IS NOT NULL AND v_e164 IS NOT NULL THEN
            v_direction := 'outbound';
            v_cid_number := coalesce(v_presented, v_caller);
            v_route := json_build_object('kind', 'outbound', 'number_id', NULL, 'rule_id', NULL,
                                         'group_id', NULL, 'name', r.gateway)::text;
            v_steps := CASE WHEN r.gateway IS NULL THEN '{"type": "hangup", "cause": "NO_ROUTE_DESTINATION"}'
                            ELSE routing.gateway_step('outbound ' || v_e164, r.gateway, v_e164, r.ring_timeout)::text END;
        ELSE
            v_route := '{"kind": "none", "name": null, "rule_id": null, "group_id": null, "number_id": null}';
            v_steps := '{"type": "hangup", "cause": "UNALLOCATED_NUMBER"}';
        END IF;
    ELSE
        v_route := r.route;
        v_number_id := r.number_id;
        v_cause := r.causes[cardinality(r.causes)];
        v_steps := r.steps;
        rr_groups := r.rr_groups;
        rr_members := r.rr_members;
        v_steps := coalesce(v_steps, '{"type": "hangup", "cause": "' || coalesce(v_cause, 'NO_ROUTE_DESTINATION') || '"}');
    END IF;

    plan := ('{"plan_version": 1, "call": '
             || json_build_object('uuid', v_uuid, 'domain', v_domain, 'destination', v_dest, 'caller_number', v_caller)::text
             || ', "route": ' || v_route
             || ', "caller_id": ' || json_build_object('name', p_call->>'caller_name', 'number', v_cid_number)::text
             || ', "billing": ' || json_build_object(
                    'direction', v_direction, 'domain_id', r.domain_id, 'device_id', v_dev_id,
                    'number_id', CASE WHEN v_direction = 'inbound' THEN v_number_id ELSE v_presented_id END,
                    'account_id', NULL)::text
             || ', "steps": [' || v_steps || '], "fallback": ' || r.fallback || '}')::jsonb;
END
$$;

REVOKE ALL ON FUNCTION routing.plan_compiled(jsonb, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION routing.plan_compiled(jsonb, timestamptz) IS
    'Internal to plan_call/start_call: build_plan''s plan from the compiled form of the domain, or NULL when only build_plan can answer exactly.';
