-- billing.allocate_charge(p_phone_id bigint, p_call_id bigint, p_usage_id bigint, p_action text,
--                         p_number_id bigint, p_counterpart text, p_host_category text,
--                         p_at timestamptz, p_quantity numeric) -> bigint
--
-- The one code path that turns an action into a charge row, for calls (p_call_id) and for usage
-- events (p_usage_id): billing.decide_account picks the paying account, billing.rate_action rates
-- the action with that account's rates, and one billing.charge row is written with the decision
-- and the rating as its explanation. Returns the new charge id. The callers make it idempotent
-- (charge_call returns early when the CDR already has charges; record_usage only charges a new
-- usage row); the unique keys (call_id, phone_id) and (usage_id) refuse a concurrent duplicate.
-- A plain INSERT on purpose: INSERT ... ON CONFLICT costs about twice as much per row here.
-- Internal helper: not SECURITY DEFINER, EXECUTE granted to nobody; it runs inside the billing
-- entry points (SECURITY DEFINER, search_path pinned), whose path it inherits (every name in it
-- is schema-qualified); no SET clause, which costs a path switch per call on the CDR hot path.
CREATE OR REPLACE FUNCTION billing.allocate_charge(
    p_phone_id bigint, p_call_id bigint, p_usage_id bigint, p_action text, p_number_id bigint,
    p_counterpart text, p_host_category text, p_at timestamptz, p_quantity numeric)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_domain_id bigint;
    v_decision  jsonb;
    v_rating    jsonb;
    v_account   bigint;
    v_number    text;
    v_id        bigint;
BEGIN
    SELECT p.domain_id, n.e164 INTO v_domain_id, v_number
      FROM billing.phone p
      LEFT JOIN cfg.number n ON n.id = p_number_id
     WHERE p.id = p_phone_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'billing phone % does not exist', p_phone_id USING ERRCODE = 'HMB02';
    END IF;
    v_decision := billing.decide_account(p_phone_id, p_action, p_number_id, p_counterpart,
                                         p_host_category, p_at);
    v_account := (v_decision ->> 'account_id')::bigint;
    v_rating := billing.rate_action(v_account, p_action, p_counterpart, p_quantity);

    INSERT INTO billing.charge (
        domain_id, call_id, usage_id, phone_id, account_id, action, number_id, number, counterpart,
        destination_class, started_at, quantity, unit, billed_quantity, amount, currency, rate_id,
        rate_prefix, decided_by, rule_id, private, explanation)
    VALUES (
        v_domain_id, p_call_id, p_usage_id, p_phone_id, v_account, p_action, p_number_id, v_number,
        p_counterpart, v_decision -> 'destination' ->> 'class', p_at, greatest(p_quantity, 0),
        CASE p_action WHEN 'data' THEN 'byte'
                      WHEN 'sms' THEN 'message' WHEN 'mms' THEN 'message' ELSE 'second' END,
        (v_rating ->> 'billed_quantity')::numeric, (v_rating ->> 'amount')::numeric,
        v_rating ->> 'currency', (v_rating ->> 'rate_id')::bigint, v_rating ->> 'prefix',
        v_decision ->> 'decided_by', (v_decision ->> 'rule_id')::bigint,
        (v_decision ->> 'private')::boolean,
        jsonb_build_object('decision', v_decision, 'rating', v_rating))
    RETURNING id INTO v_id;
    RETURN v_id;
END
$$;

REVOKE ALL ON FUNCTION billing.allocate_charge(bigint, bigint, bigint, text, bigint, text, text, timestamptz, numeric) FROM PUBLIC;
COMMENT ON FUNCTION billing.allocate_charge(bigint, bigint, bigint, text, bigint, text, text, timestamptz, numeric) IS
    'Decides the paying account, rates the action and writes one billing.charge row (one per call and phone, or per usage event).';
