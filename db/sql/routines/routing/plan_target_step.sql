-- routing.plan_target_step(p_domain_id, p_kind, p_id, p_label, p_call_uuid, p_now, p_gateway,
--                          p_ring_timeout, p_device_filter, p_member_filter, p_explain) -> jsonb
--
-- Contract (internal to routing.build_plan): plans ONE bridge step for a target of kind
-- 'group' | 'implicit_set' | 'user' | 'device' and returns
--   {"step": <bridge step> | null, "reasons": [...], "cause": <hangup cause when step is null>,
--    "rr_member_id": <member that rings first, round_robin only>, "name": ..., "overflow": {...}}
-- Groups: members are expanded by routing.member_rows (user -> all the user's devices, implicit
-- set -> its devices, nested group -> its members in place, its delays added and its timeouts
-- narrowed; membership cycles and nesting deeper than 10 are cut and reported as nested_cycle;
-- the compiled plans expand members with the same function), then ordered by the
-- group strategy: simultaneous/sequential/enterprise by (position, id); random by md5(call uuid,
-- member id); weighted_random by Efraimidis-Spirakis keys -ln(u)/weight with u from the same
-- seed; longest_idle by device.last_call_ended (nulls first); round_robin starting after the
-- member stored in routing.group_state. All but simultaneous/enterprise become a 'sequential'
-- step. Members are skipped (first reason wins): excluded_by_rule, disabled, outside_schedule,
-- no_devices, dnd, unregistered (user/ endpoints only), busy (dnd/unregistered/busy each only when
-- the group's skip_* flag is on; always on for non-group targets), duplicate (a device already
-- rung by an earlier member), no_gateway (external number and no domain gateway), leg_limit
-- (more than 128 legs, FreeSWITCH MAX_PEERS). The skip flags of the planned group apply to the
-- members of nested groups. External numbers ring as sofia/gateway/<gateway>/<e164>.
-- Reasons are only collected when p_explain. STABLE, never reads the clock.
CREATE OR REPLACE FUNCTION routing.plan_target_step(
    p_domain_id bigint,
    p_kind text,
    p_id bigint,
    p_label text,
    p_call_uuid text,
    p_now timestamptz,
    p_gateway text,
    p_ring_timeout integer,
    p_device_filter bigint[],
    p_member_filter bigint[],
    p_explain boolean
) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_group          cfg.hunt_group;
    v_strategy       text := 'simultaneous';
    v_dial           text;
    v_label          text := p_label;
    v_ring_timeout   integer := p_ring_timeout;
    v_skip_busy      boolean := true;
    v_skip_dnd       boolean := true;
    v_skip_unreg     boolean := true;
    v_rr_position    integer;
    v_rr_member_id   bigint;
    r                record;
    v_legs           jsonb := '[]';
    v_reasons        jsonb := '[]';
    v_seen           bigint[] := '{}';
    v_reason         text;
    v_detail         text;
    v_target         text;
    v_number         text;
    v_leg_count      integer := 0;
    v_total_timeout  integer := 0;
    v_first_member   bigint;
    v_busy_skips     integer := 0;
    v_unreg_skips    integer := 0;
    v_timeout        integer;
    v_delay          integer;
    v_step           jsonb;
    v_cause          text;
    v_overflow       jsonb;
