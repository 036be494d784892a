-- routing.build_plan(p_call jsonb, p_now timestamptz, p_explain boolean) -> jsonb
--
-- Contract: the one code path behind plan_call, explain_call and start_call. Returns
--   {"plan": <plan, docs/contracts.md section 3, plan_version 1>,
--    "reasons": [...] (empty unless p_explain),
--    "round_robin": [{"group_id": .., "member_id": ..}]  (pointers start_call stores)}
-- Resolution, in order, inside the call's domain (cfg.domain.name = lower(call.domain)):
--   1. destination is an E.164 number of the domain ("00" prefix read as "+") -> route 'number':
--      the number's rules are tried in (position, id) order; the first enabled rule whose caller
--      match (exact, prefix, pattern, list) and schedule match (in/out) both hold selects the
--      clients (all / devices / members / another group); none matching -> the whole target;
--   1q./2q. destination is a number or an extension of an enabled call queue (queue.queue) -> route
--      'queue' and one step {"type":"queue","queue_id":..} (number rules do not apply);
--   2. destination is a hunt group extension -> route 'group';
--   3. destination is a device extension -> route 'extension';
--   4. the caller is one of the domain's devices (call.from_user, endpoint user/<from_user>@<domain>)
--      and the destination is an E.164 number (not one of the domain's) -> route 'outbound': one
--      leg to sofia/gateway/<domain gateway>/<e164>, caller_id = the device's presented number
--      (presented_number_id, else number_id, else its first implicit registration set's number);
--   5. otherwise route 'none' and a single hangup step UNALLOCATED_NUMBER.
-- When the call's domain is not a tenant (e.g. a trunk call addressed to an IP), an E.164
-- destination is looked up among all numbers (e164 is globally unique) and its domain is used.
-- A group that nobody answers continues with its overflow: another group or a number of the
-- domain (a further step each hop), an external number (bridge via the gateway), voicemail or a
-- hangup cause. At most 10 overflow hops: the 11th is NOT raised as an error; the plan ends with
-- the domain fallback as its last step and a reason {"kind":"overflow_hop_limit","sqlstate":"HM001"}.
-- A plan without any step gets one hangup step (USER_BUSY when members were skipped as busy/dnd,
-- USER_NOT_REGISTERED when unregistered, else NO_ROUTE_DESTINATION).
-- billing (contracts.md section 3): direction inbound|internal|outbound; device_id = the calling
-- device (null for inbound); number_id = for inbound the called number, otherwise the number the
-- calling device presents (null when it has none).
-- Errors: HM004 when p_call is not an object with uuid, domain and destination, or p_now is NULL.
-- STABLE: reads configuration and live state, never the clock (p_now is the clock).
CREATE OR REPLACE FUNCTION routing.build_plan(p_call jsonb, p_now timestamptz, p_explain boolean)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    c_max_hops      CONSTANT integer := 10;
    v_uuid          text;
    v_domain_name   text;
    v_dest          text;
    v_dest_e164     text;
    v_caller        text;
    v_caller_name   text;
    v_from_user     text;
    v_dom           cfg.domain;
    v_num           cfg.number;
    v_caller_dev    cfg.device;
    v_rule          record;
    v_matched_id    bigint;
    v_matched_action text;
    v_matched_group bigint;
    v_ok            boolean;
    v_why           text;
    v_route         jsonb;
    v_caller_id     jsonb;
    v_billing       jsonb;
    v_fallback      jsonb;
    v_steps         jsonb := '[]';
    v_reasons       jsonb := '[]';
    v_rr            jsonb := '[]';
    v_kind          text;
    v_id            bigint;
    v_label         text;
    v_device_filter bigint[];
    v_member_filter bigint[];
    v_res           jsonb;
    v_overflow      jsonb;
    v_hops          integer := 0;
    v_visited       bigint[] := '{}';
    v_last_cause    text;
    v_direction     text;
    v_presented_id  bigint;
    v_presented     text;
    v_group_id      bigint;
    v_name          text;
    v_queue_id      bigint;
BEGIN
    IF p_call IS NULL OR jsonb_typeof(p_call) <> 'object' THEN
        RAISE EXCEPTION 'call is not a JSON object: %', left(coalesce(p_call::text, 'NULL'), 200)
            USING ERRCODE = 'HM004';
    END IF;
    IF p_now IS NULL THEN
        RAISE EXCEPTION 'p_now is missing: the caller passes the clock' USING ERRCODE = 'HM004';
    END IF;
    v_uuid := p_call->>'uuid';
    v_domain_name := lower(p_call->>'domain');
    v_dest := p_call->>'destination';
    v_caller := p_call->>'caller_number';
    v_caller_name := p_call->>'caller_name';
    v_from_user := p_call->>'from_user';
    IF coalesce(v_uuid, '') = '' OR coalesce(v_domain_name, '') = '' OR coalesce(v_dest, '') = '' THEN
        RAISE EXCEPTION 'call.% is missing or empty', CASE WHEN coalesce(v_uuid, '') = '' THEN 'uuid'
                                                           WHEN coalesce(v_domain_name, '') = '' THEN 'domain'
                                                           ELSE 'destination' END
            USING ERRCODE = 'HM004';
    END IF;
    v_dest_e164 := CASE WHEN v_dest ~ '^\+[1-9][0-9]{1,14}$' THEN v_dest
                        WHEN v_dest ~ '^00[1-9][0-9]{1,14}$' THEN '+' || substr(v_dest, 3) END;

    SELECT * INTO v_dom FROM cfg.domain d WHERE d.name = v_domain_name;
    IF NOT FOUND AND v_dest_e164 IS NOT NULL THEN
        SELECT d.* INTO v_dom FROM cfg.number n JOIN cfg.domain d ON d.id = n.domain_id WHERE n.e164 = v_dest_e164;
        IF FOUND AND p_explain THEN
            v_reasons := v_reasons || jsonb_build_array(jsonb_build_object(
                'kind', 'domain_from_number', 'domain_id', v_dom.id,
                'detail', format('domain %L is not a tenant; number %s belongs to %L', v_domain_name, v_dest_e164, v_dom.name)));
        END IF;
    END IF;

    v_fallback := routing.fallback_step(v_dom.fallback_destination, v_dom.fallback_context);
    v_caller_id := jsonb_build_object('name', v_caller_name, 'number', v_caller);
    v_route := jsonb_build_object('kind', 'none', 'number_id', NULL, 'rule_id', NULL, 'group_id', NULL, 'name', NULL);
    v_direction := 'inbound';

    IF v_dom.id IS NULL THEN
        IF p_explain THEN
            v_reasons := v_reasons || jsonb_build_array(jsonb_build_object(
                'kind', 'unknown_domain', 'detail', format('no domain named %L', v_domain_name)));
        END IF;
        v_steps := '[{"type": "hangup", "cause": "UNALLOCATED_NUMBER"}]';
    ELSE
        IF length(v_from_user) <= 64 AND v_from_user ~ '^[A-Za-z0-9_.+-]+$' THEN
            SELECT * INTO v_caller_dev FROM cfg.device d
             WHERE d.endpoint = 'user/' || v_from_user || '@' || v_dom.name AND d.domain_id = v_dom.id
             ORDER BY d.id LIMIT 1;
            IF v_caller_dev.id IS NOT NULL THEN
                v_direction := 'internal';
                -- the number this device presents (outbound caller ID, billing.number_id)
                SELECT n.id, n.e164 INTO v_presented_id, v_presented FROM cfg.number n
                 WHERE n.id = coalesce(v_caller_dev.presented_number_id, v_caller_dev.number_id);
                IF NOT FOUND THEN
                    SELECT n.id, n.e164 INTO v_presented_id, v_presented
                      FROM cfg.implicit_set_device sd
                      JOIN cfg.implicit_set s ON s.id = sd.set_id
                      JOIN cfg.number n ON n.id = s.number_id
                     WHERE sd.device_id = v_caller_dev.id
                     ORDER BY s.id LIMIT 1;
                END IF;
            END IF;
        END IF;

        IF v_dest_e164 IS NOT NULL THEN
            SELECT * INTO v_num FROM cfg.number n WHERE n.e164 = v_dest_e164 AND n.domain_id = v_dom.id;
        END IF;

        IF v_num.id IS NOT NULL THEN
            -- 1q. a number routed to a call queue (queue.queue.number_id): the queue decides
            SELECT q.id, q.name INTO v_queue_id, v_name FROM queue.queue q
             WHERE q.number_id = v_num.id AND q.domain_id = v_dom.id AND q.enabled;
        END IF;

        IF v_queue_id IS NOT NULL THEN
            v_kind := 'queue';
            v_route := jsonb_build_object('kind', 'queue', 'number_id', v_num.id, 'rule_id', NULL,
                                          'group_id', NULL, 'name', v_name);
        ELSIF v_num.id IS NOT NULL THEN
            -- 1. a number of the domain: rules, then its target
            FOR v_rule IN
                SELECT rr.*, s.name AS schedule_name
                  FROM cfg.routing_rule rr
                  LEFT JOIN cfg.schedule s ON s.id = rr.schedule_id
                 WHERE rr.number_id = v_num.id AND rr.enabled
                 ORDER BY rr.position, rr.id
            LOOP
                v_ok := CASE v_rule.caller_match
                    WHEN 'any' THEN true
                    WHEN 'exact' THEN v_caller = v_rule.caller_value
                    WHEN 'prefix' THEN starts_with(v_caller, v_rule.caller_value)
                    WHEN 'pattern' THEN v_caller ~ v_rule.caller_value
                    WHEN 'list' THEN EXISTS (SELECT 1 FROM cfg.contact_list_entry e
                                              WHERE e.list_id = v_rule.contact_list_id AND e.number = v_caller)
                END;
                v_ok := coalesce(v_ok, false);
                IF NOT v_ok THEN
                    v_why := format('caller %s does not match %s %s', coalesce(quote_literal(v_caller), 'NULL'),
                                    v_rule.caller_match,
                                    coalesce(quote_literal(v_rule.caller_value), 'contact list ' || v_rule.contact_list_id));
                ELSIF v_rule.schedule_id IS NOT NULL
                      AND routing.in_schedule(v_rule.schedule_id, p_now) <> (v_rule.schedule_match = 'in') THEN
                    v_ok := false;
                    v_why := format('schedule %L is %s at %s (rule wants %s)', v_rule.schedule_name,
                                    CASE WHEN v_rule.schedule_match = 'in' THEN 'closed' ELSE 'open' END,
                                    p_now, CASE WHEN v_rule.schedule_match = 'in' THEN 'open' ELSE 'closed' END);
                END IF;
                IF v_ok THEN
                    v_matched_id := v_rule.id;
                    v_matched_action := v_rule.action::text;
                    v_matched_group := v_rule.target_group_id;
                    IF p_explain THEN
                        v_reasons := v_reasons || jsonb_build_array(jsonb_build_object(
                            'kind', 'rule_matched', 'rule_id', v_rule.id, 'name', v_rule.name,
                            'action', v_rule.action));
                    END IF;
                    EXIT;
                ELSIF p_explain THEN
                    v_reasons := v_reasons || jsonb_build_array(jsonb_build_object(
                        'kind', 'rule_not_matched', 'rule_id', v_rule.id, 'name', v_rule.name, 'detail', v_why));
                END IF;
            END LOOP;

            IF v_matched_id IS NULL AND p_explain THEN
                v_reasons := v_reasons || jsonb_build_array(jsonb_build_object(
                    'kind', 'rule_default', 'detail', 'no rule matched: ring the number''s whole target'));
            END IF;

            IF v_matched_action = 'group' THEN
                v_kind := 'group';
                v_id := v_matched_group;
            ELSE
                v_kind := v_num.target_kind::text;
                v_id := coalesce(v_num.target_group_id, v_num.target_set_id, v_num.target_device_id, v_num.target_user_id);
                IF v_matched_action = 'devices' THEN
                    v_device_filter := ARRAY(SELECT x.device_id FROM cfg.routing_rule_device x WHERE x.rule_id = v_matched_id);
                ELSIF v_matched_action = 'members' THEN
                    v_member_filter := ARRAY(SELECT x.member_id FROM cfg.routing_rule_member x WHERE x.rule_id = v_matched_id);
                END IF;
            END IF;
            v_label := coalesce(v_num.label, v_num.e164);
            v_route := jsonb_build_object('kind', 'number', 'number_id', v_num.id, 'rule_id', v_matched_id,
                                          'group_id', NULL, 'name', v_label);
        ELSIF v_dest ~ '^[0-9]{2,15}$' THEN
            -- 2q./2./3. an extension of the domain: a call queue, a hunt group or a device
            SELECT q.id, q.name INTO v_queue_id, v_name FROM queue.queue q
             WHERE q.domain_id = v_dom.id AND q.extension = v_dest AND q.enabled;
            IF FOUND THEN
                v_kind := 'queue';
                v_route := jsonb_build_object('kind', 'queue', 'number_id', NULL, 'rule_id', NULL,
                                              'group_id', NULL, 'name', v_name);
            ELSE
            SELECT g.id, g.name INTO v_id, v_name FROM cfg.hunt_group g
             WHERE g.domain_id = v_dom.id AND g.extension = v_dest;
            IF FOUND THEN
                v_kind := 'group';
                v_route := jsonb_build_object('kind', 'group', 'number_id', NULL, 'rule_id', NULL,
                                              'group_id', v_id, 'name', v_name);
            ELSE
                SELECT d.id, d.name INTO v_id, v_name FROM cfg.device d
                 WHERE d.domain_id = v_dom.id AND d.extension = v_dest;
                IF FOUND THEN
                    v_kind := 'device';
                    v_label := v_name;
                    v_route := jsonb_build_object('kind', 'extension', 'number_id', NULL, 'rule_id', NULL,
                                                  'group_id', NULL, 'name', v_name);
                END IF;
            END IF;
            END IF;
        END IF;

        IF v_kind IS NULL AND v_num.id IS NULL AND v_caller_dev.id IS NOT NULL AND v_dest_e164 IS NOT NULL THEN
            -- 4. outbound through the domain gateway
            v_direction := 'outbound';
            IF v_presented_id IS NOT NULL THEN
                v_caller_id := jsonb_build_object('name', v_caller_name, 'number', v_presented);
            END IF;
            v_route := jsonb_build_object('kind', 'outbound', 'number_id', NULL, 'rule_id', NULL,
                                          'group_id', NULL, 'name', v_dom.gateway);
            IF p_explain THEN
                v_reasons := v_reasons || jsonb_build_array(jsonb_build_object(
                    'kind', 'outbound', 'device_id', v_caller_dev.id, 'presented_number', v_presented,
                    'detail', CASE WHEN v_presented_id IS NULL
                                   THEN 'device has no presented number: caller number passed through'
                                   ELSE format('device presents %s', v_presented) END));
            END IF;
            IF v_dom.gateway IS NULL THEN
                v_steps := '[{"type": "hangup", "cause": "NO_ROUTE_DESTINATION"}]';
                IF p_explain THEN
                    v_reasons := v_reasons || jsonb_build_array(jsonb_build_object(
                        'kind', 'no_gateway', 'detail', format('domain %L has no outbound gateway', v_dom.name)));
                END IF;
            ELSE
                v_steps := jsonb_build_array(routing.gateway_step(
                    'outbound ' || v_dest_e164, v_dom.gateway, v_dest_e164, v_dom.ring_timeout));
            END IF;
        ELSIF v_kind = 'queue' THEN
            -- a call queue: the controller runs its waves (queue.enter / queue.next_wave); the
            -- queue's own overflow settings apply when nobody answers in time
            v_steps := jsonb_build_array(jsonb_build_object('type', 'queue', 'queue_id', v_queue_id));
            IF p_explain THEN
                v_reasons := v_reasons || jsonb_build_array(jsonb_build_object(
                    'kind', 'queue', 'queue_id', v_queue_id,
                    'detail', format('call queue %L: agents are rung in waves', v_name)));
            END IF;
        ELSIF v_kind IS NULL THEN
            -- 5. nothing known by that name
            IF v_num.id IS NOT NULL THEN
                v_steps := '[{"type": "hangup", "cause": "NO_ROUTE_DESTINATION"}]';
                IF p_explain THEN
                    v_reasons := v_reasons || jsonb_build_array(jsonb_build_object(
                        'kind', 'number_without_target', 'number_id', v_num.id,
                        'detail', format('number %s has no target', v_num.e164)));
                END IF;
            ELSE
                v_steps := '[{"type": "hangup", "cause": "UNALLOCATED_NUMBER"}]';
                IF p_explain THEN
                    v_reasons := v_reasons || jsonb_build_array(jsonb_build_object(
                        'kind', 'unknown_destination',
                        'detail', format('%L is not a number, group or extension of domain %L', left(v_dest, 64), v_dom.name)));
                END IF;
            END IF;
        ELSE
            -- a target to ring, then its overflow chain
            LOOP
                v_res := routing.plan_target_step(v_dom.id, v_kind, v_id, v_label, v_uuid, p_now, v_dom.gateway,
                                                  v_dom.ring_timeout, v_device_filter, v_member_filter, p_explain);
                IF p_explain THEN
                    v_reasons := v_reasons || (v_res->'reasons');
                END IF;
                IF v_kind = 'group' AND v_group_id IS NULL THEN
                    v_group_id := v_id;
                    v_route := v_route || jsonb_build_object('group_id', v_id);
                END IF;
                IF jsonb_typeof(v_res->'step') = 'object' THEN
                    v_steps := v_steps || jsonb_build_array(v_res->'step');
                    IF v_res->>'rr_member_id' IS NOT NULL THEN
                        v_rr := v_rr || jsonb_build_array(jsonb_build_object(
                            'group_id', v_id, 'member_id', (v_res->>'rr_member_id')::bigint));
                    END IF;
                ELSE
                    v_last_cause := v_res->>'cause';
                END IF;
                v_device_filter := NULL;
                v_member_filter := NULL;
                EXIT WHEN v_kind <> 'group';

                v_overflow := v_res->'overflow';
                v_visited := v_visited || v_id;
                CASE v_overflow->>'kind'
                WHEN 'voicemail' THEN
                    v_steps := v_steps || jsonb_build_array(jsonb_build_object(
                        'type', 'voicemail', 'mailbox', v_overflow->>'mailbox', 'domain', v_dom.name));
                    EXIT;
                WHEN 'hangup' THEN
                    v_steps := v_steps || jsonb_build_array(jsonb_build_object(
                        'type', 'hangup', 'cause', coalesce(v_overflow->>'cause', 'NO_ANSWER')));
                    EXIT;
                WHEN 'group' THEN
                    v_kind := 'group';
                    v_id := (v_overflow->>'group_id')::bigint;
                WHEN 'number' THEN
                    SELECT * INTO v_num FROM cfg.number n
                     WHERE n.e164 = v_overflow->>'number' AND n.domain_id = v_dom.id;
                    IF FOUND THEN
                        v_kind := v_num.target_kind::text;
                        v_id := coalesce(v_num.target_group_id, v_num.target_set_id, v_num.target_device_id,
                                         v_num.target_user_id);
                        v_label := coalesce(v_num.label, v_num.e164);
                        IF v_kind IS NULL THEN
                            v_steps := v_steps || '[{"type": "hangup", "cause": "NO_ROUTE_DESTINATION"}]'::jsonb;
                            EXIT;
                        END IF;
                    ELSIF v_dom.gateway IS NULL THEN
                        v_steps := v_steps || '[{"type": "hangup", "cause": "NO_ROUTE_DESTINATION"}]'::jsonb;
                        IF p_explain THEN
                            v_reasons := v_reasons || jsonb_build_array(jsonb_build_object(
                                'kind', 'no_gateway', 'detail',
                                format('overflow to %s but domain %L has no outbound gateway', v_overflow->>'number', v_dom.name)));
                        END IF;
                        EXIT;
                    ELSE
                        v_steps := v_steps || jsonb_build_array(routing.gateway_step(
                            'overflow ' || (v_overflow->>'number'), v_dom.gateway, v_overflow->>'number',
                            v_dom.ring_timeout));
                        IF p_explain THEN
                            v_reasons := v_reasons || jsonb_build_array(jsonb_build_object(
                                'kind', 'overflow', 'from_group_id', v_visited[cardinality(v_visited)],
                                'to', 'external', 'number', v_overflow->>'number', 'hop', v_hops + 1));
                        END IF;
                        EXIT;
                    END IF;
                ELSE
                    EXIT;  -- no overflow configured
                END CASE;

                v_hops := v_hops + 1;
                IF v_hops > c_max_hops OR (v_kind = 'group' AND v_id = ANY (v_visited)) THEN
                    v_steps := v_steps || jsonb_build_array(v_fallback);
                    IF p_explain THEN
                        v_reasons := v_reasons || jsonb_build_array(jsonb_build_object(
                            'kind', 'overflow_hop_limit', 'sqlstate', 'HM001', 'hops', v_hops - 1,
                            'detail', format('more than %s overflow hops (or a loop) after group %s: the plan ends with the fallback',
                                             c_max_hops, v_visited[cardinality(v_visited)])));
                    END IF;
                    EXIT;
                END IF;
                IF p_explain THEN
                    v_reasons := v_reasons || jsonb_build_array(jsonb_build_object(
                        'kind', 'overflow', 'from_group_id', v_visited[cardinality(v_visited)],
                        'to', v_kind, 'to_id', v_id, 'via_number', v_overflow->>'number', 'hop', v_hops));
                END IF;
            END LOOP;
        END IF;

        IF jsonb_array_length(v_steps) = 0 THEN
            v_steps := jsonb_build_array(jsonb_build_object('type', 'hangup',
                                                            'cause', coalesce(v_last_cause, 'NO_ROUTE_DESTINATION')));
        END IF;
    END IF;

    v_billing := jsonb_build_object(
        'direction', v_direction,
        'domain_id', v_dom.id,
        'device_id', v_caller_dev.id,
        'number_id', CASE WHEN v_direction = 'inbound' THEN (v_route->>'number_id')::bigint ELSE v_presented_id END,
        'account_id', NULL);

    RETURN jsonb_build_object(
        'plan', jsonb_build_object(
            'plan_version', 1,
            'call', jsonb_build_object('uuid', v_uuid, 'domain', v_domain_name, 'destination', v_dest,
                                       'caller_number', v_caller),
            'route', v_route,
            'caller_id', v_caller_id,
            'billing', v_billing,
            'steps', v_steps,
            'fallback', v_fallback),
        'reasons', v_reasons,
        'round_robin', v_rr);
END
$$;

REVOKE ALL ON FUNCTION routing.build_plan(jsonb, timestamptz, boolean) FROM PUBLIC;
COMMENT ON FUNCTION routing.build_plan(jsonb, timestamptz, boolean) IS
    'Internal: the single code path of plan_call/explain_call/start_call -> {plan, reasons, round_robin}. STABLE, no now().';
