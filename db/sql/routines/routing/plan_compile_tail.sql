-- routing.plan_compile_tail(p_dom cfg.domain, p_group_id bigint) -> bigint[]
--
-- Contract (internal to routing.plan_compile): the compiled units of the steps that follow group
-- p_group_id's own step when nobody answers, walking its overflow chain exactly as
-- routing.build_plan does: another group (a further step, then its overflow), a number of the
-- domain (its target: a group continues the walk, a device/user/implicit set ends it, a number
-- without target ends with hangup NO_ROUTE_DESTINATION), an external number (bridge through the
-- domain gateway; hangup NO_ROUTE_DESTINATION without one), voicemail, a hangup cause, or
-- nothing. More than 10 hops, or a group already on the path, ends with the domain fallback.
-- Expects the units of every group ('g:<id>') and of every number whose target is not a group
-- ('n:<id>') to exist already.
CREATE OR REPLACE FUNCTION routing.plan_compile_tail(p_dom cfg.domain, p_group_id bigint)
RETURNS bigint[]
LANGUAGE plpgsql VOLATILE
SET search_path = routing, pg_temp
AS $$
DECLARE
    c_max_hops CONSTANT integer := 10;
    v_tail     bigint[] := '{}';
    v_visited  bigint[] := ARRAY[p_group_id];
    v_hops     integer := 0;
    v_cur      bigint := p_group_id;
    v_group    cfg.hunt_group;
    v_num      cfg.number;
    v_kind     text;
    v_id       bigint;
    v_key      text;
    v_unit     bigint;
BEGIN
    LOOP
        SELECT * INTO v_group FROM cfg.hunt_group g WHERE g.id = v_cur AND g.domain_id = p_dom.id;
        CASE v_group.overflow_kind::text
        WHEN 'voicemail' THEN
            RETURN v_tail || routing.plan_static_unit(p_dom.id, jsonb_build_object(
                'type', 'voicemail', 'mailbox', v_group.overflow_mailbox, 'domain', p_dom.name));
        WHEN 'hangup' THEN
            RETURN v_tail || routing.plan_static_unit(p_dom.id, jsonb_build_object(
                'type', 'hangup', 'cause', coalesce(v_group.overflow_cause, 'NO_ANSWER')));
        WHEN 'group' THEN
            v_kind := 'group';
            v_id := v_group.overflow_group_id;
        WHEN 'number' THEN
            SELECT * INTO v_num FROM cfg.number n WHERE n.e164 = v_group.overflow_number AND n.domain_id = p_dom.id;
            IF FOUND THEN
                v_kind := v_num.target_kind::text;
                v_id := coalesce(v_num.target_group_id, v_num.target_set_id, v_num.target_device_id, v_num.target_user_id);
                IF v_kind IS NULL THEN
                    RETURN v_tail || routing.plan_static_unit(p_dom.id, '{"type": "hangup", "cause": "NO_ROUTE_DESTINATION"}');
                END IF;
            ELSIF p_dom.gateway IS NULL THEN
                RETURN v_tail || routing.plan_static_unit(p_dom.id, '{"type": "hangup", "cause": "NO_ROUTE_DESTINATION"}');
            ELSE
                RETURN v_tail || routing.plan_static_unit(p_dom.id, routing.gateway_step(
                    'overflow ' || v_group.overflow_number, p_dom.gateway, v_group.overflow_number,
                    p_dom.ring_timeout));
            END IF;
        ELSE
            RETURN v_tail;  -- no overflow configured
        END CASE;

        v_hops := v_hops + 1;
        IF v_hops > c_max_hops OR (v_kind = 'group' AND v_id = ANY (v_visited)) THEN
            RETURN v_tail || routing.plan_static_unit(
                p_dom.id, routing.fallback_step(p_dom.fallback_destination, p_dom.fallback_context));
        END IF;
        v_key := CASE WHEN v_kind = 'group' THEN 'g:' || v_id ELSE 'n:' || v_num.id END;
        SELECT u.id INTO v_unit FROM routing.plan_unit u WHERE u.domain_id = p_dom.id AND u.key = v_key;
        IF v_unit IS NULL THEN
            RAISE EXCEPTION 'overflow of group % leads to % %, which has no compiled unit', v_cur, v_kind, coalesce(v_id::text, 'NULL');
        END IF;
        v_tail := v_tail || v_unit;
        EXIT WHEN v_kind <> 'group';
        v_visited := v_visited || v_id;
        v_cur := v_id;
    END LOOP;
    RETURN v_tail;
END
$$;

REVOKE ALL ON FUNCTION routing.plan_compile_tail(cfg.domain, bigint) FROM PUBLIC;
COMMENT ON FUNCTION routing.plan_compile_tail(cfg.domain, bigint) IS
    'Internal to routing.plan_compile: the compiled units of a group''s overflow chain (as routing.build_plan walks it).';
