-- routing.plan_compile_units(p_domain_id bigint, p_gateway text) -> void
--
-- Contract (internal to routing.plan_compile): fills routing.plan_leg for every bridge unit of
-- the domain that has no legs yet, with the member expansion of routing.plan_target_step minus
-- everything that depends on the call: members expanded the same way (user -> the user's
-- devices, implicit set -> its devices, nested group -> its members in place with delays added,
-- timeouts narrowed, enabled flags and schedules combined; cycles and nesting deeper than 10
-- cut), then the members plan_target_step would always skip are left out (excluded by the
-- rule's device/member filter, disabled, no devices, nested cycle). What stays, per leg: the
-- configuration order (seq = order by the nesting sort key, then device id), the keys the
-- strategies order by (top-level member id, position, weight), the device whose live state is
-- read at plan time, the schedules that must all be open (member schedules along the path),
-- whether it has a dial target (no_gateway otherwise) and the leg JSON. A unit that reaches a
-- device twice is marked `repeats` (at plan time the first eligible occurrence in the call's
-- ring order wins); a unit with more than 128 candidate legs is marked inexact: plan_call plans
-- it with build_plan (its leg_limit skips).
CREATE OR REPLACE FUNCTION routing.plan_compile_units(p_domain_id bigint, p_gateway text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = routing, pg_temp
AS $$
BEGIN
    INSERT INTO routing.plan_leg (unit_id, seq, top_id, top_position, top_weight, device_id, user_endpoint,
                                  schedule_ids, has_target, dt, leg)
    WITH RECURSIVE src AS (
        SELECT u.id AS unit_id, u.target_kind, u.target_id, u.device_filter, u.member_filter, u.ring_timeout
          FROM routing.plan_unit u
         WHERE u.domain_id = p_domain_id AND u.static_step IS NULL
           AND NOT EXISTS (SELECT 1 FROM routing.plan_leg l WHERE l.unit_id = u.id)
    ), m AS (
        SELECT s.unit_id, hm.id, hm.kind, hm.device_id, hm.user_id, hm.set_id, hm.external_number,
               hm.member_group_id, hm.id AS top_id, hm.position AS top_position, hm.weight AS top_weight,
               ARRAY[hm.position::bigint, hm.id] AS sort_key, ARRAY[hm.group_id] AS path,
               hm.delay AS eff_delay, hm.ring_timeout AS eff_timeout, hm.enabled AS enabled_ok,
               CASE WHEN hm.schedule_id IS NULL THEN ARRAY[]::bigint[] ELSE ARRAY[hm.schedule_id] END AS scheds
          FROM src s
          JOIN cfg.hunt_group_member hm ON hm.group_id = s.target_id
         WHERE s.target_kind = 'group'
        UNION ALL
        SELECT s.unit_id, NULL::bigint, s.target_kind::cfg.member_kind,
               CASE WHEN s.target_kind = 'device' THEN s.target_id END,
               CASE WHEN s.target_kind = 'user' THEN s.target_id END,
               CASE WHEN s.target_kind = 'implicit_set' THEN s.target_id END, NULL::text, NULL::bigint,
               NULL::bigint, 0, 1, ARRAY[]::bigint[], ARRAY[]::bigint[], 0, NULL::integer, true, ARRAY[]::bigint[]
          FROM src s
         WHERE s.target_kind <> 'group'
        UNION ALL
        SELECT m.unit_id, c.id, c.kind, c.device_id, c.user_id, c.set_id, c.external_number,
               c.member_group_id, m.top_id, m.top_position, m.top_weight,
               m.sort_key || ARRAY[c.position::bigint, c.id], m.path || c.group_id,
               m.eff_delay + c.delay,
               CASE WHEN m.eff_timeout IS NULL THEN c.ring_timeout
                    WHEN c.ring_timeout IS NULL THEN m.eff_timeout
                    ELSE least(m.eff_timeout, c.ring_timeout) END,
               m.enabled_ok AND c.enabled,
               CASE WHEN c.schedule_id IS NULL OR c.schedule_id = ANY (m.scheds) THEN m.scheds
                    ELSE m.scheds || c.schedule_id END
          FROM m
          JOIN cfg.hunt_group_member c ON c.group_id = m.member_group_id
         WHERE m.kind = 'group' AND NOT (m.member_group_id = ANY (m.path)) AND cardinality(m.path) < 10
    ), cand AS (
        SELECT m.*, s.ring_timeout, d.id AS dev_id, d.name AS dev_name, d.endpoint, d.alert_mode,
               CASE WHEN m.kind = 'external' THEN m.external_number
                    WHEN d.endpoint LIKE '+%' THEN d.endpoint END AS number
          FROM m
          JOIN src s ON s.unit_id = m.unit_id
          LEFT JOIN LATERAL (
                SELECT dd.* FROM cfg.device dd
                 WHERE m.kind = 'device' AND dd.id = m.device_id
                UNION ALL
                SELECT dd.* FROM cfg.device dd
                 WHERE m.kind = 'user' AND dd.domain_id = p_domain_id AND dd.user_id = m.user_id
                UNION ALL
                SELECT dd.* FROM cfg.implicit_set_device sd JOIN cfg.device dd ON dd.id = sd.device_id
                 WHERE m.kind = 'implicit_set' AND sd.set_id = m.set_id
          ) d ON m.kind IN ('device', 'user', 'implicit_set')
         WHERE m.kind <> 'group'
           AND (s.member_filter IS NULL OR coalesce(m.top_id = ANY (s.member_filter), false))
           AND (s.device_filter IS NULL OR coalesce(d.id = ANY (s.device_filter), false))
           AND m.enabled_ok
           AND NOT (m.kind IN ('device', 'user', 'implicit_set') AND d.id IS NULL)
    ), legs AS (
        SELECT r.*,
               row_number() OVER (PARTITION BY r.unit_id ORDER BY r.sort_key, r.dev_id) AS seq,
               CASE WHEN r.number IS NULL THEN r.endpoint
                    WHEN p_gateway IS NULL THEN NULL
                    ELSE 'sofia/gateway/' || p_gateway || '/' || r.number END AS target,
               least(r.eff_delay, 300) AS delay,
               coalesce(r.eff_timeout, r.ring_timeout) AS timeout
          FROM cand r
    )
    SELECT l.unit_id, l.seq, l.top_id, l.top_position, l.top_weight, l.dev_id,
           coalesce(l.endpoint LIKE 'user/%', false),
           CASE WHEN cardinality(l.scheds) > 0 THEN l.scheds END,
           l.target IS NOT NULL,
           l.delay + l.timeout,
           jsonb_build_object(
               'target', l.target, 'delay', l.delay, 'timeout', l.timeout,
               'member_id', l.id, 'device_id', l.dev_id, 'label', coalesce(l.dev_name, l.number),
               'variables', CASE WHEN l.alert_mode = 'visual' THEN '{"huntsman_alert_mode": "visual"}'::jsonb
                                 ELSE '{}'::jsonb END)::text
      FROM legs l;

    UPDATE routing.plan_unit u SET exact = x.legs <= 128, repeats = x.repeats
      FROM (SELECT l.unit_id, count(*) AS legs, count(l.device_id) > count(DISTINCT l.device_id) AS repeats
              FROM routing.plan_leg l JOIN routing.plan_unit uu ON uu.id = l.unit_id
             WHERE uu.domain_id = p_domain_id
             GROUP BY l.unit_id) x
     WHERE u.id = x.unit_id;
END
$$;

REVOKE ALL ON FUNCTION routing.plan_compile_units(bigint, text) FROM PUBLIC;
COMMENT ON FUNCTION routing.plan_compile_units(bigint, text) IS
    'Internal to routing.plan_compile: the candidate legs of every bridge unit of a domain (member expansion without live state).';
