-- routing.plan_compile_units(p_domain_id bigint, p_gateway text, p_units bigint[] DEFAULT NULL) -> void
--
-- Contract (internal to routing.plan_compile): fills routing.plan_leg for the bridge units
-- p_units of the domain (they have no legs), or when p_units is NULL for every bridge unit of
-- the domain that has no legs yet, with the member expansion of routing.plan_target_step minus
-- everything that depends on the call: members expanded by the same function
-- (routing.member_rows), then the members plan_target_step would always skip are left out (excluded by the
-- rule's device/member filter, disabled, no devices, nested cycle). What stays, per leg: the
-- configuration order (seq = order by the nesting sort key, then device id), the keys the
-- strategies order by (top-level member id, position, weight), the device whose live state is
-- read at plan time, the schedules that must all be open (member schedules along the path),
-- whether it has a dial target (no_gateway otherwise) and the leg JSON. A unit that reaches a
-- device twice is marked `repeats` (at plan time the first eligible occurrence in the call's
-- ring order wins); a unit with more than 128 candidate legs is marked inexact: plan_call plans
-- it with build_plan (its leg_limit skips).
CREATE OR REPLACE FUNCTION routing.plan_compile_units(p_domain_id bigint, p_gateway text, p_units bigint[] DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = routing, pg_temp
AS $$
BEGIN
    -- the legs, then the flags of the units that got them (one statement: only the new legs)
    WITH ins AS (
    INSERT INTO routing.plan_leg (domain_id, unit_id, part, seq, top_id, top_position, top_weight, device_id,
                                  user_endpoint, schedule_ids, has_target, dt, leg)
    WITH src AS MATERIALIZED (
        SELECT row_number() OVER (ORDER BY u.id) AS n, u.id AS unit_id, u.part AS unit_part, u.target_kind, u.target_id,
               u.device_filter, u.member_filter, u.ring_timeout
          FROM routing.plan_unit u
         WHERE u.domain_id = p_domain_id AND u.static_step IS NULL
           AND CASE WHEN p_units IS NULL THEN NOT EXISTS (SELECT 1 FROM routing.plan_leg l WHERE l.unit_id = u.id)
                    ELSE u.id = ANY (p_units) END
    ), cand AS (
        SELECT s.unit_id, s.unit_part, s.ring_timeout, m.*
          FROM routing.member_rows(p_domain_id,
                                   ARRAY(SELECT s.target_kind FROM src s ORDER BY s.n),
                                   ARRAY(SELECT s.target_id FROM src s ORDER BY s.n), p_gateway) m
          JOIN src s ON s.n = m.target_no
         WHERE m.kind <> 'group'
           AND (s.member_filter IS NULL OR coalesce(m.top_id = ANY (s.member_filter), false))
           AND (s.device_filter IS NULL OR coalesce(m.dev_id = ANY (s.device_filter), false))
           AND m.enabled_ok
           AND NOT (m.kind IN ('device', 'user', 'implicit_set') AND m.dev_id IS NULL)
    ), legs AS (
        SELECT r.*,
               row_number() OVER (PARTITION BY r.unit_id ORDER BY r.sort_key, r.dev_id) AS seq,
               least(r.eff_delay, 300) AS delay,
               coalesce(r.eff_timeout, r.ring_timeout) AS timeout
          FROM cand r
    )
    SELECT p_domain_id, l.unit_id, l.unit_part, l.seq, l.top_id, l.top_position, l.top_weight, l.dev_id,
           coalesce(l.endpoint LIKE 'user/%', false),
           CASE WHEN cardinality(l.schedule_ids) > 0 THEN l.schedule_ids END,
           l.target IS NOT NULL,
           l.delay + l.timeout,
           routing.leg_json(l.target, l.delay, l.timeout, l.id, l.dev_id, coalesce(l.dev_name, l.number), l.alert_mode)::text
      FROM legs l
    RETURNING unit_id, device_id)
    UPDATE routing.plan_unit u SET exact = x.legs <= 128, repeats = x.repeats
      FROM (SELECT i.unit_id, count(*) AS legs, count(i.device_id) > count(DISTINCT i.device_id) AS repeats
              FROM ins i
             GROUP BY i.unit_id) x
     WHERE u.id = x.unit_id AND (x.legs > 128 OR x.repeats);
END
$$;

REVOKE ALL ON FUNCTION routing.plan_compile_units(bigint, text, bigint[]) FROM PUBLIC;
COMMENT ON FUNCTION routing.plan_compile_units(bigint, text, bigint[]) IS
    'Internal to routing.plan_compile: the candidate legs of every bridge unit of a domain (member expansion without live state).';