BEGIN
    IF p_kind = 'group' THEN
        SELECT * INTO v_group FROM cfg.hunt_group g WHERE g.id = p_id AND g.domain_id = p_domain_id;
        IF NOT FOUND THEN
            RETURN jsonb_build_object('step', NULL, 'reasons', '[]'::jsonb, 'cause', 'NO_ROUTE_DESTINATION');
        END IF;
        v_strategy := v_group.strategy::text;
        v_label := format('%s (%s)', v_group.name, v_group.strategy);
        v_ring_timeout := v_group.ring_timeout;
        v_skip_busy := v_group.skip_busy;
        v_skip_dnd := v_group.skip_dnd;
        v_skip_unreg := v_group.skip_unregistered;
        v_overflow := jsonb_build_object('kind', v_group.overflow_kind, 'group_id', v_group.overflow_group_id,
                                         'number', v_group.overflow_number, 'mailbox', v_group.overflow_mailbox,
                                         'cause', v_group.overflow_cause);
        IF v_strategy = 'round_robin' THEN
            SELECT m.position, m.id INTO v_rr_position, v_rr_member_id
              FROM routing.group_state s
              JOIN cfg.hunt_group_member m ON m.id = s.last_member_id
             WHERE s.group_id = p_id;
        END IF;
    END IF;
    v_dial := CASE v_strategy WHEN 'simultaneous' THEN 'simultaneous' WHEN 'enterprise' THEN 'enterprise'
                              ELSE 'sequential' END;

    FOR r IN
        SELECT m.*,
               NOT EXISTS (SELECT 1 FROM unnest(m.schedule_ids) AS sid
                            WHERE NOT routing.in_schedule(sid, p_now)) AS schedule_ok
          FROM routing.member_rows(p_domain_id, ARRAY[p_kind], ARRAY[p_id], p_gateway) m
         ORDER BY
               CASE WHEN v_strategy = 'round_robin'
                    THEN ROW(m.top_position, m.top_id) <= ROW(v_rr_position, v_rr_member_id) END,
               CASE WHEN v_strategy = 'random' THEN md5(p_call_uuid || ':' || m.top_id) END,
               CASE WHEN v_strategy = 'weighted_random'
                    THEN -ln((('x' || substr(md5(p_call_uuid || ':' || m.top_id), 1, 13))::bit(52)::bigint + 1)
                             / 4503599627370497.0) / m.top_weight END,
               CASE WHEN v_strategy = 'longest_idle' THEN m.last_call_ended END NULLS FIRST,
               m.sort_key, m.dev_id
    LOOP
        v_reason := NULL;
        v_target := NULL;
        v_number := NULL;
        IF r.kind = 'group' THEN
            v_reason := 'nested_cycle';
        ELSIF p_member_filter IS NOT NULL AND NOT coalesce(r.top_id = ANY (p_member_filter), false) THEN
            v_reason := 'excluded_by_rule';
        ELSIF p_device_filter IS NOT NULL AND NOT coalesce(r.dev_id = ANY (p_device_filter), false) THEN
            v_reason := 'excluded_by_rule';
        ELSIF NOT r.enabled_ok THEN
            v_reason := 'disabled';
        ELSIF NOT r.schedule_ok THEN
            v_reason := 'outside_schedule';
        ELSIF r.kind IN ('device', 'user', 'implicit_set') AND r.dev_id IS NULL THEN
            v_reason := 'no_devices';
        ELSIF v_skip_dnd AND r.dnd THEN
            v_reason := 'dnd';
        ELSIF v_skip_unreg AND r.endpoint LIKE 'user/%' AND NOT r.registered THEN
            v_reason := 'unregistered';
        ELSIF v_skip_busy AND r.busy THEN
            v_reason := 'busy';
        ELSIF r.dev_id = ANY (v_seen) THEN
            v_reason := 'duplicate';
        ELSE
            v_number := r.number;
            v_target := r.target;
            IF v_target IS NULL THEN
                v_reason := 'no_gateway';
            END IF;
            IF v_target IS NOT NULL AND v_leg_count >= 128 THEN
                v_reason := 'leg_limit';
                v_target := NULL;
            END IF;
        END IF;

        IF v_target IS NOT NULL THEN
            v_leg_count := v_leg_count + 1;
            IF r.dev_id IS NOT NULL THEN
                v_seen := v_seen || r.dev_id;
            END IF;
            v_first_member := coalesce(v_first_member, r.top_id);
            v_delay := least(r.eff_delay, 300);
            v_timeout := coalesce(r.eff_timeout, v_ring_timeout);
            v_total_timeout := v_total_timeout + v_delay + v_timeout;
            v_legs := v_legs || jsonb_build_array(
                routing.leg_json(v_target, v_delay, v_timeout, r.id, r.dev_id, coalesce(r.dev_name, v_number), r.alert_mode));
            IF p_explain THEN
                v_reasons := v_reasons || jsonb_build_array(jsonb_build_object(
                    'kind', 'member_included', 'group_id', r.group_id, 'member_id', r.id,
                    'device_id', r.dev_id, 'target', v_target, 'order', v_leg_count,
                    'delay', v_delay, 'timeout', v_timeout));
            END IF;
        ELSE
            IF v_reason IN ('busy', 'dnd') THEN
                v_busy_skips := v_busy_skips + 1;
            ELSIF v_reason = 'unregistered' THEN
                v_unreg_skips := v_unreg_skips + 1;
            END IF;
            IF p_explain THEN
                v_detail := CASE v_reason
                    WHEN 'nested_cycle' THEN format('group %s is already expanded on this path (membership cycle or nesting deeper than 10)', r.member_group_id)
                    WHEN 'excluded_by_rule' THEN 'not selected by the matched routing rule'
                    WHEN 'disabled' THEN 'the member (or the nested group member containing it) is disabled'
                    WHEN 'outside_schedule' THEN format('the member schedule is closed at %s', p_now)
                    WHEN 'no_devices' THEN format('the %s member has no devices', r.kind)
                    WHEN 'dnd' THEN format('device %L has do-not-disturb on', r.dev_name)
                    WHEN 'unregistered' THEN format('device %L (%s) is not registered', r.dev_name, r.endpoint)
                    WHEN 'busy' THEN format('device %L is busy (since %s)', r.dev_name, r.busy_changed_at)
                    WHEN 'duplicate' THEN format('device %L already rings through an earlier member', r.dev_name)
                    WHEN 'no_gateway' THEN format('no outbound gateway in the domain to ring %s', v_number)
                    WHEN 'leg_limit' THEN 'more than 128 legs in one step (FreeSWITCH MAX_PEERS)'
                END;
                v_reasons := v_reasons || jsonb_build_array(jsonb_build_object(
                    'kind', 'member_skipped', 'group_id', r.group_id, 'member_id', r.id,
                    'device_id', r.dev_id, 'reason', v_reason, 'detail', v_detail));
            END IF;
        END IF;
    END LOOP;

    IF v_leg_count = 0 THEN
        v_cause := CASE WHEN v_busy_skips > 0 THEN 'USER_BUSY'
                        WHEN v_unreg_skips > 0 THEN 'USER_NOT_REGISTERED'
                        ELSE 'NO_ROUTE_DESTINATION' END;
        IF p_explain THEN
            v_reasons := v_reasons || jsonb_build_array(jsonb_build_object(
                'kind', 'step_empty', 'target_kind', p_kind, 'target_id', p_id, 'cause', v_cause,
                'detail', format('nobody to ring in %s', v_label)));
        END IF;
    ELSE
        v_step := jsonb_build_object(
            'type', 'bridge',
            'group_id', CASE WHEN p_kind = 'group' THEN p_id END,
            'label', v_label,
            'strategy', v_dial,
            'timeout', CASE WHEN v_dial = 'sequential' THEN v_total_timeout ELSE v_ring_timeout END,
            'variables', CASE WHEN v_dial = 'sequential' THEN '{}'::jsonb
                              ELSE '{"ignore_early_media": "true"}'::jsonb END,
            'legs', v_legs);
    END IF;

    RETURN jsonb_build_object(
        'step', v_step,
        'reasons', v_reasons,
        'cause', v_cause,
        'name', coalesce(v_group.name, p_label),
        'rr_member_id', CASE WHEN v_strategy = 'round_robin' THEN v_first_member END,
        'overflow', v_overflow);
END
$$;

REVOKE ALL ON FUNCTION routing.plan_target_step(bigint, text, bigint, text, text, timestamptz, text, integer, bigint[], bigint[], boolean) FROM PUBLIC;
COMMENT ON FUNCTION routing.plan_target_step(bigint, text, bigint, text, text, timestamptz, text, integer, bigint[], bigint[], boolean) IS
    'Internal to routing.build_plan: one bridge step (legs in strategy order, skipped members with reasons) for a group, implicit set, user or device.';
