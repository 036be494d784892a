-- routing.member_rows(p_domain_id bigint, p_kinds text[], p_ids bigint[], p_gateway text) -> SETOF rows
--
-- Contract: the member expansion shared by routing.plan_target_step (the reference planner) and
-- routing.plan_compile_units (the compiled plans), so both ring the same members. For each
-- target p_kinds[i] / p_ids[i] (target_no = i in the result) of kind 'group' | 'implicit_set' |
-- 'user' | 'device' in domain p_domain_id (several at once for the compiler): one row per
-- (member, device) in no particular order; a group's members are expanded recursively (user ->
-- all the user's devices in the domain, implicit set -> its devices, nested group -> its members
-- in place: delays added, ring timeouts narrowed, enabled flags ANDed, member schedules
-- collected in schedule_ids); a nested group already on the path, or nested deeper than 10, is
-- returned as a row of kind 'group' (plan_target_step's nested_cycle). A non-group target is a
-- single pseudo-member (id, top_id NULL, sort_key {}). Members without a device (a device,
-- user or set that has none) come with dev_id NULL; external numbers too. The device columns
-- are read live (dnd, registered, busy, busy_changed_at, last_call_ended). number: the E.164
-- number a member rings (an external number, or a device whose endpoint is a number); target:
-- the dial target (the device endpoint, or sofia/gateway/<p_gateway>/<number>; NULL when a
-- number has no gateway to ring through: plan_target_step's no_gateway). Order by
-- (sort_key, dev_id) for the configuration order. STABLE, never reads the clock.
-- Its result columns cannot change in place (CREATE OR REPLACE refuses a new result type): a
-- change needs a migration that drops the function first.
CREATE OR REPLACE FUNCTION routing.member_rows(p_domain_id bigint, p_kinds text[], p_ids bigint[], p_gateway text)
RETURNS TABLE (
    target_no       bigint,
    id              bigint,
    group_id        bigint,
    kind            cfg.member_kind,
    external_number text,
    member_group_id bigint,
    top_id          bigint,
    top_position    integer,
    top_weight      integer,
    sort_key        bigint[],
    path            bigint[],
    eff_delay       integer,
    eff_timeout     integer,
    enabled_ok      boolean,
    schedule_ids    bigint[],
    dev_id          bigint,
    dev_name        text,
    endpoint        text,
    alert_mode      cfg.alert_mode,
    dnd             boolean,
    registered      boolean,
    busy            boolean,
    busy_changed_at timestamptz,
    last_call_ended timestamptz,
    number          text,
    target          text
)
LANGUAGE plpgsql STABLE
SET search_path = routing, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH RECURSIVE t AS (
        SELECT x.kind, x.id, x.n FROM unnest(p_kinds, p_ids) WITH ORDINALITY AS x (kind, id, n)
    ), m AS (
        SELECT t.n AS target_no, hm.id, hm.group_id, hm.kind, hm.device_id, hm.user_id, hm.set_id, hm.external_number,
               hm.member_group_id, hm.id AS top_id, hm.position AS top_position, hm.weight AS top_weight,
               ARRAY[hm.position::bigint, hm.id] AS sort_key, ARRAY[hm.group_id] AS path,
               hm.delay AS eff_delay, hm.ring_timeout AS eff_timeout, hm.enabled AS enabled_ok,
               CASE WHEN hm.schedule_id IS NULL THEN ARRAY[]::bigint[] ELSE ARRAY[hm.schedule_id] END AS scheds
          FROM t
          JOIN cfg.hunt_group_member hm ON hm.group_id = t.id
         WHERE t.kind = 'group'
        UNION ALL
        SELECT t.n, NULL::bigint, NULL::bigint, t.kind::cfg.member_kind,
               CASE WHEN t.kind = 'device' THEN t.id END, CASE WHEN t.kind = 'user' THEN t.id END,
               CASE WHEN t.kind = 'implicit_set' THEN t.id END, NULL::text, NULL::bigint,
               NULL::bigint, 0, 1, ARRAY[]::bigint[], ARRAY[]::bigint[], 0, NULL::integer, true, ARRAY[]::bigint[]
          FROM t
         WHERE t.kind <> 'group'
        UNION ALL
        SELECT m.target_no, c.id, c.group_id, c.kind, c.device_id, c.user_id, c.set_id, c.external_number,
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
    )
    SELECT m.target_no, m.id, m.group_id, m.kind, m.external_number, m.member_group_id, m.top_id, m.top_position,
           m.top_weight, m.sort_key, m.path, m.eff_delay, m.eff_timeout, m.enabled_ok, m.scheds,
           d.id, d.name, d.endpoint, d.alert_mode, d.dnd, d.registered, d.busy, d.busy_changed_at,
           d.last_call_ended, n.number,
           CASE WHEN n.number IS NULL THEN d.endpoint
                WHEN p_gateway IS NOT NULL THEN 'sofia/gateway/' || p_gateway || '/' || n.number END
      FROM m
      LEFT JOIN LATERAL (
            SELECT dd.* FROM cfg.device dd
             WHERE m.kind = 'device' AND dd.id = m.device_id
            UNION ALL
            SELECT dd.* FROM cfg.device dd
             WHERE m.kind = 'user' AND dd.domain_id = p_domain_id AND dd.user_id = m.user_id
            UNION ALL
            SELECT dd.* FROM cfg.implicit_set_device s JOIN cfg.device dd ON dd.id = s.device_id
             WHERE m.kind = 'implicit_set' AND s.set_id = m.set_id
      ) d ON m.kind IN ('device', 'user', 'implicit_set')
      CROSS JOIN LATERAL (SELECT CASE WHEN m.kind = 'external' THEN m.external_number
                                      WHEN d.endpoint LIKE '+%' THEN d.endpoint END AS number) n
     WHERE m.kind <> 'group' OR m.member_group_id = ANY (m.path) OR cardinality(m.path) >= 10;
END
$$;

REVOKE ALL ON FUNCTION routing.member_rows(bigint, text[], bigint[], text) FROM PUBLIC;
COMMENT ON FUNCTION routing.member_rows(bigint, text[], bigint[], text) IS
    'The members of a group (recursively), implicit set, user or device target with their devices: shared by plan_target_step and plan_compile_units.';
