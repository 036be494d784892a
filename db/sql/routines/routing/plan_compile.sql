-- routing.plan_compile(p_domain_id bigint, p_only_stale boolean DEFAULT false) -> text
--
-- Contract: rebuilds the compiled form of one domain (routing.plan_unit, plan_leg, plan_alt,
-- plan_caller; see migration 0006) from its configuration, and returns the domain's new state:
-- 'fresh', 'failed' (the error is kept in routing.plan_domain.error, a WARNING is raised, and
-- plan_call uses routing.build_plan for the domain: a compile error never fails the edit that
-- caused it), or NULL when the domain does not exist (any more). With p_only_stale it does
-- nothing unless the domain is marked 'stale' (the deferred trigger uses this, so a domain is
-- compiled once per transaction however many statements touched it).
-- What is compiled, per destination of the domain (the resolution order of build_plan):
--   * an E.164 number with an enabled call queue: one alternative, a queue step;
--   * any other E.164 number: one alternative per enabled routing rule, in (position, id) order,
--     with the rule's caller and schedule conditions, then the default alternative; each with the
--     steps its target rings (the rule's group, or the number's target narrowed to the rule's
--     devices/members, or the whole target) and the overflow chain after it;
--   * an extension: an enabled call queue's, else a hunt group's, else a device's.
-- The units are the bridge steps (groups, and the device/user/implicit-set targets of numbers
-- and device extensions) and the fixed steps; the devices are compiled by SIP user for the
-- caller side (direction, billing device, presented number).
-- Parts (routing.plan_domain.parts): 'routing' (numbers, groups, rules, queues, extensions of
-- groups and queues) and 'devices' (device extensions, SIP users) are rebuilt whole when marked.
-- Devices marked one by one (routing.plan_domain.devices, 0008) are redone alone, for each part
-- not rebuilt whole: their extension unit and the extension alternatives they held or now take,
-- the SIP users they had or now have, and the legs of every unit that reached them or now
-- reaches them (kept unit ids, so chains and overflow tails stay valid). Groups marked one by
-- one (routing.plan_domain.groups: their members changed) have the legs of their units and of
-- the units of every group nesting them redone, unless the routing part is rebuilt whole.
CREATE OR REPLACE FUNCTION routing.plan_compile(p_domain_id bigint, p_only_stale boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = routing, pg_temp
-- the routing.plan_* tables grow inside one transaction while many domains are compiled (a bulk
-- load, a migration): cached generic plans made while they were tiny would scan them whole
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    v_dom     cfg.domain;
    v_state   text;
    v_err     text;
    v_g       record;
    v_version text := (SELECT c.version FROM routing.plan_compiler c);
    v_parts   text[];
    v_prev    text;
    v_routing boolean;
    v_devices boolean;
    v_devs    bigint[];  -- devices to redo one by one (for the parts not rebuilt whole)
    v_grps    bigint[];  -- groups whose members changed (unless the routing part is rebuilt)
    v_dests   text[];    -- device extensions they held or take
    v_users   text[];    -- SIP users they had or have
    v_units   bigint[];  -- routing units whose legs are redone
    v_xkeys   text[];    -- the keys of their extension units
BEGIN
    SELECT p.state, p.parts, p.compiler, p.devices, p.groups INTO v_state, v_parts, v_prev, v_devs, v_grps
      FROM routing.plan_domain p WHERE p.domain_id = p_domain_id FOR UPDATE;
    IF p_only_stale AND v_state IS DISTINCT FROM 'stale' THEN
        RETURN v_state;
    END IF;
    SELECT * INTO v_dom FROM cfg.domain d WHERE d.id = p_domain_id;
    IF v_dom.id IS NULL THEN
        RETURN NULL;  -- deleted: its compiled form went with it (ON DELETE CASCADE)
    END IF;
    IF v_state IS NULL THEN
        INSERT INTO routing.plan_domain (domain_id, state) VALUES (p_domain_id, 'failed')
        ON CONFLICT (domain_id) DO NOTHING;
        PERFORM 1 FROM routing.plan_domain p WHERE p.domain_id = p_domain_id FOR UPDATE;
    END IF;
    -- Only the parts the edits touched, unless asked for all, never compiled, or compiled by
    -- other routines.
    IF NOT p_only_stale OR v_state IS NULL OR v_prev IS DISTINCT FROM v_version THEN
        v_parts := '{devices,routing}';
    END IF;
    v_routing := 'routing' = ANY (v_parts);
    v_devices := 'devices' = ANY (v_parts);
    IF v_routing AND v_devices THEN
        v_devs := NULL;
    END IF;
    IF v_routing THEN
        v_grps := NULL;
    END IF;

    BEGIN
        v_xkeys := ARRAY(SELECT 'x:' || i FROM unnest(v_devs) AS i);
        IF v_devs IS NOT NULL AND NOT v_devices THEN
            -- what the devices held before, then what they take now
            v_dests := ARRAY(SELECT a.dest FROM routing.plan_alt a
                              WHERE a.domain_id = p_domain_id AND a.part = 'devices'
                                AND a.chain[1] = ANY (ARRAY(SELECT u.id FROM routing.plan_unit u
                                                             WHERE u.domain_id = p_domain_id AND u.key = ANY (v_xkeys))))
                       || ARRAY(SELECT d.extension FROM cfg.device d
                                 WHERE d.id = ANY (v_devs) AND d.domain_id = p_domain_id AND d.extension IS NOT NULL);
            v_users := ARRAY(SELECT c.from_user FROM routing.plan_caller c
                              WHERE c.domain_id = p_domain_id AND c.device_id = ANY (v_devs))
                       || ARRAY(SELECT substr(d.endpoint, 6, length(d.endpoint) - 6 - length(v_dom.name)) FROM cfg.device d
                                 WHERE d.id = ANY (v_devs) AND d.domain_id = p_domain_id AND starts_with(d.endpoint, 'user/'));
            DELETE FROM routing.plan_leg l USING routing.plan_unit u
             WHERE l.unit_id = u.id AND u.domain_id = p_domain_id AND u.key = ANY (v_xkeys);
            DELETE FROM routing.plan_unit u WHERE u.domain_id = p_domain_id AND u.key = ANY (v_xkeys);
            DELETE FROM routing.plan_alt a WHERE a.domain_id = p_domain_id AND a.part = 'devices' AND a.dest = ANY (v_dests);
        END IF;
        IF (v_devs IS NOT NULL OR v_grps IS NOT NULL) AND NOT v_routing THEN
            -- the units that reach the devices now (through a member, directly or in nested
            -- groups, or as a number's target) or reached them before (their legs), and the
            -- units of the groups whose members changed and of the groups nesting them
            v_units := ARRAY(
                WITH RECURSIVE dev AS (
                    SELECT d.id, d.user_id FROM cfg.device d WHERE d.domain_id = p_domain_id AND d.id = ANY (v_devs)
                ), dev_set AS (
                    SELECT sd.set_id FROM cfg.implicit_set_device sd
                     WHERE sd.domain_id = p_domain_id AND sd.device_id = ANY (v_devs)
                ), grp AS (
                    SELECT m.group_id FROM cfg.hunt_group_member m
                     WHERE m.domain_id = p_domain_id
                       AND ((m.kind = 'device' AND m.device_id = ANY (v_devs))
                            OR (m.kind = 'user' AND m.user_id IN (SELECT dev.user_id FROM dev))
                            OR (m.kind = 'implicit_set' AND m.set_id IN (SELECT dev_set.set_id FROM dev_set)))
                    UNION
                    SELECT g FROM unnest(v_grps) AS g
                    UNION
                    SELECT m.group_id FROM cfg.hunt_group_member m JOIN grp ON m.member_group_id = grp.group_id
                     WHERE m.domain_id = p_domain_id AND m.kind = 'group'
                )
                SELECT u.id FROM routing.plan_unit u
                 WHERE u.domain_id = p_domain_id AND u.part = 'routing' AND u.static_step IS NULL
                   AND ((u.target_kind = 'group' AND u.target_id IN (SELECT grp.group_id FROM grp))
                        OR (u.target_kind = 'device' AND u.target_id = ANY (v_devs))
                        OR (u.target_kind = 'user' AND u.target_id IN (SELECT dev.user_id FROM dev))
                        OR (u.target_kind = 'implicit_set' AND u.target_id IN (SELECT dev_set.set_id FROM dev_set)))
                UNION
                SELECT l.unit_id FROM routing.plan_leg l
                 WHERE l.device_id = ANY (v_devs) AND l.domain_id = p_domain_id AND l.part = 'routing');
            DELETE FROM routing.plan_leg l WHERE l.unit_id = ANY (v_units);
            UPDATE routing.plan_unit u SET exact = true, repeats = false WHERE u.id = ANY (v_units);
        END IF;

        DELETE FROM routing.plan_leg l WHERE l.domain_id = p_domain_id AND l.part = ANY (v_parts);
        DELETE FROM routing.plan_unit u WHERE u.domain_id = p_domain_id AND u.part = ANY (v_parts);
        DELETE FROM routing.plan_alt a WHERE a.domain_id = p_domain_id AND a.part = ANY (v_parts);

        -- Bridge units of the parts being compiled: every hunt group, the device/user/implicit-set
        -- target of every number (labelled with the number), every device extension (labelled
        -- with the device), and a group or number target narrowed by a routing rule's
        -- devices/members. Their legs come from routing.plan_compile_units.
        INSERT INTO routing.plan_unit (domain_id, key, part, target_kind, target_id, device_filter, member_filter,
                                       group_id, strategy, dial, ring_timeout, skip_busy, skip_dnd, skip_unreg, head)
        WITH target AS (
            SELECT 'g:' || g.id AS key, 'routing' AS part, 'group' AS kind, g.id, NULL::text AS label
              FROM cfg.hunt_group g
             WHERE g.domain_id = p_domain_id
            UNION ALL
            SELECT 'n:' || n.id, 'routing', n.target_kind::text,
                   coalesce(n.target_set_id, n.target_device_id, n.target_user_id), coalesce(n.label, n.e164)
              FROM cfg.number n
             WHERE n.domain_id = p_domain_id AND n.target_kind IN ('device', 'user', 'implicit_set')
            UNION ALL
            SELECT 'x:' || d.id, 'devices', 'device', d.id, d.name
              FROM cfg.device d
             WHERE d.domain_id = p_domain_id AND d.extension IS NOT NULL
               AND (v_devices OR d.id = ANY (v_devs))
        ), unit AS (
            SELECT t.*, NULL::bigint[] AS device_filter, NULL::bigint[] AS member_filter
              FROM target t
            UNION ALL
            SELECT t.key || ':r:' || r.id, t.part, t.kind, t.id, t.label,
                   CASE WHEN r.action = 'devices' THEN ARRAY(SELECT x.device_id FROM cfg.routing_rule_device x WHERE x.rule_id = r.id) END,
                   CASE WHEN r.action = 'members' THEN ARRAY(SELECT x.member_id FROM cfg.routing_rule_member x WHERE x.rule_id = r.id) END
              FROM cfg.routing_rule r
              JOIN cfg.number n ON n.id = r.number_id
              JOIN target t ON t.key = CASE WHEN n.target_kind = 'group' THEN 'g:' || n.target_group_id
                                            ELSE 'n:' || n.id END
             WHERE r.domain_id = p_domain_id AND r.enabled AND r.action IN ('devices', 'members')
        )
        SELECT p_domain_id, u.key, u.part, u.kind, u.id, u.device_filter, u.member_filter, g.id,
               coalesce(g.strategy::text, 'simultaneous'), x.dial, coalesce(g.ring_timeout, v_dom.ring_timeout),
               coalesce(g.skip_busy, true), coalesce(g.skip_dnd, true), coalesce(g.skip_unregistered, true),
               left(jsonb_build_object('type', 'bridge', 'group_id', g.id,
                                       'label', CASE WHEN g.id IS NOT NULL THEN format('%s (%s)', g.name, g.strategy)
                                                     ELSE u.label END,
                                       'strategy', x.dial,
                                       'variables', CASE WHEN x.dial = 'sequential' THEN '{}'::jsonb
                                                         ELSE '{"ignore_early_media": "true"}'::jsonb END)::text, -1)
          FROM unit u
          LEFT JOIN cfg.hunt_group g ON u.kind = 'group' AND g.id = u.id
         CROSS JOIN LATERAL (SELECT CASE coalesce(g.strategy::text, 'simultaneous')
                                        WHEN 'simultaneous' THEN 'simultaneous'
                                        WHEN 'enterprise' THEN 'enterprise'
                                        ELSE 'sequential' END AS dial) x
         WHERE u.part = ANY (v_parts)
            OR (u.part = 'devices' AND NOT v_devices AND u.id = ANY (v_devs));

        -- the legs: of every unit when a part is rebuilt whole, else of the units redone here
        PERFORM routing.plan_compile_units(
            p_domain_id, v_dom.gateway,
            CASE WHEN NOT (v_routing OR v_devices)
                 THEN coalesce(v_units, '{}')
                      || ARRAY(SELECT u.id FROM routing.plan_unit u WHERE u.domain_id = p_domain_id AND u.key = ANY (v_xkeys))
            END);
        IF v_units <> '{}' THEN
            -- a routing alternative is exact when every unit of its chain is
            UPDATE routing.plan_alt a
               SET exact = NOT EXISTS (SELECT 1 FROM routing.plan_unit u WHERE u.id = ANY (a.chain) AND NOT u.exact)
             WHERE a.domain_id = p_domain_id AND a.part = 'routing' AND a.chain && v_units;
        END IF;

        IF v_routing THEN
        -- The overflow chain after each group's step.
        FOR v_g IN SELECT g.id FROM cfg.hunt_group g WHERE g.domain_id = p_domain_id LOOP
            UPDATE routing.plan_unit u SET tail = t.tail
              FROM (SELECT routing.plan_compile_tail(v_dom, v_g.id) AS tail) t
             WHERE u.domain_id = p_domain_id AND u.target_kind = 'group' AND u.target_id = v_g.id;
        END LOOP;

        -- Numbers with an enabled call queue.
        INSERT INTO routing.plan_alt (domain_id, dest, alt_no, route, number_id, chain, exact)
        SELECT p_domain_id, n.e164, 0,
               jsonb_build_object('kind', 'queue', 'number_id', n.id, 'rule_id', NULL, 'group_id', NULL,
                                  'name', q.name)::text,
               n.id,
               ARRAY[routing.plan_static_unit(p_domain_id, jsonb_build_object('type', 'queue', 'queue_id', q.id))],
               q.queues = 1
          FROM cfg.number n
          JOIN LATERAL (SELECT min(q.id) AS id, count(*) AS queues, (array_agg(q.name ORDER BY q.id))[1] AS name
                          FROM queue.queue q
                         WHERE q.number_id = n.id AND q.domain_id = p_domain_id AND q.enabled) q ON q.id IS NOT NULL
         WHERE n.domain_id = p_domain_id;

        -- Other numbers: one alternative per enabled rule, then the default.
        INSERT INTO routing.plan_alt (domain_id, dest, alt_no, rule_id, caller_match, caller_value, contact_list_id,
                                      schedule_id, schedule_in, route, number_id, chain, exact)
        SELECT p_domain_id, a.e164, a.alt_no, a.rule_id, a.caller_match, a.caller_value, a.contact_list_id,
               a.schedule_id, a.schedule_in,
               jsonb_build_object('kind', 'number', 'number_id', a.number_id, 'rule_id', a.rule_id,
                                  'group_id', CASE WHEN a.kind = 'group' THEN a.target_id END,
                                  'name', a.label)::text,
               a.number_id,
               CASE WHEN a.kind IS NULL OR (a.kind = 'group' AND a.target_id IS NULL)
                    THEN ARRAY[routing.plan_static_unit(p_domain_id, '{"type": "hangup", "cause": "NO_ROUTE_DESTINATION"}')]
                    WHEN a.kind = 'group' THEN ARRAY[u.id] || u.tail
                    ELSE ARRAY[u.id] END,
               a.kind IS NULL OR (a.kind = 'group' AND a.target_id IS NULL) OR u.id IS NOT NULL
          FROM (SELECT n.id AS number_id, n.e164, coalesce(n.label, n.e164) AS label,
                       r.alt_no, r.rule_id, coalesce(r.caller_match, 'any') AS caller_match, r.caller_value,
                       r.contact_list_id, r.schedule_id, r.schedule_in,
                       CASE WHEN r.action = 'group' THEN 'group' ELSE n.target_kind::text END AS kind,
                       CASE WHEN r.action = 'group' THEN r.target_group_id
                            ELSE coalesce(n.target_group_id, n.target_set_id, n.target_device_id, n.target_user_id) END AS target_id,
                       CASE WHEN r.action = 'group' THEN 'g:' || r.target_group_id
                            WHEN n.target_kind = 'group' THEN 'g:' || n.target_group_id
                            ELSE 'n:' || n.id END
                       || CASE WHEN r.action IN ('devices', 'members') THEN ':r:' || r.rule_id ELSE '' END AS unit_key
                  FROM cfg.number n
                  CROSS JOIN LATERAL (
                        SELECT row_number() OVER (ORDER BY rr.position, rr.id)::integer AS alt_no, rr.id AS rule_id,
                               rr.caller_match, rr.caller_value, rr.contact_list_id, rr.schedule_id,
                               CASE WHEN rr.schedule_id IS NOT NULL THEN rr.schedule_match = 'in' END AS schedule_in,
                               rr.action::text AS action, rr.target_group_id
                          FROM cfg.routing_rule rr
                         WHERE rr.number_id = n.id AND rr.enabled
                        UNION ALL
                        SELECT 2147483647, NULL, NULL, NULL, NULL, NULL, NULL, 'all', NULL) r
                 WHERE n.domain_id = p_domain_id
                   AND NOT EXISTS (SELECT 1 FROM queue.queue q WHERE q.number_id = n.id AND q.domain_id = p_domain_id AND q.enabled)
               ) a
          LEFT JOIN routing.plan_unit u ON u.domain_id = p_domain_id AND u.key = a.unit_key;

        -- Extensions: a call queue's, else a hunt group's, else a device's.
        INSERT INTO routing.plan_alt (domain_id, dest, alt_no, route, chain, exact)
        SELECT DISTINCT ON (e.extension) p_domain_id, e.extension, 0, e.route, coalesce(e.chain, '{}'), e.chain IS NOT NULL
          FROM (SELECT q.extension, 1 AS rank, q.id AS id,
                       jsonb_build_object('kind', 'queue', 'number_id', NULL, 'rule_id', NULL, 'group_id', NULL,
                                          'name', q.name)::text AS route,
                       ARRAY[routing.plan_static_unit(p_domain_id, jsonb_build_object('type', 'queue', 'queue_id', q.id))] AS chain
                  FROM queue.queue q
                 WHERE q.domain_id = p_domain_id AND q.extension IS NOT NULL AND q.enabled
                UNION ALL
                SELECT g.extension, 2, g.id,
                       jsonb_build_object('kind', 'group', 'number_id', NULL, 'rule_id', NULL, 'group_id', g.id,
                                          'name', g.name)::text,
                       (SELECT ARRAY[u.id] || u.tail FROM routing.plan_unit u
                         WHERE u.domain_id = p_domain_id AND u.key = 'g:' || g.id)
                  FROM cfg.hunt_group g
                 WHERE g.domain_id = p_domain_id AND g.extension IS NOT NULL) e
         ORDER BY e.extension, e.rank, e.id;

        UPDATE routing.plan_alt a SET exact = false
         WHERE a.domain_id = p_domain_id AND a.part = 'routing' AND a.exact
           AND EXISTS (SELECT 1 FROM routing.plan_unit u WHERE u.id = ANY (a.chain) AND NOT u.exact);
        UPDATE routing.plan_alt a SET exact = false, chain = '{}'
         WHERE a.domain_id = p_domain_id AND a.part = 'routing'
           AND (a.chain IS NULL OR array_position(a.chain, NULL) IS NOT NULL);
        END IF;

        -- Device extensions: the extensions no call queue or hunt group took (they share one
        -- namespace; a queue's or a group's wins, as in build_plan).
        IF v_routing THEN
            DELETE FROM routing.plan_alt a
             WHERE a.domain_id = p_domain_id AND a.part = 'devices'
               AND EXISTS (SELECT 1 FROM routing.plan_alt r
                            WHERE r.domain_id = p_domain_id AND r.part = 'routing' AND r.dest = a.dest);
        END IF;
        INSERT INTO routing.plan_alt (domain_id, dest, alt_no, part, route, chain, exact)
        SELECT DISTINCT ON (d.extension) p_domain_id, d.extension, 0, 'devices',
               jsonb_build_object('kind', 'extension', 'number_id', NULL, 'rule_id', NULL, 'group_id', NULL,
                                  'name', d.name)::text,
               ARRAY[u.id], true
          FROM cfg.device d
          -- each device's unit by its key (the unique index), whatever the statistics of
          -- plan_unit say just after it was rewritten (OFFSET 0 keeps the join from being
          -- flattened and reordered: with the unit table as the outer side it went quadratic)
         CROSS JOIN LATERAL (SELECT x.id FROM routing.plan_unit x
                              WHERE x.domain_id = p_domain_id AND x.key = 'x:' || d.id OFFSET 0) u
         WHERE d.domain_id = p_domain_id AND d.extension IS NOT NULL
           AND (v_devices OR v_routing OR d.extension = ANY (v_dests))
           AND NOT EXISTS (SELECT 1 FROM routing.plan_alt a WHERE a.domain_id = p_domain_id AND a.dest = d.extension)
         ORDER BY d.extension, d.id;

        IF v_devices OR v_users IS NOT NULL THEN
        -- The caller side: devices by SIP user, and the number each presents (when devices are
        -- redone one by one: the SIP users they had or have).
        DELETE FROM routing.plan_caller c WHERE c.domain_id = p_domain_id AND (v_devices OR c.from_user = ANY (v_users));
        INSERT INTO routing.plan_caller (domain_id, from_user, device_id, presented_id, presented)
        SELECT DISTINCT ON (x.from_user) p_domain_id, x.from_user, d.id,
               coalesce(n.id, s.id), CASE WHEN n.id IS NOT NULL THEN n.e164 ELSE s.e164 END
          FROM cfg.device d
         CROSS JOIN LATERAL (SELECT substr(d.endpoint, 6, length(d.endpoint) - 6 - length(v_dom.name)) AS from_user) x
          LEFT JOIN cfg.number n ON n.id = coalesce(d.presented_number_id, d.number_id)
          LEFT JOIN LATERAL (SELECT n2.id, n2.e164
                               FROM cfg.implicit_set_device sd
                               JOIN cfg.implicit_set st ON st.id = sd.set_id
                               JOIN cfg.number n2 ON n2.id = st.number_id
                              WHERE sd.device_id = d.id
                              ORDER BY st.id LIMIT 1) s ON true
         WHERE d.domain_id = p_domain_id
           AND starts_with(d.endpoint, 'user/') AND right(d.endpoint, length(v_dom.name) + 1) = '@' || v_dom.name
           AND length(x.from_user) BETWEEN 1 AND 64 AND x.from_user ~ '^[A-Za-z0-9_.+-]+$'
           -- (the endpoints of those SIP users: the index on endpoint finds them)
           AND (v_devices OR d.endpoint = ANY (ARRAY(SELECT 'user/' || f || '@' || v_dom.name FROM unnest(v_users) AS f)))
         ORDER BY x.from_user, d.id;
        END IF;

        UPDATE routing.plan_domain p
           SET state = 'fresh', parts = '{}', devices = NULL, groups = NULL, domain_name = v_dom.name, gateway = v_dom.gateway, ring_timeout = v_dom.ring_timeout,
               fallback = routing.fallback_step(v_dom.fallback_destination, v_dom.fallback_context)::text,
               compiler = v_version, version = p.version + 1, compiled_at = clock_timestamp(), error = NULL
         WHERE p.domain_id = p_domain_id;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_err = MESSAGE_TEXT;
        UPDATE routing.plan_domain p
           SET state = 'failed', devices = NULL, groups = NULL, compiler = v_version, compiled_at = clock_timestamp(), error = v_err
         WHERE p.domain_id = p_domain_id;
        RAISE WARNING 'routing.plan_compile: domain % (%) not compiled, plan_call uses routing.build_plan for it: %',
            p_domain_id, v_dom.name, v_err;
        RETURN 'failed';
    END;
    RETURN 'fresh';
END
$$;

REVOKE ALL ON FUNCTION routing.plan_compile(bigint, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION routing.plan_compile(bigint, boolean) TO huntsman_console;
COMMENT ON FUNCTION routing.plan_compile(bigint, boolean) IS
    'Rebuild the compiled plans of one domain (routing.plan_*); returns fresh, failed (plan_call then uses build_plan) or NULL (no such domain).';
