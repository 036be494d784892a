-- billing.decide_account(p_phone_id bigint, p_action text, p_number_id bigint,
--                        p_counterpart text, p_host_category text, p_at timestamptz) -> jsonb
--
-- Which account pays for an action of a phone, and why. p_at is the action's start (the clock is
-- a parameter: this function never calls now()). Order of decision:
-- 1. private mode on at p_at (private_until NULL or later than p_at): the default account,
--    decided_by 'private_mode', private true; no rule is tried.
-- 2. the enabled rules by (position, id): the first whose every non-NULL criterion holds
--    (action, number used, destination class / prefix / country, host category, schedule open at
--    p_at) decides: decided_by 'rule'.
-- 3. none matched: the default account, decided_by 'default'.
-- Returns {account_id, decided_by, rule_id, private, destination: {class, country, prefix},
--          rules_tried: [{rule_id, position, name, matched, failed_on}]}.
-- Raises HMB02 when the phone does not exist.
-- Internal helper: not SECURITY DEFINER, EXECUTE granted to nobody; it runs inside the billing
-- entry points (SECURITY DEFINER, search_path pinned), whose path it inherits (every name in it
-- is schema-qualified); no SET clause, which costs a path switch per call on the CDR hot path.
CREATE OR REPLACE FUNCTION billing.decide_account(
    p_phone_id bigint, p_action text, p_number_id bigint, p_counterpart text,
    p_host_category text, p_at timestamptz)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_phone  billing.phone;
    v_class  text;
    v_country text;
    v_prefix text;
    v_rule   billing.policy_rule;
    v_rules  billing.policy_rule[];
    v_failed text;
    v_tried  jsonb := '[]'::jsonb;
    v_dest   jsonb;
BEGIN
    SELECT * INTO v_phone FROM billing.phone WHERE id = p_phone_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'billing phone % does not exist', p_phone_id USING ERRCODE = 'HMB02';
    END IF;
    SELECT d.destination_class, d.country, d.prefix INTO v_class, v_country, v_prefix
      FROM billing.classify_destination(v_phone.domain_id, p_counterpart) d;
    v_dest := jsonb_build_object('class', v_class, 'country', v_country, 'prefix', v_prefix);

    IF v_phone.private_mode AND (v_phone.private_until IS NULL OR p_at < v_phone.private_until) THEN
        RETURN jsonb_build_object(
            'account_id', v_phone.default_account_id, 'decided_by', 'private_mode', 'rule_id', NULL,
            'private', true, 'destination', v_dest, 'rules_tried', v_tried);
    END IF;

    -- One query for the rules, then a loop over an array (cheaper than a cursor loop).
    v_rules := ARRAY(SELECT r FROM billing.policy_rule r
                      WHERE r.phone_id = p_phone_id AND r.enabled
                      ORDER BY r.position, r.id);
    FOREACH v_rule IN ARRAY v_rules LOOP
        v_failed := CASE
            WHEN v_rule.action IS NOT NULL AND v_rule.action <> p_action THEN 'action'
            WHEN v_rule.number_id IS NOT NULL AND v_rule.number_id IS DISTINCT FROM p_number_id THEN 'number'
            WHEN v_rule.destination_class IS NOT NULL AND v_rule.destination_class IS DISTINCT FROM v_class
                THEN 'destination_class'
            WHEN v_rule.destination_prefix IS NOT NULL
                 AND NOT coalesce(starts_with(p_counterpart, v_rule.destination_prefix), false)
                THEN 'destination_prefix'
            WHEN v_rule.destination_country IS NOT NULL AND v_rule.destination_country IS DISTINCT FROM v_country
                THEN 'destination_country'
            WHEN v_rule.host_category IS NOT NULL AND v_rule.host_category IS DISTINCT FROM p_host_category
                THEN 'host_category'
            WHEN v_rule.schedule_id IS NOT NULL AND NOT routing.in_schedule(v_rule.schedule_id, p_at)
                THEN 'schedule'
        END;
        v_tried := v_tried || jsonb_build_object(
            'rule_id', v_rule.id, 'position', v_rule.position, 'name', v_rule.name,
            'matched', v_failed IS NULL, 'failed_on', v_failed);
        IF v_failed IS NULL THEN
            RETURN jsonb_build_object(
                'account_id', v_rule.account_id, 'decided_by', 'rule', 'rule_id', v_rule.id,
                'private', false, 'destination', v_dest, 'rules_tried', v_tried);
        END IF;
    END LOOP;

    RETURN jsonb_build_object(
        'account_id', v_phone.default_account_id, 'decided_by', 'default', 'rule_id', NULL,
        'private', false, 'destination', v_dest, 'rules_tried', v_tried);
END
$$;

REVOKE ALL ON FUNCTION billing.decide_account(bigint, text, bigint, text, text, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION billing.decide_account(bigint, text, bigint, text, text, timestamptz) IS
    'Paying account of a phone''s action (private mode, then the first matching policy rule, then the default account) with the rules tried.';
